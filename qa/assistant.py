"""The public API: one object that ingests, retrieves, answers and verifies."""

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.answer.grade import answer_grade
from qa.answer.compose import Composer, Decision, Draft, Drafted, Finishing, partial_text, refusal_text, stream_generated
from qa.answer.disagreement import Disagreement, Disputed
from qa.answer.checks import build_checks
from qa.index.embed import Embedder, make_embedder
from qa.core import prompts
from qa.answer.evidence import Evidence, gather, is_boilerplate
from qa.answer.conversation import Resolution, resolve
from qa.core.errors import InvalidFilter, InvalidQuestion
from qa.index.indexer import ingest_paths
from qa.answer.llm import LLM, build_llm
from qa.answer.question import Question, about_collection, after_anchor, parse, split_question, timeline_topic
from qa.answer.recency import Recency
from qa.answer.after import Anchor, later, next_day, said_date
from qa.answer.timeline import Chronicle, Chronicled, Event
from qa.answer.reader import MODEL_DIR, NeuralReader, Reader, TreeReader
from qa.retrieve.hybrid import Retriever
from qa.core.settings import Settings
from qa.index.records import StoredArticle
from qa.index.store import Store
from qa.core.text import detect_lang, normalise_input, sentences as split_sentences
from qa.ingest.translate import Translator, build_translator
from qa.core.types import (Answer, Citation, Filters, Grade, IngestProgress, IngestReport, Passage, Sentence, Timeline, TimelineEvent,
                           Timings, TraceStep)
from qa.answer.verify import Verifier


def build_reader(settings: Settings) -> Reader:
    folder = settings.reader_dir or MODEL_DIR
    return NeuralReader(folder, settings.reader_threads) if settings.reader == "neural" else TreeReader(folder)


@dataclass(frozen=True)
class Found:
    """One search: the passages retrieved, their sentences, the decision on each part, and the retrieval's time (the
    reading and deciding after it count as composing, as they do for the timings' other users)."""

    passages: list[Passage]
    sents: list[tuple[Sentence, np.ndarray]]
    decisions: list[Decision]
    idf: Callable[[str], float]
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


@dataclass(frozen=True)
class Chosen:
    """What the answered parts quote: the evidence, the note the draft ends with (a newer report revises an older one,
    or the sources differ), the article a question about the latest is answered from, and the steps' trace."""

    evidence: list[Evidence]
    note: str | None
    as_of: str | None
    trace: list[TraceStep]


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


