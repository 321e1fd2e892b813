"""Hybrid retrieval: dense (Chroma) and BM25 (the store's lexical index) candidates fused by reciprocal rank, with metadata filters."""

import math
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

import numpy as np

from qa.index.embed import Embedder
from qa.core.settings import Settings
from qa.index.lexical import Lexical
from qa.index.records import StoredArticle
from qa.index.store import Store
from qa.core.text import detect_lang, terms
from qa.ingest.translate import OTHER
from qa.core.types import Chunk, Filters, Passage, Sentence


V = TypeVar("V")


def chroma_where(filters: Filters | None) -> dict | None:
    if filters is None or filters.is_empty():
        return None
    conds: list[dict] = []
    if filters.article_ids:
        conds.append({"article_id": {"$in": list(filters.article_ids)}})
    if filters.lang:
        conds.append({"lang": {"$eq": filters.lang}})
    if filters.date_from:
        conds.append({"date_int": {"$gte": int(filters.date_from.replace("-", ""))}})
    if filters.date_to:
        conds.append({"date_int": {"$lte": int(filters.date_to.replace("-", ""))}})
    if filters.date_from or filters.date_to:
        conds.append({"date_int": {"$gt": 0}})
    return conds[0] if len(conds) == 1 else {"$and": conds}


def allows(filters: Filters | None, article: StoredArticle) -> bool:
    if filters is None:
        return True
    if filters.article_ids and article.id not in filters.article_ids:
        return False
    if filters.lang and article.lang != filters.lang:
        return False
    if (filters.date_from or filters.date_to) and not article.date:
        return False
    if filters.date_from and article.date < filters.date_from:
        return False
    if filters.date_to and article.date > filters.date_to:
        return False
    return True


class _Recall(Generic[V]):
    """The last values kept by key, oldest let go first; shared by the threads that query one snapshot."""

    def __init__(self) -> None:
        self._kept: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, keys: Iterable[Hashable]) -> dict[Hashable, V]:
        with self._lock:
            got = {key: self._kept[key] for key in keys if key in self._kept}
            for key in got:
                self._kept.move_to_end(key)
            return got

    def put(self, values: dict[Hashable, V], limit: int) -> None:
        with self._lock:
            self._kept.update(values)
            while len(self._kept) > limit:
                self._kept.popitem(last=False)


class _Snapshot:
    """The manifest and the lexical index it was read with; `bm25.idf` is the reader's term weight."""

    def __init__(self, key: tuple, manifest: dict[str, StoredArticle], lexical: Lexical) -> None:
        self.key = key
        self.manifest = manifest
        self.langs = sorted({a.lang for a in manifest.values()})
        self.bm25 = lexical
        docs = lexical.docs
        self.articles = [manifest.get(a) for a in docs.articles]  # None: removed since the index was committed
        self._current = np.array([a is not None and a.version == v for a, v in zip(self.articles, docs.versions)], dtype=bool)
        self._index = {a: i for i, a in enumerate(docs.articles)}
        codes = np.array([self.langs.index(a.lang) if a is not None else -1 for a in self.articles], dtype=np.int16)
        self._doc_lang = codes[docs.doc_article] if len(codes) else np.zeros(lexical.n, dtype=np.int16)
        # While an ingest runs the index may hold articles since removed or changed; their chunks are left out.
        self.live = None if self._current.all() else self._current[docs.doc_article]
        self.sentences_read: _Recall[tuple[int | None, list[tuple[Sentence, np.ndarray]]]] = _Recall()
        self.searches: _Recall[tuple[int, list[tuple[str, float]]]] = _Recall()

    def doc_of(self, chunk_id: str) -> int | None:
        """The lexical doc of a chunk, when the index holds its article as stored now (None: read it from the store)."""
        i = self._index.get(Chunk.article_of(chunk_id))
        if i is None or not self._current[i]:
            return None
        owners = self.bm25.docs.doc_article  # articles' docs are contiguous, in article order
        lo, hi = np.searchsorted(owners, i), np.searchsorted(owners, i, side="right")
        ids = self.bm25.docs.chunk_ids[lo:hi]
        at = np.flatnonzero(ids == chunk_id)
        return int(lo + at[0]) if len(at) else None

    def allowed(self, filters: Filters | None) -> np.ndarray | None:
        """Which lexical docs may be returned (None: all of them)."""
        if filters is None or filters.is_empty():
            return self.live
        ok = np.array([a is not None and allows(filters, a) for a in self.articles], dtype=bool)
        ok = ok[self.bm25.docs.doc_article] if len(ok) else np.zeros(self.bm25.n, dtype=bool)
        return ok if self.live is None else ok & self.live

    def in_lang(self, lang: str, filters: Filters | None) -> np.ndarray:
        """Which lexical docs may be returned and are in this language."""
        ok = self._doc_lang == (self.langs.index(lang) if lang in self.langs else -2)
        allowed = self.allowed(filters)
        return ok if allowed is None else ok & allowed

    def passage(self, c: Chunk, score: float, dense_score: float | None = None, bm25_score: float | None = None) -> Passage:
        a = self.manifest[c.article_id]
        return Passage(chunk_id=c.id, article_id=c.article_id, title=a.title, date=a.date, source=a.source, lang=a.lang, text=c.text,
                       start=c.start, end=c.end, score=score, dense_score=dense_score, bm25_score=bm25_score, outlets=a.outlets)


