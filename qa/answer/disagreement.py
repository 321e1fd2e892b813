"""Disagreement: another article giving a different value for what the question asks (a date, a count, an amount, a
name), quoted beside the answer, each cited, with a note that the sources differ (issue 42).

The reader's probability cannot find the other report: it scores a sentence beside the others, and a second value
makes it look less likely (the other reports of eval/time/pairs.jsonl score 0.005-0.29). So a report is told apart by
what it says: its value for the slot, read as the answer would mark it (qa/answer/span.py; for a date the event date
resolved at ingest), and whether it reports the same event as the answer's sentence: said almost alike (e5 cosine
over same_event_similarity), or, for a date, dated within same_event_days of it (9 vs 10 November), which also holds
across languages, where e5 puts two reports of one event no closer than two events of one story.
"""

from dataclasses import dataclass

from qa.answer.evidence import Evidence
from qa.answer.question import Question
from qa.answer.span import answer_span
from qa.answer.verify import names
from qa.core.settings import Settings
from qa.core.text import Vocabulary, fold, name_found, numbers, words
from qa.core.types import TraceStep
from qa.ingest.dates import gap_days

# What each kind of question asks for, as a slot that two reports can fill differently.
SLOTS = {"time": "date", "count": "count", "duration": "count", "amount": "amount", "person": "name"}


@dataclass(frozen=True)
class Disputed:
    """The step's verdict: the slot the question asks for, and the other article's report that differs, if any."""

    slot: str | None
    rival: Evidence | None = None
    values: tuple[str, str] | None = None  # the answer's value, then the rival's
    compared: int = 0  # other articles' reports of the same event with a value for the slot

    @property
    def step(self) -> TraceStep:
        if self.slot is None:
            return TraceStep("disagreement", "not asked", "the question asks for no date, count, amount or name")
        if self.rival is None:
            return TraceStep("disagreement", "agree", f"{self.slot}: other articles' reports of the event compared: {self.compared}, none differs")
        assert self.values is not None
        return TraceStep("disagreement", "differ", f"{self.slot}: {self.values[0]} vs {self.values[1]} ({self.rival.sentence.id})")


class Disagreement:
    """Finds the other article's report that gives the question's slot a different value than the answer's sentence."""

    name = "disagreement"

    def __init__(self, settings: Settings) -> None:
        self.similar = settings.same_event_similarity
        self.days = settings.same_event_days

    @staticmethod
    def slot(question: Question) -> str | None:
        return SLOTS.get(question.asks)

    def __call__(self, question: Question, best: Evidence, pool: list[Evidence]) -> Disputed:
        """The report in `pool` (closest to the question first) from another article that differs from `best`."""
        slot = self.slot(question)
        if slot is None:
            return Disputed(None)
        mine = self.value(slot, question, best)
        if mine is None:
            return Disputed(slot)
        compared = 0
        for e in sorted(pool, key=lambda e: -e.similarity):
            if e.sentence.article_id == best.sentence.article_id or (theirs := self.value(slot, question, e)) is None:
                continue
            if not self.same_event(slot, mine, theirs, float(best.vector @ e.vector), best.sentence.text, e.sentence.text):
                continue
            compared += 1
            if self.differ(slot, mine, theirs):
                return Disputed(slot, e, (mine, theirs), compared)
        return Disputed(slot, compared=compared)

    @staticmethod
    def value(slot: str, question: Question, e: Evidence) -> str | None:
        """The sentence's value for the slot: its event date, or the phrase the answer would mark."""
        if slot == "date":
            return e.sentence.event_date
        span = answer_span(question, e.sentence.text)
        return e.sentence.text[span.start:span.end] if span else None

    def same_event(self, slot: str, mine: str, theirs: str, similarity: float, my_text: str, their_text: str) -> bool:
        """Close in meaning; or, for a date, within a few days and naming a name the answer's sentence names (two
        languages lie further apart in meaning: "Fighting resumed on 12 November" is not the 10 November ceasefire)."""
        if similarity >= self.similar:
            return True
        return slot == "date" and gap_days(mine, theirs) <= self.days and shares_a_name(my_text, their_text)

    @staticmethod
    def differ(slot: str, mine: str, theirs: str) -> bool:
        """Neither value holds the other: 2020-11 and 2020-11-10 agree, as do '1,200' and '1200'; 9 and 10 November,
        'Peter Lund' and 'Erik Sand' do not."""
        if slot == "date":
            return gap_days(mine, theirs) > 0
        a, b = (numbers(mine), numbers(theirs)) if slot != "name" else (names(mine), names(theirs))
        return bool(a and b and not a & b)


def shares_a_name(text: str, other: str) -> bool:
    """Some name of `text` is named in `other`, spelled as either language spells it (Karabakh / Karabaj)."""
    hay = Vocabulary(part for word in words(fold(other)) for part in (word, *word.split("-")))
    return any(name_found(part, hay) for name in names(text) for part in name.split("-") if part)
