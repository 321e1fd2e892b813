"""`qa eval --squad2`: SQuAD 2.0's 8 dev articles, every question asked against a store of all of them, no gold
paragraph given, each answered by a reader that never saw the question's article (article-grouped folds).

An answerable question is right when the answer is graded "answer", cites the question's article and contains a
gold span; an unanswerable one is right when it is not answered (refused, or partial: the bot said the articles do
not state exactly this). Precision = right answers / answered.
"""

import argparse
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from qa_eval import metrics
from qa.index.embed import make_embedder
from qa_eval.paths import paths
from qa_eval.report import check, fmt, progress_printer, provenance, run_meta
from qa.answer.reader import MODEL_DIR, NeuralReader, Reader, TreeReader
from qa.core.settings import Settings
from qa_eval.xquad import QueryCache



@dataclass(frozen=True)
class SQuestion:
    qid: str
    title: str
    question: str
    answerable: bool
    answers: tuple[str, ...]


@dataclass(frozen=True)
class SResult:
    qid: str
    title: str
    answerable: bool
    grade: str
    cited_article: bool
    contains: bool
    confidence: float | None
    refused_by: str | None
    latency: float

    @property
    def right(self) -> bool:
        if self.answerable:
            return self.grade == "answer" and self.cited_article and self.contains
        return self.grade != "answer"


