"""Timeline: the events the articles report about a topic, in the order they happened (issue 42).

The order comes from the event dates resolved at ingest (qa/ingest/dates.py), never from the articles' own dates: an
article of 2024 recalls 1992. The passages retrieved for the topic give the candidate sentences; an article counts as
about the topic only when it names each of the topic's names (Riverton; Nagorno-Karabakh by either part), as a story that
only shares the topic's kind of event (another city's strike) is not about it. Two articles reporting one event on the same
date in almost the same words (e5 cosine over same_event_similarity) or with the same figure make one line citing
both. Each line quotes its
sentence and is verified and cited by the answer stage like any answer sentence.
"""

from dataclasses import dataclass

from qa.answer.compose import Drafted
from qa.answer.evidence import Evidence
from qa.answer.question import Question
from qa.core.settings import Settings
from qa.answer.verify import figures
from qa.core.text import Vocabulary, fold, name_found, words
from qa.ingest.dates import first_day, last_day


@dataclass(frozen=True)
class Event:
    """One event: when, and its reports, one per article, closest to the topic first (the first is quoted)."""

    date: str
    reports: tuple[Evidence, ...]

    def drafted(self, lang: str) -> Drafted:
        first = self.reports[0]
        translation = first.sentence.translation if first.candidate.lang != lang else None
        return Drafted(first.sentence.text, tuple(r.passage_index for r in self.reports), f"{self.date}:", translation)


@dataclass(frozen=True)
class Chronicled:
    """The step's verdict: the events in date order, and what was left out and why."""

    events: list[Event]
    detail: str


def about_topic(topic: Question, text: str) -> bool:
    """The text names each of the topic's names; a joined one ('Nagorno-Karabakh') by any of its parts, found among
    the text's words and the parts of its own joined ones ('Karabaj' in 'Nagorno-Karabaj')."""
    vocabulary = Vocabulary(part for word in words(fold(text)) for part in (word, *word.split("-")))
    return all(any(name_found(part, vocabulary) for part in name.split("-") if part) for name in topic.names)


class Chronicle:
    name = "timeline"

    def __init__(self, settings: Settings) -> None:
        self.similar = settings.same_event_similarity
        self.most = settings.timeline_events

    def __call__(self, topic: Question, evidence: list[Evidence], texts: dict[str, str], start: str | None = None,
                 end: str | None = None) -> Chronicled:
        """The events of `evidence` (the sentences of the passages retrieved for the topic) whose article, in `texts`,
        is about the topic, dated within [start, end] (ISO dates at any precision; None: open)."""
        about = {a for a, text in texts.items() if about_topic(topic, text)}
        dated = [e for e in evidence if e.sentence.event_date and e.sentence.article_id in about
                 and _within(e.sentence.event_date, start, end)]
        kept = sorted(dated, key=lambda e: -e.similarity)[: self.most]
        events: list[Event] = []
        for e in kept:
            same = next((ev for ev in events if ev.date == e.sentence.event_date
                         and all(r.sentence.article_id != e.sentence.article_id for r in ev.reports)
                         and self.same_report(ev.reports[0], e)), None)
            if same is None:
                events.append(Event(e.sentence.event_date or "", (e,)))
            else:
                events[events.index(same)] = Event(same.date, (*same.reports, e))
        events.sort(key=lambda ev: (first_day(ev.date), ev.reports[0].sentence.article_id, ev.reports[0].sentence.start))
        detail = (f"{len(events)} events from {len(kept)} dated sentences of {len(about)} of {len(texts)} articles naming "
                  f"{', '.join(sorted(topic.names)) or 'no name'}; {len(dated) - len(kept)} beyond timeline_events")
        return Chronicled(events, detail)

    def same_report(self, a: Evidence, b: Evidence) -> bool:
        """Two articles' sentences of one date report one event: said almost alike, or giving the same figure ("49
        soldiers had been killed", "at least 49 dead")."""
        return float(a.vector @ b.vector) >= self.similar or bool(figures(a.sentence.text) & figures(b.sentence.text))


def _within(value: str, start: str | None, end: str | None) -> bool:
    """An event date overlaps [start, end]: a month counts for a range that holds one of its days."""
    return (start is None or last_day(value) >= first_day(start)) and (end is None or first_day(value) <= last_day(end))
