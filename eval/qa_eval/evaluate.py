"""`qa eval`: run the public API over a gold question file and report how grounded and correct the answers are.

Writes report.md (headline tables, then every question with failures first), report.json and
metrics.png; `--check` compares the figures with eval/thresholds.toml and fails when one drops.
`--xquad` runs the external benchmark instead (qa_eval.xquad).
"""

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from qa_eval import metrics
from qa_eval.paths import paths
from qa.core.errors import QAError
from qa.core.settings import Settings
from qa.core.types import Answer
from qa_eval.report import Record, Report, SHORT, SHOWN, check, fmt, progress_printer, run_meta, write


TYPES = ("fact", "number", "date", "why", "how", "open", "crosslingual", "multi", "followup", "conflict", "unanswerable", "false_premise", "off_topic")


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    lang: str
    type: str
    answerable: bool
    sources: tuple[str, ...]
    facts: tuple[tuple[str, ...], ...]
    follow_up_of: str | None = None
    note: str | None = None


# --- the gold file ---------------------------------------------------------------------------------------


def load_questions(path: Path) -> list[GoldQuestion]:
    """Read and check the gold file; a malformed line is an error naming the line, not a silent skip."""
    questions: list[GoldQuestion] = []
    seen: set[str] = set()
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            q = GoldQuestion(
                id=str(raw["id"]), question=str(raw["question"]), lang=raw["lang"], type=raw["type"],
                answerable=bool(raw["answerable"]), sources=tuple(raw["sources"]),
                facts=tuple(tuple(group) for group in raw["facts"]), follow_up_of=raw.get("follow_up_of"), note=raw.get("note"),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise QAError(f"{path}:{n}: not a gold question ({type(exc).__name__}: {exc})") from None
        problem = _problem(q, seen)
        if problem:
            raise QAError(f"{path}:{n}: {problem}")
        seen.add(q.id)
        questions.append(q)
    if not questions:
        raise QAError(f"{path}: no questions")
    return questions


def _problem(q: GoldQuestion, earlier: set[str]) -> str | None:
    if q.id in earlier:
        return f"duplicate id {q.id!r}"
    if q.lang not in ("en", "es"):
        return f"lang must be en or es, not {q.lang!r}"
    if q.type not in TYPES:
        return f"unknown type {q.type!r} (one of {', '.join(TYPES)})"
    if q.answerable and not (q.sources and q.facts and all(q.facts)):
        return "an answerable question needs sources and non-empty fact groups"
    if not q.answerable and q.sources:
        return "an unanswerable question has no sources"
    if q.follow_up_of is not None and q.follow_up_of not in earlier:
        return f"follow_up_of {q.follow_up_of!r} must name an earlier question"
    return None


# --- asking and scoring ----------------------------------------------------------------------------------


def ask_all(bot, questions: list[GoldQuestion], progress: Callable[[str], None] = lambda _: None) -> list[tuple[GoldQuestion, Answer]]:
    """Ask in file order; a follow-up gets its question's turn and answer (with its citations) as history."""
    done: dict[str, tuple[GoldQuestion, Answer]] = {}
    for i, q in enumerate(questions, 1):
        history = None
        if q.follow_up_of:
            history = done[q.follow_up_of][1].messages()
        answer = bot.ask(q.question, history=history)
        done[q.id] = (q, answer)
        progress(f"[{i:3d}/{len(questions)}] {q.id}: {'refused' if answer.refused else 'answered'} in {answer.timings.total:.2f} s")
    return list(done.values())


def _cited_texts(answer: Answer, numbers: tuple[int, ...]) -> list[str]:
    """The quotes a sentence's markers point to, and the retrieved passages those quotes come from."""
    texts = []
    for c in answer.citations:
        if c.n in numbers:
            texts.append(c.quote)
            texts.extend(p.text for p in answer.passages if p.article_id == c.article_id and p.start <= c.start and c.end <= p.end)
    return texts


def score(q: GoldQuestion, answer: Answer, article_text: Callable[[str], str | None]) -> Record:
    ranked = metrics.article_ranking(p.article_id for p in answer.passages)
    cited = list(dict.fromkeys(c.article_id for c in answer.citations))
    answered = not answer.refused
    shown = [s for s in answer.sentences if s.supported] if answered else []
    strict_failures = []
    for s in shown:
        texts = _cited_texts(answer, s.citations)
        if not metrics.strict_grounded(s.text, texts):
            missing = metrics.unsupported_numbers(s.text, texts)
            strict_failures.append(f"{s.text[:60]}… ({'numbers ' + ', '.join(sorted(missing)) if texts else 'cites nothing'})")
    # Facts count only in what the answer claims: an attribution's title ("Talks between Putin, Aliyev and Pashinyan
    # lasted 4 hours") can hold a fact the chosen sentence does not say.
    # A quote's machine translation is shown after it, so a fact it renders counts too.
    claims = " ".join(f"{s.text} {s.translation or ''}" for s in shown)
    bad_quotes = [c.n for c in answer.citations if (article_text(c.article_id) or "")[c.start : c.end] != c.quote]
    sc = metrics.QuestionScore(
        answerable=q.answerable,
        refused=answer.refused,
        rank=metrics.first_relevant_rank(ranked, q.sources) if q.answerable else None,
        citation_precision=metrics.citation_precision(cited, q.sources) if q.answerable and answered else None,
        citation_recall=metrics.citation_recall(cited, q.sources) if q.answerable and answered else None,
        fact_recall=metrics.fact_recall(claims, q.facts) if q.answerable else None,
        sentences=len(answer.sentences),
        supported=sum(1 for s in answer.sentences if s.supported),
        shown=len(shown),
        strict_ok=len(shown) - len(strict_failures),
        quotes=len(answer.citations),
        quotes_exact=len(answer.citations) - len(bad_quotes),
        latency=answer.timings.total,
        grade=answer.grade,
    )
    record = Record(
        id=q.id, question=q.question, lang=q.lang, type=q.type, answerable=q.answerable, sources=list(q.sources),
        follow_up_of=q.follow_up_of, answer=answer.text, refused=answer.refused, ranked_articles=ranked, cited_articles=cited,
        missing_facts=[g[0] for g in q.facts if not metrics.fact_found(claims, g)] if q.answerable else [],
        removed_sentences=[f"{s.text[:60]}… ({s.reason})" for s in answer.sentences if s.supported is False],
        strict_failures=strict_failures, bad_quotes=bad_quotes, score=sc, grade=answer.grade, confidence=answer.confidence,
        refused_by=answer.refused_by,
    )
    return Record(**{**record.__dict__, "issues": issues(record)})


def issues(r: Record) -> list[str]:
    """Why a question fails: wrong answer or refusal, a citation to the wrong article, an ungrounded number."""
    out = []
    sc = r.score
    if not r.answerable:
        if sc.answered:
            kind = {"false_premise": "a false-premise", "off_topic": "an off-topic"}.get(r.type, "an unanswerable")
            out.append(f"answered {kind} question")
        return out + [f"strict: {f}" for f in r.strict_failures]
    if r.refused:
        out.append(f"wrong refusal (source at rank {sc.rank})" if sc.rank else "wrong refusal (no source retrieved)")
        return out
    if sc.hedged:
        out.append("partial answer (a hedge)")
    if sc.rank is None:
        out.append("no source article retrieved")
    if r.missing_facts:
        out.append("missing fact: " + " · ".join(r.missing_facts))
    wrong = [a for a in r.cited_articles if a not in r.sources]
    if wrong:
        out.append("cites non-source " + ", ".join(a[:3] for a in wrong))
    out += [f"strict: {f}" for f in r.strict_failures]
    if r.bad_quotes:
        out.append("quote differs from article at its offsets: " + ", ".join(f"[{n}]" for n in r.bad_quotes))
    return out


def group_scores(records: list[Record]) -> dict[str, dict[str, float | None]]:
    groups: dict[str, list[Record]] = {"overall": records}
    for key in ("lang", "type"):
        for value in sorted({getattr(r, key) for r in records}, key=lambda v: (TYPES.index(v) if v in TYPES else -1, v)):
            groups[f"{key}.{value}"] = [r for r in records if getattr(r, key) == value]
    return {name: metrics.summarize([r.score for r in rs]) for name, rs in groups.items()}


def evaluate(bot, questions: list[GoldQuestion], progress: Callable[[str], None] = lambda _: None) -> Report:
    ingest = bot.ingest([bot.settings.seeds_dir])
    known = {a.id for a in bot.articles()}
    unknown = sorted({s for q in questions for s in q.sources} - known)
    if unknown:
        raise QAError(f"the gold file cites articles that are not indexed: {', '.join(unknown)}")
    t0 = time.perf_counter()
    answers = ask_all(bot, questions, progress)
    records = [score(q, a, bot.article_text) for q, a in answers]
    backends = sorted({a.backend for _, a in answers})
    meta = run_meta(bot.settings) | {
        "questions": len(questions),
        "answerable": sum(q.answerable for q in questions),
        "backend": ", ".join(backends),
        "ingest": ingest.summary(),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return Report(meta, group_scores(records), records)


# --- command line ----------------------------------------------------------------------------------------


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", type=Path, default=None, help="questions (JSON lines; default the gold set, eval/questions.jsonl)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default eval/report, eval/report/xquad or eval/xquad)")
    parser.add_argument("--check", action="store_true", help="exit non-zero when a metric is outside eval/thresholds.toml")
    parser.add_argument("--thresholds", type=Path, default=None, help="default eval/thresholds.toml")
    parser.add_argument("--section", default="gold",
                        help="table of the thresholds file --check reads (gold, fresh); '_untranslated' is added without Apertium")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="store to use (default: a fresh temporary folder; data/eval/xquad for --xquad)")
    parser.add_argument("--xquad", action="store_true", help="run the XQuAD benchmark instead of the gold questions")
    parser.add_argument("--sample", type=int, default=None,
                        help="XQuAD: questions per direction (default 100); SQuAD 2.0: questions spread over the file (default all)")
    parser.add_argument("--full", action="store_true", help="XQuAD: all 1190 questions per direction")
    parser.add_argument("--xquad-dir", type=Path, default=None, help="folder holding xquad.en.json and xquad.es.json")
    parser.add_argument("--seed", type=int, default=0, help="XQuAD sample seed")
    parser.add_argument("--quiet", action="store_true", help="no per-question progress")
    parser.add_argument("--articles", type=Path, default=None,
                        help="folder of the articles the dataset asks about (default seeds/; eval/fresh/articles for eval/fresh)")
    parser.add_argument("--squad2", action="store_true", help="run SQuAD 2.0 (8 dev articles, no gold paragraph given) instead")
    parser.add_argument("--squad2-file", type=Path, default=None, help="SQuAD 2.0 JSON (default ../shared/benchmarks/squad2)")
    parser.add_argument("--reader-folds", type=Path, default=None,
                        help="SQuAD 2.0: folder of the article-held-out fold readers (default eval/reader_folds)")
    parser.add_argument("--disable-check", action="append", default=None, metavar="NAME",
                        help="turn a named check off (repeatable), to measure what it earns")