def article_id(title: str) -> str:
    return "squad2-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def load(path: Path) -> tuple[dict[str, str], list[SQuestion]]:
    """Each Wikipedia article as one text (its paragraphs in order), and its questions."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    texts, questions = {}, []
    for a in data:
        title = a["title"].replace("_", " ")
        texts[a["title"]] = title + "\n\n" + "\n\n".join(p["context"].strip() for p in a["paragraphs"]) + "\n"
        for p in a["paragraphs"]:
            for q in p["qas"]:
                questions.append(SQuestion(q["id"], a["title"], q["question"].strip(), not q["is_impossible"],
                                           tuple(x["text"] for x in q["answers"])))
    return texts, questions


def write_articles(texts: dict[str, str], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for title, body in texts.items():
        path = folder / f"{article_id(title)}.txt"
        if not path.exists() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")
    return folder


def fold_readers(folder: Path, neural: Reader) -> dict[str, TreeReader]:
    """Title -> the fold reader that held that article out of its training (written by eval/train_reader.py); they
    share the cross-encoder, which never saw these articles."""
    out = {}
    for sub in sorted(folder.glob("fold*")):
        reader = TreeReader(neural, sub)
        for title in reader.meta.get("held_out", []):
            out[title] = reader
    return out


def held_out_readers(questions: list[SQuestion], readers: dict[str, TreeReader], source: Path) -> dict[str, TreeReader] | None:
    """Question id -> the fold reader that held its article out, or None when some question has none. A translation of
    the dev set (squad2-es-dev-8) holds the same articles in the same order under translated titles (and its own question
    ids): its questions go to the reader that held out the article in that place of `source`, the English file."""
    if not readers:
        return None
    titles = list(dict.fromkeys(q.title for q in questions))
    english = list(load(source)[0]) if source.exists() else []
    alias = dict(zip(titles, english)) if len(titles) == len(english) else {}
    out = {q.qid: readers.get(q.title) or readers.get(alias.get(q.title, "")) for q in questions}
    return out if all(out.values()) else None  # type: ignore[return-value]


def summarize(results: list[SResult]) -> dict[str, float | None]:
    ans = [r for r in results if r.answerable]
    una = [r for r in results if not r.answerable]
    answered = [r for r in results if r.grade == "answer"]
    return {
        "n": float(len(results)),
        "answerable_right": metrics.mean(float(r.right) for r in ans),
        "unanswerable_refused": metrics.mean(float(r.right) for r in una),
        "precision": metrics.ratio(sum(r.right for r in answered), len(answered)),
        "accuracy": metrics.mean(float(r.right) for r in results),
        "partial": metrics.mean(float(r.grade == "partial") for r in results),
        "latency_p50": metrics.percentile([r.latency for r in results], 50),
    }


def render_markdown(meta: dict, table: dict[str, dict], results: list[SResult]) -> str:
    lines = [
        "# SQuAD 2.0, no gold paragraph given", "",
        f"{meta['date']} · commit `{meta['commit']}`{provenance(meta)} · reader: {meta['reader']} · {meta['seconds']} s", "",
        f"{meta['articles']} Wikipedia articles of the SQuAD 2.0 dev set (CC BY-SA 4.0) in one store; each of {meta['questions']} "
        "questions asked through `Assistant.ask` against all of them. Right: an answerable question graded \"answer\", citing its "
        "article, with a gold span in the answer; an unanswerable one not answered (refused or partial).", "",
        "| article | questions | answerable right | unanswerable refused | precision | accuracy | partial | p50 s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in table.items():
        lines.append(f"| {name} | {fmt(row['n'], 'n')} | {fmt(row['answerable_right'])} | {fmt(row['unanswerable_refused'])} | "
                     f"{fmt(row['precision'])} | {fmt(row['accuracy'])} | {fmt(row['partial'])} | {fmt(row['latency_p50'], 'latency')} |")
    refusers: dict[str, int] = {}
    for r in results:
        if r.grade == "refused":
            refusers[r.refused_by or "?"] = refusers.get(r.refused_by or "?", 0) + 1
    lines += ["", "Refused by: " + ", ".join(f"{k} {v}" for k, v in sorted(refusers.items(), key=lambda kv: -kv[1]))]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from qa.assistant import Assistant

    where = paths()
    english = where.squad2_file
    source = args.squad2_file or english
    # Another file (the Spanish dev-8) gets its own store and report, so the two sets' articles never share a store.
    name = "squad2" if source == english else source.stem
    data_dir = args.data_dir or where.stores / name
    folds = args.reader_folds or where.stores / "reader_folds"  # written by eval/train_reader.py
    settings = Settings(data_dir=data_dir, seeds_dir=data_dir / "articles", collection="squad2", chroma_url=None,
                        disabled_checks=args.disable_check or [])
    progress = progress_printer(args)
    texts, questions = load(source)
    embedder = QueryCache(make_embedder(settings))
    base = Assistant(settings, embedder=embedder, auto_ingest=False)
    # The neural reader never saw these articles (it is trained on SQuAD 2.0's training articles): no folds needed.
    neural = NeuralReader(settings.reader_dir or MODEL_DIR, settings.reader_threads, translator=base.translator)
    readers = fold_readers(folds, neural) if settings.reader == "tree" else {}
    reader_of = held_out_readers(questions, readers, english)
    by_folds = reader_of is not None
    held_out = by_folds or settings.reader == "neural"
    progress(f"indexing {len(texts)} articles into {data_dir} (slow the first time only)")
    ingest = base.ingest([write_articles(texts, settings.seeds_dir)])
    bots = {}
    if by_folds:
        for reader in {id(r): r for r in readers.values()}.values():
            bots[id(reader)] = Assistant(settings, embedder=embedder, store=base.store, reader=reader, auto_ingest=False)
    if args.sample and args.sample < len(questions):
        step = len(questions) / args.sample
        questions = [questions[int(i * step)] for i in range(args.sample)]
    t0 = time.perf_counter()
    results = []
    for i, q in enumerate(questions, 1):
        bot = bots[id(reader_of[q.qid])] if by_folds else base
        answer = bot.ask(q.question)
        text = " ".join(s.text for s in answer.sentences if s.supported) if answer.grade == "answer" else ""
        results.append(SResult(q.qid, q.title, q.answerable, answer.grade,
                               any(c.article_id == article_id(q.title) for c in answer.citations),
                               q.answerable and metrics.contains_answer(text, q.answers), answer.confidence, answer.refused_by,
                               answer.timings.total))
        if i % 50 == 0 or i == len(questions):
            progress(f"squad2: {i}/{len(questions)}")
    table = {"all": summarize(results)} | {t: summarize([r for r in results if r.title == t]) for t in dict.fromkeys(q.title for q in questions)}
    meta = run_meta(settings) | {
        "reader": ("article-held-out fold readers from " + folds.name) if by_folds
        else f"{base.reader.name} (shipped; " + ("none of these articles in its training data)" if held_out
                                                  else "these articles were in its training data)"),
        "articles": len(texts), "questions": len(results), "ingest": ingest.summary(), "seconds": round(time.perf_counter() - t0, 1),
        "held_out": held_out,
    }
    out = args.out or (where.eval_dir / name)
    out.mkdir(parents=True, exist_ok=True)
    lean = [{"qid": r.qid, "answerable": r.answerable, "grade": r.grade, "right": r.right, "confidence": r.confidence,
             "refused_by": r.refused_by} for r in results]
    (out / "report.json").write_text(json.dumps({"meta": meta, "metrics": table, "results": lean}) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(meta, table, results), encoding="utf-8")
    row = table["all"]
    print(f"squad2 ({'held-out readers' if held_out else 'seen in training'}): answerable right {fmt(row['answerable_right'])} · "
          f"unanswerable refused {fmt(row['unanswerable_refused'])} · precision {fmt(row['precision'])}")
    print(f"report: {out / 'report.md'}")
    flat = {f"squad2.{k}": v for k, v in row.items()}
    return check(flat, args.thresholds, "squad2") if args.check else 0
