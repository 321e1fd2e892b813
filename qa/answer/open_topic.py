"""The open-topic step: "What happened in Khojaly?", "Tell me about the Port Ellery barrier", "¿Qué pasó en Mendoza?".

Such a question asks for what the articles report about its topic, not for a phrase, and the reader was trained on
questions that have one (SQuAD, TyDi, MLQA hold no "what happened in X?"): its probability there says little, and it
refused the demo's own topic at 0.20. So when the reader would not answer, an open question is answered by the
evidence sentences that hold its whole topic: every word after the open cue (each content word by its stem, each
number as a number, month names included, so "What happened in Khojaly in 2019?" or "... on 26 March?" is not
answered from 26 February 1992, nor "the dam in Mendoza" from a sentence on Mendoza's wine), and every name as a
capitalised word of the sentence, spelled exactly (Iran is not Iraq, Khojaly not Khojavend). The sentence is read as
written and in the question's language (its stored translation). The draft then quotes the most probable of them from
the best article, in article order (QA_OPEN_SENTENCES). A question with no such sentence is left to the reader.
"""

from dataclasses import dataclass, replace

from qa.answer.evidence import Evidence
from qa.answer.question import Question, open_topic
from qa.answer.verify import names
from qa.core.text import Vocabulary, fold, numbers, stem_found, terms, words
from qa.core.types import TraceStep


@dataclass(frozen=True)
class TopicVerdict:
    evidence: list[Evidence]  # the sentences that hold the whole topic, most probable first; empty: the reader decides
    step: TraceStep


@dataclass(frozen=True)
class Topic:
    """An open question's topic as a sentence must hold it."""

    names: frozenset[str]  # folded
    terms: tuple[str, ...]
    numbers: frozenset[str]

    def held_by(self, e: Evidence) -> bool:
        return any(self._in(text) for text in (e.sentence.text, e.candidate.reading) if text)

    def _in(self, text: str) -> bool:
        capitalised = {part for w in words(text) if w[:1].isupper() for part in (fold(w), *fold(w).split("-"))}
        hay = Vocabulary(terms(text))
        return self.names <= capitalised and all(stem_found(t, hay) for t in self.terms) and self.numbers <= numbers(text)


class OpenTopic:
    name = "open-topic"

    def __call__(self, question: Question, evidence: list[Evidence]) -> TopicVerdict:
        said = open_topic(question.text) if question.asks == "open" else None
        if said is None:
            return TopicVerdict([], TraceStep(self.name, "reader decides", "not an open question about something named"))
        topic = Topic(frozenset(names(said)), tuple(dict.fromkeys(terms(said))), frozenset(numbers(said)))
        about = [replace(e, span=None) for e in evidence if topic.held_by(e)]  # the reader's marked words answer no 'what happened'
        if not about:
            return TopicVerdict([], TraceStep(self.name, "reader decides", f"no sentence holds all of “{said}”"))
        return TopicVerdict(about, TraceStep(self.name, "answer", f"{len(about)} of {len(evidence)} sentences hold “{said}”"))
