"""The lexical (BM25) index of the stored chunks, kept on disk next to the store and scored with bm25s.

Terms come from qa.core.text.terms (folded, stopwords out, light stem) and idf is Lucene's log(1 + (N - df + 0.5) / (df + 0.5))
over chunks: the reader was trained on exactly that idf, so neither may change. bm25s precomputes every score with the
corpus-wide idf and length norm, so it has no per-document update: a change of articles builds a new generation from
the stored term ids (no text is read or tokenised again) and swaps it in atomically. A query only memory-maps the
current generation; it rebuilds only when the generation lags the manifest (an ingest killed before its commit, or
another machine writing to the same Chroma server), fetching just the missing articles' chunks.

A generation also holds its chunks' sentences and their vectors (qa.index.sentence_table), so a query reads them without
opening Chroma's sentence collection, and a second BM25 over each chunk's translated sentences (`Lexical.translations`):
a question's words then find the other language's chunks through their Apertium translation. It has its own
vocabulary and idf, so the first index, whose idf the reader reads, is as it was. Articles are held at a version (StoredArticle.version: the text's hash, and
whether its sentences carry translations), so a translation that lands later brings the article into the next build.
"""

import fcntl
import json
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import bm25s  # at start-up: it imports scipy.sparse, which a first query should not wait for
import numpy as np

from qa.index.sentence_table import SentenceTable
from qa.core.text import terms
from qa.core.types import Chunk, Sentence

_CURRENT = "current"  # the name of the generation folder in use
_EMPTY_I32 = np.zeros(0, dtype=np.int32)
_ARRAYS = ("chunk_ids", "doc_article", "offsets", "tokens")
_TR_ARRAYS = ("offsets", "tokens")  # the translations' own runs, saved as tr_<name>.npy; the other arrays are shared
_TR_FOLDER = "translated"  # the translations' bm25s files, inside the generation
_FORMAT = 4  # docs.json's "format": a generation written before sentences (2), translations (3) or event dates (4) were kept in it is rebuilt


def replace_text(path: Path, text: str) -> None:
    """Write a small file so a reader in any process sees the old text or the new, never a part: a temporary file of
    this process and thread, then an atomic rename over the old one."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@contextmanager
def file_lock(path: Path, wait: bool = True) -> Iterator[bool]:
    """An exclusive flock on path (created); without wait, yields False at once when another holder has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Docs:
    """Chunks as term-id runs: tokens[offsets[i]:offsets[i + 1]] are chunk i's terms; articles[doc_article[i]] owns it."""

    chunk_ids: np.ndarray
    doc_article: np.ndarray
    offsets: np.ndarray
    tokens: np.ndarray
    articles: list[str]
    versions: list[str]
    vocab: dict[str, int]

    @classmethod
    def empty(cls) -> "Docs":
        return cls(np.zeros(0, dtype="U1"), _EMPTY_I32, np.zeros(1, dtype=np.int64), _EMPTY_I32, [], [], {})

    def select(self, keep_articles: np.ndarray) -> "Docs":
        """Only the docs of the articles marked True (article order and indices are compacted)."""
        new_index = np.cumsum(keep_articles) - 1
        keep = keep_articles[self.doc_article] if len(self.doc_article) else np.zeros(0, dtype=bool)
        lengths = np.diff(self.offsets)
        return Docs(self.chunk_ids[keep], new_index[self.doc_article[keep]].astype(np.int32),
                    np.concatenate([[0], np.cumsum(lengths[keep])]).astype(np.int64), self.tokens[np.repeat(keep, lengths)],
                    [a for a, k in zip(self.articles, keep_articles) if k], [s for s, k in zip(self.versions, keep_articles) if k], self.vocab)


