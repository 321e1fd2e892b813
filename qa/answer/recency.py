"""Recency: a question about the latest ("What is the latest death toll?", "¿Cuál es la última cifra?") is answered from
the newest article that reports the event, saying the date it is as of, with the earlier figure it revises (issue 42).

The reader scores what a sentence says, not when: "rose to 12" and "has risen to 19" read alike, and it may prefer the
older. So among the reports of the answer's event (the reader's evidence said almost alike, e5 cosine over
same_event_similarity, from dated articles), the newest article's leads, "As of <its date>, according to <outlet>";
an older one with other figures is quoted after it with its own date, and the note says the newer revises it.
"""

from dataclasses import dataclass
from datetime import date

from qa.answer.evidence import Evidence
from qa.answer.question import Question, language_words
from qa.answer.verify import figures
from qa.core.settings import Settings
from qa.core.types import Passage, TraceStep


@dataclass(frozen=True)
class Recent:
    """The step's verdict: the newest report and its article's date, and the earlier report whose figures it revises."""

    asked: bool
    newest: Evidence | None = None
    as_of: str | None = None  # the newest report's article date, ISO
    earlier: Evidence | None = None
    reports: int = 0  # dated reports of the event compared

    @property
    def step(self) -> TraceStep:
        if not self.asked:
            return TraceStep("recency", "not asked", "the question does not ask for the latest")
        if self.newest is None:
            return TraceStep("recency", "undated", "no report of the event comes from a dated article")
        revised = f"; revises {self.earlier.sentence.id}" if self.earlier is not None else ""
        return TraceStep("recency", f"as of {self.as_of}", f"{self.newest.sentence.id}, newest of {self.reports} reports{revised}")


class Recency:
    name = "recency"

    def __init__(self, settings: Settings) -> None:
        self.similar = settings.same_event_similarity

    def __call__(self, question: Question, evidence: list[Evidence], passages: list[Passage]) -> Recent:
        """The newest of the reports of the event the best evidence reports (`evidence` best first; passage_index
        numbers `passages` from 1)."""
        if not question.latest or not evidence:
            return Recent(question.latest)
        best = evidence[0]
        when = lambda e: passages[e.passage_index - 1].date
        reports = [e for e in evidence if when(e) and (e is best or float(e.vector @ best.vector) >= self.similar)]
        if not reports:
            return Recent(True)
        newest = max(reports, key=lambda e: (when(e), e is best))  # a tie keeps the reader's choice
        mine = figures(newest.sentence.text)
        earlier = next((e for e in sorted(reports, key=lambda e: -float(e.vector @ newest.vector))
                        if e.sentence.article_id != newest.sentence.article_id and (when(e) or "") < (when(newest) or "")
                        and figures(e.sentence.text) and mine and not figures(e.sentence.text) & mine), None)
        return Recent(True, newest, when(newest), earlier, len(reports))


def spoken_date(iso: str, lang: str) -> str:
    """An article's date as the language says it: "3 February 2023", "3 de febrero de 2023"."""
    day = date.fromisoformat(iso)
    words = language_words(lang)
    return words.date.format(day=day.day, month=words.months[day.month - 1], year=day.year)
