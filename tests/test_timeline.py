"""The timeline step: dated sentences of articles about the topic, in date order, one line per event."""

import math

import numpy as np
import pytest

from qa import Assistant
from qa.answer.evidence import Evidence
from qa.answer.question import parse
from qa.answer.reader import ReaderCandidate
from qa.answer.timeline import Chronicle
from qa.core.errors import InvalidFilter
from qa.core.settings import Settings
from qa.core.types import Sentence
from tests.conftest import KHOJALY
from tests.fakes import FakeEmbedder, FakeReader

FLOOD = "the Riverton flood"
TEXTS = {"herald": "Riverton under water.", "post": "Riverton recovers.", "other": "A flood in Corvo."}


def report(article: str, text: str, event_date: str | None, angle: float = 0.0, similarity: float = 0.8, start: int = 0) -> Evidence:
    """A sentence whose vector lies `angle` radians from the first report's."""
    s = Sentence(Sentence.make_id(article, start), article, f"{article}#0", text, start, start + len(text), event_date=event_date)
    vector = np.array([math.cos(angle), math.sin(angle)], dtype=np.float32)
    return Evidence(s, vector, 1, ReaderCandidate(text, "en", similarity, 0, text, text))


def lines(events) -> list[tuple[str, tuple[str, ...]]]:
    return [(e.date, tuple(r.sentence.article_id for r in e.reports)) for e in events]


@pytest.fixture
def step():
    return Chronicle(Settings(same_event_similarity=0.9, timeline_events=30))


@pytest.mark.parametrize("evidence, expected", [
    # Date order, whatever order the reports came in; an undated sentence is not an event.
    ([report("post", "Residents returned on Sunday.", "2023-04-16"), report("herald", "Rain began on Monday.", "2023-04-10", 1.0),
      report("herald", "The town was quiet.", None, 1.2)],
     [("2023-04-10", ("herald",)), ("2023-04-16", ("post",))]),
    # A year comes before the days within it.
    ([report("herald", "Rain began on Monday.", "2023-04-10"), report("herald", "The last flood was in 1987.", "1987", 1.0)],
     [("1987", ("herald",)), ("2023-04-10", ("herald",))]),
    # Two outlets, one day, almost the same words: one line citing both.
    ([report("herald", "The Alder burst its banks on Wednesday night.", "2023-04-12"),
      report("post", "The Alder burst its banks on 12 April.", "2023-04-12", 0.2)],
     [("2023-04-12", ("herald", "post"))]),
    # ... or the same figure in other words.
    ([report("herald", "Armenia said 49 soldiers had been killed.", "2022-09-13"),
      report("post", "At least 49 dead among the military.", "2022-09-13", 1.0)],
     [("2022-09-13", ("herald", "post"))]),
    # One day, other words and no shared figure: two events.
    ([report("herald", "Heavy fighting broke out.", "2022-09-13"), report("post", "Guterres asked for restraint.", "2022-09-13", 1.0)],
     [("2022-09-13", ("herald",)), ("2022-09-13", ("post",))]),
    # One article's two sentences of one day are two events, however alike.
    ([report("herald", "The river rose.", "2023-04-12"), report("herald", "The river rose fast.", "2023-04-12", 0.1, start=40)],
     [("2023-04-12", ("herald",)), ("2023-04-12", ("herald",))]),
    # An article that does not name the topic's names is about something else.
    ([report("other", "Floods hit Corvo on Monday.", "2023-04-10"), report("post", "Residents returned on Sunday.", "2023-04-16", 1.0)],
     [("2023-04-16", ("post",))]),
])
def test_dated_reports_of_articles_about_the_topic_in_date_order(step, evidence, expected):
    assert lines(step(parse(FLOOD), evidence, TEXTS).events) == expected


