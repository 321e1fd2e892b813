"""Cut an article into token-sized, sentence-respecting chunks that remember their offsets."""

from dataclasses import replace
from functools import lru_cache

import tiktoken
from llama_index.core import Document
from llama_index.core.node_parser import SentenceSplitter

from qa.core.text import sentences as split_sentences
from qa.core.types import Article, Chunk, Sentence
from qa.ingest.dates import EventDater

event_date = EventDater()


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    # Loaded from llama-index-core's bundled cache (TIKTOKEN_CACHE_DIR is set by qa.core.offline).
    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    """Tokens by tiktoken's cl100k_base, the count chunks are cut by and the API's usage reports."""
    return len(encoding().encode(text))


def sentence_pieces(text: str) -> list[str]:
    """The text cut where its sentences (qa.core.text.sentences) start, whitespace kept, so the pieces join back into it.

    The splitter then cuts chunks between the sentences the store keeps, in either language, instead of NLTK's
    English punkt model's (whose import alone takes 1.4-1.7 s of an ingest)."""
    bounds = [0, *(s.start for s in split_sentences(text)[1:]), len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


@lru_cache(maxsize=8)
def splitter(chunk_tokens: int, overlap: int) -> SentenceSplitter:
    return SentenceSplitter(
        chunk_size=chunk_tokens,
        chunk_overlap=min(overlap, chunk_tokens // 2),
        tokenizer=encoding().encode,
        paragraph_separator="\n\n",
        chunking_tokenizer_fn=sentence_pieces,
        include_metadata=False,
        include_prev_next_rel=False,
    )


def chunk_article(article: Article, chunk_tokens: int, overlap: int) -> list[Chunk]:
    nodes = splitter(chunk_tokens, overlap).get_nodes_from_documents([Document(text=article.text, id_=article.id)])
    chunks: list[Chunk] = []
    for node in nodes:
        body = node.get_content()
        start = _place(article.text, body, chunks[-1] if chunks else None)
        if start is None:
            continue
        chunks.append(Chunk(id=Chunk.make_id(article.id, len(chunks)), article_id=article.id, text=body, start=start, end=start + len(body)))
    return chunks


def _place(text: str, body: str, previous: Chunk | None) -> int | None:
    """Where a chunk lies: the furthest place that still touches the previous chunk.

    llama-index's start_char_idx points at the first occurrence of the text, which is wrong for repeated passages; the
    furthest occurrence that overlaps or directly follows the previous chunk keeps offsets exact and leaves no gap.
    """
    lo = previous.start + 1 if previous else 0
    touch = previous.end if previous else 0
    touch += len(text[touch:]) - len(text[touch:].lstrip())
    best, p = None, text.find(body, lo)
    while 0 <= p <= touch:
        best, p = p, text.find(body, p + 1)
    return best if best is not None else (p if p >= 0 else None)


def sentences_of(article: Article, chunks: list[Chunk]) -> list[Sentence]:
    """Each article sentence, attached to the chunk where it starts (the chunk a citation will quote), with the date
    of what it reports when it gives one."""
    out: list[Sentence] = []
    for span in split_sentences(article.text):
        owner = next((c for c in chunks if c.start <= span.start < c.end), None)
        if owner is None:
            continue
        out.append(dated(Sentence(id=Sentence.make_id(article.id, span.start), article_id=article.id, chunk_id=owner.id,
                                  text=span.text, start=span.start, end=span.end), article))
    return out


def dated(sentence: Sentence, article: Article) -> Sentence:
    """The sentence with its event date, resolved against the article's date (a stored one, too: Store migration)."""
    event = event_date(sentence.text, article.lang, article.date)
    return replace(sentence, event_date=event.value if event else None)