@dataclass
class Staged:
    """Articles tokenised during an ingest, waiting for the commit that builds the next generation."""

    vocab: dict[str, int] = field(default_factory=dict)
    articles: dict[str, tuple[str, list[str], list[np.ndarray]]] = field(default_factory=dict)

    def add(self, article_id: str, version: str, ids: list[str], texts: list[str]) -> None:
        runs = [np.array([self.vocab.setdefault(t, len(self.vocab)) for t in terms(text)], dtype=np.int32) for text in texts]
        self.articles[article_id] = (version, ids, runs)


class Lexical:
    """One generation: BM25 scores for the chunks of the articles it holds, and the idf the reader reads."""

    def __init__(self, docs: Docs, bm25, name: str, sentences: SentenceTable | None = None, translations: "Lexical | None" = None) -> None:
        self.docs = docs
        self.sentences = sentences if sentences is not None else SentenceTable.empty(len(docs.chunk_ids))
        # BM25 over each doc's translated sentences, doc for doc (the same chunk ids); it has no translations of its own
        self.translations = translations
        self.bm25 = bm25  # None when there are no chunks
        self.name = name
        self.n = len(docs.chunk_ids)
        self.held = dict(zip(docs.articles, docs.versions))
        indptr = bm25.scores["indptr"] if bm25 is not None else np.zeros(1, dtype=np.int64)
        self._df = np.diff(indptr)

    def df(self, term: str) -> int:
        tid = self.docs.vocab.get(term)
        return int(self._df[tid]) if tid is not None and tid < len(self._df) else 0

    def idf(self, term: str) -> float:
        df = self.df(term)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """Each chunk's BM25 score (Lucene's form; a repeated query term counts once).

        The sum of bm25s's precomputed term columns, by np.bincount: bm25s's own np.add.at is about 3x slower on
        terms held by many chunks (measured at 1M chunks, benchmarks/results/lexical.md).
        """
        ids = sorted({self.docs.vocab[t] for t in query_terms if t in self.docs.vocab})
        if self.bm25 is None or not ids:
            return np.zeros(self.n, dtype=np.float32)
        matrix = self.bm25.scores
        indptr, rows, values = matrix["indptr"], matrix["indices"], matrix["data"]
        chunks = np.concatenate([rows[indptr[i] : indptr[i + 1]] for i in ids])
        weights = np.concatenate([values[indptr[i] : indptr[i + 1]] for i in ids])
        return np.bincount(chunks, weights=weights, minlength=self.n).astype(np.float32)


def _bm25(docs: Docs, k1: float, b: float):
    """bm25s's index of the docs' runs (None when no doc holds a term)."""
    if not len(docs.tokens):
        return None
    bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
    runs = [r.tolist() for r in np.split(docs.tokens, docs.offsets[1:-1])]
    bm25.index((runs, docs.vocab), create_empty_token=False, show_progress=False)
    return bm25


def build(docs: Docs, k1: float, b: float, name: str = "", translated: Docs | None = None) -> Lexical:
    """The generation's indexes: the docs' own terms, and their translations' (none: every doc translated to nothing)."""
    translated = translated if translated is not None else replace(docs, offsets=np.zeros(len(docs.offsets), dtype=np.int64), tokens=_EMPTY_I32, vocab={})
    return Lexical(docs, _bm25(docs, k1, b), name, translations=Lexical(translated, _bm25(translated, k1, b), name))


class Source(Protocol):
    """Where a build reads the articles it did not stage: the store."""

    def chunks_of(self, article_ids: list[str]) -> list[Chunk]: ...

    def sentences_of(self, article_ids: list[str]) -> list[tuple[Sentence, np.ndarray]]: ...