@contextmanager
def data_dir(chosen: Path | None):
    """The given store folder, or a temporary one removed afterwards (a run never touches the user's store)."""
    if chosen is not None:
        yield chosen
        return
    with tempfile.TemporaryDirectory(prefix="qa-eval-", ignore_cleanup_errors=True) as tmp:
        yield Path(tmp)


def execute(args: argparse.Namespace, bot) -> int:
    """Evaluate `bot` on the dataset, write the report and apply `--check`."""
    args = with_defaults(args)
    questions = load_questions(args.dataset)
    report = evaluate(bot, questions, progress_printer(args))
    out = args.out or paths().eval_dir / "report"
    write(report, out, f"Grounding evaluation: {args.dataset.name}")
    overall = report.groups["overall"]
    print(f"{len(report.records)} questions · " + " · ".join(f"{SHORT[x]} {fmt(overall[x], x)}" for x in SHOWN))
    print(f"report: {out / 'report.md'}")
    # Without a translator, answers across languages are judged on e5 and names alone: a gate of its own.
    section = args.section + ("" if bot.translator is not None else "_untranslated")
    return check(report.flat(), args.thresholds, section) if args.check else 0


def with_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """The gold set and the thresholds file from the evaluation folder, unless given."""
    if (args.dataset is None and not (args.xquad or args.squad2)) or (args.check and args.thresholds is None):
        folder = paths().eval_dir
        args.dataset = args.dataset or folder / "questions.jsonl"
        args.thresholds = args.thresholds or folder / "thresholds.toml"
    return args


def run(args: argparse.Namespace) -> int:
    args = with_defaults(args)
    if args.xquad:
        from qa_eval import xquad

        return xquad.run(args)
    if args.squad2:
        from qa_eval import squad2

        return squad2.run(args)
    from qa.assistant import Assistant

    articles = args.articles or (args.dataset.parent / "articles" if (args.dataset.parent / "articles").is_dir() else None)
    with data_dir(args.data_dir) as folder:
        settings = Settings(data_dir=folder, collection="eval", chroma_url=None, disabled_checks=args.disable_check or [],
                            **({"seeds_dir": articles} if articles else {}))
        return execute(args, Assistant(settings))
