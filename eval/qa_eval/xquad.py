"""XQuAD as an outside benchmark: retrieval and answers over 240 Wikipedia paragraphs nobody here wrote.

Every paragraph becomes an article (`en-000` … `es-239`) in its own store, so the run never touches
the user's data. A question is asked through the public API with the search restricted to the
paragraphs of one language, which gives the four directions en→en, es→es, es→en and en→es.
"""

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa_eval import metrics
from qa.index.embed import Embedder, make_embedder
from qa_eval.paths import paths
from qa_eval.report import cell, check, fmt, progress_printer, provenance, run_meta
from qa.core.settings import Settings
from qa.core.types import Filters

LANGS = ("en", "es")
DIRECTIONS = (("en", "en"), ("es", "es"), ("es", "en"), ("en", "es"))
# Reading comprehension with the gold paragraph given (Artetxe et al. 2020, via DESIGN.md): (F1, EM).
PUBLISHED = {
    "XLM-R Large": {"en": (86.5, 75.7), "es": (82.0, 63.9)},
    "mBERT": {"en": (83.5, 72.2), "es": (75.5, 56.9)},
}


@dataclass(frozen=True)
class XQuestion:
    """One XQuAD question in both languages; `paragraph` indexes the shared paragraph list."""

    qid: str
    paragraph: int
    text: dict[str, str]
    answers: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Corpus:
    paragraphs: dict[str, list[str]]
    questions: list[XQuestion]


@dataclass(frozen=True)
class XResult:
    qid: str
    direction: str
    question: str
    gold: tuple[str, ...]
    prediction: str
    refused: bool
    rank: int | None
    em: float
    f1: float
    contains: bool
    latency: float


def article_id(lang: str, paragraph: int) -> str:
    return f"{lang}-{paragraph:03d}"


