"""What happened after X (issue 42): X's own date, from the sentence that reports X, then the events the articles date
later about X's subject, oldest first.

X is the sentence closest to X's words (e5) among the articles that name each of X's names, as a timeline's topic is
found (qa/answer/timeline.py). Its event date, resolved at ingest, is X's date; when it has none, another sentence
reporting the same event (e5 cosine over same_event_similarity) may date it. Neither the article's date nor a nearby
dated sentence is ever taken instead: an undated X is said to be undated, as an unreported X is said to be unreported.
The events after it are the timeline step's, kept from the day after X's date; an event dated only to a month or year
that holds X's date is left out, since it may have come before.
"""

from dataclasses import dataclass
from datetime import timedelta

from qa.answer.evidence import Evidence
from qa.answer.question import Question, language_words
from qa.answer.recency import spoken_date
from qa.answer.timeline import Chronicled, about_topic
from qa.core.settings import Settings
from qa.core.types import TraceStep
from qa.ingest.dates import first_day, last_day


@dataclass(frozen=True)
class Anchored:
    """The step's verdict on X: the sentence closest to it, the report that dates it and that date (None when the
    articles do not report X, or report it undated), and why."""

    closest: Evidence | None
    report: Evidence | None
    date: str | None
    step: TraceStep

    @property
    def refusal(self) -> str | None:
        """The prompt that says why nothing can follow X: it is not reported, or not dated; None when it is dated."""
        return "after_unknown" if self.closest is None else "after_undated" if self.report is None else None


class Anchor:
    name = "after"

    def __init__(self, settings: Settings) -> None:
        self.similar = settings.same_event_similarity

    def __call__(self, subject: Question, evidence: list[Evidence], texts: dict[str, str]) -> Anchored:
        """X's date from `evidence` (the sentences of the passages retrieved for X) of the articles in `texts` that
        name each of X's names."""
        about = {a for a, text in texts.items() if about_topic(subject, text)}
        pool = [e for e in evidence if e.sentence.article_id in about]
        named = ", ".join(sorted(subject.names)) or "no name"
        if not pool:
            return Anchored(None, None, None, TraceStep(self.name, "not found", f"no retrieved article names {named}"))
        closest = max(pool, key=lambda e: e.similarity)
        same = [e for e in pool if e is closest or float(e.vector @ closest.vector) >= self.similar]
        report = next((e for e in sorted(same, key=lambda e: (e is not closest, -e.similarity)) if e.sentence.event_date), None)
        if report is None:
            return Anchored(closest, None, None, TraceStep(self.name, "undated", f"{closest.sentence.id} and its "
                                                            f"{len(same) - 1} other reports give no date"))
        date = report.sentence.event_date or ""
        return Anchored(closest, report, date, TraceStep(self.name, f"after {date}", f"dated by {report.sentence.id}, "
                                                         f"closest of {len(pool)} sentences of {len(about)} articles naming {named}"))


def next_day(value: str) -> str:
    """The first day after an event date's span: where what followed it starts."""
    return (last_day(value) + timedelta(days=1)).isoformat()


def later(chronicled: Chronicled, date: str) -> Chronicled:
    """The timeline's events that surely come after `date`: their first day after its last."""
    events = [ev for ev in chronicled.events if first_day(ev.date) > last_day(date)]
    return Chronicled(events, f"{chronicled.detail}; {len(chronicled.events) - len(events)} straddle {date}")


def said_date(value: str, lang: str) -> str:
    """An event date as the language says it, at its precision: "9 November 2020", "November 2020", "2020"; a week
    stays ISO ("2024-W18"), having no common spoken form."""
    if "-W" in value:
        return value
    parts = value.split("-")
    words = language_words(lang)
    if len(parts) == 3:
        return spoken_date(value, lang)
    if len(parts) == 2:
        return words.month_date.format(month=words.months[int(parts[1]) - 1], year=parts[0])
    return words.year_date.format(year=parts[0])