class Retriever:
    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._snap: _Snapshot | None = None
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._snap = None

    def snapshot(self) -> _Snapshot:
        """The manifest and lexical index, re-read when the manifest or the index's generation changed (another process
        may ingest)."""
        key = (self.store.changes(), self.store.lexical.current_name())
        with self._lock:
            if self._snap is None or self._snap.key != key:
                manifest = self.store.manifest()
                lexical = self.store.lexical_index(manifest)
                self._snap = _Snapshot((key[0], lexical.name), manifest, lexical)
            return self._snap

    def _top_lexical(self, index: Lexical, query_terms: list[str], allowed: np.ndarray) -> list[tuple[str, float]]:
        """The bm25_k best chunks of one index with a positive score among those allowed, best first (ties by index
        order)."""
        raw = np.where(allowed, index.scores(query_terms), 0.0)
        hits = np.flatnonzero(raw > 0)
        k = self.settings.bm25_k
        if len(hits) > k:
            hits = hits[np.argpartition(-raw[hits], k - 1)[:k]]
        hits = hits[np.lexsort((hits, -raw[hits]))]
        return [(str(index.docs.chunk_ids[i]), float(raw[i])) for i in hits]

    def _lexical(self, question: str, q_lang: str, filters: Filters | None, snap: _Snapshot) -> dict[str, list[tuple[str, float]]]:
        """BM25 hits per language, best first: the question's language by the chunks' own words, each other language
        by their translations into the question's (when settings.translated_weight is not 0). A language whose chunks
        hold no translation into it has no entry."""
        query_terms = terms(question)
        langs = [filters.lang] if filters is not None and filters.lang else snap.langs
        out = {q_lang: self._top_lexical(snap.bm25, query_terms, snap.in_lang(q_lang, filters))} if q_lang in langs else {}
        translated = snap.bm25.translations
        if not self.settings.translated_weight or translated is None or translated.bm25 is None:
            return out
        for lang in langs:
            if lang != q_lang and OTHER.get(lang) == q_lang:
                if hits := self._top_lexical(translated, query_terms, snap.in_lang(lang, filters)):
                    out[lang] = hits
        return out

    def _search(self, qvec: np.ndarray, k: int, where: dict | None, snap: _Snapshot) -> list[tuple[str, float]]:
        """Store.dense_search, answered from a search of at least k with the same vector and filter made since the
        store last changed: the rival search asks for the chunks the first wide search of retrieve already found."""
        key = (qvec.tobytes(), repr(where))
        got = snap.searches.get([key]).get(key)
        if got is not None and (got[0] >= k or len(got[1]) < got[0]):
            return got[1][:k]
        hits = self.store.dense_search(qvec, k, where)
        snap.searches.put({key: (k, hits)}, self.settings.search_memo)
        return hits

    def _dense(self, qvec: np.ndarray, q_lang: str, filters: Filters | None, snap: _Snapshot) -> list[tuple[str, float, float]]:
        """Vector search per language, as (chunk id, similarity less the penalty, similarity), best first.

        multilingual-e5 scores same-language pairs higher whatever they say, so same-language hits pay a small
        penalty; without it a Spanish question finds the Spanish article before the English one that answers it.
        One wide unfiltered search of ids usually holds every language's leaders; when it does not, wider ones
        (dense_widths) usually do, and only then does a language get its own filtered search (300-600 ms in Chroma
        at 100k chunks, against about 25 ms for 5,000 ids), when its unseen chunks could still enter the top dense_k.
        """
        base = filters or Filters()
        k = self.settings.dense_k
        langs = [base.lang] if base.lang else snap.langs
        penalty = {lang: self.settings.same_language_penalty if lang == q_lang else 0.0 for lang in langs}
        per_lang: dict[str, list[tuple[str, float]]] = defaultdict(list)

        def merged() -> list[tuple[str, float, float]]:
            hits = [(cid, sim - penalty[lang], sim) for lang in langs for cid, sim in per_lang[lang][:k]]
            return sorted(hits, key=lambda h: -h[1])[:k]

        def stored(hits: list[tuple[str, float]]) -> list[tuple[str, StoredArticle, float]]:
            return [(cid, snap.manifest[aid], sim) for cid, sim in hits if (aid := Chunk.article_of(cid)) in snap.manifest]

        for width in (k * m for m in self.settings.dense_widths):
            wide = self._search(qvec, width, chroma_where(base), snap)
            per_lang.clear()
            for cid, article, sim in stored(wide):
                per_lang[article.lang].append((cid, sim))
            if len(wide) < width:
                return merged()  # the search saw every chunk the filters allow
            top = merged()
            bar = top[-1][1] if len(top) == k else -math.inf
            # Chunks the search did not return score below its last hit: a language needs more only if they could still rank.
            short = [lang for lang in langs if len(per_lang[lang]) < k and wide[-1][1] - penalty[lang] > bar]
            if not short:
                return top
        for lang in short:
            where = chroma_where(Filters(base.article_ids, lang, base.date_from, base.date_to))
            per_lang[lang] = [(cid, sim) for cid, _, sim in stored(self.store.dense_search(qvec, k, where))]
        return merged()

    def _lexical_dense(self, lexical: dict[str, list[tuple[str, float]]], hits: list[tuple[str, float, float]], qvec: np.ndarray,
                       q_lang: str) -> list[tuple[str, float, float]]:
        """The lexical candidates the vector search did not return, as it would have scored them (settings.score_lexical_hits):
        similarity exp(cosine - 1) from the stored chunk vector, less the same-language penalty for those in the
        question's language."""
        if not self.settings.score_lexical_hits:
            return []
        seen = {cid for cid, _, _ in hits}
        lang_of = {cid: lang for lang, found in lexical.items() for cid, _ in found if cid not in seen}
        out = []
        for cid, vec in self.store.chunk_vectors(list(lang_of)).items():
            sim = math.exp(float(vec @ qvec) - 1.0)
            out.append((cid, sim - (self.settings.same_language_penalty if lang_of[cid] == q_lang else 0.0), sim))
        return out

    def _rescored(self, hits: list[tuple[str, float, float]], qvec: np.ndarray, snap: _Snapshot) -> list[tuple[str, float, float]]:
        """The dense hits with sentence_weight of each cosine taken from the chunk's closest sentence, re-sorted (the
        language penalty kept); a chunk with no stored sentence keeps its own cosine. Similarities are exp(-distance)."""
        w = self.settings.sentence_weight
        if not w or not hits:
            return sorted(hits, key=lambda h: -h[1])
        best: dict[str, float] = {}
        for s, vec in self._sentences_for([cid for cid, _, _ in hits], snap):
            best[s.chunk_id] = max(best.get(s.chunk_id, -1.0), float(vec @ qvec))
        out = []
        for cid, adjusted, sim in hits:
            cosine = 1.0 + math.log(sim)
            mixed = math.exp((1 - w) * cosine + w * best.get(cid, cosine) - 1.0)
            out.append((cid, mixed - (sim - adjusted), mixed))
        return sorted(out, key=lambda h: -h[1])

    def retrieve(self, question: str, filters: Filters | None = None, k: int | None = None, qvec: np.ndarray | None = None) -> list[Passage]:
        """The top passages for the question; qvec is its query embedding when the caller already has it."""
        k = k or self.settings.top_k
        snap = self.snapshot()
        if not snap.manifest:
            return []
        if qvec is None:
            qvec = self.embedder.embed_queries([question])[0]
        q_lang = detect_lang(question)
        sparse = self._lexical(question, q_lang, filters, snap)
        hits = self._dense(qvec, q_lang, filters, snap)
        dense = self._rescored(hits + self._lexical_dense(sparse, hits, qvec, q_lang), qvec, snap)[: self.settings.dense_k]
        fused: dict[str, float] = defaultdict(float)
        dense_score: dict[str, float] = {}
        centred: dict[str, float] = {}
        for rank, (cid, adjusted, cosine) in enumerate(dense):
            fused[cid] += 1.0 / (self.settings.rrf_k + rank + 1)
            dense_score[cid], centred[cid] = cosine, adjusted
        # Each language earns one lexical list's worth of credit: the question's from BM25 over its own words; another
        # translated_weight of it from BM25 over its translations into the question's language, and the rest (all of
        # it, without translations) from its dense rank within the language, since BM25 cannot read its words.
        w = self.settings.translated_weight
        lists = [(1.0 if lang == q_lang else w, [cid for cid, _ in found]) for lang, found in sparse.items()]
        by_dense: dict[str, list[str]] = defaultdict(list)
        for cid, _, _ in dense:
            lang = snap.manifest[Chunk.article_of(cid)].lang
            if lang != q_lang:
                by_dense[lang].append(cid)
        lists += [(1.0 - w if lang in sparse else 1.0, ids) for lang, ids in by_dense.items()]
        bm25_score = {cid: score for found in sparse.values() for cid, score in found}
        for share, ids in lists:
            for rank, cid in enumerate(ids):
                fused[cid] += share * self.settings.bm25_weight / (self.settings.rrf_k + rank + 1)
        # Rank fusion can push the chunk closest in meaning below a few that share more words; the answer
        # stage chooses among sentences, so the densest chunks always reach it.
        keep = [cid for cid, _, _ in dense[: self.settings.dense_keep]]
        by_id: dict[str, Chunk] = {}
        ranked = self._fetched(sorted(fused, key=lambda cid: (-fused[cid], -centred.get(cid, -1.0))), k, by_id, keep)
        ranked += [cid for cid in keep if cid not in ranked and cid in by_id]
        return [snap.passage(by_id[cid], round(fused[cid], 6), dense_score.get(cid), bm25_score.get(cid)) for cid in ranked]

    def _fetched(self, order: list[str], k: int, by_id: dict[str, Chunk], also: list[str]) -> list[str]:
        """The first k ids of `order` whose chunks are stored, read into by_id with the `also` ids: only the chunks
        that rank are read, in one read unless some were removed meanwhile."""
        out: list[str] = []
        at = 0
        while len(out) < k and at < len(order):
            batch = order[at : at + k - len(out)]
            at += len(batch)
            by_id.update(self.store.chunks_by_id([cid for cid in dict.fromkeys(batch + also) if cid not in by_id]))
            also = []
            out += [cid for cid in batch if cid in by_id]
        return out

    def sentences_for(self, chunk_ids: list[str]) -> list[tuple[Sentence, np.ndarray]]:
        """The sentences of these chunks with their vectors, in the lexical generation's doc order: from its table where
        it holds the chunk's article as stored now, from the store for the rest (articles written since its commit).

        One ask reads the same chunks for re-scoring, the answer stage and the rival search, so the snapshot keeps the
        last sentence_cache_chunks chunks read; a store change makes a new snapshot."""
        return self._sentences_for(chunk_ids, self.snapshot())

    def _sentences_for(self, chunk_ids: list[str], snap: _Snapshot) -> list[tuple[Sentence, np.ndarray]]:
        wanted = list(dict.fromkeys(chunk_ids))
        got = snap.sentences_read.get(wanted)
        missing = [cid for cid in wanted if cid not in got]
        if missing:
            docs = {cid: snap.doc_of(cid) for cid in missing}
            held = snap.bm25.sentences.of_docs(sorted(d for d in docs.values() if d is not None), snap.bm25.docs.chunk_ids)
            rows: dict[str, list[tuple[Sentence, np.ndarray]]] = defaultdict(list)
            for row in held + self.store.sentences_for([cid for cid, d in docs.items() if d is None]):
                rows[row[0].chunk_id].append(row)
            fresh = {cid: (docs[cid], rows.get(cid, [])) for cid in missing}
            snap.sentences_read.put(fresh, self.settings.sentence_cache_chunks)
            got.update(fresh)
        order = sorted(wanted, key=lambda cid: (got[cid][0] is None, got[cid][0] or 0))
        return [row for cid in order for row in got[cid][1]]

    def sentence_passages(self, qvec: np.ndarray, filters: Filters | None, k: int) -> tuple[list[Passage], list[tuple[Sentence, np.ndarray]]]:
        """The k sentences closest to the question among those of the rival_chunks chunks closest to it, with the
        passages that hold them.

        Chunk ranking can bury one sentence under its chunk's other subject; this finds it directly. The search goes
        over chunks, not Chroma's sentence collection, which a local client would load whole into the query process.
        """
        snap = self.snapshot()
        near = [cid for cid, _ in self._search(qvec, self.settings.rival_chunks, chroma_where(filters or Filters()), snap)
                if Chunk.article_of(cid) in snap.manifest]
        found = self._sentences_for(near, snap)
        closest = np.argsort(-np.stack([v for _, v in found]) @ qvec, kind="stable")[:k] if found else []
        hits = [found[i] for i in closest]
        chunks = self.store.chunks_by_id(list(dict.fromkeys(s.chunk_id for s, _ in hits)))
        hits = [(s, v) for s, v in hits if s.chunk_id in chunks]
        return [snap.passage(chunks[cid], 0.0) for cid in dict.fromkeys(s.chunk_id for s, _ in hits)], hits
