"""Evaluation reports: how a run is recorded (provenance), its figures formatted, its Markdown and plot written, and
--check applied against thresholds.toml. Shared by the gold, fresh, SQuAD 2.0 and XQuAD runs."""

import argparse
import importlib.util
import json
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qa_eval import metrics
from qa.core.errors import QAError
from qa.core.settings import PROJECT_ROOT, Settings


LABELS = {
    "hit_at_1": "retrieval hit@1", "hit_at_5": "retrieval hit@5", "mrr": "retrieval MRR",
    "citation_precision": "citation precision", "citation_recall": "citation recall", "fact_recall": "fact recall",
    "grounding_verifier": "grounded (project verifier)", "grounding_strict": "grounded (strict numbers)",
    "quote_offsets": "quotes match article offsets", "refusal_accuracy": "refusal accuracy (unanswerable)",
    "wrong_refusals": "wrong refusals (answerable)", "hedges": "partial answers (answerable)", "accuracy": "accuracy (PaperQA2)", "precision": "precision (PaperQA2)",
    "latency_p50": "latency p50 (s)", "latency_p95": "latency p95 (s)",
}


@dataclass(frozen=True)
class Record:
    """One question's outcome, with the reasons it failed (empty when it passed)."""

    id: str
    question: str
    lang: str
    type: str
    answerable: bool
    sources: list[str]
    follow_up_of: str | None
    answer: str
    refused: bool
    ranked_articles: list[str]
    cited_articles: list[str]
    missing_facts: list[str]
    removed_sentences: list[str]
    strict_failures: list[str]
    bad_quotes: list[int]
    score: metrics.QuestionScore
    grade: str = ""
    confidence: float | None = None
    refused_by: str | None = None
    issues: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.issues)


@dataclass(frozen=True)
class Report:
    meta: dict
    groups: dict[str, dict[str, float | None]]
    records: list[Record]

    def flat(self) -> dict[str, float | None]:
        return {f"{g}.{m}": v for g, values in self.groups.items() for m, v in values.items()}


def run_meta(settings: Settings) -> dict:
    """What a reader needs to reproduce a figure: commit, model and the answer knobs."""

    def git(*argv: str) -> str | None:
        try:
            return subprocess.run(["git", "-C", str(PROJECT_ROOT), *argv], capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    # Every knob that changes an answer; not paths (every folder setting: they name one machine), addresses, secrets or
    # server limits.
    folders = {name for name, f in Settings.model_fields.items() if "Path" in str(f.annotation)}
    ignore = folders | {"chroma_url", "chroma_timeout", "collection", "llm_base_url", "llm_api_key", "llm_timeout", "embed_threads",
              "max_question_chars", "max_file_bytes", "host", "port", "concurrency", "fetch_timeout", "fetch_max_redirects",
              "fetch_allow_private", "fetch_user_agent"}
    if settings.backend == "extractive":
        ignore |= {"llm_model", "llm_max_tokens"}
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted": [line.split(maxsplit=1)[-1] for line in (git("status", "--porcelain", "--", "qa", "prompts") or "").splitlines()],
        "settings": settings.model_dump(mode="json", exclude=ignore),
    }


def fmt(value: float | None, metric: str = "") -> str:
    if value is None:
        return "–"
    if metric.startswith("latency"):
        return f"{value:.2f}"
    if metric == "pct":
        return f"{value:.1f}"
    if metric == "n":
        return str(int(value))
    return f"{value:.3f}"


def cell(text: str, limit: int = 0) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if not limit or len(text) <= limit else text[: limit - 1] + "…"


SHOWN = metrics.METRICS


def provenance(meta: dict) -> str:
    """The uncommitted files a figure depends on, so a reader knows the commit alone does not reproduce it."""
    return f" + uncommitted changes to {', '.join(meta['uncommitted'])}" if meta["uncommitted"] else ""


def render_markdown(report: Report, title: str) -> str:
    m, g = report.meta, report.groups
    langs = [k for k in g if k.startswith("lang.")]
    types = [k for k in g if k.startswith("type.")]
    lines = [
        f"# {title}",
        "",
        f"{m['date']} · commit `{m['commit']}`{provenance(m)}"
        f" · backend `{m['backend']}` · {m['questions']} questions ({m['answerable']} answerable,"
        f" {m['questions'] - m['answerable']} unanswerable or false-premise) · {m['seconds']} s",
        "",
        "Settings: " + ", ".join(f"`{k}={v}`" for k, v in m["settings"].items()),
        "",
        "## Headline",
        "",
        "| metric | overall | " + " | ".join(k.split(".", 1)[1] for k in langs) + " |",
        "|---|---:|" + "---:|" * len(langs),
        "| questions | " + " | ".join(fmt(g[k]["n"], "n") for k in ["overall", *langs]) + " |",
    ]
    lines += [f"| {LABELS[x]} | " + " | ".join(fmt(g[k][x], x) for k in ["overall", *langs]) + " |" for x in SHOWN]
    lines += [
        "",
        "## By question type",
        "",
        "| type | n | " + " | ".join(SHORT[x] for x in SHOWN) + " |",
        "|---|---:|" + "---:|" * len(SHOWN),
    ]
    lines += [f"| {k.split('.', 1)[1]} | {fmt(g[k]['n'], 'n')} | " + " | ".join(fmt(g[k][x], x) for x in SHOWN) + " |" for k in types]
    failed = [r for r in report.records if r.failed]
    lines += [
        "",
        DEFINITIONS,
        "",
        f"## Per question ({len(failed)} with issues, listed first)",
        "",
        "| | id | type | lang | rank | facts | cited | verifier kept | strict ok | latency s | issues | answer |",
        "|---|---|---|---|---:|---|---|---|---|---:|---|---|",
    ]
    for r in sorted(report.records, key=lambda r: not r.failed):
        sc = r.score
        facts = "–" if sc.fact_recall is None else f"{sc.fact_recall:.2f}"
        lines.append(
            f"| {'✗' if r.failed else '✓'} | {r.id} | {r.type} | {r.lang} | {sc.rank or '–'} | {facts} | "
            f"{', '.join(a[:3] for a in r.cited_articles) or '–'} | {sc.supported}/{sc.sentences} | {sc.strict_ok}/{sc.shown} | "
            f"{sc.latency:.2f} | {cell('; '.join(r.issues))} | {cell(r.answer, 320)} |"
        )
    return "\n".join(lines) + "\n"


