"""The stored sentences of a lexical generation, for queries to read from memory-mapped files instead of Chroma.

Chroma's local client loads a collection whole at its first access, even for a get without embeddings: a query that
read its few candidate sentences there held all of them (about 500 MB at 250k sentences,
benchmarks/results/trial-rss-steps.md). Here a query reads only the bytes of its rows, with file reads, not through
the memory map: the kernel maps a touched page's whole large folio (up to megabytes of page cache) into the process,
so touching 126 scattered rows of a 100k-chunk table added 93 MB to its RSS. Rows follow the
generation's chunks: chunk i's sentences are rows by_doc[i]:by_doc[i + 1], in text order; texts and translations are
UTF-8 runs in one byte array each; the vectors are one float32 matrix. Chroma's sentence collection stays the record
a generation is built from.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from qa.core.types import Chunk, Sentence

_ARRAYS = ("by_doc", "spans", "text_at", "text", "tr_at", "tr", "has_tr", "ev_at", "ev", "vectors")
_FILE = "sentences-{}.npy"
_BLOCK = 65536  # rows copied at a time between generations: the vectors are never all in memory


@dataclass(frozen=True)
class SentenceTable:
    by_doc: np.ndarray  # int64, docs + 1
    spans: np.ndarray  # int64 (rows, 2): start and end in the article
    text_at: np.ndarray  # int64, rows + 1
    text: np.ndarray  # uint8
    tr_at: np.ndarray  # int64, rows + 1
    tr: np.ndarray  # uint8
    has_tr: np.ndarray  # bool, rows
    ev_at: np.ndarray  # int64, rows + 1
    ev: np.ndarray  # uint8: each row's event date, ISO (empty: undated)
    vectors: np.ndarray  # float32 (rows, dim)

    @classmethod
    def empty(cls, docs: int = 0) -> "SentenceTable":
        zero = np.zeros(1, dtype=np.int64)
        return cls(np.zeros(docs + 1, dtype=np.int64), np.zeros((0, 2), dtype=np.int64), zero, np.zeros(0, dtype=np.uint8),
                   zero, np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=bool), zero, np.zeros(0, dtype=np.uint8),
                   np.zeros((0, 0), dtype=np.float32))

    @classmethod
    def load(cls, folder: Path) -> "SentenceTable":
        return cls(**{name: np.load(folder / _FILE.format(name), mmap_mode="r") for name in _ARRAYS})

    @property
    def rows(self) -> int:
        return len(self.spans)

    def of_docs(self, docs: list[int], chunk_ids: np.ndarray) -> list[tuple[Sentence, np.ndarray]]:
        """The sentences of these docs (in the order given) with their vectors; chunk_ids names the generation's docs."""
        out: list[tuple[Sentence, np.ndarray]] = []
        with _Rows() as rows:
            for d in docs:
                chunk_id = str(chunk_ids[d])
                article_id = Chunk.article_of(chunk_id)
                lo, hi = (int(x) for x in rows(self.by_doc, d, d + 2))
                spans, has_tr, vectors = rows(self.spans, lo, hi), rows(self.has_tr, lo, hi), rows(self.vectors, lo, hi)
                texts, translations = rows.texts(self.text, self.text_at, lo, hi), rows.texts(self.tr, self.tr_at, lo, hi)
                events = rows.texts(self.ev, self.ev_at, lo, hi)
                for i in range(hi - lo):
                    start, end = int(spans[i, 0]), int(spans[i, 1])
                    out.append((Sentence(id=Sentence.make_id(article_id, start), article_id=article_id, chunk_id=chunk_id,
                                         text=texts[i], start=start, end=end, translation=translations[i] if has_tr[i] else None,
                                         event_date=events[i] or None),
                                vectors[i]))
        return out

    def write(self, folder: Path, keep_docs: np.ndarray, new: list[list[tuple[Sentence, np.ndarray]]]) -> "SentenceTable":
        """The table of the next generation, written into its folder: this table's rows of the docs marked in keep_docs,
        then, for each new doc in order, its sentences."""
        counts = np.diff(self.by_doc)
        keep_rows = np.repeat(keep_docs, counts) if len(counts) else np.zeros(0, dtype=bool)
        new_rows = [row for doc in new for row in sorted(doc, key=lambda sv: sv[0].start)]
        n = int(keep_rows.sum()) + len(new_rows)
        dim = self.vectors.shape[1] if self.rows else (len(new_rows[0][1]) if new_rows else 0)
        by_doc = np.concatenate([[0], np.cumsum(np.concatenate([counts[keep_docs], [len(doc) for doc in new]]))]).astype(np.int64)
        spans = np.concatenate([self.spans[keep_rows], np.array([(s.start, s.end) for s, _ in new_rows], dtype=np.int64).reshape(-1, 2)])
        text, text_at = _joined(_kept(self.text, self.text_at, keep_rows), [s.text for s, _ in new_rows])
        tr, tr_at = _joined(_kept(self.tr, self.tr_at, keep_rows), [s.translation or "" for s, _ in new_rows])
        has_tr = np.concatenate([self.has_tr[keep_rows], np.array([s.translation is not None for s, _ in new_rows], dtype=bool)])
        ev, ev_at = _joined(_kept(self.ev, self.ev_at, keep_rows), [s.event_date or "" for s, _ in new_rows])
        for name, array in (("by_doc", by_doc), ("spans", spans), ("text_at", text_at), ("text", text), ("tr_at", tr_at), ("tr", tr),
                            ("has_tr", has_tr), ("ev_at", ev_at), ("ev", ev)):
            np.save(folder / _FILE.format(name), array)
        self._write_vectors(folder / _FILE.format("vectors"), (n, dim), keep_rows, [v for _, v in new_rows])
        return SentenceTable.load(folder)

    def _write_vectors(self, path: Path, shape: tuple[int, int], keep_rows: np.ndarray, new: list[np.ndarray]) -> None:
        if not shape[0]:
            np.save(path, np.zeros((0, shape[1]), dtype=np.float32))
            return
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
        at = 0
        for lo in range(0, self.rows, _BLOCK):
            block = np.asarray(self.vectors[lo : lo + _BLOCK])[keep_rows[lo : lo + _BLOCK]]
            out[at : at + len(block)] = block
            at += len(block)
        for lo in range(0, len(new), _BLOCK):
            block = np.stack(new[lo : lo + _BLOCK])
            out[at : at + len(block)] = block
            at += len(block)
        out.flush()
        del out


