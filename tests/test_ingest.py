import pytest

from qa.ingest.articles import parse_file
from qa.ingest.chunking import chunk_article, count_tokens, sentence_pieces, sentences_of
from qa.core.types import Chunk
from tests.conftest import SEEDS


@pytest.mark.parametrize("path", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.stem)
@pytest.mark.parametrize("size", [48, 128, 300])
def test_chunk_offsets_round_trip_and_respect_size(path, size):
    article = parse_file(path, 10**6)
    chunks = chunk_article(article, size, 16)
    assert chunks
    for c in chunks:
        assert article.text[c.start : c.end] == c.text
        assert count_tokens(c.text) <= size
    # Every word of the article is in some chunk (nothing lost between chunks).
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    uncovered = "".join(ch for i, ch in enumerate(article.text) if i not in covered)
    assert uncovered.strip() == ""


def test_sentences_round_trip_and_belong_to_their_chunk():
    article = parse_file(SEEDS / "003_4e2d7c02eb82f3b3.txt", 10**6)
    chunks = chunk_article(article, 128, 16)
    by_id = {c.id: c for c in chunks}
    sents = sentences_of(article, chunks)
    assert len(sents) > 20
    for s in sents:
        assert article.text[s.start : s.end] == s.text
        assert by_id[s.chunk_id].start <= s.start < by_id[s.chunk_id].end


@pytest.mark.parametrize("article_id, n", [("a", 0), ("001_4a3f", 12), ("odd#name", 3), ("", 1)])
def test_a_chunk_id_names_its_article(article_id, n):
    assert Chunk.article_of(Chunk.make_id(article_id, n)) == article_id


@pytest.mark.parametrize("text", [
    "The talks lasted three hours. Putin hosted them in Moscow.  A statement followed.",
    "La reunión duró tres horas. El Sr. Putin la presidió en Moscú.\nSe firmó una declaración.",
    "One sentence without an end",
    "",
])
def test_sentence_pieces_join_back_into_the_text_and_start_where_its_sentences_do(text):
    from qa.core.text import sentences

    pieces = sentence_pieces(text)
    assert "".join(pieces) == text
    starts = [sum(len(p) for p in pieces[:i]) for i in range(len(pieces))]
    assert starts[1:] == [s.start for s in sentences(text)][1:]


def test_no_stored_sentence_crosses_the_end_of_its_chunk():
    """The splitter cuts between the sentences the store keeps: "Sr." ends no sentence here (NLTK's English punkt
    model cut after it, and 5 of these 40 sentences then ran past their chunk's end)."""
    from qa.ingest.articles import parse_text

    names = ["Pérez", "Gómez", "López", "Díaz", "Ruiz", "Torres", "Flores", "Vargas"]
    text = " ".join(f"El Sr. {names[i % 8]} habló con la Sra. {names[(i + 3) % 8]} sobre el acuerdo número {i} en la "
                    "reunión de Madrid." for i in range(40))
    article = parse_text(text, "abbreviations-es")
    chunks = {c.id: c for c in chunk_article(article, 128, 16)}
    stored = sentences_of(article, list(chunks.values()))
    assert len(stored) == 40 and len(chunks) > 1
    assert all(chunks[s.chunk_id].start <= s.start and s.end <= chunks[s.chunk_id].end for s in stored)
