"""The search an answer reads: the conversation step makes a follow-up standalone and, when the articles the
conversation is about hold its answer, reads it within them; otherwise each part of the question is searched in the
whole store, and the reader decides on each part from the retrieved passages' sentences."""

import time
from dataclasses import dataclass, replace

import numpy as np

from qa.answer.compose import Composer, Decision
from qa.answer.conversation import Resolution, resolve
from qa.answer.grade import answer_grade
from qa.answer.question import Question, parse, split_question
from qa.core.settings import Settings
from qa.core.types import Filters, Grade, Passage, Sentence, TraceStep
from qa.index.embed import Embedder
from qa.retrieve.hybrid import Retriever


@dataclass(frozen=True)
class Found:
    """One search: the passages retrieved, their sentences, the decision on each part, and the retrieval's time (the
    reading and deciding after it count as composing, as they do for the timings' other users)."""

    passages: list[Passage]
    sents: list[tuple[Sentence, np.ndarray]]
    decisions: list[Decision]
    retrieve_seconds: float


@dataclass(frozen=True)
class Searched:
    """The conversation step and the search: the question made standalone, its parts and their vectors, what was found,
    the conversation's trace step, and the seconds spent embedding and retrieving."""

    standalone: str
    asked: list[Question]
    qvecs: list[np.ndarray]
    found: Found
    conversation: TraceStep
    seconds: float


class Finder:
    """Questions to what an answer reads, over one retriever; the caller has checked the question and the filters."""

    def __init__(self, settings: Settings, embedder: Embedder, retriever: Retriever, composer: Composer) -> None:
        self.settings = settings
        self.embedder = embedder
        self.retriever = retriever
        self.composer = composer  # its model, when there is one, also makes a follow-up standalone

    def find(self, question: str, history: list[dict] | None, filters: Filters | None) -> "Searched":
        """The conversation step and the search: a follow-up is made standalone and, when the articles the conversation is
        about hold its answer, read within them; otherwise each part of the question is searched in the whole store."""
        t0 = time.perf_counter()
        resolution = resolve(question, history, self.settings, self.composer.llm)
        standalone = resolution.standalone
        parts = [standalone] if resolution.follow_up else split_question(standalone)
        # One model call per ask: the parts, and a follow-up's own words, which are what is read within the focus
        # (the subject is fixed there by the articles; carried along, it would only dilute what the reader matches).
        vecs = list(self.embedder.embed_queries(parts + ([resolution.own] if resolution.follow_up else [])))
        seconds = time.perf_counter() - t0  # the question read and embedded; the searches below add their retrieval
        qvecs = vecs[: len(parts)]
        asked = [parse(part) for part in parts]
        conversation = TraceStep("conversation", "follow-up" if resolution.follow_up else "stands alone", resolution.decided_by)
        found = None
        if resolution.follow_up and (scoped := self._focus(resolution, filters)) is not None:
            own = [parse(resolution.own)]
            found = self.search(own, vecs[-1:], scoped)
            seconds += found.retrieve_seconds
            if answer_grade([d.grade for d in found.decisions]) is Grade.REFUSED:
                found = None  # the focus does not hold it: the whole store is searched below, with the resolved question
            else:
                asked, qvecs = own, vecs[-1:]
            conversation = replace(conversation, detail=f"{resolution.decided_by}; focus {', '.join(scoped.article_ids or ())}"
                                   + ("" if found else ", not found there, searched all"))
        if found is None:
            found = self.search(asked, qvecs, filters)
            seconds += found.retrieve_seconds
        return Searched(standalone, asked, qvecs, found, conversation, seconds)

    def search(self, asked: list[Question], qvecs: list[np.ndarray], filters: Filters | None) -> Found:
        """Retrieve each part of the question, then read and decide on the sentences of what was retrieved."""
        t0 = time.perf_counter()
        passages: list[Passage] = []
        for q, qvec in zip(asked, qvecs):
            seen = {p.chunk_id for p in passages}
            passages.extend(p for p in self.retriever.retrieve(q.text, filters, qvec=qvec) if p.chunk_id not in seen)
        retrieved = time.perf_counter() - t0
        sents = self.retriever.sentences_for([p.chunk_id for p in passages])
        idf = self.retriever.snapshot().bm25.idf
        decisions = [self.composer.decide(q, qv, passages, sents, idf) for q, qv in zip(asked, qvecs)]
        return Found(passages, sents, decisions, retrieved)

    def _focus(self, resolution: Resolution, filters: Filters | None) -> Filters | None:
        """The user's filters narrowed to the conversation's focus: the articles the previous answer cited, or, when
        those are unknown (a plain history), the articles retrieved for the previous question."""
        focus = resolution.focus
        if not focus and resolution.previous:
            top = self.retriever.retrieve(resolution.previous, filters)
            focus = tuple(dict.fromkeys(p.article_id for p in top))[: self.settings.focus_articles]
        allowed = [a for a in focus if not filters or not filters.article_ids or a in filters.article_ids]
        if not allowed:
            return None
        return replace(filters or Filters(), article_ids=tuple(allowed))
