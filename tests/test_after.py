"""What happened after X: X's date from the sentence that reports it, then the later events of its subject, or a refusal
that says why (X not reported, X undated)."""

import pytest

from qa import Assistant
from qa.answer.after import Anchor, later, next_day, said_date
from qa.answer.question import parse
from qa.answer.timeline import Chronicled, Event
from qa.core.settings import Settings
from tests.fakes import FakeEmbedder, FakeReader
from tests.test_timeline import TEXTS, report

FLOOD = "the Riverton flood"


@pytest.fixture
def step():
    return Anchor(Settings(same_event_similarity=0.9))


@pytest.mark.parametrize("subject, evidence, verdict, dated_by", [
    # The sentence closest to X dates it.
    (FLOOD, [report("herald", "The Alder burst its banks on Wednesday night.", "2023-04-12", similarity=0.9),
             report("post", "Residents returned on Sunday.", "2023-04-16", 1.0, similarity=0.7)], "after 2023-04-12", "herald"),
    # The closest undated, another article's report of the same event (almost the same words) dates it.
    (FLOOD, [report("herald", "The Alder burst its banks.", None, similarity=0.9),
             report("post", "The Alder burst its banks on 12 April.", "2023-04-12", 0.2, similarity=0.8)], "after 2023-04-12", "post"),
    # ... but a sentence about another event is never taken for X's date: X is undated.
    (FLOOD, [report("herald", "The Alder burst its banks.", None, similarity=0.9),
             report("post", "Residents returned on Sunday.", "2023-04-16", 1.0, similarity=0.8)], "undated", None),
    # Only articles naming X's names report X: the other flood is not the Riverton flood.
    (FLOOD, [report("other", "Floods hit Corvo on Monday.", "2023-04-10", similarity=0.95),
             report("herald", "The Alder burst its banks on Wednesday night.", "2023-04-12", 1.0, similarity=0.9)],
     "after 2023-04-12", "herald"),
    # No article names them: X is not reported.
    ("the Atlantis flood", [report("herald", "The Alder burst its banks on Wednesday night.", "2023-04-12")], "not found", None),
    (FLOOD, [], "not found", None),
])
def test_x_is_dated_by_its_own_report_or_not_at_all(step, subject, evidence, verdict, dated_by):
    got = step(parse(subject), evidence, TEXTS)
    assert got.step.step == "after" and got.step.verdict == verdict
    assert (got.report.sentence.article_id if got.report else None) == dated_by
    assert got.date == (verdict.removeprefix("after ") if dated_by else None)
    assert got.refusal == {"undated": "after_undated", "not found": "after_unknown"}.get(verdict)


@pytest.mark.parametrize("date, kept", [
    ("2023-04-12", ["2023-04-13", "2024"]),  # the same day is not after it
    ("2023-04", ["2024"]),  # a month's days come before its end
    ("2023-04-13", ["2024"]),  # a month holding X's date may have come before it: left out
    ("2022", ["2023-04-12", "2023-04", "2023-04-13", "2024"]),
])
def test_only_events_surely_after_x_are_kept(date, kept):
    events = [Event(d, (report("herald", f"Something on {d}.", d),)) for d in ("2023-04-12", "2023-04", "2023-04-13", "2024")]
    got = later(Chronicled(events, "4 events"), date)
    assert [e.date for e in got.events] == kept and got.detail.endswith(f"{4 - len(kept)} straddle {date}")


@pytest.mark.parametrize("value, following", [("2020-11-09", "2020-11-10"), ("2020-11", "2020-12-01"), ("2020", "2021-01-01"),
                                              ("2024-W18", "2024-05-06"), ("2024-02-29", "2024-03-01")])
def test_what_follows_starts_the_day_after_the_span(value, following):
    assert next_day(value) == following


@pytest.mark.parametrize("value, lang, said", [
    ("2020-11-09", "en", "9 November 2020"), ("2020-11-09", "es", "9 de noviembre de 2020"),
    ("2020-11", "en", "November 2020"), ("2020-11", "es", "noviembre de 2020"),
    ("1992", "en", "1992"), ("1992", "es", "1992"), ("2024-W18", "en", "2024-W18"),
])
def test_x_date_is_said_at_its_precision(value, lang, said):
    assert said_date(value, lang) == said


@pytest.fixture
def bot(settings) -> Assistant:
    return Assistant(settings, embedder=FakeEmbedder(), reader=FakeReader())


def test_after_x_lists_later_events_oldest_first_each_cited_and_verified(bot):
    t = bot.after("the Khojaly genocide", lang="en")
    date = t.trace[0].verdict.removeprefix("after ")
    assert t.text.startswith(f"After the Khojaly genocide ({said_date(date, 'en')}) [1]: ") and t.start == next_day(date)
    assert t.events and all(e.date >= t.start for e in t.events)
    assert [e.date for e in t.events] == sorted(e.date for e in t.events)
    for c in t.citations:
        assert c.supported and bot.article_text(c.article_id)[c.start:c.end] == c.quote
    for e, line in zip(t.events, t.text.splitlines()[1:]):
        assert line == f"- {e.text}" and e.citations and all(f"[{n}]" in e.text for n in e.citations)
    assert [s.step for s in t.trace] == ["after", "timeline", "verify"]


@pytest.mark.parametrize("question, opening, refused_by", [
    ("What happened after the Khojaly genocide?", "After the Khojaly genocide (", None),
    ("¿Qué pasó después del genocidio de Khojaly?", "Después de genocidio de Khojaly (", None),
    ("What happened after the Atlantis expedition?", "The articles do not report the Atlantis expedition, so", "after"),
])
def test_asking_what_happened_after_answers_with_it(bot, question, opening, refused_by):
    ans = bot.ask(question)
    assert ans.text.startswith(opening) and ans.refused_by == refused_by
    assert ans.trace[0].step == "after" and ans.refused == (refused_by is not None)


def test_an_undated_x_is_refused_saying_so(bot):
    """Seed 002 reports the Moscow talks without a date, and has none itself: no date is guessed for them."""
    ans = bot.ask("What happened after the talks between Putin, Aliyev and Pashinyan in Moscow?")
    assert ans.refused and ans.refused_by == "after" and ans.trace[0].verdict == "undated"
    assert ans.text.startswith("The articles report the talks between Putin, Aliyev and Pashinyan in Moscow but give no date")


def test_after_that_in_a_conversation_is_read_as_a_follow_up(bot):
    """'that' names nothing by itself: the question goes the ordinary way, where the conversation says what it means."""
    first = bot.ask("What happened in Riverton?")
    answer = bot.ask("What happened after that?", history=first.messages())
    assert answer.trace[0].step == "conversation" and all(s.step != "after" for s in answer.trace)


def test_x_dated_with_nothing_later_is_an_answer_and_nothing_at_all_a_refusal():
    from qa.core.types import Citation, Timeline, TraceStep

    cite = Citation(n=1, article_id="a", title="t", date=None, source=None, lang="en", quote="q", start=0, end=1, supported=True)
    nothing_later = Timeline(topic="X", lang="en", text="After X (4 March 2024) [1], the articles date nothing later about it.",
                             events=[], citations=[cite], passages=[], sentences=[], trace=[TraceStep("after", "2024-03-04", "")])
    answer = nothing_later.answer("What happened after X?")
    assert not answer.refused and answer.grade == "answer" and answer.refused_by is None
    unknown = Timeline(topic="X", lang="en", text="The articles do not report X.", events=[], citations=[], passages=[],
                       sentences=[], trace=[TraceStep("after", "not found", "")])
    assert unknown.answer("What happened after X?").refused_by == "after"
