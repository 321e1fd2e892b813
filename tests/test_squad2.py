"""`qa eval --squad2`: loading the split, and what counts as right."""

import json

from qa_eval.squad2 import SResult, article_id, held_out_readers, load, summarize, write_articles


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


def _squad(path, title: str, qid: str, question: str):
    path.write_text(json.dumps({"version": "v2.0", "data": [{"title": title, "paragraphs": [
        {"context": "Watt improved the engine.", "qas": [
            {"id": qid, "question": question, "answers": [{"text": "Watt", "answer_start": 0}], "is_impossible": False}]}]}]}))
    return path


def test_a_translated_question_goes_to_the_reader_that_held_out_its_source_article(tmp_path):
    english = _squad(tmp_path / "en.json", "Steam_engine", "q1", "Who improved the engine?")
    spanish = load(_squad(tmp_path / "es.json", "Motor", "es1", "¿Quién mejoró el motor?"))[1]
    held_out, other = object(), object()
    assert held_out_readers(spanish, {"Steam_engine": held_out, "Normans": other}, english) == {"es1": held_out}
    assert held_out_readers(load(english)[1], {"Steam_engine": held_out}, english) == {"q1": held_out}
    assert held_out_readers(spanish, {"Normans": other}, english) is None  # no reader held it out: the shipped one reads
    assert held_out_readers(spanish, {}, english) is None