SHORT = {
    "hit_at_1": "hit@1", "hit_at_5": "hit@5", "mrr": "MRR", "citation_precision": "cit P", "citation_recall": "cit R",
    "fact_recall": "facts", "grounding_verifier": "verifier", "grounding_strict": "strict", "quote_offsets": "offsets",
    "refusal_accuracy": "refusal acc", "wrong_refusals": "wrong ref", "hedges": "partial", "accuracy": "acc", "precision": "prec",
    "latency_p50": "p50 s", "latency_p95": "p95 s",
}


DEFINITIONS = """## How the figures are computed

- **Retrieval** (answerable questions): rank of the first source article among the distinct articles of the
  retrieved passages (`top_k` passages, so a source not retrieved counts as a miss); hit@k and MRR from that rank.
- **Citations** (answered, answerable questions): precision = cited articles that hold the answer / cited
  articles; recall = source articles cited / source articles.
- **Fact recall** (answerable): share of fact groups found in the answer's shown sentences, not in the attribution
  before them (an article title can hold a fact; accents, case and thousands separators ignored; whole words); a
  refusal scores 0.
- **Grounded (project verifier)**: drafted answer sentences the verifier kept / all drafted sentences.
  **Grounded (strict numbers)**: an independent check (eval/qa_eval/metrics.py): a shown sentence passes when it cites
  something and every number in it occurs in the quote or passage of its own citations.
  **Quotes match article offsets**: citations whose quote equals the article text at `start:end`.
- **Refusal accuracy**: unanswerable, false-premise and off-topic questions refused (off-topic: general knowledge
  about something the articles mention, such as the currency of Armenia); **wrong refusals**: answerable ones refused.
- **Accuracy / precision** (PaperQA2): correct / all questions and correct / answered questions, where an
  answerable question is correct when answered with every fact, an unanswerable one when refused (a refusal is
  PaperQA2's "unsure"; answering an unanswerable question is a wrong answer).
- **Latency**: `Answer.timings.total` per question on this machine (2 shared cores)."""


def plot(report: Report, path: Path) -> None:
    """One heatmap of the 0–1 metrics by group, and latency bars: the report at a glance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    quality = [x for x in SHOWN if not x.startswith("latency")]
    names = list(report.groups)
    grid = np.array([[np.nan if report.groups[g][x] is None else report.groups[g][x] for x in quality] for g in names], dtype=float)
    fig, (ax, lat) = plt.subplots(1, 2, figsize=(17, 0.45 * len(names) + 2.5), gridspec_kw={"width_ratios": [4, 1]})
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#dddddd")
    colour = grid.copy()
    colour[:, quality.index("wrong_refusals")] = 1 - colour[:, quality.index("wrong_refusals")]  # green = good everywhere
    ax.imshow(np.ma.masked_invalid(colour), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(quality)), [SHORT[x] for x in quality], rotation=40, ha="right")
    ax.set_yticks(range(len(names)), [f"{g} (n={int(report.groups[g]['n'])})" for g in names])
    for i in range(len(names)):
        for j in range(len(quality)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7)
    ax.set_title("Quality by group (green is good; for wrong refusals lower is better)")
    y = np.arange(len(names))
    p50 = [report.groups[g]["latency_p50"] or 0 for g in names]
    p95 = [report.groups[g]["latency_p95"] or 0 for g in names]
    lat.barh(y + 0.2, p50, height=0.4, label="p50")
    lat.barh(y - 0.2, p95, height=0.4, label="p95")
    lat.set_yticks(y, [])
    lat.set_ylim(len(names) - 0.5, -0.5)  # the heatmap's rows, top to bottom
    lat.set_xlabel("seconds")
    lat.set_title("Latency")
    lat.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(report: Report, out: Path, title: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    data = {"meta": report.meta, "metrics": report.groups, "questions": [asdict(r) | {"failed": r.failed} for r in report.records]}
    (out / "report.json").write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report, title), encoding="utf-8")
    if importlib.util.find_spec("matplotlib") is not None:  # the optional `bench` extra draws the picture
        plot(report, out / "metrics.png")


def check(values: dict[str, float | None], thresholds: Path, section: str) -> int:
    """Print each metric outside its bound; non-zero when there is one."""
    try:
        table = tomllib.loads(thresholds.read_text(encoding="utf-8"))[section]
    except FileNotFoundError:
        raise QAError(f"no thresholds file at {thresholds}") from None
    except (tomllib.TOMLDecodeError, KeyError) as exc:
        raise QAError(f"{thresholds}: no usable [{section}] table ({exc})") from None
    minimum, maximum = metrics.flatten(table.get("min", {})), metrics.flatten(table.get("max", {}))
    failures = metrics.failed_thresholds(values, minimum, maximum)
    for f in failures:
        print(f"check failed: {f}", file=sys.stderr)
    if not failures:
        print(f"check passed: {len(minimum) + len(maximum)} thresholds from {thresholds} [{section}]")
    return 1 if failures else 0


def progress_printer(args: argparse.Namespace) -> Callable[[str], None]:
    return (lambda _: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
