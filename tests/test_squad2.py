"""`qa eval --squad2`: loading the split, and what counts as right."""

import json

from qa.squad2 import SResult, article_id, load, summarize, write_articles


def _result(answerable: bool, grade: str, cited: bool = True, contains: bool = True) -> SResult:
    return SResult("q", "T", answerable, grade, cited, contains, 0.5, None if grade != "refused" else "reader", 0.01)


def test_right_answers_and_refusals():
    assert _result(True, "answer").right
    assert not _result(True, "answer", cited=False).right and not _result(True, "answer", contains=False).right
    assert not _result(True, "partial").right and not _result(True, "refused").right  # a hedge is no answer
    assert _result(False, "refused").right and _result(False, "partial").right and not _result(False, "answer").right
    row = summarize([_result(True, "answer"), _result(True, "refused"), _result(False, "partial"), _result(False, "answer")])
    assert row["answerable_right"] == 0.5 and row["unanswerable_refused"] == 0.5 and row["precision"] == 0.5
    assert row["partial"] == 0.25


def test_each_article_becomes_one_file_with_its_paragraphs(tmp_path):
    data = {"version": "v2.0", "data": [{"title": "Steam_engine", "paragraphs": [
        {"context": "Watt improved the engine.", "qas": [
            {"id": "1", "question": "Who improved the engine?", "answers": [{"text": "Watt", "answer_start": 0}], "is_impossible": False},
            {"id": "2", "question": "Who invented the wheel?", "answers": [], "plausible_answers": [{"text": "Watt", "answer_start": 0}],
             "is_impossible": True}]},
        {"context": "It drove pumps.", "qas": []}]}]}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    texts, questions = load(path)
    assert texts == {"Steam_engine": "Steam engine\n\nWatt improved the engine.\n\nIt drove pumps.\n"}
    assert [(q.qid, q.answerable, q.answers) for q in questions] == [("1", True, ("Watt",)), ("2", False, ())]
    folder = write_articles(texts, tmp_path / "articles")
    assert (folder / f"{article_id('Steam_engine')}.txt").read_text().startswith("Steam engine")
    assert article_id("1973_oil_crisis") == "squad2-1973-oil-crisis"
