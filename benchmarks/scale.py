"""`qa bench scale`: ingest time, store size, retrieval latency and memory as the store grows (derived vectors)."""

import argparse
import json
import re
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    TimedEmbedder, XArticle, _fmt, baseline_engines, core_version, dir_mb, loadavg, machine, ours_once, peak_rss_mb, pct,
    pick_questions, reset_store, rss_mb, spawn, worker_settings, write_corpus, xquad_articles,
)
from qa.core.errors import QAError
from qa.core.settings import Settings


# Gaussian noise per dimension for derived vectors: cosine to the base vector is about 1/sqrt(1 + 384 s^2) = 0.95.
NOISE = 0.017


class DerivedEmbedder:
    """Real e5 for queries; stored texts get vectors registered beforehand (a base text's real vector plus noise).

    Embedding 100k chunks and their sentences for real would take hours here, so only the unique XQuAD
    texts are embedded (once, cached) and each generated variation reuses its base vector with noise.
    """

    def __init__(self, real) -> None:
        self.real = real
        self.name = real.name
        self.dim = real.dim
        self.table: dict[str, np.ndarray] = {}
        self.misses = 0

    def embed_passages(self, texts):
        rows = []
        for t in texts:
            vec = self.table.get(t)
            if vec is None:
                self.misses += 1
                vec = np.full(self.dim, 1 / np.sqrt(self.dim), dtype=np.float32)
            rows.append(vec)
        return np.stack(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)

    def embed_queries(self, texts):
        return self.real.embed_queries(texts)


class RecordingEmbedder(TimedEmbedder):
    """The real model, remembering every stored text's vector for later variations."""

    def __init__(self, inner) -> None:
        super().__init__(inner)
        self.seen: dict[str, np.ndarray] = {}

    def embed_passages(self, texts):
        out = super().embed_passages(texts)
        self.seen.update(zip(texts, out))
        return out


_NUM = re.compile(r"\d+")


def shift_numbers(text: str, k: int) -> str:
    return _NUM.sub(lambda m: str(int(m.group()) + k), text)


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / (np.linalg.norm(v) or 1.0)).astype(np.float32)


def variant(base: XArticle, b: int, k: int) -> tuple[str, str, list[int]]:
    """Variation k of base article b: paragraphs rotated, every number shifted by k, its own date and title."""
    n = len(base.paragraphs)
    order = [(i + k) % n for i in range(n)]
    day = (date(2019, 1, 1) + timedelta(days=(b * 37 + k) % 2000)).isoformat()
    body = "\n\n".join(shift_numbers(base.paragraphs[i], k) for i in order)
    return f"{base.id}-v{k:03d}", f" date {day}\n{base.title} ({k})\n\n{body}\n", order


class Variations:
    """Generates variation articles and registers their derived vectors with a DerivedEmbedder."""

    def __init__(self, bases: list[XArticle], vectors: dict[str, np.ndarray], settings: Settings) -> None:
        from qa.ingest.articles import parse_text
        from qa.ingest.chunking import chunk_article, sentences_of

        self.bases = bases
        self.settings = settings
        self.vectors = vectors
        self.para_vecs: list[list[np.ndarray]] = []
        for base in bases:
            art = parse_text(base.text(), base.id)
            sents = sentences_of(art, chunk_article(art, settings.chunk_tokens, settings.chunk_overlap))
            vecs = []
            for p in base.paragraphs:
                start = art.text.find(p)
                inside = [vectors[s.text] for s in sents if start <= s.start < start + len(p) and s.text in vectors]
                vecs.append(_unit(np.mean(inside, axis=0)) if inside else _unit(np.ones(len(next(iter(vectors.values()))))))
            self.para_vecs.append(vecs)

    def write(self, folder: Path, b: int, k: int, embedder: DerivedEmbedder) -> None:
        from qa.ingest.articles import parse_text
        from qa.ingest.chunking import chunk_article, sentences_of

        base = self.bases[b]
        aid, text, order = variant(base, b, k)
        path = folder / f"{aid}.txt"
        path.write_text(text, encoding="utf-8")
        art = parse_text(text, aid, str(path))
        chunks = chunk_article(art, self.settings.chunk_tokens, self.settings.chunk_overlap)
        starts = []
        cursor = 0
        for i in order:
            pos = art.text.find(shift_numbers(base.paragraphs[i], k), cursor)
            starts.append(max(pos, 0))
            cursor = max(pos, cursor)
        rng = np.random.default_rng(b * 100_003 + k)

        def para_of(offset: int) -> np.ndarray:
            idx = max([j for j, s in enumerate(starts) if s <= offset] or [0])
            return self.para_vecs[b][order[idx]]

        for c in chunks:
            embedder.table[c.text] = _unit(para_of(c.start) + rng.normal(0, NOISE, embedder.dim))
        for s in sentences_of(art, chunks):
            vec = self.vectors.get(shift_numbers(s.text, -k) if k else s.text)
            embedder.table[s.text] = _unit((vec if vec is not None else para_of(s.start)) + rng.normal(0, NOISE, embedder.dim))


