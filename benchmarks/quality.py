"""`qa bench quality`: retrieval hit@1, hit@5 and MRR with chunk vectors pooled from the sentence vectors and with chunk
vectors from a model pass of their own (settings.chunk_vectors), on the gold set, XQuAD and SQuAD 2.0.

Only retrieval is measured (`Retriever.retrieve`, the passages the answer stage reads), so the two ways differ in nothing
else. Each corpus is embedded once: a memo hands the second store the vectors the first one computed.
"""

import argparse
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import report_head, XQUAD_DIR, _fmt, loadavg, machine
from qa_eval import metrics
from qa.core.settings import PROJECT_ROOT, Settings
from qa.core.types import Filters, Passage

WAYS = ("embedded", "sentences")


class MemoEmbedder:
    """The real model, each distinct text embedded once across both stores."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.memo: dict[tuple[str, str], np.ndarray] = {}

    def _embed(self, kind: str, texts: Sequence[str], fn) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if (kind, t) not in self.memo]
        if missing:
            self.memo.update(((kind, t), v) for t, v in zip(missing, fn(missing)))
        return np.stack([self.memo[(kind, t)] for t in texts]) if texts else fn([])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed("passage", texts, self.inner.embed_passages)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed("query", texts, self.inner.embed_queries)


@dataclass(frozen=True)
class Probe:
    """One question and how to tell a right passage: by its article, or by holding a gold answer span."""

    question: str
    group: str
    filters: Filters | None
    articles: frozenset[str]
    answers: tuple[str, ...] = ()

    def rank(self, passages: list[Passage]) -> int | None:
        if self.answers:
            return next((i for i, p in enumerate(passages, 1)
                         if p.article_id in self.articles and metrics.contains_answer(p.text, self.answers)), None)
        return metrics.first_relevant_rank(metrics.article_ranking(p.article_id for p in passages), self.articles)


def gold_probes(path: Path) -> list[Probe]:
    from qa_eval.evaluate import load_questions

    return [Probe(q.question, "gold", None, frozenset(q.sources)) for q in load_questions(path) if q.answerable and not q.follow_up_of]


def xquad_probes(folder: Path, articles: Path, sample: int, seed: int) -> list[Probe]:
    """The four directions (question language → paragraph language), the paragraphs restricted to one language."""
    from qa_eval.xquad import LANGS, article_id, load_corpus, write_articles

    corpus = load_corpus(folder)
    write_articles(corpus, articles)
    questions = corpus.questions if sample >= len(corpus.questions) else random.Random(seed).sample(corpus.questions, sample)
    return [Probe(q.text[ql], f"xquad {ql}-{pl}", Filters(lang=pl), frozenset({article_id(pl, q.paragraph)}))
            for ql in LANGS for pl in LANGS for q in questions]


def squad2_probes(path: Path, articles: Path, sample: int, seed: int) -> list[Probe]:
    """Answerable questions; a passage is right when it is the question's article's and holds a gold span."""
    from qa_eval.squad2 import article_id, load, write_articles

    texts, questions = load(path)
    write_articles(texts, articles)
    answerable = [q for q in questions if q.answerable]
    chosen = answerable if sample >= len(answerable) else random.Random(seed).sample(answerable, sample)
    return [Probe(q.question, "squad2", None, frozenset({article_id(q.title)}), q.answers) for q in chosen]


def measure(probes: list[Probe], articles: Path, work: Path, name: str, embedder, log: Callable[[str], None]) -> dict[str, Any]:
    from qa.assistant import Assistant

    out: dict[str, Any] = {}
    for way in WAYS:
        settings = Settings(data_dir=work / f"{name}-{way}", collection=f"quality-{name}", chroma_url=None,
                            chunk_vectors=way, seeds_dir=articles)
        bot = Assistant(settings, embedder=embedder, auto_ingest=False)
        report = bot.ingest([articles])
        log(f"{name} ({way}): {report.summary()}")
        ranks: dict[str, list[int | None]] = {}
        for p in probes:
            ranks.setdefault(p.group, []).append(p.rank(bot.retriever.retrieve(p.question, p.filters)))
        out[way] = {group: {"n": len(r), "hit_at_1": metrics.mean(float(metrics.hit_at(x, 1)) for x in r),
                            "hit_at_5": metrics.mean(float(metrics.hit_at(x, 5)) for x in r),
                            "mrr": metrics.mean(metrics.reciprocal_rank(x) for x in r)} for group, r in ranks.items()}
    return out


def run_quality(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    from qa.index.embed import make_embedder
    from qa_eval.paths import paths

    work = Path(args.work) / "quality"
    settings = Settings()
    embedder = MemoEmbedder(make_embedder(settings))
    result: dict[str, Any] = {"mode": "quality", "command": args.command_line, "machine": machine(), "sample": args.questions,
                              "datasets": {}}
    sets = {
        "gold": (gold_probes(PROJECT_ROOT / "eval" / "questions.jsonl"), settings.seeds_dir),
        "xquad": (xquad_probes(XQUAD_DIR, work / "articles" / "xquad", args.questions, 0), work / "articles" / "xquad"),
        "squad2": (squad2_probes(paths().squad2_file, work / "articles" / "squad2", args.questions, 0), work / "articles" / "squad2"),
    }
    for name, (probes, articles) in sets.items():
        result["datasets"][name] = measure(probes, articles, work, name, embedder, log)
    result["machine"]["loadavg_after"] = loadavg()
    return result


def quality_markdown(r: dict[str, Any]) -> str:
    lines = [
        *report_head("# Retrieval quality: chunk vectors pooled from sentence vectors vs embedded on their own", r),
        "",
        "`Retriever.retrieve` only (hybrid: dense + BM25, fused), no reader. Gold: answerable, standalone questions of "
        "eval/questions.jsonl over the seeds, right when a passage is from a source article. XQuAD: "
        f"{r['sample']} sampled questions per direction, all 240 paragraphs per language in the store, retrieval limited "
        "to the paragraph language, right when the gold paragraph is retrieved. SQuAD 2.0: "
        f"{r['sample']} sampled answerable questions over the 8 dev articles, right when a passage of the question's "
        "article holds a gold span (passage rank). Translation on where Apertium is installed (other-language chunks are "
        "matched by BM25 over their translations).",
        "",
        "| set | n | hit@1 embedded | hit@1 pooled | hit@5 embedded | hit@5 pooled | MRR embedded | MRR pooled |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, ways in r["datasets"].items():
        for group, e in ways["embedded"].items():
            s = ways["sentences"][group]
            lines.append(f"| {group} | {e['n']} | {_fmt(round(e['hit_at_1'], 3))} | {_fmt(round(s['hit_at_1'], 3))} "
                         f"| {_fmt(round(e['hit_at_5'], 3))} | {_fmt(round(s['hit_at_5'], 3))} | {_fmt(round(e['mrr'], 3))} "
                         f"| {_fmt(round(s['mrr'], 3))} |")
    return "\n".join(lines) + "\n"