@pytest.mark.parametrize("start, end, expected", [
    ("2023-04-11", None, ["2023-04", "2023-04-16"]),  # a month holds days of the range
    (None, "2023-04-11", ["1987", "2023-04", "2023-04-10"]),
    ("2023-04-11", "2023-04-15", ["2023-04"]),
])
def test_a_range_keeps_the_events_that_overlap_it(step, start, end, expected):
    evidence = [report("herald", "The last flood was in 1987.", "1987"), report("herald", "Rain began on Monday.", "2023-04-10", 1.0),
                report("herald", "April was wet.", "2023-04", 1.2), report("post", "Residents returned on Sunday.", "2023-04-16", 1.4)]
    assert [e.date for e in step(parse(FLOOD), evidence, TEXTS, start, end).events] == expected


@pytest.mark.parametrize("topic, text", [
    ("the Nagorno-Karabakh ceasefire", "El alto el fuego en Karabaj."),  # a joined name, by either part
    ("el alto el fuego en Karabaj", "El alto el fuego en Nagorno-Karabaj."),  # a part of the text's joined name
])
def test_joined_names_are_named_by_either_part(step, topic, text):
    evidence = [report("es", "El 9 de noviembre de 2020 firmaron una declaración.", "2020-11-09")]
    assert len(step(parse(topic), evidence, {"es": text}).events) == 1


def test_the_timeline_keeps_the_events_closest_to_the_topic():
    step = Chronicle(Settings(timeline_events=1))
    near = report("post", "Residents returned on Sunday.", "2023-04-16", similarity=0.9)
    got = step(parse(FLOOD), [report("herald", "Rain began on Monday.", "2023-04-10", 1.0, similarity=0.7), near], TEXTS)
    assert lines(got.events) == [("2023-04-16", ("post",))] and "1 beyond timeline_events" in got.detail


@pytest.fixture
def bot(settings) -> Assistant:
    return Assistant(settings, embedder=FakeEmbedder(), reader=FakeReader())


def test_a_timeline_lists_the_dated_events_oldest_first_each_cited_and_verified(bot):
    t = bot.timeline("the Khojaly genocide", lang="en")
    assert t.events and t.text.startswith("Timeline of the Khojaly genocide:")
    assert [e.date for e in t.events] == sorted((e.date for e in t.events), key=lambda d: (d + "-01-01")[:10])
    assert any(e.date == "1992-02-26" for e in t.events)
    for e, line in zip(t.events, t.text.splitlines()[1:]):
        assert line == f"- {e.text}" and e.text.startswith(f"{e.date}: ") and e.citations
        assert all(f"[{n}]" in e.text for n in e.citations)
    for c in t.citations:
        assert c.supported and bot.article_text(c.article_id)[c.start:c.end] == c.quote
    assert all(s.supported for s in t.sentences) and KHOJALY in {c.article_id for c in t.citations}
    assert [s.step for s in t.trace] == ["timeline", "verify"]


def test_a_timeline_within_a_range_and_bad_bounds(bot):
    assert all(e.date >= "2013" for e in bot.timeline("the Khojaly genocide", start="2013-01-01", lang="en").events)
    with pytest.raises(InvalidFilter, match="start"):
        bot.timeline("the Khojaly genocide", start="26/02/1992")
    with pytest.raises(InvalidFilter):
        bot.timeline("the Khojaly genocide", start="2024-01-01", end="2013-01-01")


def test_nothing_dated_about_the_topic_says_so(bot):
    t = bot.timeline("the Atlantis expedition", lang="en")
    assert t.events == [] and t.text == "The articles date no events about this."
    assert t.answer("Timeline of the Atlantis expedition").refused


@pytest.mark.parametrize("question, head", [
    ("Give me a timeline of the Khojaly genocide", "Timeline of the Khojaly genocide:"),
    ("¿Me das una cronología del genocidio de Khojaly?", "Cronología de genocidio de Khojaly:"),
])
def test_asking_for_a_timeline_answers_with_it(bot, question, head):
    ans = bot.ask(question)
    assert ans.text.startswith(head) and ans.citations and ans.grade == "answer"
    assert [s.step for s in ans.trace] == ["timeline", "verify"]