class LexicalStore:
    """The generations in one folder: load the current one, stage articles, commit to match the manifest."""

    def __init__(self, folder: Path, k1: float, b: float) -> None:
        self.folder = folder
        self.k1, self.b = k1, b
        self.staged = Staged()
        self._loaded: Lexical | None = None
        self._lock = threading.Lock()

    def current_name(self) -> str:
        try:
            return (self.folder / _CURRENT).read_text().strip()
        except FileNotFoundError:
            return ""

    def load(self) -> Lexical:
        """The current generation, memory-mapped (cached until another generation becomes current)."""
        name = self.current_name()
        if self._loaded is not None and self._loaded.name == name:
            return self._loaded
        if not name:
            return build(Docs.empty(), self.k1, self.b)
        gen = self.folder / name
        meta = json.loads((gen / "docs.json").read_text(encoding="utf-8"))
        if meta.get("format") != _FORMAT:
            return build(Docs.empty(), self.k1, self.b, name)  # holds nothing, so the next sync rebuilds it whole
        arrays = {name: np.load(gen / f"{name}.npy", mmap_mode="r") for name in _ARRAYS}  # read from disk as touched
        docs = Docs(**arrays, articles=meta["articles"], versions=meta["versions"], vocab={t: i for i, t in enumerate(meta["vocab"])})
        translated = replace(docs, **{name: np.load(gen / f"tr_{name}.npy", mmap_mode="r") for name in _TR_ARRAYS},
                             vocab={t: i for i, t in enumerate(meta["tr_vocab"])})
        self._loaded = Lexical(docs, _load_bm25(gen, docs), name, SentenceTable.load(gen),
                               Lexical(translated, _load_bm25(gen / _TR_FOLDER, translated), name))
        return self._loaded

    def stage(self, article_id: str, version: str, chunks: list[Chunk]) -> None:
        with self._lock:
            self.staged.add(article_id, version, [c.id for c in chunks], [c.text for c in chunks])

    def restage(self, article_id: str, version: str) -> None:
        """A staged article's record moved to a new version (its translations landed): its chunks are as staged."""
        with self._lock:
            if article_id in self.staged.articles:
                _, ids, runs = self.staged.articles[article_id]
                self.staged.articles[article_id] = (version, ids, runs)

    def synced(self, manifest: dict[str, str], source: Source) -> Lexical:
        """The generation holding exactly these articles (id -> version), building it when the current one differs."""
        current = self.load()
        if current.held == manifest and not self.staged.articles:
            return current
        with self._lock, self._exclusive():
            current = self.load()  # another process may have committed meanwhile
            if current.held != manifest:
                current = self._commit(current, manifest, source)
            self.staged = Staged()
            return current

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """A lock file, so two processes on one data folder do not build at once."""
        with file_lock(self.folder / "build.lock"):
            yield

    def _commit(self, current: Lexical, manifest: dict[str, str], source: Source) -> Lexical:
        old = current.docs
        keep = np.array([manifest.get(a) == s for a, s in zip(old.articles, old.versions)], dtype=bool)
        docs = old.select(keep)
        kept = set(docs.articles)
        wanted = [a for a in manifest if a not in kept]
        staged = Staged(self.staged.vocab, {a: v for a, v in self.staged.articles.items() if a in manifest and v[0] == manifest[a]})
        missing = [a for a in wanted if a not in staged.articles]
        if missing:
            fetched: dict[str, list[Chunk]] = {a: [] for a in missing}
            for c in source.chunks_of(missing):
                fetched[c.article_id].append(c)
            for a in missing:
                chunks = sorted(fetched[a], key=lambda c: c.start)
                staged.add(a, manifest[a], [c.id for c in chunks], [c.text for c in chunks])
        kept_docs = len(docs.chunk_ids)
        docs = _merge(docs, staged, wanted)
        gen = self._new_generation()
        new_docs: dict[str, list[tuple[Sentence, np.ndarray]]] = {str(cid): [] for cid in docs.chunk_ids[kept_docs:]}
        for sentence, vector in source.sentences_of(wanted) if wanted else []:
            if sentence.chunk_id in new_docs:
                new_docs[sentence.chunk_id].append((sentence, vector))
        keep_docs = keep[old.doc_article] if len(old.doc_article) else np.zeros(0, dtype=bool)
        current.sentences.write(gen, keep_docs, list(new_docs.values()))
        translated = Staged()
        for a in wanted:
            version, ids, _ = staged.articles[a]
            translated.add(a, version, ids, [" ".join(s.translation for s, _ in sorted(new_docs[cid], key=lambda sv: sv[0].start)
                                                      if s.translation) for cid in ids])
        tr_docs = _merge(current.translations.docs.select(keep), translated, wanted)
        return self._save(build(_compact(docs), self.k1, self.b, translated=_compact(tr_docs)), gen)

    def _new_generation(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="g-", dir=self.folder))

    def _save(self, lex: Lexical, gen: Path) -> Lexical:
        """Write the generation's docs and scores beside its sentences, then make it current."""
        d, tr = lex.docs, lex.translations
        for name in _ARRAYS:
            np.save(gen / f"{name}.npy", getattr(d, name))
        for name in _TR_ARRAYS:
            np.save(gen / f"tr_{name}.npy", getattr(tr.docs, name))
        (gen / "docs.json").write_text(json.dumps({"format": _FORMAT, "articles": d.articles, "versions": d.versions, "vocab": _terms(d),
                                                   "tr_vocab": _terms(tr.docs)}, ensure_ascii=False), encoding="utf-8")
        if lex.bm25 is not None:
            lex.bm25.save(gen, show_progress=False)
        if tr.bm25 is not None:
            tr.bm25.save(gen / _TR_FOLDER, show_progress=False)
        replace_text(self.folder / _CURRENT, gen.name)
        for old in self.folder.glob("g-*"):
            if old.name != gen.name:
                shutil.rmtree(old, ignore_errors=True)  # a reader's open memory maps stay valid
        return self.load()


