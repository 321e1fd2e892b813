"""Chroma-backed storage: chunks (via llama-index's ChromaVectorStore), sentence vectors, an article manifest, and the
lexical index beside them (qa.index.lexical, in the data folder, also when Chroma is a server).

The manifest record of an article is written last and removed first, so it marks a committed
article: an ingest killed midway leaves no half-article visible, and the next run redoes it.
The lexical index follows the manifest: an ingest commits it once at its end (see `ingesting`).
"""

import json
import math
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from functools import cached_property

import numpy as np

from qa.index.embed import Embedder, pooled
from qa.core.errors import StoreCorrupted, StoreUnavailable
from qa.index.lexical import Lexical, LexicalStore, file_lock, replace_text
from qa.core.settings import Settings
from qa.core.types import Article, Chunk, Sentence
from qa.index.chroma import lexical_folder, open_client
from qa.index.records import (NewArticle, StoredArticle, article_meta, chunk_records, sentence_meta, sentence_records, stored_article,
                              version)

# The manifest stores no vectors of use; Chroma still wants one per record.
_NO_VECTOR = [1.0]


_PAGE = 5000
_MANIFEST = "manifest.json"  # in the lexical folder: the manifest as read at a change token (Store.manifest)
_CHANGES = "changes"  # in the lexical folder: a token rewritten after each manifest write (Store.changes)
_ARTICLES_PER_READ = 500


