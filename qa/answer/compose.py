"""From passages to a short answer in which every sentence cites, and is verified against, its source.

Named steps, each recorded in Answer.trace: gather the candidate sentences (evidence), score each with the reader
(learned from SQuAD 2.0 and XQuAD, qa/answer/reader.py), run the named checks (qa/answer/checks.py), decide (answer, partial or
refuse, on the settings' bars; an open question the reader would not answer by its topic, qa/answer/open_topic.py), draft (an extractive quote here; a model's draft is read by qa/answer/generate.py), verify and cite.
"""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from typing import NamedTuple

import numpy as np

from qa.core import prompts
from qa.answer.checks import Check
from qa.index.embed import Embedder
from qa.answer.evidence import Evidence, gather, scored
from qa.answer.grade import part_grade
from qa.answer.open_topic import OpenTopic
from qa.answer.llm import LLM
from qa.answer.question import Question, language_words
from qa.answer.recency import spoken_date
from qa.answer.reader import Reader
from qa.core.settings import Settings
from qa.answer.span import answer_span
from qa.core.text import LANGS, fold, is_directive, without_directives
from qa.ingest.translate import Translator, translated
from qa.core.types import Answer, AnswerSentence, Citation, Grade, Passage, Sentence, TraceStep
from qa.answer.verify import Check as Verdict, Verifier

class Drafted(NamedTuple):
    """One sentence of a draft: its words, the passages it cites (1-based; invalid numbers are dropped when it is
    checked), and what is shown with it but not verified: an attribution before it, a quote's translation after it."""

    body: str
    marks: tuple[int, ...]
    prefix: str | None = None
    translation: str | None = None


@dataclass(frozen=True)
class Draft:
    """An extractive answer before verification: its sentences and what is said around them."""

    sentences: list[Drafted]
    note: str | None = None  # said after sentences citing more than one article: the reports differ, or one revises
    lead: str | None = None  # said before the sentences: for a partial answer, that the articles do not state exactly this
    answers: tuple[tuple[str, int, int], ...] = ()  # the reader's answering words: (article id, start, end) in article offsets


def _said(prompt: str, lang: str) -> str:
    """A fixed sentence of the answer in the question's language (English for any other)."""
    return prompts.load(f"{prompt}.{lang if lang in ('en', 'es') else 'en'}").render()


def refusal_text(lang: str) -> str:
    """"The articles do not mention this". (When they hold something close, the answer is partial instead: "I found
    related passages, but none of them says exactly this", and what they do say.)"""
    return _said("refusal", lang)


def partial_text(lang: str) -> str:
    """The lead of a partial answer: the articles do not state exactly this; what they do state follows."""
    return _said("partial", lang)


@dataclass(frozen=True)
class Decision:
    """What the reader and the checks made of one question: its grade, the evidence left (best first), and why."""

    grade: Grade
    evidence: list[Evidence]
    confidence: float | None
    refused_by: str | None
    trace: list[TraceStep] = field(default_factory=list)
    about_topic: bool = False  # answered as an open question whose topic these sentences name (qa/answer/open_topic.py)


# Questions answered by a few sentences rather than a phrase.
OPEN_ASKS = frozenset({"open", "reason", "manner"})


