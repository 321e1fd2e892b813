"""The public API: one object that ingests, retrieves, answers and verifies."""

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.answer.grade import answer_grade
from qa.answer.compose import Composer, Decision, Draft, Drafted, Finishing, partial_text, refusal_text
from qa.answer.generate import stream_generated
from qa.answer.disagreement import Disagreement, Disputed
from qa.answer.checks import build_checks
from qa.index.embed import Embedder, make_embedder
from qa.core import prompts
from qa.answer.evidence import Evidence, gather, is_boilerplate
from qa.core.errors import InvalidFilter, InvalidQuestion
from qa.index.indexer import ingest_paths
from qa.answer.llm import LLM, build_llm
from qa.answer.question import Question, about_collection, after_anchor, parse, timeline_topic
from qa.answer.recency import Recency
from qa.answer.finder import Finder, Searched
from qa.answer.stories import Stories
from qa.answer.reader import MODEL_DIR, NeuralReader, Reader, TreeReader
from qa.retrieve.hybrid import Retriever
from qa.core.settings import Settings
from qa.index.records import StoredArticle
from qa.index.store import Store
from qa.core.text import detect_lang, normalise_input, sentences as split_sentences
from qa.ingest.translate import Translator, build_translator
from qa.core.types import (Answer, Citation, Filters, Grade, IngestProgress, IngestReport, Passage, Sentence, Timeline, Timings,
                           TraceStep)
from qa.answer.verify import Verifier


def build_reader(settings: Settings, translator: Translator | None) -> Reader:
    folder = settings.reader_dir or MODEL_DIR
    neural = NeuralReader(folder, settings.reader_threads, translator=translator)
    return neural if settings.reader == "neural" else TreeReader(neural, folder)