def _terms(docs: Docs) -> list[str]:
    """The vocabulary in term-id order."""
    return sorted(docs.vocab, key=docs.vocab.__getitem__)


def _load_bm25(folder: Path, docs: Docs):
    """bm25s's saved index of these docs, memory-mapped (None when they hold no term)."""
    if not len(docs.tokens):
        return None
    bm25 = bm25s.BM25.load(folder, mmap=True, load_vocab=False)
    bm25.vocab_dict = docs.vocab
    return bm25


def _merge(docs: Docs, staged: Staged, order: list[str]) -> Docs:
    """The docs plus the staged articles (in `order`), their term ids mapped into the docs' vocabulary."""
    if not order:
        return docs
    vocab = dict(docs.vocab)
    remap = np.empty(len(staged.vocab), dtype=np.int32)
    for t, i in staged.vocab.items():
        remap[i] = vocab.setdefault(t, len(vocab))
    chunk_ids, owners, runs = [docs.chunk_ids.tolist()], [docs.doc_article], [docs.tokens]
    lengths = [np.diff(docs.offsets)]
    articles, versions = list(docs.articles), list(docs.versions)
    for a in order:
        version, ids, article_runs = staged.articles[a]
        owners.append(np.full(len(ids), len(articles), dtype=np.int32))
        articles.append(a)
        versions.append(version)
        chunk_ids.append(ids)
        runs += [remap[r] if len(r) else _EMPTY_I32 for r in article_runs]
        lengths.append(np.array([len(r) for r in article_runs], dtype=np.int64))
    flat_ids = [c for group in chunk_ids for c in group]
    return Docs(np.array(flat_ids) if flat_ids else Docs.empty().chunk_ids, np.concatenate(owners).astype(np.int32),
                np.concatenate([[0], np.cumsum(np.concatenate(lengths))]).astype(np.int64),
                np.concatenate(runs).astype(np.int32), articles, versions, vocab)


def _compact(docs: Docs) -> Docs:
    """Drop the terms no chunk holds any more (removed articles), renumbering the rest."""
    used = np.zeros(len(docs.vocab), dtype=bool)
    used[docs.tokens] = True
    if used.all():
        return docs
    new_id = np.cumsum(used) - 1
    vocab = {t: int(new_id[i]) for t, i in docs.vocab.items() if used[i]}
    return Docs(docs.chunk_ids, docs.doc_article, docs.offsets, new_id[docs.tokens].astype(np.int32), docs.articles, docs.versions, vocab)
