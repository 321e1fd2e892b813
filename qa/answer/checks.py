"""Named checks that run after the reader. Each keeps its place only where turning it off
(`qa eval --disable-check NAME`) costs on data nobody tuned for; eval/checks.md records the measurement."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from rapidfuzz.distance import Levenshtein

from qa.core.errors import InvalidSetting
from qa.answer.evidence import Evidence
from qa.answer.question import Question
from qa.answer.span import answer_span
from qa.core.text import Vocabulary, fold, name_found, words
from qa.core.types import Passage


@dataclass(frozen=True)
class CheckVerdict:
    evidence: list[Evidence]  # what is left to answer from
    refuse: bool = False
    detail: str = ""


class Check(Protocol):
    name: str

    def apply(self, question: Question, passages: list[Passage], evidence: list[Evidence]) -> CheckVerdict: ...


def _spelled_alike(a: str, b: str) -> bool:
    """Within a third of the letters of each other (Algeria / Argelia, Kuechly / Kuechlys): Levenshtein distance by
    rapidfuzz, which stops once the distance passes the limit."""
    limit = len(a) // 3
    if not limit or abs(len(a) - len(b)) > limit:
        return False
    return Levenshtein.distance(a, b, score_cutoff=limit) <= limit


def unknown_names(question: Question, passages: list[Passage], translations: Iterable[str] = ()) -> set[str]:
    """Names in the question that appear in no passage (nor in its sentences' translations), allowing for spelling
    across languages. The question's first word and acronyms (often spelled out in articles) are left out."""
    acronyms = {fold(w) for w in words(question.text) if w.isupper() and len(w) > 1}
    asked = set(question.names) - acronyms - {fold(w) for w in words(question.text)[:1]}
    if not asked:
        return set()
    hay = Vocabulary(w for text in [*(f"{p.title} {p.source or ''} {p.text}" for p in passages), *translations] for w in words(fold(text)))
    return {n for n in asked if not name_found(n, hay) and not any(_spelled_alike(n, w) for w in hay.words)}


class UnknownNames:
    """A question naming someone or something no retrieved passage mentions is about what the articles do not hold,
    however close the rest of it comes (SQuAD 2.0's swapped-entity questions)."""

    name = "unknown-names"

    def apply(self, question: Question, passages: list[Passage], evidence: list[Evidence]) -> CheckVerdict:
        missing = unknown_names(question, passages, [e.candidate.reading for e in evidence if e.candidate.reading])
        if missing:
            return CheckVerdict([], refuse=True, detail="not in the passages: " + ", ".join(sorted(missing)))
        return CheckVerdict(evidence, detail="every name is in the passages")


class AnswerType:
    """A question for a count, an amount, a time, a person or a place is answered only by a sentence holding a phrase
    of that type the question does not already give (a sentence on the same topic without a number is no count)."""

    name = "answer-type"

    def apply(self, question: Question, passages: list[Passage], evidence: list[Evidence]) -> CheckVerdict:
        if question.asks not in ("count", "amount", "duration", "time", "person", "place"):
            return CheckVerdict(evidence, detail=f"asks for {question.asks}: no type to hold")
        kept = [e for e in evidence if answer_span(question, e.sentence.text) is not None]
        return CheckVerdict(kept, refuse=not kept, detail=f"asks for {question.asks}: {len(kept)} of {len(evidence)} sentences hold one")


CHECKS: dict[str, type] = {c.name: c for c in (UnknownNames, AnswerType)}


def build_checks(disabled: Iterable[str] = ()) -> list[Check]:
    off = set(disabled)
    unknown = off - set(CHECKS)
    if unknown:
        raise InvalidSetting(f"no such check: {', '.join(sorted(unknown))} (checks: {', '.join(CHECKS)})")
    return [cls() for name, cls in CHECKS.items() if name not in off]
