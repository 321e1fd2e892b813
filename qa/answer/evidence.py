"""Evidence: the candidate sentences of the retrieved passages, as the reader sees them and the answer cites them."""

import re
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from qa.answer.question import LANGS, Question, cue_pattern, language_words
from qa.answer.reader import ReaderCandidate, Reading
from qa.core.text import fold, is_directive, words
from qa.core.types import Passage, Sentence


class Boilerplate:
    """Page furniture is never an answer candidate: photo credits ("Handout via REUTERS ATTENTION EDITORS"), bylines,
    subscription, newsletter and cookie lines. Cues and byline words live in the language files; a byline is one of
    its words followed by nothing but a few capitalised words ("By Anna Kell", "Por María Ruiz")."""

    name = "boilerplate"
    byline_words = 5

    @staticmethod
    @cache
    def _patterns() -> tuple[re.Pattern, re.Pattern]:
        cue = cue_pattern(tuple(c for lang in LANGS for c in language_words(lang).boilerplate))
        lines = [b for lang in LANGS for b in language_words(lang).byline]
        byline = re.compile(r"^(?:" + "|".join(re.escape(b) for b in sorted(lines, key=len, reverse=True)) + r")\s+(.*)$")
        return cue, byline

    def __call__(self, text: str) -> bool:
        cue, byline = self._patterns()
        folded = " ".join(fold(text).split())
        if cue.search(folded):
            return True
        m = byline.match(folded)
        if m is None:
            return False
        named = len(words(m.group(1)))  # the words after the byline word, as written (folding keeps the count)
        rest = words(text)[-named:] if named else []
        return 0 < named <= self.byline_words and all(w[0].isupper() for w in rest)


is_boilerplate = Boilerplate()


@dataclass(frozen=True)
class Evidence:
    sentence: Sentence
    vector: np.ndarray
    passage_index: int  # 1-based position in the passage list
    candidate: ReaderCandidate
    p: float | None = None  # the reader's probability that the sentence answers
    span: tuple[int, int] | None = None  # the answering words the reader marks, [start, end) in the sentence text

    @property
    def similarity(self) -> float:
        return self.candidate.similarity


def _reading(s: Sentence, p: Passage, lang: str) -> str | None:
    """The sentence as read in `lang`: itself, or the translation stored at ingest; None when it has none."""
    return s.text if p.lang == lang else s.translation


def gather(question: Question, qvec: np.ndarray, passages: list[Passage], sents: list[tuple[Sentence, np.ndarray]],
           limit: int) -> list[Evidence]:
    """The `limit` sentences closest to the question by e5 among the passages' sentences, as training saw them
    (the K closest of an article); sentences that address the assistant instead of reporting, and page furniture
    (Boilerplate), are never evidence."""
    index = {p.chunk_id: i + 1 for i, p in enumerate(passages)}
    by_chunk: dict[str, list[tuple[Sentence, np.ndarray]]] = {}
    for s, v in sents:
        if s.chunk_id in index:
            by_chunk.setdefault(s.chunk_id, []).append((s, v))
    out = []
    for chunk, members in by_chunk.items():
        members.sort(key=lambda sv: sv[0].start)
        p = passages[index[chunk] - 1]
        readings = [_reading(s, p, question.lang) for s, _ in members]
        for i, (s, v) in enumerate(members):
            if is_directive(s.text) or is_boilerplate(s.text):
                continue
            near = [r for r in readings[max(0, i - 1) : i + 2] if r is not None]
            cand = ReaderCandidate(text=s.text, lang=p.lang, similarity=float(v @ qvec), position=i, reading=readings[i],
                                   context=" ".join(near) if readings[i] is not None else None,
                                   before=members[i - 1][0].text if i else "", translation=s.translation,
                                   before_translation=members[i - 1][0].translation if i else None)
            out.append(Evidence(s, v, index[chunk], cand))
    out.sort(key=lambda e: -e.similarity)
    return out[:limit]


def scored(evidence: list[Evidence], reading: Reading) -> list[Evidence]:
    """The evidence with the reader's probabilities and answering words, most probable first."""
    spans = reading.spans or (None,) * len(evidence)
    out = [replace(e, p=float(p), span=sp) for e, p, sp in zip(evidence, reading.p, spans)]
    return sorted(out, key=lambda e: -(e.p or 0.0))
