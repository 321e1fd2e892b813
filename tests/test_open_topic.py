"""The open-topic step: which sentences answer an open question by holding its whole topic, and how decide uses it."""

import numpy as np
import pytest

from qa.answer.evidence import Evidence
from qa.answer.open_topic import OpenTopic
from qa.answer.question import parse
from qa.answer.reader import ReaderCandidate
from qa.core.types import Sentence


def _evidence(text: str, reading: str | None = None, p: float = 0.1, span: tuple[int, int] | None = None) -> Evidence:
    s = Sentence(f"a@{len(text)}", "a", "a#0", text, 0, len(text))
    return Evidence(s, np.zeros(2), 1, ReaderCandidate(text, "en", 0.9, 0, reading, reading), p, span)


SENTENCES = [
    "Police said 613 civilians were killed in Khojaly on 26 February 1992.",
    "The town of Khojaly lies in the Karabakh region.",
    "Parliament in Lima adopted a statement on Monday.",
    "One of the two hydraulic arms of the Port Ellery barrier snapped.",
    "Fighting resumed in Nagorno-Karabakh after the talks.",
]


@pytest.mark.parametrize("question, kept", [
    ("What happened in Khojaly?", [0, 1]),
    ("¿Qué pasó en Khojaly?", [0, 1]),
    ("What happened in Khojaly in 1992?", [0]),              # the question's numbers must be held too
    ("What happened in Khojaly in 2019?", []),               # no sentence holds 2019: the reader decides
    ("What happened in Khojaly on 26 March?", []),           # nor a month it names
    ("What happened in Khojaly two years ago?", []),         # nor its other words
    ("Tell me about the Port Ellery barrier", [3]),          # every word of the topic: Port, Ellery, barrier
    ("Tell me about the Port Ellery ferry", []),
    ("What happened in Karabakh?", [1, 4]),                  # a part of a hyphenated name
    ("What happened in Port Ellery and Lima?", []),
    ("What happened?", []),                                  # no topic
    ("How many people were killed in Khojaly?", []),         # not an open question: the reader decides
])
def test_sentences_that_hold_the_whole_topic(question, kept):
    evidence = [_evidence(t) for t in SENTENCES]
    verdict = OpenTopic()(parse(question), evidence)
    assert [e.sentence.text for e in verdict.evidence] == [SENTENCES[i] for i in kept]
    assert verdict.step.step == "open-topic" and verdict.step.verdict == ("answer" if kept else "reader decides")


@pytest.mark.parametrize("question, sentence", [
    ("What happened in Iran?", "Troops withdrew from Iraq on Friday."),               # names are spelled exactly
    ("What happened in Austria?", "Floods hit Australia."),
    ("What happened in Armenia?", "Armed men attacked the convoy."),
    ("What happened in Khojaly?", "Shelling was reported near Khojavend."),
    ("What happened in Mali?", "Tourists returned to Bali."),
    ("What happened in Lima?", "Add a slice of lime."),                                # a name is a capitalised word
    ("What happened in Port Ellery?", "The ship left port after Ellen said goodbye."),
    ("What happened to the dam in Mendoza?", "The governor of Mendoza opened a wine festival."),  # the common nouns too
])
def test_a_near_miss_is_left_to_the_reader(question, sentence):
    assert OpenTopic()(parse(question), [_evidence(sentence)]).evidence == []


def test_a_sentence_is_read_in_the_questions_language_too():
    """An English sentence's stored Spanish reading holds the Spanish question's topic."""
    e = _evidence("Hail destroyed the vineyards of Mendoza.", reading="El granizo destruyó los viñedos de Mendoza.")
    assert OpenTopic()(parse("¿Qué pasó en los viñedos de Mendoza?"), [e]).evidence[0].sentence == e.sentence


def test_the_readers_marked_words_are_dropped():
    """What the reader marks as the answering words means nothing for 'what happened': the whole sentence answers."""
    e = _evidence(SENTENCES[0], span=(12, 15))
    assert OpenTopic()(parse("What happened in Khojaly?"), [e]).evidence[0].span is None


def _bot(tmp_path, **settings):
    from qa.assistant import Assistant
    from tests.conftest import make_settings
    from tests.fakes import FakeEmbedder, FakeReader

    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "alat.txt").write_text("Ferry news\n\nA ferry sank near Alat on Monday. Rescuers reached Alat by noon. "
                                     "The weather was calm all week.\n")
    (folder / "rain.txt").write_text("Weather\n\nRain fell on the city all week. The rivers rose.\n")
    # Bars no fake probability reaches: whatever is answered, the open-topic step answered.
    bot = Assistant(make_settings(tmp_path / "data", translate=False, answer_bar=0.99, partial_bar=0.99, **settings),
                    embedder=FakeEmbedder(), reader=FakeReader(), auto_ingest=False)
    bot.ingest([folder])
    return bot


def test_decide_answers_an_open_question_by_its_topic_and_says_so(tmp_path):
    answer = _bot(tmp_path).ask("What happened in Alat?")
    steps = [t.step for t in answer.trace]
    assert answer.grade == "answer" and answer.refused_by is None
    assert steps.index("open-topic") == steps.index("decide") - 1
    decide = next(t for t in answer.trace if t.step == "decide")
    assert decide.detail.startswith("decided by open-topic")
    # Both sentences naming Alat are quoted, though under the reader's sentence bar; the calm weather is not.
    quoted = " ".join(c.quote for c in answer.citations)
    assert "ferry sank near Alat" in quoted and "Rescuers reached Alat" in quoted and "calm" not in quoted


def test_the_step_can_be_turned_off(tmp_path):
    answer = _bot(tmp_path, open_topic=False).ask("What happened in Alat?")
    assert answer.refused and "open-topic" not in [t.step for t in answer.trace]
