"""`qa bench lexical`: the lexical index alone at sizes the machine cannot fill with real articles (1M chunks).

A synthetic corpus (Zipf-distributed term ids, chunk lengths drawn from the committed scale run's range) goes through the
same code as an ingest's commit (qa.index.lexical: build, save) in one process; a fresh process then loads it as a first query
does and scores queries, so load time and RSS belong to the query side only. Chroma is not involved: its part of a query
is measured by `qa bench scale`.
"""

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import report_head, _fmt, dir_mb, loadavg, machine, pct, peak_rss_mb, rss_mb, spawn

VOCAB = 200_000  # distinct terms at 1M chunks is of this order for news text
TERMS_PER_CHUNK = (20, 70)  # qa.core.text.terms of a 128-token chunk
ZIPF = 1.2
ARTICLE_CHUNKS = 10


def synthetic_docs(n: int, seed: int = 0):
    from qa.index.lexical import Docs

    rng = np.random.default_rng(seed)
    lengths = rng.integers(*TERMS_PER_CHUNK, n)
    tokens = ((rng.zipf(ZIPF, int(lengths.sum())) - 1) % VOCAB).astype(np.int32)
    articles = [f"art{i}" for i in range((n + ARTICLE_CHUNKS - 1) // ARTICLE_CHUNKS)]
    return Docs(np.array([f"art{i // ARTICLE_CHUNKS}#{i % ARTICLE_CHUNKS}" for i in range(n)]),
                (np.arange(n) // ARTICLE_CHUNKS).astype(np.int32), np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                tokens, articles, ["sha"] * len(articles), {f"t{i}": i for i in range(VOCAB)})


def w_lexical_build(cfg: dict[str, Any]) -> dict[str, Any]:
    from qa.index.lexical import LexicalStore, _compact, build

    docs = synthetic_docs(cfg["chunks"])
    rss0 = rss_mb()
    t0 = time.perf_counter()
    lex = build(_compact(docs), 1.2, 0.75)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    store = LexicalStore(Path(cfg["folder"]), 1.2, 0.75)
    gen = store._new_generation()
    lex.sentences.write(gen, np.ones(lex.n, dtype=bool), [])  # synthetic docs have no sentences
    store._save(lex, gen)
    return {"build_seconds": t_build, "save_seconds": time.perf_counter() - t0, "rss_before_mb": rss0, "peak_rss_mb": peak_rss_mb(),
            "terms": int(len(docs.tokens))}


def w_lexical_query(cfg: dict[str, Any]) -> dict[str, Any]:
    from qa.index.lexical import LexicalStore

    rss0 = rss_mb()
    t0 = time.perf_counter()
    lex = LexicalStore(Path(cfg["folder"]), 1.2, 0.75).load()
    t_load = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    times = []
    for _ in range(cfg["questions"]):
        query = [f"t{int(t)}" for t in (rng.zipf(ZIPF, 6) - 1) % VOCAB]
        t0 = time.perf_counter()
        scores = lex.scores(query)
        np.argpartition(-scores, 20)  # the retriever's top bm25_k
        [lex.idf(t) for t in query]
        times.append(time.perf_counter() - t0)
    return {"chunks": lex.n, "load_seconds": t_load, "rss_before_mb": rss0, "rss_after_queries_mb": rss_mb(),
            "score": pct(times)}


def run_lexical(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    work = Path(args.work) / "lexical"
    result: dict[str, Any] = {"mode": "lexical", "command": args.command_line, "machine": machine(), "points": [],
                              "corpus": {"vocab": VOCAB, "terms_per_chunk": TERMS_PER_CHUNK, "zipf": ZIPF}}
    for n in sorted(args.sizes):
        folder = work / f"n{n}"
        log(f"building the lexical index of {n} synthetic chunks")
        built = spawn("lexical_build", {"chunks": n, "folder": str(folder)}, log)
        query = spawn("lexical_query", {"folder": str(folder), "questions": args.questions}, log)
        result["points"].append({"chunks": n, "build": built, "query": query, "disk_mb": dir_mb(folder), "loadavg": loadavg()})
    result["machine"]["loadavg_after"] = loadavg()
    return result


def lexical_markdown(r: dict[str, Any]) -> str:
    lines = [
        *report_head("# The lexical index alone (bm25s via qa.index.lexical), synthetic chunks", r),
        "",
        f"Corpus: Zipf({r['corpus']['zipf']}) term ids over {r['corpus']['vocab']:,} terms, {r['corpus']['terms_per_chunk']} terms per "
        "chunk. Build + save is what each ingest's commit costs (bm25s has no incremental update); load is the first "
        "query's cost in a fresh process (memory-mapped); a query scores every chunk and reads the idf of its terms.",
        "",
        "| chunks | build (s) | save (s) | build peak RSS (MB) | on disk (MB) | first-query load (s) | RSS added by the loaded index (MB) | score p50 / p95 (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in r["points"]:
        b, q = p["build"], p["query"]
        lines.append(f"| {p['chunks']:,} | {b['build_seconds']:.1f} | {b['save_seconds']:.1f} | {b['peak_rss_mb']:.0f} | {_fmt(p['disk_mb'])} "
                     f"| {q['load_seconds']:.2f} | {q['rss_after_queries_mb'] - q['rss_before_mb']:.0f} "
                     f"| {q['score']['p50'] * 1000:.1f} / {q['score']['p95'] * 1000:.1f} |")
    return "\n".join(lines) + "\n"