class Composer:
    """Shared machinery: evidence, the reader's decision, citations, verification and refusal for every backend."""

    def __init__(self, settings: Settings, embedder: Embedder, verifier: Verifier, reader: Reader, checks: list[Check],
                 llm: LLM | None = None, translator: Translator | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.verifier = verifier
        self.reader = reader
        self.checks = checks
        self.llm = llm
        self.translator = translator
        self.open_topic = OpenTopic() if settings.open_topic else None

    # --- deciding ------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The answers' backend: the drafting model's name, or "extractive"."""
        return self.llm.name if self.llm else "extractive"

    def read(self, question: Question, evidence: list[Evidence], idf: Callable[[str], float]) -> tuple[list[Evidence], float]:
        """The evidence scored by the reader, most probable first, and its confidence that the best one answers."""
        if not evidence:
            return [], 0.0
        reading = self.reader.read(question, [e.candidate for e in evidence], idf)
        return scored(evidence, reading), reading.confidence

    def decide(self, question: Question, qvec: np.ndarray, passages: list[Passage], sents: list[tuple[Sentence, np.ndarray]],
               idf: Callable[[str], float]) -> Decision:
        evidence, confidence = self.read(question, gather(question, qvec, passages, sents, self.settings.reader_candidates), idf)
        trace = [TraceStep("evidence", f"{len(evidence)} sentences", f"from {len(passages)} passages"),
                 TraceStep("reader", f"confidence {confidence:.3f}" if evidence else "nothing to read",
                           f"{self.reader.name}: " + "; ".join(f"{e.sentence.id} p={e.p:.3f}" for e in evidence[:3]))]
        if not evidence:
            return Decision(Grade.REFUSED, [], None, "evidence", trace)
        for check in self.checks:
            verdict = check.apply(question, passages, evidence)
            trace.append(TraceStep(check.name, "refuse" if verdict.refuse else f"{len(verdict.evidence)} kept", verdict.detail))
            if verdict.refuse:
                return Decision(Grade.REFUSED, [], confidence, check.name, trace)
            if len(verdict.evidence) < len(evidence):
                # The reader judges a sentence beside the others, so what is left is read again.
                evidence, confidence = self.read(question, verdict.evidence, idf)
                trace.append(TraceStep("reader", f"confidence {confidence:.3f}", f"after {check.name}"))
        best = evidence[0].p or 0.0
        grade = part_grade(confidence, best, self.settings)
        detail = f"confidence {confidence:.3f} (answer bar {self.settings.answer_bar}); best sentence p={best:.3f} (partial bar {self.settings.partial_bar})"
        about_topic = False
        if grade is not Grade.ANSWER and self.open_topic is not None:
            topic = self.open_topic(question, evidence)
            trace.append(topic.step)
            if topic.evidence:
                evidence, about_topic = topic.evidence, True
                grade = part_grade(confidence, best, self.settings, topic_named=True)
                detail = f"decided by open-topic: an open question answered by the sentences that hold its topic ({detail})"
        trace.append(TraceStep("decide", grade, detail))
        refused = grade is Grade.REFUSED
        return Decision(grade, [] if refused else evidence, confidence, "reader" if refused else None, trace, about_topic)

    # --- extractive ----------------------------------------------------------------------

    def choose(self, decision: Decision, rival: Evidence | None = None, question: Question | None = None) -> list[Evidence]:
        """The best sentence, plus others from its article the reader also takes for an answer (or, for an open question
        answered by its topic, that name the topic too), and another article's report that differs from it
        (qa/answer/disagreement.py). An open question ("What happened in X?", "Why ...?") takes up to open_sentences."""
        best = decision.evidence[0]
        chosen = [best]
        most = self.settings.open_sentences if question is not None and question.asks in OPEN_ASKS else self.settings.max_sentences
        for e in decision.evidence[1:]:
            if len(chosen) >= most:
                break
            if any(float(e.vector @ o.vector) > self.settings.duplicate_similarity for o in chosen):
                continue  # the same fact said twice (often by two articles)
            if ((e.p or 0.0) >= self.settings.sentence_bar or decision.about_topic) and e.sentence.article_id == best.sentence.article_id:
                chosen.append(e)
        return chosen + ([rival] if rival is not None else [])

    def extract(self, lang: str, passages: list[Passage], chosen: list[Evidence], sents: list[tuple[Sentence, np.ndarray]],
                note: str | None = None, as_of: str | None = None) -> Draft:
        """Quote the chosen sentences, attributed to their article, in reading order. `note` names the prompt said
        after them (conflict: two articles give different values for what was asked; revised: a newer one revises the
        figure); the article `as_of` is attributed with the date it is as of (a question about the latest)."""
        chosen = list({c.sentence.id: c for c in chosen}.values())
        said = _said(note, lang) if note else None
        chosen = _with_antecedents(chosen, sents)
        # Keep each article's sentences together and in reading order, best article first.
        order = {}
        for c in chosen:
            order.setdefault(c.sentence.article_id, len(order))
        chosen.sort(key=lambda c: (order[c.sentence.article_id], c.sentence.start))
        sentences = []
        seen_articles = set()
        for c, translation in zip(chosen, self._translations(lang, chosen, passages)):
            p = passages[c.passage_index - 1]
            prefix = None
            if p.article_id not in seen_articles:
                seen_articles.add(p.article_id)
                prefix = _as_of_prefix(p, lang) if p.article_id == as_of else _attribution_prefix(p, lang)
                if p.lang != lang:
                    prefix += " " + prompts.load(f"crosslingual.{lang}").render()
            sentences.append(Drafted(c.sentence.text, (c.passage_index,), prefix, translation))
        return Draft(sentences, said, answers=answer_words(chosen))

    def _translations(self, lang: str, chosen: list[Evidence], passages: list[Passage]) -> list[str | None]:
        """Quotes from an article in the other language, rendered in the question's; None for the others.

        The quote itself is the claim, verified and shown: a rule-based translation can garble a title ("Acting
        Minister" -> "Obrando Ministro"), so it follows the quote as a reading aid and never replaces it. The
        translation stored at ingest serves; one missing (a store built without a translator) is made now, and a
        translator that fails leaves the quote with the note that it is in the other language.
        """
        if self.translator is None:
            return [None] * len(chosen)
        foreign = {i: passages[c.passage_index - 1].lang for i, c in enumerate(chosen) if passages[c.passage_index - 1].lang != lang}
        out = [chosen[i].sentence.translation if i in foreign else None for i in range(len(chosen))]
        for source in set(foreign.values()):
            at = [i for i, source_lang in foreign.items() if source_lang == source and out[i] is None]
            for i, s in zip(at, translated([chosen[i].sentence for i in at], source, self.translator)):
                out[i] = s.translation
        return out

    # --- verifying (Finishing calls these) ------------------------------------------------

    def _check(self, body: str, cited: list[Passage], by_chunk: dict[str, list[tuple[Sentence, np.ndarray]]]) -> Verdict:
        texts = [f"{p.title}. {p.source or ''}. {without_directives(p.text)}" for p in cited]
        vecs = [v for p in cited for s, v in by_chunk.get(p.chunk_id, []) if not is_directive(s.text)]
        return self.verifier.check(body, texts, np.array(vecs) if vecs else None)

    def _attribute(self, body: str, passages: list[Passage], by_chunk: dict[str, list[tuple[Sentence, np.ndarray]]]) -> tuple[list[int], Verdict]:
        checks = [(i, self._check(body, [p], by_chunk)) for i, p in enumerate(passages, 1)]
        supported = [(i, c) for i, c in checks if c.supported]
        if not supported:
            return [], Verdict(False, False, max((c.support for _, c in checks), default=0.0), "cites nothing and no passage supports it")
        i, check = max(supported, key=lambda ic: ic[1].support)
        return [i], check

    def _supporting(self, body: str, chunk_sents: list[tuple[Sentence, np.ndarray]]) -> list[Sentence]:
        """The passage sentences that carry a claim: exact matches, else the closest by meaning."""
        chunk_sents = [(s, v) for s, v in chunk_sents if not is_directive(s.text)]
        exact = [s for s, _ in chunk_sents if fold(body).strip(" .") in fold(s.text) or fold(s.text).strip(" .") in fold(body)]
        if exact or not chunk_sents:
            return exact
        vec = self.embedder.embed_passages([body])[0]
        best = max(chunk_sents, key=lambda sv: float(sv[1] @ vec))
        return [best[0]]

    @staticmethod
    def _quote(p: Passage, support: list[Sentence]) -> tuple[str, int, int]:
        if not support:
            return p.text, p.start, p.end
        start = min(s.start for s in support)
        end = max(s.end for s in support)
        # Both ends lie inside this passage, so the quote can be cut from its text.
        if p.start <= start and end <= p.end:
            return p.text[start - p.start : end - p.start], start, end
        return p.text, p.start, p.end


class Finishing:
    """Verifies an answer one sentence at a time, so that each can be sent as soon as it is checked: drops invented
    markers and unsupported sentences, renumbers the citations 1..n in order of first use, and refuses when nothing
    holds. The pieces it returns, joined, are the final answer's text."""

    def __init__(self, composer: Composer, lang: str, passages: list[Passage], sents: list[tuple[Sentence, np.ndarray]],
                 lead: str | None) -> None:
        self.composer, self.lang, self.passages, self.lead = composer, lang, passages, lead
        self.by_chunk: dict[str, list[tuple[Sentence, np.ndarray]]] = {}
        for s, v in sents:
            self.by_chunk.setdefault(s.chunk_id, []).append((s, v))
        self.verdicts: list[AnswerSentence] = []
        self.support_for: dict[int, list[Sentence]] = {}
        self.renumber: dict[int, int] = {}  # passage number -> citation number
        self.said: set[str] = set()
        self.text = ""
        self.seconds = 0.0  # spent verifying, for the answer's timings

    def add(self, sentence: Drafted) -> str:
        """The sentence as the answer says it (markers renumbered, its attribution and translation around it), with
        the space that joins it to the text before; "" when it repeats an earlier one or its source does not back it."""
        t0 = time.perf_counter()
        piece = self._verified(sentence)
        self.seconds += time.perf_counter() - t0
        return piece

    def _verified(self, sentence: Drafted) -> str:
        composer, passages = self.composer, self.passages
        key = fold(sentence.body).strip(" .")
        if key in self.said:
            return ""  # small models repeat themselves; a sentence is said once
        self.said.add(key)
        valid = [m for m in dict.fromkeys(sentence.marks) if 1 <= m <= len(passages)]
        if valid:
            check = composer._check(sentence.body, [passages[m - 1] for m in valid], self.by_chunk)
        else:
            # Small models often state a sourced fact without its marker: cite the passage that verifies it.
            valid, check = composer._attribute(sentence.body, passages, self.by_chunk)
        self.verdicts.append(AnswerSentence(sentence.body, tuple(valid), check.supported, check.support, check.reason,
                                            sentence.translation))
        if not check.supported:
            return ""
        parts = [self.lead] if self.lead and not self.text else []
        for m in valid:
            self.renumber.setdefault(m, len(self.renumber) + 1)
            self.support_for.setdefault(m, []).extend(composer._supporting(sentence.body, self.by_chunk.get(passages[m - 1].chunk_id, [])))
        marks = "".join(f"[{self.renumber[m]}]" for m in valid)
        parts.append(f"{sentence.prefix + ' ' if sentence.prefix else ''}{sentence.body} {marks}")
        if sentence.translation is not None and composer.translator is not None:
            parts.append(prompts.load(f"translated.{self.lang}").render(translator=composer.translator.name, text=sentence.translation))
        return self._say(" ".join(parts))

    def _say(self, part: str) -> str:
        piece = f" {part}" if self.text else part
        self.text += piece
        return piece

    def end(self, note: str | None = None) -> str:
        """What closes the text: the refusal when no sentence held, or `note` (the reports differ) when the answer
        cites more than one article; "" otherwise."""
        if not self.renumber:
            return self._say(refusal_text(self.lang))
        if note and len({self.passages[m - 1].article_id for m in self.renumber}) > 1:
            return self._say(note)
        return ""

    def answer(self, question: str, standalone: str, answers: tuple[tuple[str, int, int], ...] = (),
               asked: list[Question] | None = None) -> Answer:
        """The Answer of the text said (after end()), with a citation per number; `answers` are the reader's
        answering words, marked inside the quotes."""
        if not self.renumber:
            return Answer(text=self.text, citations=[], refused=True, passages=self.passages, question=question,
                          standalone_question=standalone, lang=self.lang, sentences=self.verdicts, backend=self.composer.name)
        citations = []
        for old, new in self.renumber.items():
            p = self.passages[old - 1]
            quote, start, end = self.composer._quote(p, self.support_for.get(old, []))
            marked = _marked(answers, p.article_id, start, end, quote, asked or [])
            citations.append(Citation(n=new, article_id=p.article_id, title=p.title, date=p.date, source=p.source, lang=p.lang,
                                      quote=quote, start=start, end=end, supported=True,
                                      answer_start=marked[0] if marked else None, answer_end=marked[1] if marked else None,
                                      outlets=p.outlets))
        renumbered = [replace(v, citations=tuple(self.renumber[m] for m in v.citations if m in self.renumber)) if v.supported else v
                      for v in self.verdicts]
        return Answer(text=self.text, citations=citations, refused=False, passages=self.passages, question=question,
                      standalone_question=standalone, lang=self.lang, sentences=renumbered, backend=self.composer.name)


def answer_words(chosen: list[Evidence]) -> tuple[tuple[str, int, int], ...]:
    """The reader's answering words in each chosen sentence, in article offsets."""
    return tuple((e.sentence.article_id, e.sentence.start + e.span[0], e.sentence.start + e.span[1])
                 for e in chosen if e.span is not None)


def _marked(answers: tuple[tuple[str, int, int], ...], article_id: str, start: int, end: int, quote: str,
            asked: list[Question]) -> tuple[int, int] | None:
    """The answering words inside a quote: the reader's, else (a model's draft) the typed phrase the question asks for."""
    for art, a, b in answers:
        if art == article_id and start <= a < b <= end:
            return a, b
    span = next((sp for q in asked if (sp := answer_span(q, quote)) is not None), None)
    return (start + span.start, start + span.end) if span else None


@cache
def _pronouns() -> frozenset[str]:
    return frozenset(w for lang in LANGS for w in language_words(lang).pronouns)


def _opens_with_pronoun(text: str) -> bool:
    """"He also denounced ...", "In addition, he called ...": whose words these are is in an earlier sentence."""
    pronouns = _pronouns()
    m = re.match(r"^(?:[^\W\d][\w ]{0,30},\s*)?([^\W\d_]+)\b", text.lower())
    return bool(m and m.group(1) in pronouns)


def _with_antecedents(chosen: list[Evidence], sents: list[tuple[Sentence, np.ndarray]]) -> list[Evidence]:
    """Each chosen sentence that opens with a pronoun joined by the nearest of the three before it in its passage
    that does not: a quote of "He also denounced ..." alone does not say whose claim it is."""
    ids = {c.sentence.id for c in chosen}
    out = []
    for c in chosen:
        if _opens_with_pronoun(c.sentence.text):
            before = sorted(((s, v) for s, v in sents if s.chunk_id == c.sentence.chunk_id and s.end <= c.sentence.start),
                            key=lambda sv: -sv[0].start)[:3]
            named = next(((s, v) for s, v in before if not _opens_with_pronoun(s.text)), None)
            if named is not None and named[0].id not in ids:
                ids.add(named[0].id)
                out.append(replace(c, sentence=named[0], vector=named[1], span=None))
        out.append(c)
    return out


def _attribution_prefix(p: Passage, lang: str) -> str:
    """"According to Azernews (2024-02-28):", or, with no outlet known, "According to the article “<title>”:"."""
    lang = lang if lang in LANGS else "en"
    dated = f" ({p.date})" if p.date else ""
    if p.source:
        return prompts.load(f"attribution.{lang}").render(source=p.source + dated)
    return prompts.load(f"attribution_article.{lang}").render(title=f"“{p.title}”{dated}")


def _as_of_prefix(p: Passage, lang: str) -> str:
    """"As of 3 February 2023, according to Kemer Today:": the newest report's date, for a question about the latest."""
    lang = lang if lang in LANGS else "en"
    assert p.date is not None  # the recency step only picks dated articles
    return prompts.load(f"asof.{lang}").render(date=spoken_date(p.date, lang), source=p.source or f"“{p.title}”")


def attribution(p: Passage) -> str:
    who = p.source or f"“{p.title}”"
    return f"{who} ({p.date})" if p.date else who