class _Rows:
    """Reads rows of the table's arrays, copied. Under a memory-mapped array they are read from its file, which stays
    open for the reader's life, so the map's pages are never touched."""

    def __init__(self) -> None:
        self._files: dict[str, BinaryIO] = {}

    def __enter__(self) -> "_Rows":
        return self

    def __exit__(self, *exc: object) -> None:
        for f in self._files.values():
            f.close()

    def __call__(self, array: np.ndarray, lo: int, hi: int) -> np.ndarray:
        if not isinstance(array, np.memmap):
            return np.array(array[lo:hi])
        if hi <= lo:  # a doc without sentences; reshape(-1, 0) could not tell how many rows nothing is
            return np.zeros((0, *array.shape[1:]), dtype=array.dtype)
        f = self._files.get(array.filename)
        if f is None:
            f = self._files[array.filename] = open(array.filename, "rb")
        row = array.strides[0]
        f.seek(array.offset + lo * row)
        return np.frombuffer(f.read((hi - lo) * row), dtype=array.dtype).reshape(-1, *array.shape[1:])

    def texts(self, blob: np.ndarray, at: np.ndarray, lo: int, hi: int) -> list[str]:
        """The texts of rows lo:hi, which are contiguous in the blob."""
        cuts = self(at, lo, hi + 1)
        data = bytes(self(blob, int(cuts[0]), int(cuts[-1])))
        cuts = cuts - cuts[0]
        return [data[int(a) : int(b)].decode("utf-8") for a, b in zip(cuts[:-1], cuts[1:])]


def _kept(blob: np.ndarray, at: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The runs of the kept rows, packed: their bytes and run lengths."""
    lengths = np.diff(at)
    return np.asarray(blob)[np.repeat(keep, lengths)], lengths[keep]  # one mask byte per text byte


def _joined(kept: tuple[np.ndarray, np.ndarray], texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The kept runs followed by these texts' UTF-8 runs, with the offsets that cut them apart."""
    encoded = [t.encode("utf-8") for t in texts]
    blob = np.concatenate([kept[0], np.frombuffer(b"".join(encoded), dtype=np.uint8)])
    lengths = np.concatenate([kept[1], np.array([len(e) for e in encoded], dtype=np.int64)])
    return blob, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
