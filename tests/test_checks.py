"""Each named check, with a table of passing and failing cases."""

import numpy as np
import pytest

from qa.answer.checks import CHECKS, AnswerType, UnknownNames, _spelled_alike, build_checks, unknown_names
from qa.core.errors import InvalidSetting
from qa.answer.evidence import Evidence
from qa.answer.question import parse
from qa.answer.reader import ReaderCandidate
from qa.core.types import Passage, Sentence


def _passage(text: str, lang: str = "en", source: str | None = None, article: str = "a") -> Passage:
    return Passage(f"{article}#0", article, "Talks in Moscow", None, source, lang, text, 0, len(text), 1.0)


def _evidence(p: Passage, text: str | None = None, reading: str | None = None, index: int = 1) -> Evidence:
    text = text or p.text
    start = p.text.index(text)
    s = Sentence(f"{p.article_id}@{start}", p.article_id, p.chunk_id, text, start, start + len(text))
    return Evidence(s, np.zeros(2), index, ReaderCandidate(text, p.lang, 0.9, 0, reading or text, reading or text), 0.9)


@pytest.mark.parametrize("question, passage, refused", [
    ("What did Putin say in Moscow?", "Putin spoke in Moscow on Monday.", False),
    # Across languages a name is spelled alike or shares its first letters.
    ("¿Qué dijo Putin en Moscú?", "Putin spoke in Moscow on Monday.", False),
    ("What did Erdogan say in Moscow?", "Putin spoke in Moscow on Monday.", True),
    # The first word and acronyms are not checked (articles spell acronyms out).
    ("Which UN body met?", "The Security Council met.", False),
    ("Who gave their name to Normandy in the 1000s?", "The Normans gave their name to Normandy in the 10th century.", False),
    ("Who ruled the duchy of Brittany?", "The Normans gave their name to Normandy in the 10th century.", True),
])
def test_unknown_names(question, passage, refused):
    p = _passage(passage)
    assert UnknownNames().apply(parse(question), [p], [_evidence(p)]).refuse is refused


def test_a_name_translated_rather_than_spelled_alike_is_found_in_the_translation():
    p = _passage("Los Países Bajos votaron.", "es")
    q = parse("How did the Netherlands vote?")
    assert unknown_names(q, [p]) == {"netherlands"}
    assert unknown_names(q, [p], ["The Netherlands voted."]) == set()


@pytest.mark.parametrize("question, sentence, holds", [
    ("How many people were taken hostage?", "1275 people were taken hostage.", True),
    ("How many people were taken hostage?", "Many people were taken hostage in the town.", False),
    ("When did the talks end?", "The talks ended on 9 November 2020.", True),
    ("When did the talks end?", "The talks ended in the Kremlin.", False),
    ("How many were killed?", "It happened on February 26, 1992.", False),
    ("¿Cuánto costó la planta?", "La planta costó 74 millones de dólares.", True),
    ("Who financed the farm?", "The farm was financed by the Inter-American Development Bank.", True),
    ("Who financed the farm?", "the farm was financed by a loan.", False),
    # Questions for no type pass whatever the sentence holds.
    ("What did the report say?", "it said nothing new.", True),
])
def test_answer_type(question, sentence, holds):
    p = _passage(sentence)
    verdict = AnswerType().apply(parse(question), [p], [_evidence(p)])
    assert bool(verdict.evidence) is holds and verdict.refuse is not holds


def test_checks_are_built_by_name_and_an_unknown_name_is_an_error():
    assert [c.name for c in build_checks()] == list(CHECKS)
    assert [c.name for c in build_checks(["answer-type"])] == [n for n in CHECKS if n != "answer-type"]
    with pytest.raises(InvalidSetting, match="no such check"):
        build_checks(["nope"])


@pytest.mark.parametrize("a, b, alike", [
    ("algeria", "argelia", True),    # 2 edits, a third of 7 letters is 2
    ("kuechly", "kuechlys", True),
    ("abcdef", "abcdxy", True),      # 2 edits: at the limit
    ("abcdef", "abcxyz", False),     # 3 edits: one past it
    ("abcdef", "abcdefghi", False),  # lengths differ by more than the limit
    ("ab", "ab", False),             # under 3 letters nothing is spelled alike (the limit is 0)
])
def test_names_are_spelled_alike_within_a_third_of_their_letters(a, b, alike):
    assert _spelled_alike(a, b) is alike