@dataclass(frozen=True)
class Chosen:
    """What the answered parts quote: the evidence, the note the draft ends with (a newer report revises an older one,
    or the sources differ), the article a question about the latest is answered from, and the steps' trace."""

    evidence: list[Evidence]
    note: str | None
    as_of: str | None
    trace: list[TraceStep]


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
        llm = llm if llm is not None else build_llm(self.settings)
        self.translator = translator if translator is not None else build_translator(self.settings)
        self.reader = reader or build_reader(self.settings, self.translator)
        self.composer = Composer(self.settings, self.embedder, Verifier(self.embedder, self.settings.verify_similarity), self.reader,
                                 build_checks(self.settings.disabled_checks), llm, self.translator)
        self.disagreement = Disagreement(self.settings)
        self.finder = Finder(self.settings, self.embedder, self.retriever, self.composer)
        self.stories = Stories(self.settings, self.embedder, self.store, self.retriever, self.composer)
        self.recency = Recency(self.settings)
        self._auto_ingest = auto_ingest
        self._seed_checked = False

    @property
    def llm(self) -> LLM | None:
        """The model that drafts answers and makes follow-ups standalone (None: extractive); the composer's, so one
        assignment changes both."""
        return self.composer.llm

    @llm.setter
    def llm(self, llm: LLM | None) -> None:
        self.composer.llm = llm

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
        A caller that embedded this very question with this project's embedder may pass its `query_vector`, so it is
        not embedded twice (a query bundle's embedding may be of other text, e.g. a HyDE document: QAReader embeds)."""
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
        if (direct := self._direct(question, filters, lang)) is not None:
            yield direct.text
            took = round(time.perf_counter() - t0, 4)
            yield replace(direct, timings=Timings(0.0, took, 0.0, took, took))
            return
        before = time.perf_counter() - t0
        searched = self.finder.find(question, history, filters)
        t_retrieve = before + searched.seconds
        decisions = searched.found.decisions
        trace = [searched.conversation] + [TraceStep("question", f"asks for {q.asks}", f"{q.text} ({q.lang})") for q in searched.asked]
        trace += [step for d in decisions for step in d.trace]
        grade = answer_grade([d.grade for d in decisions])
        confidence = max((d.confidence for d in decisions if d.confidence is not None), default=None)
        if grade is Grade.REFUSED:
            text = refusal_text(lang)
            first_token = time.perf_counter() - t0
            yield text
            total = time.perf_counter() - t0
            yield Answer(text=text, citations=[], refused=True, passages=searched.found.passages, question=question,
                         standalone_question=searched.standalone, lang=lang, backend=self.composer.name,
                         timings=Timings(t_retrieve, total - t_retrieve, 0.0, total, first_token), grade=grade,
                         confidence=confidence, trace=trace, refused_by=decisions[0].refused_by)
            return
        chosen = self._choose(searched.asked, searched.qvecs, decisions, searched.found.passages, searched.found.sents, filters)
        draft, drafted = self._draft(searched, chosen, grade, lang)
        # With drafts (the chat), a model's words go out as it writes them and the verified Answer replaces them;
        # without, only verified text goes out, each sentence as soon as it is checked.
        shows_drafts = drafts and self.llm is not None
        finishing = Finishing(self.composer, lang, searched.found.passages, searched.found.sents, draft.lead)
        first_token = None
        for event in drafted:
            piece = event if isinstance(event, str) else finishing.add(event)
            if piece and isinstance(event, str) == shows_drafts:
                first_token = first_token or time.perf_counter() - t0
                yield piece
        if (closing := finishing.end(draft.note)) and not shows_drafts:
            first_token = first_token or time.perf_counter() - t0
            yield closing
        answer = self._verified(finishing.answer(question, searched.standalone, draft.answers, searched.asked), grade,
                                [*trace, *chosen.trace], chosen.note if closing and draft.note else None)
        total = time.perf_counter() - t0
        timings = Timings(retrieve=round(t_retrieve, 4), compose=round(total - t_retrieve - finishing.seconds, 4),
                          verify=round(finishing.seconds, 4), total=round(total, 4), first_token=round(first_token or 0.0, 4))
        yield replace(answer, confidence=confidence, timings=timings)

    def _draft(self, searched: Searched, chosen: Chosen, grade: Grade, lang: str) -> tuple[Draft, Iterable[str | Drafted]]:
        """The answer's sentences as drafted: quoted from the chosen evidence, or written by the model (as a stream of
        its words and the sentences they form), each to be verified before it is said."""
        found = searched.found
        if self.llm is not None:
            return Draft([]), stream_generated(self.llm, searched.standalone, lang, found.passages)
        draft = self.composer.extract(lang, found.passages, chosen.evidence, found.sents, chosen.note, chosen.as_of)
        if grade is Grade.PARTIAL:
            draft = replace(draft, lead=partial_text(lang))
        return draft, draft.sentences

    def _verified(self, answer: Answer, grade: Grade, trace: list[TraceStep], said_note: str | None) -> Answer:
        """The verified answer's grade and trace: the note the chosen evidence asked for, when it was said (only while the
        answer still cites more than one article), and the verifier's step."""
        noted = [TraceStep("note", said_note, "said: the answer cites more than one article")] if said_note and not answer.refused else []
        verified = TraceStep("verify", "refuse" if answer.refused else f"{len(answer.citations)} citations",
                             f"{sum(bool(v.supported) for v in answer.sentences)} of {len(answer.sentences)} sentences supported")
        return replace(answer, grade=answer_grade([grade], verified=not answer.refused), trace=[*trace, *noted, verified],
                       refused_by="verify" if answer.refused else None)

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
        return self.stories.timeline(topic, start, end, filters, lang or detect_lang(topic))

    def after(self, anchor: str, filters: Filters | None = None, lang: str | None = None) -> Timeline:
        """What happened after `anchor` (X): X's date from the sentence that reports it, then the events the articles
        date later about X, oldest first, each line quoted, cited and verified as a timeline's (qa/answer/after.py).
        When the articles do not report X, or do not date it, the Timeline has no events and its text says which."""
        anchor = self._clean(anchor)
        self._ensure_seeded()
        self._check_filters(filters)
        return self.stories.after(anchor, filters, lang or detect_lang(anchor))

    def _direct(self, question: str, filters: Filters | None, lang: str) -> Answer | None:
        """The answer to a question not answered by a quote: one about the whole collection (an overview), one that asks
        for a timeline ("timeline of ...") or what happened after something ("what happened after ..."); None for any
        other question."""
        if about_collection(question) and filters is None:
            return self.overview(question, lang)
        if (topic := timeline_topic(question)) is not None:
            return self.timeline(topic, filters=filters, lang=lang).answer(question)
        if (anchor := after_anchor(question)) is not None:
            return self.after(anchor, filters=filters, lang=lang).answer(question)
        return None

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

    def _choose(self, asked: list[Question], qvecs: list[np.ndarray], decisions: list[Decision], passages: list[Passage],
                sents: list[tuple[Sentence, np.ndarray]], filters: Filters | None) -> Chosen:
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