class Store:
    def __init__(self, settings: Settings, embedder: Embedder, client=None) -> None:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.settings = settings
        self.embedder = embedder
        self._lock = threading.RLock()
        self.client = client if client is not None else open_client(settings)
        base = f"{settings.collection}-{embedder.name}"
        try:
            self.chunks = self.client.get_or_create_collection(f"{base}-chunks", embedding_function=None, metadata={"hnsw:space": "cosine"})
            self.sentences = self.client.get_or_create_collection(f"{base}-sentences", embedding_function=None, metadata={"hnsw:space": "cosine"})
            self.articles = self.client.get_or_create_collection(f"{base}-articles", embedding_function=None)
        except Exception as exc:
            raise self._wrap(exc) from exc
        self.vector_store = ChromaVectorStore(chroma_collection=self.chunks)
        self.lexical = LexicalStore(lexical_folder(settings, base), settings.bm25_k1, settings.bm25_b)

    def _wrap(self, exc: Exception) -> Exception:
        if isinstance(exc, (StoreUnavailable, StoreCorrupted)):
            return exc
        where = self.settings.chroma_url or str(self.settings.chroma_path)
        if self.settings.chroma_url:
            return StoreUnavailable(f"the Chroma server at {where} is not answering ({type(exc).__name__}: {exc})")
        return StoreCorrupted(f"the local store at {where} failed ({type(exc).__name__}: {exc})")

    # --- reads -------------------------------------------------------------------------

    def _get_all(self, collection, include: list[str], where: dict | None = None) -> dict[str, list]:
        """Read a whole collection page by page: one get() of ~100k records exceeds SQLite's variable limit."""
        got: dict[str, list] = {"ids": [], **{k: [] for k in include}}
        try:
            while True:
                page = collection.get(include=include, limit=_PAGE, offset=len(got["ids"]), where=where)
                for key in got:
                    got[key].extend(page[key] if page[key] is not None else [])  # embeddings come as one array
                if len(page["ids"]) < _PAGE:
                    return got
        except Exception as exc:
            raise self._wrap(exc) from exc

    def manifest(self, kept: bool = True) -> dict[str, StoredArticle]:
        """Every stored article's record. Read from Chroma once per change (Store.changes) and kept beside the lexical
        index, so a restarted process reads one file: Chroma's get of 977 articles' records took 0.27 s warm, 1.2 s cold.

        A writer killed between a Chroma write and its token leaves the kept copy one write behind until the next
        write; ingest, which must see exactly what Chroma holds, reads with kept=False.
        """
        token = self.changes()
        cached = self._cached_manifest(token) if kept else None
        if cached is not None:
            return cached
        out = self._read_manifest()
        if token:
            replace_text(self.lexical.folder / _MANIFEST,
                         json.dumps({"changes": token, "articles": [asdict(a) for a in out.values()]}, ensure_ascii=False))
        return out

    def _cached_manifest(self, token: str) -> dict[str, StoredArticle] | None:
        """The kept manifest when it was read at this change token; None when it is older, absent or unreadable."""
        try:
            kept = json.loads((self.lexical.folder / _MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not token or kept.get("changes") != token:
            return None
        return {a["id"]: StoredArticle(**{**a, "outlets": tuple(a["outlets"])}) for a in kept["articles"]}

    def _read_manifest(self) -> dict[str, StoredArticle]:
        got = self._get_all(self.articles, ["metadatas"])
        return {aid: stored_article(aid, meta) for aid, meta in zip(got["ids"], got["metadatas"] or [])}

    def article_text(self, article_id: str) -> str | None:
        try:
            got = self.articles.get(ids=[article_id], include=["documents"])
        except Exception as exc:
            raise self._wrap(exc) from exc
        docs = got.get("documents") or []
        return docs[0] if docs else None

    def changes(self) -> str:
        """A token that changes with every manifest write by any process on this data folder (where the lexical index
        lives too): a query re-reads the manifest only then, for one small file read instead of two Chroma counts."""
        try:
            return (self.lexical.folder / _CHANGES).read_text()
        except FileNotFoundError:
            return ""

    def _changed(self) -> None:
        self.lexical.folder.mkdir(parents=True, exist_ok=True)
        replace_text(self.lexical.folder / _CHANGES, uuid.uuid4().hex)

    def count_chunks(self) -> int:
        try:
            return self.chunks.count()
        except Exception as exc:
            raise self._wrap(exc) from exc

    def count_articles(self) -> int:
        try:
            return self.articles.count()
        except Exception as exc:
            raise self._wrap(exc) from exc

    def all_chunks(self) -> list[Chunk]:
        return chunk_records(self._get_all(self.chunks, ["documents", "metadatas"]))

    def _by_article(self, collection, include: list[str], article_ids: list[str]) -> Iterator[dict]:
        """The records of these articles, a few hundred articles per read (within SQLite's variable limit)."""
        for i in range(0, len(article_ids), _ARTICLES_PER_READ):
            yield self._get_all(collection, include, {"article_id": {"$in": article_ids[i : i + _ARTICLES_PER_READ]}})

    def chunks_of(self, article_ids: list[str]) -> list[Chunk]:
        """The stored chunks of these articles."""
        return [c for got in self._by_article(self.chunks, ["documents", "metadatas"], article_ids) for c in chunk_records(got)]

    def chunks_by_id(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        if not chunk_ids:
            return {}
        try:
            got = self.chunks.get(ids=list(chunk_ids), include=["documents", "metadatas"])
        except Exception as exc:
            raise self._wrap(exc) from exc
        return {c.id: c for c in chunk_records(got)}

    def chunk_vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these chunks (a get by ids: about 1 ms for 20 at 100k chunks, where a query restricted to
        the same ids takes 60 ms)."""
        if not chunk_ids:
            return {}
        try:
            got = self.chunks.get(ids=list(chunk_ids), include=["embeddings"])
        except Exception as exc:
            raise self._wrap(exc) from exc
        return {cid: np.asarray(vec, dtype=np.float32) for cid, vec in zip(got["ids"], got["embeddings"])}

    # --- the lexical index -------------------------------------------------------------

    @contextmanager
    def ingesting(self) -> Iterator[None]:
        """Hold the ingest lock while articles are written, then commit the lexical index once (also when interrupted).

        Queries meanwhile use the last committed generation (new articles reach them by vector search only)
        instead of rebuilding it after every article.
        """
        with file_lock(self.lexical.folder / "ingest.lock"):
            try:
                yield
            finally:
                self.commit_lexical()

    def commit_lexical(self) -> Lexical:
        """Make the lexical index hold exactly the committed articles."""
        return self.lexical.synced({a.id: a.version for a in self.manifest(kept=False).values()}, self)

    def lexical_index(self, manifest: dict[str, StoredArticle]) -> Lexical:
        """The lexical index for queries: brought up to the manifest unless an ingest is running (it commits at its end)."""
        current = self.lexical.load()
        held = {a.id: a.version for a in manifest.values()}
        if current.held == held:
            return current
        with file_lock(self.lexical.folder / "ingest.lock", wait=False) as free:
            if not free:
                return current
            return self.lexical.synced(held, self)

    def dense_search(self, query_vec: np.ndarray, k: int, where: dict | None) -> list[tuple[str, float]]:
        """The ids of the k chunks nearest the vector, with llama-index's ChromaVectorStore similarity (exp(-cosine distance)).

        Ids and distances only: reading the texts and metadata of a wide search costs more than the search itself at
        100k chunks, and the caller reads only the few chunks that rank (chunks_by_id).
        """
        try:
            got = self.chunks.query(query_embeddings=query_vec[None, :], n_results=k, where=where or None, include=["distances"])
        except Exception as exc:
            if "no" in str(exc).lower() and "element" in str(exc).lower():
                return []
            raise self._wrap(exc) from exc
        return [(cid, math.exp(-dist)) for cid, dist in zip(got["ids"][0], got["distances"][0])]

    def sentences_for(self, chunk_ids: list[str]) -> list[tuple[Sentence, np.ndarray]]:
        if not chunk_ids:
            return []
        return self._sentences_where({"chunk_id": {"$in": list(chunk_ids)}})

    def article_sentences(self, article_id: str) -> list[Sentence]:
        return [s for s, _ in self._sentences_where({"article_id": article_id})]

    def sentences_of(self, article_ids: list[str]) -> list[tuple[Sentence, np.ndarray]]:
        """The stored sentences of these articles with their vectors (for a lexical build)."""
        return [row for got in self._by_article(self.sentences, ["documents", "metadatas", "embeddings"], article_ids)
                for row in sentence_records(got)]

    def _sentences_where(self, where: dict) -> list[tuple[Sentence, np.ndarray]]:
        try:
            got = self.sentences.get(where=where, include=["documents", "metadatas", "embeddings"])
        except Exception as exc:
            raise self._wrap(exc) from exc
        return sentence_records(got)

    # --- writes ------------------------------------------------------------------------

    def put_articles(self, batch: list[NewArticle]) -> None:
        """Replace these articles together: drop their old records, write their chunks and sentences, then commit their
        manifest entries (translations, when the sentences carry none, come later through put_translations).

        One Chroma write per collection for the whole batch: each call costs about 8 ms beyond its records, and one
        article took six (benchmarks/trials/ingest_parts.py). A kill before the manifest write leaves the whole batch
        uncommitted, and the next ingest redoes it.
        """
        from llama_index.core.schema import TextNode

        sentences = [s for item in batch for s in item.sentences]
        sent_vecs = self._embedded([s.text for s in sentences])
        chunk_vecs = self._chunk_vectors(batch, sent_vecs)
        nodes = []
        for item in batch:
            meta = article_meta(item.article)
            for c in item.chunks:
                node = TextNode(id_=c.id, text=c.text, embedding=chunk_vecs[len(nodes)].tolist(),
                                metadata={**meta, "start": c.start, "end": c.end}, start_char_idx=c.start, end_char_idx=c.end)
                node.relationships = {}
                node.excluded_embed_metadata_keys = list(node.metadata)
                node.excluded_llm_metadata_keys = list(node.metadata)
                node.metadata["document_id"] = item.article.id
                nodes.append(node)
        ids = [item.article.id for item in batch]
        with self._lock:
            try:
                self.articles.delete(ids=ids)  # uncommit first: a kill from here on leaves no stale article
                self._changed()
                self._delete_records(ids)
                for i in range(0, len(nodes), self._max_batch):
                    self.vector_store.add(nodes[i : i + self._max_batch])
                for i in range(0, len(sentences), self._max_batch):
                    part = sentences[i : i + self._max_batch]
                    self.sentences.add(
                        ids=[s.id for s in part],
                        documents=[s.text for s in part],
                        embeddings=sent_vecs[i : i + len(part)],
                        metadatas=[sentence_meta(s) for s in part],
                    )
                self._commit([(item.article, {"chunks": len(item.chunks), "translated": item.translated,
                                              "minhash": item.minhash, "dated": True}) for item in batch])
            except Exception as exc:
                raise self._wrap(exc) from exc
            for item in batch:
                self.lexical.stage(item.article.id, version(item.article.sha256, item.translated), item.chunks)

    @cached_property
    def _max_batch(self) -> int:
        """The most records one Chroma write takes (SQLite's variable limit locally; the server's setting remotely)."""
        return self.client.get_max_batch_size()

    def _chunk_vectors(self, batch: list[NewArticle], sent_vecs: np.ndarray) -> np.ndarray:
        """Pooled from the sentence vectors (settings.chunk_vectors), a chunk that holds no sentence embedded on its own."""
        chunks = [c for item in batch for c in item.chunks]
        if self.settings.chunk_vectors == "embedded":
            return self._embedded([c.text for c in chunks])
        parts, at = [], 0
        for item in batch:  # spans are offsets in their own article's text
            parts.append(pooled([(c.start, c.end) for c in item.chunks], [(s.start, s.end) for s in item.sentences],
                                sent_vecs[at : at + len(item.sentences)]))
            at += len(item.sentences)
        vecs = np.concatenate(parts) if parts else np.zeros((0, self.embedder.dim), dtype=np.float32)
        alone = [i for i, v in enumerate(vecs) if not v.any()]
        if alone:
            vecs[alone] = self._embedded([chunks[i].text for i in alone])
        return vecs

    def _embedded(self, texts: list[str]) -> np.ndarray:
        """Passage vectors, settings.embed_batch texts per model call (a whole write batch at once costs memory, not time)."""
        step = self.settings.embed_batch
        parts = [self.embedder.embed_passages(texts[i : i + step]) for i in range(0, len(texts), step)]
        return np.concatenate(parts) if parts else np.zeros((0, self.embedder.dim), dtype=np.float32)

    def put_duplicate(self, article: Article, same_as: str, minhash: str = "") -> None:
        """Record a near-duplicate of a stored story: its manifest entry (metadata, text, `same_as`) without chunks or
        sentences, so it is listed and re-ingested as unchanged but never retrieved or cited beside its story."""
        with self._lock:
            try:
                self.articles.delete(ids=[article.id])
                self._changed()
                self._delete_records([article.id])
                self._commit([(article, {"chunks": 0, "same_as": same_as, "minhash": minhash, "dated": True})])
            except Exception as exc:
                raise self._wrap(exc) from exc
            self.lexical.stage(article.id, version(article.sha256, False), [])  # held with no chunks: the commit reads nothing back

    def _commit(self, entries: list[tuple[Article, dict]]) -> None:
        for i in range(0, len(entries), self._max_batch):
            part = entries[i : i + self._max_batch]
            self.articles.upsert(ids=[a.id for a, _ in part], documents=[a.text for a, _ in part], embeddings=[_NO_VECTOR] * len(part),
                                 metadatas=[{**article_meta(a), "path": a.path, "sha256": a.sha256, "author": a.author or "", **extra}
                                            for a, extra in part])
        self._changed()

    def put_translations(self, by_article: dict[str, list[Sentence]]) -> None:
        """Give stored articles' sentences their translations (one write for a whole batch); vectors and chunks stay."""
        done = {aid: [s for s in sents if s.translation is not None] for aid, sents in by_article.items()}
        done = {aid: sents for aid, sents in done.items() if sents}
        if not done:
            return
        rows = [s for sents in done.values() for s in sents]
        with self._lock:
            try:
                self.sentences.update(
                    ids=[s.id for s in rows],
                    metadatas=[sentence_meta(s) for s in rows],
                )
                got = self.articles.get(ids=list(done), include=["metadatas"])
                self.articles.update(ids=got["ids"], metadatas=[{**meta, "translated": True} for meta in got["metadatas"]])
                self._changed()
            except Exception as exc:
                raise self._wrap(exc) from exc
            for aid, meta in zip(got["ids"], got["metadatas"]):
                self.lexical.restage(aid, version(meta["sha256"], True, bool(meta.get("dated"))))

    def put_event_dates(self, by_article: dict[str, list[Sentence]]) -> None:
        """Give a stored article's sentences their event dates (a store written before them): its record is marked
        dated, which changes its version, so the lexical commit reads its sentence rows again."""
        rows = [s for sents in by_article.values() for s in sents]
        with self._lock:
            try:
                for i in range(0, len(rows), self._max_batch):
                    part = rows[i : i + self._max_batch]
                    self.sentences.update(ids=[s.id for s in part], metadatas=[sentence_meta(s) for s in part])
                got = self.articles.get(ids=list(by_article), include=["metadatas"])
                self.articles.update(ids=got["ids"], metadatas=[{**meta, "dated": True} for meta in got["metadatas"]])
                self._changed()
            except Exception as exc:
                raise self._wrap(exc) from exc

    def update_manifest(self, article_id: str, **fields: str | int | bool) -> None:
        """Change some fields of an article's manifest entry (a new path, its signature, its outlets); chunks stay."""
        with self._lock:
            try:
                got = self.articles.get(ids=[article_id], include=["metadatas"])
                if got["ids"]:
                    self.articles.update(ids=[article_id], metadatas=[{**got["metadatas"][0], **fields}])
                    self._changed()
            except Exception as exc:
                raise self._wrap(exc) from exc

    def remove_article(self, article_id: str) -> None:
        with self._lock:
            try:
                self.articles.delete(ids=[article_id])
                self._delete_records([article_id])
                self._changed()
            except Exception as exc:
                raise self._wrap(exc) from exc

    def _delete_records(self, article_ids: list[str]) -> None:
        for i in range(0, len(article_ids), _ARTICLES_PER_READ):  # within SQLite's variable limit
            where = {"article_id": {"$in": article_ids[i : i + _ARTICLES_PER_READ]}}
            self.chunks.delete(where=where)
            self.sentences.delete(where=where)