def _load_vectors(path: Path) -> dict[str, np.ndarray]:
    data = np.load(path, allow_pickle=False)
    return dict(zip(data["texts"].tolist(), data["vectors"]))


def w_scale_ingest(cfg: dict[str, Any]) -> dict[str, Any]:
    """Grow the store to cfg['target'] chunks: the XQuAD base with the real model first, then variations."""
    from qa.assistant import Assistant
    from qa.index.embed import make_embedder

    settings = worker_settings(cfg)
    work = Path(cfg["work"])
    vec_path = work / "base_vectors.npz"
    progress_path = work / "progress.jsonl"
    real = make_embedder(settings)
    bases = xquad_articles()
    records = []

    def record(rec: dict[str, Any]) -> None:
        """Keep a batch's figures, also on disk, so a killed run keeps what it measured."""
        records.append(rec)
        with progress_path.open("a") as f:
            f.write(json.dumps(rec) + "\n")

    if not vec_path.exists():
        reset_store(settings, [f"{settings.collection}-"])  # a half-built base would leave texts without vectors
        recorder = RecordingEmbedder(real)
        bot = Assistant(settings, embedder=recorder, auto_ingest=False)
        folder = write_corpus(work / "articles" / "base", bases, with_seeds=False)
        t0 = time.perf_counter()
        report = bot.ingest([folder])
        rec = {"batch": "base", "articles": len(report.added), "chunks": report.chunks, "seconds": time.perf_counter() - t0,
               "embed_seconds": recorder.seconds, "texts_embedded": recorder.texts, "store_chunks": bot.store.count_chunks(),
               "real_embedder": True, "loadavg": loadavg()}
        record(rec)
        texts = list(recorder.seen)
        np.savez(vec_path, texts=np.array(texts), vectors=np.stack([recorder.seen[t] for t in texts]))
        print(f"base: {rec['chunks']} chunks in {rec['seconds']:.0f} s (real embedder)", flush=True)
    base_vectors = _load_vectors(vec_path)
    derived = DerivedEmbedder(real)
    bot = Assistant(settings, embedder=derived, auto_ingest=False)
    if not bot.store.count_chunks():
        # A new work folder seeded with another run's base_vectors.npz: replay the base from the recorded real
        # vectors (exact, no model), so smaller sizes can be re-measured without hours of embedding.
        derived.table.update(base_vectors)
        t0 = time.perf_counter()
        report = bot.ingest([write_corpus(work / "articles" / "base", bases, with_seeds=False)])
        rec = {"batch": "base-replayed", "articles": len(report.added), "chunks": report.chunks, "seconds": time.perf_counter() - t0,
               "store_chunks": bot.store.count_chunks(), "real_embedder": False, "misses": derived.misses, "loadavg": loadavg()}
        record(rec)
    gen = Variations(bases, base_vectors, settings)
    done = {a for a in bot.store.manifest()}
    jobs = ((b, k) for k in range(1, 10_000) for b in range(len(bases)) if f"{bases[b].id}-v{k:03d}" not in done)
    total = bot.store.count_chunks()
    batch_no = len(list((work / "articles").glob("v*")))
    while total < cfg["target"]:
        folder = work / "articles" / f"v{batch_no:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        derived.table.clear()
        # Smaller batches close to the target, so a size point lands near the size asked for.
        per_article = total / len(done) if done else 10.0
        for _ in range(max(1, min(cfg["batch"], int((cfg["target"] - total) / per_article) + 1))):
            b, k = next(jobs)
            gen.write(folder, b, k, derived)
            done.add(f"{bases[b].id}-v{k:03d}")
        t0 = time.perf_counter()
        report = bot.ingest([folder])
        seconds = time.perf_counter() - t0
        total = bot.store.count_chunks()
        rec = {"batch": batch_no, "articles": len(report.added), "chunks": report.chunks, "seconds": seconds, "store_chunks": total,
               "real_embedder": False, "misses": derived.misses, "rss_mb": rss_mb(), "loadavg": loadavg()}
        record(rec)
        print(f"batch {batch_no}: +{report.chunks} chunks in {seconds:.1f} s, store {total}", flush=True)
        batch_no += 1
    ingested = sum(r["chunks"] for r in records)
    return {"store_chunks": total, "ingested_chunks": ingested, "peak_rss_mb": peak_rss_mb() if ingested else None,
            "batches": len(records), "misses": derived.misses}