class Assistant:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        store: Store | None = None,
        llm: LLM | None = None,
        translator: Translator | None = None,
        reader: Reader | None = None,
        auto_ingest: bool = True,
    ) -> None:
        self.settings = settings or Settings()
        self.embedder = embedder or make_embedder(self.settings)
        self.store = store or Store(self.settings, self.embedder)
        self.retriever = Retriever(self.settings, self.store, self.embedder)
        self.llm = llm if llm is not None else build_llm(self.settings)
        self.translator = translator if translator is not None else build_translator(self.settings)
        self.reader = reader or build_reader(self.settings)
        self.composer = Composer(self.settings, self.embedder, Verifier(self.embedder, self.settings.verify_similarity), self.reader,
                                 build_checks(self.settings.disabled_checks), self.llm, self.translator)
        self.disagreement = Disagreement(self.settings)
        self.chronicle = Chronicle(self.settings)
        self.anchor = Anchor(self.settings)
        self.recency = Recency(self.settings)
        self._auto_ingest = auto_ingest
        self._seed_checked = False

    # --- documents -----------------------------------------------------------------------

    def ingest(self, paths: list[str | Path], progress: Callable[[IngestProgress], None] | None = None) -> IngestReport:
        report = ingest_paths(list(paths), self.store, self.settings, self.translator, progress)
        self.retriever.invalidate()
        return report

    def articles(self) -> list[StoredArticle]:
        self._ensure_seeded()
        return sorted(self.store.manifest().values(), key=lambda a: a.id)

    def article_count(self) -> int:
        """How many articles the store holds, asked of the store itself: a health check (articles() may come from the
        manifest kept on disk and answer while the Chroma server is down)."""
        return self.store.count_articles()

    def article_text(self, article_id: str) -> str | None:
        return self.store.article_text(article_id)

    def remove(self, article_id: str) -> StoredArticle | None:
        """Take an article out of the store (None when no article has that id). An uploaded copy, in the uploads folder
        the bot owns, is deleted too, or the next ingest of that folder would bring it back; files elsewhere stay."""
        article = self.store.manifest().get(article_id)
        if article is None:
            return None
        with self.store.ingesting():  # the lexical index commits the removal
            self.store.remove_article(article_id)
        self.retriever.invalidate()
        if article.path and Path(article.path).resolve().parent == self.settings.uploads_dir.resolve():
            Path(article.path).unlink(missing_ok=True)
        return article

    def _ensure_seeded(self) -> None:
        """Index the seed articles on first use of an empty store, so `Assistant()` just works."""
        if self._seed_checked or not self._auto_ingest:
            return
        if self.store.articles.count() == 0 and self.settings.seeds_dir.is_dir():
            self.ingest([self.settings.seeds_dir])
        self._seed_checked = True

    # --- questions -----------------------------------------------------------------------

    def language(self, text: str) -> str:
        """"en" or "es": the language the bot reads `text` in (the chat speaks it back)."""
        return detect_lang(text)

    def ask(self, question: str, history: list[dict] | None = None, filters: Filters | None = None) -> Answer:
        answer = None
        for event in self.stream(question, history=history, filters=filters):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def search(self, question: str, filters: Filters | None = None) -> list[Passage]:
        """The passages hybrid retrieval finds for a question, best first, without reading or answering: this project's
        retriever for another framework's query engine (qa.apps.llama_index)."""
        question = self._clean(question)
        self._ensure_seeded()
        self._check_filters(filters)
        return self.retriever.retrieve(question, filters)

    def rank(self, question: str, passages: list[Passage], query_vector: np.ndarray | None = None) -> list[Passage]:
        """`passages` scored by the reader, most probable first: each one's score is the probability that its best
        sentence among the reader's candidates answers the question (0 when none of its sentences was a candidate).
        A retriever that embedded the question already passes its `query_vector`, so the question is not embedded twice."""
        asked = parse(self._clean(question))
        qvec = query_vector if query_vector is not None else self.embedder.embed_queries([asked.text])[0]
        sents = self.retriever.sentences_for([p.chunk_id for p in passages])
        evidence, _ = self.composer.read(asked, gather(asked, qvec, passages, sents, self.settings.reader_candidates),
                                         self.retriever.snapshot().bm25.idf)
        best: dict[int, float] = {}
        for e in evidence:  # most probable first
            best.setdefault(e.passage_index, e.p or 0.0)
        return sorted((replace(p, score=best.get(i, 0.0)) for i, p in enumerate(passages, 1)), key=lambda p: -p.score)

    def stream(self, question: str, history: list[dict] | None = None, filters: Filters | None = None, *,
               drafts: bool = True) -> Iterator[str | Answer]:
        """Yield text deltas as they are produced, then the final verified Answer. With a model drafting the answer,
        `drafts` sends its words as it writes them (the Answer drops what does not hold); drafts=False sends only
        verified text, each sentence once it is checked, so the deltas join into the Answer's text."""
        question = self._clean(question)
        t0 = time.perf_counter()
        self._ensure_seeded()
        self._check_filters(filters)
        lang = detect_lang(question)
        if about_collection(question) and filters is None:
            overview = self.overview(question, lang)
            yield overview.text
            took = round(time.perf_counter() - t0, 4)
            yield replace(overview, timings=Timings(0.0, 0.0, 0.0, took, took))
            return
        if (answer := self._dated(question, filters, lang)) is not None:
            yield answer.text
            took = round(time.perf_counter() - t0, 4)
            yield replace(answer, timings=Timings(0.0, took, 0.0, took, took))
            return
        before = time.perf_counter() - t0
        searched = self._find(question, history, filters)
        t_retrieve = before + searched.seconds
        asked, qvecs, found, standalone = searched.asked, searched.qvecs, searched.found, searched.standalone
        passages, sents, decisions = found.passages, found.sents, found.decisions
        trace = [searched.conversation] + [TraceStep("question", f"asks for {q.asks}", f"{q.text} ({q.lang})") for q in asked]
        trace += [step for d in decisions for step in d.trace]
        grade = answer_grade([d.grade for d in decisions])
        confidence = max((d.confidence for d in decisions if d.confidence is not None), default=None)
        first_token = None
        if grade is Grade.REFUSED:
            text = refusal_text(lang)
            first_token = time.perf_counter() - t0
            yield text
            total = time.perf_counter() - t0
            yield Answer(text=text, citations=[], refused=True, passages=passages, question=question, standalone_question=standalone,
                         lang=lang, backend=self.composer.name, timings=Timings(t_retrieve, total - t_retrieve, 0.0, total, first_token),
                         grade=grade, confidence=confidence, trace=trace, refused_by=decisions[0].refused_by)
            return
        chosen = self._choose(asked, qvecs, decisions, passages, sents, filters)
        trace += chosen.trace
        if self.llm is None:
            draft = self.composer.extract(lang, passages, chosen.evidence, sents, chosen.note, chosen.as_of)
            if grade is Grade.PARTIAL:
                draft = replace(draft, lead=partial_text(lang))
            drafted: Iterable[str | Drafted] = draft.sentences
        else:
            draft = Draft([])
            drafted = stream_generated(self.composer, standalone, lang, passages)
        # With drafts (the chat), a model's words go out as it writes them and the verified Answer replaces them;
        # without, only verified text goes out, each sentence as soon as it is checked.
        shows_drafts = drafts and self.llm is not None
        finishing = Finishing(self.composer, lang, passages, sents, draft.lead)
        for event in drafted:
            piece = event if isinstance(event, str) else finishing.add(event)
            if piece and isinstance(event, str) == shows_drafts:
                first_token = first_token or time.perf_counter() - t0
                yield piece
        if (closing := finishing.end(draft.note)) and not shows_drafts:
            first_token = first_token or time.perf_counter() - t0
            yield closing
        answer = finishing.answer(question, standalone, draft.answers, asked)
        # The note the chosen evidence asked for is said only when the answer still cites more than one article.
        noted = [TraceStep("note", chosen.note, "said: the answer cites more than one article")] \
            if closing and chosen.note and draft.note and not answer.refused else []
        verified = TraceStep("verify", "refuse" if answer.refused else f"{len(answer.citations)} citations",
                             f"{sum(bool(v.supported) for v in answer.sentences)} of {len(answer.sentences)} sentences supported")
        answer = replace(answer, grade=answer_grade([grade], verified=not answer.refused), confidence=confidence, trace=[*trace, *noted, verified],
                         refused_by="verify" if answer.refused else None)
        total = time.perf_counter() - t0
        timings = Timings(retrieve=round(t_retrieve, 4), compose=round(total - t_retrieve - finishing.seconds, 4),
                          verify=round(finishing.seconds, 4), total=round(total, 4), first_token=round(first_token or 0.0, 4))
        yield replace(answer, timings=timings)

    def timeline(self, topic: str, start: str | None = None, end: str | None = None, filters: Filters | None = None,
                 lang: str | None = None) -> Timeline:
        """The events the articles report about `topic`, oldest first, from the event dates resolved at ingest, within
        [start, end] (ISO dates; a month or year holds its days); one line each, quoted, cited and verified like an
        answer's sentences (qa/answer/timeline.py). `lang`: the language to speak (default: the topic's, which a few
        words may not tell)."""
        topic = self._clean(topic)
        self._ensure_seeded()
        self._check_filters(filters)
        if (problem := Filters(date_from=start, date_to=end).problem()) is not None:
            raise InvalidFilter(f"the timeline's range (date_from = start, date_to = end): {problem}")
        lang = lang or detect_lang(topic)
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

    def after(self, anchor: str, filters: Filters | None = None, lang: str | None = None) -> Timeline:
        """What happened after `anchor` (X): X's date from the sentence that reports it, then the events the articles
        date later about X, oldest first, each line quoted, cited and verified as a timeline's (qa/answer/after.py).
        When the articles do not report X, or do not date it, the Timeline has no events and its text says which."""
        anchor = self._clean(anchor)
        self._ensure_seeded()
        self._check_filters(filters)
        lang = lang or detect_lang(anchor)
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

    def _dated(self, question: str, filters: Filters | None, lang: str) -> Answer | None:
        """The answer to a question that asks for a timeline ("timeline of ...") or what happened after something
        ("what happened after ..."); None for any other question."""
        if (topic := timeline_topic(question)) is not None:
            return self.timeline(topic, filters=filters, lang=lang).answer(question)
        if (anchor := after_anchor(question)) is not None:
            return self.after(anchor, filters=filters, lang=lang).answer(question)
        return None

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

    def overview(self, question: str, lang: str) -> Answer:
        """What the collection covers, for a question about all of it: the newest articles, one line each (title,
        outlet, date), each citing its opening sentence; a quote would answer only one of them."""
        articles = sorted((a for a in self.articles() if not a.same_as), key=lambda a: (a.date or "", a.id), reverse=True)
        shown = articles[: self.settings.overview_articles]
        lines, citations = [prompts.load(f"overview.{lang}").render(count=str(len(articles)))], []
        for n, a in enumerate(shown, 1):
            text = self.store.article_text(a.id) or a.title
            lead = next((s for s in split_sentences(text) if s.text.strip() != a.title.strip() and not is_boilerplate(s.text)), None)
            quote, start, end = (lead.text, lead.start, lead.end) if lead else (a.title, 0, 0)
            said = ", ".join(x for x in (a.source, a.date) if x)
            lines.append(f"- “{a.title}”{f' ({said})' if said else ''} [{n}]")
            citations.append(Citation(n=n, article_id=a.id, title=a.title, date=a.date, source=a.source, lang=a.lang,
                                      quote=quote, start=start, end=end, supported=True, outlets=a.outlets))
        if not citations:
            text = refusal_text(lang)
            return Answer(text=text, citations=[], refused=True, passages=[], question=question, standalone_question=question,
                          lang=lang, backend=self.composer.name, grade=Grade.REFUSED, refused_by="overview",
                          trace=[TraceStep("overview", "refused", "the store holds no articles")])
        return Answer(text="\n".join(lines), citations=citations, refused=False, passages=[], question=question,
                      standalone_question=question, lang=lang, backend=self.composer.name, grade=Grade.ANSWER,
                      trace=[TraceStep("overview", "answer", f"{len(shown)} of {len(articles)} articles, newest first")])

    def _find(self, question: str, history: list[dict] | None, filters: Filters | None) -> "Searched":
        """The conversation step and the search: a follow-up is made standalone and, when the articles the conversation is
        about hold its answer, read within them; otherwise each part of the question is searched in the whole store."""
        t0 = time.perf_counter()
        resolution = resolve(question, history, self.settings, self.llm)
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
        if resolution.follow_up and (scoped := self._focus_filters(resolution, filters)) is not None:
            own = [parse(resolution.own)]
            found = self._search(own, vecs[-1:], scoped)
            seconds += found.retrieve_seconds
            if answer_grade([d.grade for d in found.decisions]) is Grade.REFUSED:
                found = None  # the focus does not hold it: the whole store is searched below, with the resolved question
            else:
                asked, qvecs = own, vecs[-1:]
            conversation = replace(conversation, detail=f"{resolution.decided_by}; focus {', '.join(scoped.article_ids or ())}"
                                   + ("" if found else ", not found there, searched all"))
        if found is None:
            found = self._search(asked, qvecs, filters)
            seconds += found.retrieve_seconds
        return Searched(standalone, asked, qvecs, found, conversation, seconds)

    def _choose(self, asked: list[Question], qvecs: list[np.ndarray], decisions: list[Decision], passages: list[Passage],
                sents: list[tuple[Sentence, np.ndarray]], filters: Filters | None) -> "Chosen":
        """The recency and disagreement steps on each answered part, then the evidence the draft quotes."""
        evidence: list[Evidence] = []
        trace: list[TraceStep] = []
        revised = disputed = False
        as_of: str | None = None  # the article a question about the latest is answered from, said with its date
        for q, qvec, decision in zip(asked, qvecs, decisions):
            if decision.grade is Grade.REFUSED:
                continue
            recent = self.recency(q, decision.evidence, passages)
            trace.append(recent.step)
            if recent.newest is not None:
                decision = replace(decision, evidence=[recent.newest, *(e for e in decision.evidence if e is not recent.newest)])
                as_of = as_of or recent.newest.sentence.article_id
            verdict = self._disputed(q, qvec, decision, passages, sents, filters)
            trace.append(verdict.step)
            revised = revised or recent.earlier is not None
            disputed = disputed or verdict.rival is not None
            evidence.extend(self.composer.choose(decision, recent.earlier or verdict.rival, q))
        return Chosen(evidence, "revised" if revised else "conflict" if disputed else None, as_of, trace)

    def _search(self, asked: list[Question], qvecs: list[np.ndarray], filters: Filters | None) -> Found:
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
        return Found(passages, sents, decisions, idf, retrieved)

    def _focus_filters(self, resolution: Resolution, filters: Filters | None) -> Filters | None:
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

    def _check_filters(self, filters: Filters | None) -> None:
        """Bad filters are an error, not a silent refusal: dates must be ISO dates, article ids must exist."""
        if filters is None:
            return
        if (problem := filters.problem()) is not None:
            raise InvalidFilter(problem)
        if filters.article_ids:
            known = self.retriever.snapshot().manifest  # the manifest the search will use, read once per change
            unknown = [a for a in filters.article_ids if a not in known]
            if unknown:
                raise InvalidFilter(f"unknown article id {', '.join(map(repr, unknown))}; the articles are: {', '.join(sorted(known)) or '(none)'}")

    def _disputed(self, question: Question, qvec: np.ndarray, decision: Decision, passages: list[Passage],
                  sents: list[tuple[Sentence, np.ndarray]], filters: Filters | None) -> Disputed:
        """The disagreement step: another article's report of the asked date, count, amount or name that differs from
        the answer's, which may lie beyond the answer's passages (an English question, a Spanish report), so the
        sentences closest to the question across the store are compared too. One found there joins the passages, so
        the model, composer and verifier all see it."""
        if self.disagreement.slot(question) is None:
            return self.disagreement(question, decision.evidence[0], [])
        pool = decision.evidence[1:]
        extra: list[Passage] = []
        extra_sents: list[tuple[Sentence, np.ndarray]] = []
        if self.settings.rival_k:
            seen = {p.chunk_id for p in passages}
            found, wide = self.retriever.sentence_passages(qvec, filters, self.settings.rival_k)
            extra = [p for p in found if p.chunk_id not in seen]
            extra_sents = [(s, v) for s, v in wide if s.chunk_id not in seen]
            known = {e.sentence.id for e in pool}
            pool += [e for e in gather(question, qvec, passages + extra, sents + extra_sents, len(sents) + len(extra_sents))
                     if e.sentence.id not in known]
        verdict = self.disagreement(question, decision.evidence[0], pool)
        rival = verdict.rival
        if rival is not None and rival.passage_index > len(passages):
            passage = extra[rival.passage_index - len(passages) - 1]
            passages.append(passage)
            sents.extend((s, v) for s, v in extra_sents if s.chunk_id == passage.chunk_id)
            verdict = replace(verdict, rival=replace(rival, passage_index=len(passages)))
        return verdict

    def _clean(self, question: str) -> str:
        if not isinstance(question, str):
            raise InvalidQuestion("the question must be text")
        cleaned = normalise_input(question)
        if not cleaned:
            raise InvalidQuestion("the question is empty: type a question about the articles")
        if not any(c.isalnum() for c in cleaned):
            raise InvalidQuestion("the question has no words (only symbols or emoji): type a question about the articles")
        if len(cleaned) > self.settings.max_question_chars:
            raise InvalidQuestion(f"the question is too long ({len(cleaned):,} characters; the limit is {self.settings.max_question_chars:,})")
        return cleaned
