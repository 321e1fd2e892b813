"""The open-topic step: which sentences answer an open question by naming its whole topic."""

import numpy as np
import pytest

from qa.answer.evidence import Evidence
from qa.answer.open_topic import OpenTopic
from qa.answer.question import parse
from qa.answer.reader import ReaderCandidate
from qa.core.types import Sentence


def _evidence(text: str, reading: str | None = None, p: float = 0.1) -> Evidence:
    s = Sentence(f"a@{len(text)}", "a", "a#0", text, 0, len(text))
    return Evidence(s, np.zeros(2), 1, ReaderCandidate(text, "en", 0.9, 0, reading, reading), p)


SENTENCES = [
    "Police said 613 civilians were killed in Khojaly on 26 February 1992.",
    "The town of Khojaly lies in the Karabakh region.",
    "Parliament in Lima adopted a statement on Monday.",
    "One of the two hydraulic arms of the Port Ellery barrier snapped.",
]


@pytest.mark.parametrize("question, kept", [
    ("What happened in Khojaly?", [0, 1]),
    ("¿Qué pasó en Khojalí?", [0, 1]),                      # the name spelled alike, as the unknown-names check allows
    ("What happened in Khojaly in 1992?", [0]),              # the question's numbers must be named too
    ("What happened in Khojaly in 2019?", []),               # no sentence names 2019: the reader decides
    ("Tell me about the Port Ellery barrier", [3]),          # every name: Port and Ellery
    ("What happened in Port Ellery and Lima?", []),
    ("What happened in Baku?", []),
    ("What happened?", []),                                  # names nothing
    ("How many people were killed in Khojaly?", []),         # not an open question: the reader decides
])
def test_sentences_that_name_the_whole_topic(question, kept):
    evidence = [_evidence(t) for t in SENTENCES]
    verdict = OpenTopic()(parse(question), evidence)
    assert verdict.evidence == [evidence[i] for i in kept]
    assert verdict.step.step == "open-topic" and verdict.step.verdict == ("answer" if kept else "reader decides")


def test_a_sentence_is_read_in_the_questions_language_too():
    """A Spanish sentence's stored English reading names the topic as the English question does."""
    e = _evidence("Un brazo de la barrera se rompió.", reading="An arm of the Port Ellery barrier broke.")
    assert OpenTopic()(parse("What happened to the Port Ellery barrier?"), [e]).evidence == [e]