def documents(folder: Path) -> dict[str, list[dict]]:
    """The Wikipedia articles of each language file, as XQuAD lists them (title, paragraphs, questions)."""
    return {lang: json.loads((folder / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"] for lang in LANGS}


def load_corpus(folder: Path) -> Corpus:
    """Pair the English and Spanish files; they list the same paragraphs and question ids in the same order."""
    data = documents(folder)
    paras = {lang: [p for doc in data[lang] for p in doc["paragraphs"]] for lang in LANGS}
    if len(paras["en"]) != len(paras["es"]):
        raise ValueError("the English and Spanish XQuAD files hold different numbers of paragraphs")
    questions = []
    for i, (en, es) in enumerate(zip(paras["en"], paras["es"])):
        by_lang = {"en": {q["id"]: q for q in en["qas"]}, "es": {q["id"]: q for q in es["qas"]}}
        if set(by_lang["en"]) != set(by_lang["es"]):
            raise ValueError(f"paragraph {i}: the English and Spanish question ids differ")
        for qid in by_lang["en"]:
            questions.append(
                XQuestion(
                    qid=qid,
                    paragraph=i,
                    text={lang: by_lang[lang][qid]["question"] for lang in LANGS},
                    answers={lang: tuple(a["text"] for a in by_lang[lang][qid]["answers"]) for lang in LANGS},
                )
            )
    return Corpus({lang: [p["context"] for p in paras[lang]] for lang in LANGS}, questions)


def write_articles(corpus: Corpus, folder: Path) -> Path:
    """One file per paragraph (rewritten only when it differs, so re-ingest finds nothing to do)."""
    for lang in LANGS:
        (folder / lang).mkdir(parents=True, exist_ok=True)
        for i, text in enumerate(corpus.paragraphs[lang]):
            path = folder / lang / f"{article_id(lang, i)}.txt"
            body = text.strip() + "\n"
            if not path.exists() or path.read_text(encoding="utf-8") != body:
                path.write_text(body, encoding="utf-8")
    return folder


class QueryCache:
    """Memoises query embeddings: a question is embedded once, not once per retrieval call and per direction.

    The model and therefore every ranking are unchanged; only the repeated work goes (4 directions share
    2 question texts, and each ask embeds its question twice).
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self._memo: dict[str, np.ndarray] = {}

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            self._memo.update(zip(missing, self.inner.embed_queries(missing)))
        return np.stack([self._memo[t] for t in texts]) if texts else self.inner.embed_queries([])


def xquad_settings(data_dir: Path) -> Settings:
    """The default backend, on a store of its own (never the user's collection or server)."""
    return Settings(data_dir=data_dir, seeds_dir=data_dir / "articles", collection="xquad", chroma_url=None)


def sample(questions: list[XQuestion], n: int | None, seed: int) -> list[XQuestion]:
    """The same seeded sample for every direction, so directions differ only in language."""
    if n is None or n >= len(questions):
        return list(questions)
    return sorted(random.Random(seed).sample(questions, n), key=lambda q: (q.paragraph, q.qid))


def ask_direction(bot, questions: list[XQuestion], q_lang: str, p_lang: str, paragraphs: int,
                  progress: Callable[[str], None] = lambda _: None) -> list[XResult]:
    """Ask each question in `q_lang` with retrieval limited to the `p_lang` paragraphs; score against `p_lang` gold."""
    only = Filters(article_ids=tuple(article_id(p_lang, i) for i in range(paragraphs)))
    direction = f"{q_lang}-{p_lang}"
    out = []
    for i, q in enumerate(questions, 1):
        answer = bot.ask(q.text[q_lang], filters=only)
        # The answer's own sentences, without attribution prefixes, markers or notes; a partial answer is a hedge.
        prediction = "" if answer.grade != "answer" else " ".join(s.text for s in answer.sentences if s.supported)
        gold = q.answers[p_lang]
        em, f1 = metrics.squad_scores(prediction, gold)
        ranked = metrics.article_ranking(p.article_id for p in answer.passages)
        out.append(XResult(q.qid, direction, q.text[q_lang], gold, prediction, answer.grade != "answer",
                           metrics.first_relevant_rank(ranked, {article_id(p_lang, q.paragraph)}), em, f1,
                           metrics.contains_answer(prediction, gold), answer.timings.total))
        if i % 25 == 0 or i == len(questions):
            progress(f"{direction}: {i}/{len(questions)}")
    return out


def summarize(results: list[XResult]) -> dict[str, float | None]:
    first = [r for r in results if r.rank == 1]
    latencies = [r.latency for r in results]
    return {
        "n": float(len(results)),
        "hit_at_1": metrics.mean(float(metrics.hit_at(r.rank, 1)) for r in results),
        "hit_at_5": metrics.mean(float(metrics.hit_at(r.rank, 5)) for r in results),
        "mrr": metrics.mean(metrics.reciprocal_rank(r.rank) for r in results),
        "answered": metrics.mean(float(not r.refused) for r in results),
        "em": metrics.mean(100 * r.em for r in results),
        "f1": metrics.mean(100 * r.f1 for r in results),
        "contains": metrics.mean(float(r.contains) for r in results),
        "contains_at_hit1": metrics.mean(float(r.contains) for r in first),
        "latency_p50": metrics.percentile(latencies, 50),
        "latency_p95": metrics.percentile(latencies, 95),
    }


def render_markdown(meta: dict, table: dict[str, dict[str, float | None]], results: list[XResult]) -> str:
    dirs = list(table)
    lines = [
        f"# XQuAD benchmark ({meta['mode']})",
        "",
        f"{meta['date']} · commit `{meta['commit']}`{provenance(meta)}"
        f" · backend `{meta['backend']}` · {meta['seconds']} s for the questions (indexing: {meta['ingest']})",
        "",
        "Settings: " + ", ".join(f"`{k}={v}`" for k, v in meta["settings"].items()),
        "",
        f"Corpus: XQuAD ({meta['paragraphs']} Wikipedia paragraphs and {meta['total_questions']} questions, each in English and"
        " Spanish; CC BY-SA 4.0). Every paragraph is indexed as an article in a store of its own; every question is asked"
        " through `Assistant.ask` with retrieval restricted to the paragraphs of the target language. Retrieval is scored at"
        f" paragraph level: the rank of the gold paragraph among the distinct paragraphs of the `top_k={meta['settings'].get('top_k')}`"
        " retrieved passages (a paragraph not retrieved counts as a miss, so MRR is truncated there).",
        "",
        "## Retrieval (paragraph level)",
        "",
        "| direction (question → paragraphs) | questions | hit@1 | hit@5 | MRR |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {d.replace('-', ' → ')} | {fmt(table[d]['n'], 'n')} | {fmt(table[d]['hit_at_1'])} | {fmt(table[d]['hit_at_5'])} |"
              f" {fmt(table[d]['mrr'])} |" for d in dirs]
    lines += [
        "",
        "## Answers of the default backend",
        "",
        "Scored with the SQuAD v1.1 normalisation against the gold answers in the paragraphs' language. The prediction is the"
        " answer's sentences (attribution, markers and notes removed). The extractive composer answers with whole article"
        " sentences, not short spans, so exact match is near zero by construction; *contains gold* is the share of answers"
        " holding a gold span, and *contains gold at hit@1* the same among questions whose gold paragraph was ranked first."
        " Latency is per ask with the question embeddings computed up front, so it is not the interactive latency (see the"
        " gold report for that).",
        "",
        "| direction | answered | EM | F1 | contains gold | contains gold at hit@1 | latency p50 s | p95 s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {d.replace('-', ' → ')} | {fmt(table[d]['answered'])} | {fmt(table[d]['em'], 'pct')} | {fmt(table[d]['f1'], 'pct')} |"
              f" {fmt(table[d]['contains'])} | {fmt(table[d]['contains_at_hit1'])} | {fmt(table[d]['latency_p50'], 'latency')} |"
              f" {fmt(table[d]['latency_p95'], 'latency')} |" for d in dirs]
    lines += [
        "",
        "## Published reading-comprehension figures, for reference",
        "",
        "Artetxe et al. (2020), XQuAD test, models fine-tuned on English SQuAD and **given the gold paragraph** (no retrieval),"
        " extracting a short span. They measure a different task from the row above, which must first find the paragraph"
        " among 240 and then answers with a sentence.",
        "",
        "| model | en F1 / EM | es F1 / EM |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {en[0]} / {en[1]} | {es[0]} / {es[1]} |" for name, (en, es) in ((n, (v["en"], v["es"])) for n, v in PUBLISHED.items())]
    lines += ["", "## Retrieval misses (first five per direction)", ""]
    for d in dirs:
        misses = [r for r in results if r.direction == d and not metrics.hit_at(r.rank, 5)][:5]
        lines += [f"- {d.replace('-', ' → ')}: " + ("; ".join(f"`{r.qid}` {cell(r.question, 90)}" for r in misses) or "none")]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from qa.assistant import Assistant

    settings = xquad_settings(args.data_dir or paths().stores / "xquad").model_copy(update={"disabled_checks": args.disable_check or []})
    embedder = QueryCache(make_embedder(settings))
    return execute(args, Assistant(settings, embedder=embedder, auto_ingest=False))


def execute(args: argparse.Namespace, bot) -> int:
    """Index the paragraphs into `bot`'s store, ask every direction, write the report and apply `--check`."""
    corpus = load_corpus(args.xquad_dir or paths().xquad_dir)
    settings = bot.settings
    progress = progress_printer(args)
    progress(f"indexing {2 * len(corpus.paragraphs['en'])} paragraphs into {settings.data_dir} (slow the first time only)")
    ingest = bot.ingest([write_articles(corpus, settings.seeds_dir)])
    questions = sample(corpus.questions, None if args.full else (args.sample or 100), args.seed)
    t0 = time.perf_counter()
    texts = [q.text[lang] for q in questions for lang in LANGS]
    for i in range(0, len(texts), 64):  # in batches, up front (kept by the QueryCache run() puts in front of the model)
        bot.embedder.embed_queries(texts[i : i + 64])
        progress(f"embedded {min(i + 64, len(texts))}/{len(texts)} questions")
    results = [r for q_lang, p_lang in DIRECTIONS
               for r in ask_direction(bot, questions, q_lang, p_lang, len(corpus.paragraphs[p_lang]), progress)]
    table = {f"{q}-{p}": summarize([r for r in results if r.direction == f"{q}-{p}"]) for q, p in DIRECTIONS}
    meta = run_meta(settings) | {
        "mode": "full" if args.full or len(questions) == len(corpus.questions)
        else f"sample of {len(questions)} of {len(corpus.questions)} questions per direction, seed {args.seed}",
        "backend": settings.backend, "paragraphs": len(corpus.paragraphs["en"]), "total_questions": len(corpus.questions),
        "ingest": ingest.summary(), "seconds": round(time.perf_counter() - t0, 1),
    }
    out = args.out or (paths().eval_dir / "xquad" if args.full else paths().eval_dir / "report" / "xquad")
    out.mkdir(parents=True, exist_ok=True)
    # Scores per question, not texts: the full run's 4,760 predictions would make a multi-megabyte file to commit.
    lean = [{"qid": r.qid, "direction": r.direction, "rank": r.rank, "refused": r.refused, "em": r.em, "f1": round(r.f1, 4),
             "contains": r.contains, "latency": round(r.latency, 3)} for r in results]
    data = {"meta": meta, "metrics": table, "published": PUBLISHED, "results": lean}
    (out / "report.json").write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(meta, table, results), encoding="utf-8")
    for d, row in table.items():
        print(f"{d}: hit@1 {fmt(row['hit_at_1'])} hit@5 {fmt(row['hit_at_5'])} MRR {fmt(row['mrr'])}"
              f" EM {fmt(row['em'], 'pct')} F1 {fmt(row['f1'], 'pct')} contains {fmt(row['contains'])}")
    print(f"report: {out / 'report.md'}")
    flat = {f"{d}.{k}": v for d, row in table.items() for k, v in row.items()}
    return check(flat, args.thresholds, "xquad") if args.check else 0
