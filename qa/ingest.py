"""Cut an article into token-sized, sentence-respecting chunks that remember their offsets."""

from functools import lru_cache

import tiktoken
from llama_index.core import Document
from llama_index.core.node_parser import SentenceSplitter

from .text import sentences as split_sentences
from .types import Article, Chunk, Sentence


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    # Loaded from llama-index-core's bundled cache (TIKTOKEN_CACHE_DIR is set by qa._offline).
    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(encoding().encode(text))


@lru_cache(maxsize=8)
def _splitter(chunk_tokens: int, overlap: int) -> SentenceSplitter:
    return SentenceSplitter(
        chunk_size=chunk_tokens,
        chunk_overlap=min(overlap, chunk_tokens // 2),
        tokenizer=encoding().encode,
        paragraph_separator="\n\n",
        include_metadata=False,
        include_prev_next_rel=False,
    )


def chunk_article(article: Article, chunk_tokens: int, overlap: int) -> list[Chunk]:
    nodes = _splitter(chunk_tokens, overlap).get_nodes_from_documents([Document(text=article.text, id_=article.id)])
    chunks: list[Chunk] = []
    cursor = 0
    for node in nodes:
        body = node.get_content()
        start = node.start_char_idx
        if start is None or article.text[start : start + len(body)] != body:
            # The splitter could not place the chunk; find it ourselves so offsets stay exact.
            start = article.text.find(body, max(0, cursor - len(body)))
            if start < 0:
                continue
        end = start + len(body)
        chunks.append(Chunk(id=f"{article.id}#{len(chunks)}", article_id=article.id, text=body, start=start, end=end))
        cursor = end
    return chunks


def sentences_of(article: Article, chunks: list[Chunk]) -> list[Sentence]:
    """Each article sentence, attached to the chunk where it starts (the chunk a citation will quote)."""
    out: list[Sentence] = []
    for span in split_sentences(article.text):
        owner = next((c for c in chunks if c.start <= span.start < c.end), None)
        if owner is None:
            continue
        out.append(Sentence(id=f"{article.id}@{span.start}", article_id=article.id, chunk_id=owner.id, text=span.text, start=span.start, end=span.end))
    return out
