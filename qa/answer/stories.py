"""Answers told in time order: the timeline of a topic, and what happened after an event. Both read the passages
retrieved for their topic, list the events the articles date (qa/answer/timeline.py, qa/answer/after.py), and quote,
cite and verify each line as an answer's sentences are."""

from dataclasses import dataclass

import numpy as np

from qa.answer.after import Anchor, later, next_day, said_date
from qa.answer.compose import Composer, Finishing
from qa.answer.evidence import Evidence, gather
from qa.answer.question import Question, parse
from qa.answer.timeline import Chronicle, Chronicled, Event
from qa.core import prompts
from qa.core.settings import Settings
from qa.core.types import Answer, Filters, Passage, Sentence, Timeline, TimelineEvent, TraceStep
from qa.index.embed import Embedder
from qa.index.store import Store
from qa.retrieve.hybrid import Retriever


@dataclass(frozen=True)
class Story:
    """What a timeline, or an answer to 'what happened after', reads: the topic parsed, the passages retrieved for it,
    their sentences, those sentences as evidence (closest to the topic first) and their articles' texts."""

    asked: Question
    passages: list[Passage]
    sents: list[tuple[Sentence, np.ndarray]]
    evidence: list[Evidence]
    texts: dict[str, str]


def _verify_step(answer: Answer) -> TraceStep:
    """The verifier's trace entry for a timeline's lines."""
    return TraceStep("verify", f"{len(answer.citations)} citations",
                     f"{sum(bool(v.supported) for v in answer.sentences)} of {len(answer.sentences)} lines supported")


class Stories:
    """Timelines and 'what happened after' over one store; the caller has checked the topic and the filters."""

    def __init__(self, settings: Settings, embedder: Embedder, store: Store, retriever: Retriever, composer: Composer) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.retriever = retriever
        self.composer = composer
        self.chronicle = Chronicle(settings)
        self.anchor = Anchor(settings)

    def timeline(self, topic: str, start: str | None, end: str | None, filters: Filters | None, lang: str) -> Timeline:
        """The events the articles report about `topic`, oldest first, within [start, end]."""
        story = self._story(topic, filters)
        chronicled = self.chronicle(story.asked, story.evidence, story.texts, start, end)
        finishing = Finishing(self.composer, lang, story.passages, story.sents, None)
        events = self._lines(chronicled, finishing, lang)
        answer = finishing.answer(topic, topic)
        head = prompts.load(f"timeline.{lang}").render(topic=topic, count=str(len(events))) if events else \
            prompts.load(f"timeline_none.{lang}").render()
        trace = [TraceStep("timeline", f"{len(events)} events", chronicled.detail), _verify_step(answer)]
        return Timeline(topic=topic, lang=lang, text="\n".join([head, *(f"- {e.text}" for e in events)]), events=events,
                        citations=answer.citations, passages=story.passages, sentences=answer.sentences, trace=trace,
                        start=start, end=end)

    def after(self, anchor: str, filters: Filters | None, lang: str) -> Timeline:
        """X's date from the sentence that reports it, then the later events about X; when the articles do not report X,
        or do not date it, no events and a text that says which."""
        story = self._story(anchor, filters)
        anchored = self.anchor(story.asked, story.evidence, story.texts)
        finishing = Finishing(self.composer, lang, story.passages, story.sents, None)
        trace = [anchored.step]
        report, date = anchored.report, anchored.date
        dated = report is not None and date is not None
        if not dated or not finishing.add(Event(date, (report,)).drafted(lang)):
            answer = finishing.answer(anchor, anchor)
            refusal = (anchored.refusal or "after_undated") if not dated else "after_unverified"
            text = prompts.load(f"{refusal}.{lang}").render(anchor=anchor)
            return Timeline(topic=anchor, lang=lang, text=text, events=[], citations=[], passages=story.passages,
                            sentences=answer.sentences, trace=[*trace, _verify_step(answer)])
        marks = "".join(f"[{finishing.renumber[m]}]" for m in finishing.verdicts[-1].citations)
        start = next_day(date)
        chronicled = later(self.chronicle(story.asked, story.evidence, story.texts, start), date)
        events = self._lines(chronicled, finishing, lang)
        answer = finishing.answer(anchor, anchor)
        said = {"anchor": anchor, "date": said_date(date, lang), "marks": marks}
        head = prompts.load(f"after.{lang}").render(**said, count=str(len(events))) if events else \
            prompts.load(f"after_none.{lang}").render(**said)
        trace += [TraceStep("timeline", f"{len(events)} events", chronicled.detail), _verify_step(answer)]
        return Timeline(topic=anchor, lang=lang, text="\n".join([head, *(f"- {e.text}" for e in events)]), events=events,
                        citations=answer.citations, passages=story.passages, sentences=answer.sentences, trace=trace,
                        start=start)

    def _story(self, topic: str, filters: Filters | None) -> Story:
        """The passages retrieved for a timeline's topic (or what an 'after' question names), their sentences as
        evidence, closest first, and the texts of their articles, which say whether each article is about it."""
        asked = parse(topic)
        qvec = self.embedder.embed_queries([topic])[0]
        passages = self.retriever.retrieve(topic, filters, k=self.settings.timeline_passages, qvec=qvec)
        sents = self.retriever.sentences_for([p.chunk_id for p in passages])
        texts = {a: self.store.article_text(a) or "" for a in dict.fromkeys(p.article_id for p in passages)}
        return Story(asked, passages, sents, gather(asked, qvec, passages, sents, len(sents)), texts)

    def _lines(self, chronicled: Chronicled, finishing: Finishing, lang: str) -> list[TimelineEvent]:
        """The events as the lines shown, each verified and cited (an unsupported one is dropped)."""
        lines: list[tuple[str, str, tuple[int, ...]]] = []
        for event in chronicled.events:
            if piece := finishing.add(event.drafted(lang)).strip():
                lines.append((event.date, piece, finishing.verdicts[-1].citations))
        return [TimelineEvent(day, text, tuple(finishing.renumber[m] for m in marks)) for day, text, marks in lines]