def w_scale_query(cfg: dict[str, Any]) -> dict[str, Any]:
    """A fresh process on the grown store: first query (manifest read, lexical index loaded), then per-stage retrieval timings."""
    from qa.assistant import Assistant
    from qa.core.text import terms

    settings = worker_settings(cfg)
    t0 = time.perf_counter()
    bot = Assistant(settings, auto_ingest=False)
    t_open = time.perf_counter() - t0
    rss0 = rss_mb()
    t0 = time.perf_counter()
    snap = bot.retriever.snapshot()
    t_snapshot = time.perf_counter() - t0
    rss_snapshot = rss_mb()
    t0 = time.perf_counter()
    bot.retriever.retrieve(cfg["questions"][0])  # Chroma loads its vector index on the first search
    t_first = time.perf_counter() - t0
    engine, _ = baseline_engines(bot.store.vector_store, bot.embedder, settings.top_k)
    retriever = engine.retriever
    rows: dict[str, list[float]] = {"retrieve": [], "dense": [], "bm25": [], "sentences": [], "ask_total": [], "baseline_retrieve": []}
    for q in cfg["questions"]:
        t0 = time.perf_counter()
        passages = bot.retriever.retrieve(q)
        rows["retrieve"].append(time.perf_counter() - t0)
        qvec = bot.embedder.embed_queries([q])[0]
        t0 = time.perf_counter()
        bot.store.dense_search(qvec, settings.dense_k, None)
        rows["dense"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        snap.bm25.scores(terms(q))
        rows["bm25"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        bot.retriever.sentences_for([p.chunk_id for p in passages])
        rows["sentences"].append(time.perf_counter() - t0)
        rows["ask_total"].append(ours_once(bot, q)["total"])
        t0 = time.perf_counter()
        retriever.retrieve(q)
        rows["baseline_retrieve"].append(time.perf_counter() - t0)
    return {"chunks": snap.bm25.n, "articles": len(snap.manifest), "sentences": snap.bm25.sentences.rows, "core": core_version(),
            "open_seconds": t_open, "snapshot_seconds": t_snapshot, "first_retrieve_seconds": t_first, "rss_before_snapshot_mb": rss0,
            "rss_after_snapshot_mb": rss_snapshot, "peak_rss_mb": peak_rss_mb(), "latency": {k: pct(v) for k, v in rows.items()}}


def scale_config(work: Path, chroma_url: str | None, batch: int) -> dict[str, Any]:
    """What the scale workers are told: where the store grows (under `work`) and how."""
    return {"data_dir": str(work / "data"), "chroma_url": chroma_url, "collection": "scale", "work": str(work), "batch": batch}


def run_scale(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    work = Path(args.work) / ("scale-server" if args.chroma_url else "scale")
    work.mkdir(parents=True, exist_ok=True)
    cfg = scale_config(work, args.chroma_url, args.batch)
    questions = pick_questions(xquad_articles(), args.questions)
    result: dict[str, Any] = {"mode": "scale", "command": args.command_line, "machine": machine(), "noise_sigma": NOISE, "points": []}
    for target in sorted(args.sizes):
        log(f"growing the store to {target} chunks")
        ingest = spawn("scale_ingest", {**cfg, "target": target}, log)
        log(f"querying at {ingest['store_chunks']} chunks")
        query = spawn("scale_query", {**cfg, "questions": questions}, log)
        store_dir = args.server_path if args.chroma_url else work / "data" / "chroma"
        point = {"target": target, "ingest": ingest, "query": query, "store_mb": dir_mb(store_dir) if store_dir else None,
                 "loadavg": loadavg()}
        result["points"].append(point)
        (work / "partial.json").write_text(json.dumps(result, indent=1))
    result["batches"] = [json.loads(line) for line in (work / "progress.jsonl").read_text().splitlines()]
    result["machine"]["loadavg_after"] = loadavg()
    return result


def scale_markdown(r: dict[str, Any], png: str) -> str:
    m = r["machine"]
    base = next((b for b in r["batches"] if b["real_embedder"]), None)
    if base is None:
        raise QAError("no base batch with the real embedder in this scale result; merge it with the run that built the base")
    per_chunk_real = base["seconds"] / base["chunks"]
    lines = [
        "# Scaling: ingest, store size, retrieval latency and memory",
        "",
        f"Command: `{r['command']}`  ",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Python {m['python']}; shared, load average "
        f"{m['loadavg']} at start, {m.get('loadavg_after')} at end; commit {m['commit']}; {m['when']}.",
        "",
        f"Corpus: the 96 XQuAD articles (48 en + 48 es, 5 paragraphs each) ingested with the real e5 model "
        f"({base['chunks']} chunks in {base['seconds']:.0f} s = {per_chunk_real:.2f} s/chunk including its sentences; "
        f"{base['embed_seconds'] / base['seconds']:.0%} of it embedding), then variations (paragraphs rotated, numbers shifted, "
        f"own date and title) through the same `Assistant.ingest` path. Variation vectors are NOT computed by the model: "
        f"each is its base paragraph's (chunks) or base sentence's real vector plus Gaussian noise (sigma {r['noise_sigma']}, "
        "cosine about 0.95), so ingest times below are parse + chunk + store cost without embedding; the real-model "
        "projection adds the measured per-chunk embedding cost. Latencies use the real model for queries.",
        "",
        "| chunks | articles | sentences | ingest, this segment (s/chunk, no model) | projected real ingest (h) | store on disk (MB) "
        "| first query after a restart: manifest + lexical index / + first retrieve (s) | retrieve p50/p95 (ms) | dense p50/p95 (ms) | BM25 p50/p95 (ms) | sentences p50/p95 (ms) "
        "| ask total p50/p95 (ms) | baseline retrieve p50/p95 (ms) | RSS query process (MB) | RSS ingest process (MB) | core |",
        "|" + "---:|" * 15 + "---|",
    ]
    prev = 0
    for p in r["points"]:
        q = p["query"]
        seg = [b for b in r["batches"] if not b["real_embedder"] and prev < b["store_chunks"] <= q["chunks"]]
        seg_rate = sum(b["seconds"] for b in seg) / max(1, sum(b["chunks"] for b in seg)) if seg else None
        prev = q["chunks"]
        lat = q["latency"]
        ms = lambda k: f"{lat[k]['p50'] * 1000:.0f} / {lat[k]['p95'] * 1000:.0f}"  # noqa: E731
        lines.append(
            f"| {q['chunks']:,} | {q['articles']:,} | {q['sentences']:,} | {_fmt(round(seg_rate, 4) if seg_rate else None)} "
            f"| {q['chunks'] * per_chunk_real / 3600:.1f} | {_fmt(p['store_mb'])} | {q['snapshot_seconds']:.3f} / {q['snapshot_seconds'] + q['first_retrieve_seconds']:.2f} | {ms('retrieve')} "
            f"| {ms('dense')} | {ms('bm25')} | {ms('sentences')} | {ms('ask_total')} | {ms('baseline_retrieve')} "
            f"| {q['peak_rss_mb']:.0f} | {_fmt(p['ingest']['peak_rss_mb'] and round(p['ingest']['peak_rss_mb']))} | {q.get('core', '—')} |"
        )
    lines += ["", f"![scaling]({png})", ""]
    return "\n".join(lines)


def scale_plot(r: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = r["points"]
    x = [p["query"]["chunks"] for p in pts]
    fig, ax = plt.subplots(2, 2, figsize=(11, 8))
    batches = [b for b in r["batches"] if not b["real_embedder"] and b["chunks"]]
    ax[0, 0].plot([b["store_chunks"] for b in batches], [1000 * b["seconds"] / b["chunks"] for b in batches], ".", ms=3)
    ax[0, 0].set(xscale="log", xlabel="chunks in store", ylabel="ms per chunk (no model)", title="Ingest cost per chunk, by batch")
    ax[0, 1].plot(x, [p["store_mb"] or 0 for p in pts], "o-")
    ax[0, 1].set(xscale="log", yscale="log", xlabel="chunks", ylabel="MB", title="Store size on disk")
    for key, label in (("retrieve", "hybrid retrieve"), ("dense", "dense (Chroma)"), ("bm25", "BM25"), ("sentences", "sentence fetch"),
                       ("baseline_retrieve", "llama-index retriever")):
        ax[1, 0].plot(x, [1000 * p["query"]["latency"][key]["p50"] for p in pts], "o-", label=f"{label} p50")
    ax[1, 0].plot(x, [1000 * p["query"]["latency"]["retrieve"]["p95"] for p in pts], "o--", label="hybrid retrieve p95")
    ax[1, 0].set(xscale="log", yscale="log", xlabel="chunks", ylabel="ms", title="Query latency")
    ax[1, 0].legend(fontsize=7)
    ax[1, 1].plot(x, [p["query"]["peak_rss_mb"] for p in pts], "o-", label="query process peak RSS")
    ax[1, 1].plot(x, [p["query"]["snapshot_seconds"] * 100 for p in pts], "s--", label="first-query manifest + lexical index (s x 100)")
    ax[1, 1].set(xscale="log", xlabel="chunks", ylabel="MB", title="Memory")
    ax[1, 1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


