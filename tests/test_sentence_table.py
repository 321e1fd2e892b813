"""The memory-mapped sentence table: what a generation writes is what a query reads back, row for row."""

import numpy as np

from qa.core.types import Sentence
from qa.index.sentence_table import SentenceTable


def sent(article: str, doc: int, start: int, text: str, translation: str | None = None, event: str | None = None) -> Sentence:
    return Sentence(id=Sentence.make_id(article, start), article_id=article, chunk_id=f"{article}#{doc}", text=text,
                    start=start, end=start + len(text), translation=translation, event_date=event)


def rows(*sentences: Sentence, dim: int = 4) -> list[tuple[Sentence, np.ndarray]]:
    return [(s, np.full(dim, s.start + 0.5, dtype=np.float32)) for s in sentences]


def read(table: SentenceTable, docs: list[int], chunk_ids: list[str]) -> list[tuple[str, str | None, str | None, float]]:
    return [(s.text, s.translation, s.event_date, float(v[0])) for s, v in table.of_docs(docs, np.array(chunk_ids))]


def test_written_rows_read_back_in_text_order_with_translations_dates_and_vectors(tmp_path):
    # given out of order: a doc's rows are stored by their place in the article
    a = rows(sent("a", 0, 40, "Segunda frase, con tildes: ñandú.", "Second sentence."), sent("a", 0, 0, "First one.", event="2020-11-10"))
    b = rows(sent("b", 0, 7, "Only sentence of b.", ""))
    table = SentenceTable.empty().write(tmp_path, np.zeros(0, dtype=bool), [a, b])
    assert table.rows == 3
    assert read(table, [1, 0], ["a#0", "b#0"]) == [
        ("Only sentence of b.", "", None, 7.5),  # an empty translation is kept apart from none
        ("First one.", None, "2020-11-10", 0.5),
        ("Segunda frase, con tildes: ñandú.", "Second sentence.", None, 40.5)]
    first = table.of_docs([0], np.array(["a#0", "b#0"]))[0][0]
    assert (first.id, first.article_id, first.chunk_id, first.start, first.end) == (Sentence.make_id("a", 0), "a", "a#0", 0, 10)


def test_the_next_generation_keeps_marked_docs_and_appends_new_ones(tmp_path):
    (tmp_path / "g1").mkdir()
    (tmp_path / "g2").mkdir()
    old = SentenceTable.empty().write(tmp_path / "g1", np.zeros(0, dtype=bool),
                                      [rows(sent("a", 0, 0, "A.")), rows(sent("b", 0, 0, "B."), sent("b", 0, 3, "B2."))])
    new = old.write(tmp_path / "g2", np.array([False, True]), [rows(sent("c", 0, 5, "C."))])
    assert read(new, [0, 1], ["b#0", "c#0"]) == [("B.", None, None, 0.5), ("B2.", None, None, 3.5), ("C.", None, None, 5.5)]
    assert read(old, [0], ["a#0", "b#0"]) == [("A.", None, None, 0.5)]  # the old generation is left as it was


def test_a_generation_whose_docs_have_no_sentences_reads_nothing(tmp_path):
    table = SentenceTable.empty().write(tmp_path, np.zeros(0, dtype=bool), [[]])
    assert table.rows == 0 and table.of_docs([0], np.array(["a#0"])) == []
