"""What the store keeps per article and per sentence: the manifest's record, an article on its way in, the metadata
every Chroma record carries (what retrieval filters on and citations show)."""

import json
from dataclasses import dataclass, field

import numpy as np

from qa.core.types import Article, Chunk, Sentence


@dataclass(frozen=True)
class StoredArticle:
    id: str
    title: str
    date: str | None
    source: str | None
    lang: str
    path: str
    sha256: str
    chunks: int
    translated: bool = False  # its sentences carry their translation into the other language
    author: str | None = None
    same_as: str | None = None  # a near-duplicate of this stored story: recorded, its text not indexed again
    outlets: tuple[str, ...] = ()  # every outlet that carried the story: its own, then its merged copies'
    minhash: str = field(default="", repr=False)  # its MinHash signature (qa/ingest/dedup.py), to find later copies
    dated: bool = False  # its sentences carry their event dates (a store written before them is dated by the next ingest)

    @property
    def version(self) -> str:
        """What the lexical index holds the article at: a translation or event dates landing later change its sentences."""
        return version(self.sha256, self.translated, self.dated)


def version(sha256: str, translated: bool, dated: bool = True) -> str:
    """The article's text hash, marked with what its sentences carry (an old store's undated record keeps its version)."""
    return sha256 + ("+translated" if translated else "") + ("" if dated else "+undated")


@dataclass(frozen=True)
class NewArticle:
    """An article to store with its chunks and sentences (Store.put_articles)."""

    article: Article
    chunks: list[Chunk]
    sentences: list[Sentence]
    minhash: str = ""

    @property
    def translated(self) -> bool:
        return any(s.translation is not None for s in self.sentences)


def date_int(date: str | None) -> int:
    return int(date.replace("-", "")) if date else 0


def sentence_meta(sentence: Sentence) -> dict:
    """A stored sentence's metadata: where it is, and its translation once made."""
    return {"article_id": sentence.article_id, "chunk_id": sentence.chunk_id, "start": sentence.start, "end": sentence.end,
            **({"translation": sentence.translation} if sentence.translation is not None else {}),
            **({"event_date": sentence.event_date} if sentence.event_date is not None else {})}


def article_meta(article: Article) -> dict:
    """The metadata every record of an article carries (what retrieval filters on and citations show)."""
    return {
        "article_id": article.id,
        "title": article.title,
        "date": article.date or "",
        "date_int": date_int(article.date),
        "source": article.source or "",
        "lang": article.lang,
    }


# --- reading the records back ----------------------------------------------------------------------------------

def stored_article(article_id: str, meta: dict) -> StoredArticle:
    """The manifest's record of an article from its metadata (fields a record written by an older version lacks get
    their defaults)."""
    return StoredArticle(
        id=article_id,
        title=meta["title"],
        date=meta.get("date") or None,
        source=meta.get("source") or None,
        lang=meta["lang"],
        path=meta.get("path", ""),
        sha256=meta["sha256"],
        chunks=int(meta.get("chunks", 0)),
        translated=bool(meta.get("translated", False)),
        author=meta.get("author") or None,
        same_as=meta.get("same_as") or None,
        outlets=tuple(json.loads(meta["outlets"])) if meta.get("outlets") else ((meta["source"],) if meta.get("source") else ()),
        minhash=meta.get("minhash", ""),
        dated=bool(meta.get("dated", False)),
    )


def chunk_records(got: dict[str, list]) -> list[Chunk]:
    """The chunks of a Chroma get (ids, documents, metadatas)."""
    return [Chunk(id=cid, article_id=m["article_id"], text=doc, start=int(m["start"]), end=int(m["end"]))
            for cid, doc, m in zip(got["ids"], got["documents"], got["metadatas"])]


def sentence_records(got: dict[str, list]) -> list[tuple[Sentence, np.ndarray]]:
    """The sentences of a Chroma get (ids, documents, metadatas, embeddings) with their vectors."""
    return [(Sentence(id=sid, article_id=m["article_id"], chunk_id=m["chunk_id"], text=doc, start=int(m["start"]), end=int(m["end"]),
                      translation=m.get("translation"), event_date=m.get("event_date")), np.asarray(emb, dtype=np.float32))
            for sid, doc, m, emb in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])]
