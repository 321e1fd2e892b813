"""Typed values passed between stages (frozen, so a stage cannot alter another's result)."""

import re
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from enum import StrEnum
from typing import Any

from qa.core.text import LANGS

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    date: str | None
    source: str | None
    lang: str
    text: str
    path: str  # the file, or the URL it was fetched from
    sha256: str
    author: str | None = None


@dataclass(frozen=True)
class Extracted:
    """What a format's extractor found in a document: its clean text and its own metadata (None where it says nothing)."""

    text: str
    title: str | None = None
    date: str | None = None  # ISO YYYY-MM-DD
    source: str | None = None  # the outlet: site name, feed title, publisher
    author: str | None = None
    lang: str | None = None  # as declared (an IETF tag such as "es-ES"); the text decides when it is missing


@dataclass(frozen=True)
class Chunk:
    id: str
    article_id: str
    text: str
    start: int
    end: int

    @staticmethod
    def make_id(article_id: str, n: int) -> str:
        return f"{article_id}#{n}"

    @staticmethod
    def article_of(chunk_id: str) -> str:
        """The article a chunk id belongs to, without reading the chunk (the suffix after the last '#' is its number)."""
        return chunk_id.rpartition("#")[0]


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article, with its offsets, used for extractive answers and verification."""

    id: str
    article_id: str
    chunk_id: str
    text: str
    start: int
    end: int
    translation: str | None = None  # into the other language (English <-> Spanish), made at ingest when a translator is there
    event_date: str | None = None  # when what it reports happened, ISO at its precision (qa.ingest.dates); None: undated

    @staticmethod
    def make_id(article_id: str, start: int) -> str:
        return f"{article_id}@{start}"


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    article_id: str
    title: str
    date: str | None
    source: str | None
    lang: str
    text: str
    start: int
    end: int
    score: float
    dense_score: float | None = None
    bm25_score: float | None = None
    outlets: tuple[str, ...] = ()  # every outlet that carried this story (near-duplicate copies are merged into one article)


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    title: str
    date: str | None
    source: str | None
    lang: str
    quote: str
    start: int
    end: int
    supported: bool | None = None
    answer_start: int | None = None  # the words that answer, inside the quote (article offsets)
    answer_end: int | None = None
    outlets: tuple[str, ...] = ()  # every outlet that carried this story, when copies from several were merged


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of the answer, the citation numbers it carries and the verifier's verdict."""

    text: str
    citations: tuple[int, ...]
    supported: bool | None
    support: float | None = None
    reason: str | None = None
    translation: str | None = None  # machine translation into the question's language, shown after the quote


@dataclass(frozen=True)
class TraceStep:
    """One answer step's verdict: which step, what it decided, and the figures it decided on."""

    step: str
    verdict: str
    detail: str = ""


@dataclass(frozen=True)
class Timings:
    retrieve: float = 0.0
    compose: float = 0.0
    verify: float = 0.0
    total: float = 0.0
    first_token: float | None = None


class Grade(StrEnum):
    """What an answer is: an answer; a partial one (the articles do not state exactly this, here is what they do state);
    or a refusal. A str, so `answer.grade == "answer"` and JSON keep working."""

    ANSWER = "answer"
    PARTIAL = "partial"
    REFUSED = "refused"


@dataclass(frozen=True)
class Answer:
    text: str
    citations: list[Citation]
    refused: bool
    passages: list[Passage]
    question: str = ""
    standalone_question: str = ""
    lang: str = "en"
    sentences: list[AnswerSentence] = field(default_factory=list)
    backend: str = ""
    timings: Timings = field(default_factory=Timings)
    grade: Grade | None = None  # unset: REFUSED when refused, else ANSWER
    confidence: float | None = None  # the reader's calibrated probability that the best sentence answers
    trace: list[TraceStep] = field(default_factory=list)
    refused_by: str | None = None  # the step that refused (None when answered)

    def __post_init__(self) -> None:
        grade = Grade(self.grade) if self.grade is not None else Grade.REFUSED if self.refused else Grade.ANSWER
        if (grade is Grade.REFUSED) != self.refused:
            raise ValueError(f"an answer graded {grade} cannot have refused={self.refused}")
        object.__setattr__(self, "grade", grade)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Answer":
        """The inverse of `to_dict`, for answers read back from a saved conversation."""
        nested = {"citations": Citation, "passages": Passage, "sentences": AnswerSentence, "trace": TraceStep}
        values = {k: [_from_json(kind, x) for x in data.get(k) or []] for k, kind in nested.items()}
        return cls(**{**data, **values, "timings": Timings(**(data.get("timings") or {}))})

    def messages(self) -> list[dict[str, Any]]:
        """This turn as `history` messages, with what a follow-up needs: the resolved question and the cited articles."""
        return [{"role": "user", "content": self.question, "standalone": self.standalone_question},
                {"role": "assistant", "content": self.text, "citations": [{"article_id": c.article_id} for c in self.citations]}]


@dataclass(frozen=True)
class TimelineEvent:
    """One line of a timeline: when it happened (ISO at its precision), the line as shown, and its citation numbers
    (more than one when several outlets report the event)."""

    date: str
    text: str
    citations: tuple[int, ...]


@dataclass(frozen=True)
class Timeline:
    """The events the articles report about a topic, oldest first, each line verified and cited like an answer's."""

    topic: str
    lang: str
    text: str
    events: list[TimelineEvent]
    citations: list[Citation]
    passages: list[Passage]
    sentences: list[AnswerSentence]  # every line drafted, with the verifier's verdict (unsupported ones are not shown)
    trace: list[TraceStep]
    start: str | None = None
    end: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def answer(self, question: str) -> Answer:
        """The timeline as the answer to a question that asked for it (the chat, qa ask). One with no events but a
        citation (X dated, nothing later) is an answer: it says so, cited; with neither it is a refusal."""
        answered = bool(self.events or self.citations)
        return Answer(text=self.text, citations=self.citations, refused=not answered, passages=self.passages,
                      question=question, standalone_question=question, lang=self.lang, sentences=self.sentences,
                      grade=Grade.ANSWER if answered else Grade.REFUSED, trace=self.trace,
                      refused_by=None if answered else self.trace[0].step if self.trace else "timeline")


def _from_json(kind: type, values: dict[str, Any]):
    """A dataclass from its JSON form: JSON has no tuples, so the tuple fields get theirs back."""
    tuples = {f.name for f in fields(kind) if str(f.type).startswith("tuple")}
    return kind(**{k: tuple(v) if k in tuples and isinstance(v, list) else v for k, v in values.items()})


@dataclass(frozen=True)
class Rejected:
    path: str
    reason: str


@dataclass(frozen=True)
class Merged:
    """A near-duplicate (a syndicated copy, a light edit) recorded as the story already stored, not indexed again."""

    id: str
    into: str
    source: str | None
    similarity: float  # estimated Jaccard similarity of their word shingles


@dataclass(frozen=True)
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0
    merged: list[Merged] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def all_rejected(self) -> bool:
        """Something was given and nothing of it was taken: the CLI's exit code 2."""
        return bool(self.rejected) and not (self.added or self.updated or self.unchanged or self.removed or self.merged)

    def summary(self) -> str:
        parts = [
            f"added {len(self.added)}",
            f"updated {len(self.updated)}",
            f"unchanged {len(self.unchanged)}",
            f"removed {len(self.removed)}",
            f"rejected {len(self.rejected)}",
            *([f"merged {len(self.merged)}"] if self.merged else []),
        ]
        return ", ".join(parts) + f" ({self.chunks} chunks in {self.seconds:.1f} s)"


@dataclass(frozen=True)
class IngestProgress:
    """How far an ingest is, after each file: what `qa ingest` shows on long runs."""

    files_done: int
    files_total: int
    chunks: int  # written so far
    seconds: float

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """The files left at the pace so far (None before the first file)."""
        if not self.files_done:
            return None
        return (self.files_total - self.files_done) * self.seconds / self.files_done

    def line(self) -> str:
        eta = self.eta_seconds
        left = "—" if eta is None else f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
        return (f"{self.files_done}/{self.files_total} files · {self.chunks} chunks · {self.chunks_per_second:.1f} chunks/s · "
                f"ETA {left}")


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some articles, one language or a date range (ISO dates, inclusive)."""

    article_ids: tuple[str, ...] | None = None
    lang: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def is_empty(self) -> bool:
        return not (self.article_ids or self.lang or self.date_from or self.date_to)

    def problem(self) -> str | None:
        """What makes these filters unusable, for every caller alike: a date not written YYYY-MM-DD (or not a real
        day), an empty date range, a language other than en or es; None when they are usable."""
        for name, value in (("date_from", self.date_from), ("date_to", self.date_to)):
            if value is None:
                continue
            if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
                return f"{name} {value!r} is not a date: use YYYY-MM-DD"
            try:
                date.fromisoformat(value)
            except ValueError:
                return f"{name} {value!r} is written YYYY-MM-DD but no such day exists"
        if self.date_from and self.date_to and self.date_from > self.date_to:
            return f"the date range is empty: {self.date_from} is after {self.date_to}"
        if self.lang is not None and self.lang not in LANGS:
            return f"unknown language {self.lang!r}: use " + " or ".join(LANGS)
        return None
