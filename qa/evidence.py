"""Evidence: the candidate sentences of the retrieved passages, as the reader sees them and the answer cites them."""

from dataclasses import dataclass, replace

import numpy as np

from .question import Question
from .reader import ReaderCandidate
from .text import is_directive
from .types import Passage, Sentence


@dataclass(frozen=True)
class Evidence:
    sentence: Sentence
    vector: np.ndarray
    passage_index: int  # 1-based position in the passage list
    candidate: ReaderCandidate
    p: float | None = None  # the reader's calibrated probability that the sentence answers

    @property
    def similarity(self) -> float:
        return self.candidate.similarity


def _reading(s: Sentence, p: Passage, lang: str) -> str | None:
    """The sentence as read in `lang`: itself, or the translation stored at ingest; None when it has none."""
    return s.text if p.lang == lang else s.translation


def gather(question: Question, qvec: np.ndarray, passages: list[Passage], sents: list[tuple[Sentence, np.ndarray]],
           limit: int) -> list[Evidence]:
    """The `limit` sentences closest to the question by e5 among the passages' sentences, as training saw them
    (the K closest of an article); sentences that address the assistant instead of reporting are never evidence."""
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
            if is_directive(s.text):
                continue
            near = [r for r in readings[max(0, i - 1) : i + 2] if r is not None]
            cand = ReaderCandidate(text=s.text, lang=p.lang, similarity=float(v @ qvec), position=i, reading=readings[i],
                                   context=" ".join(near) if readings[i] is not None else None)
            out.append(Evidence(s, v, index[chunk], cand))
    out.sort(key=lambda e: -e.similarity)
    return out[:limit]


def scored(evidence: list[Evidence], probabilities: np.ndarray) -> list[Evidence]:
    """The evidence with the reader's probabilities, most probable first."""
    out = [replace(e, p=float(p)) for e, p in zip(evidence, probabilities)]
    return sorted(out, key=lambda e: -(e.p or 0.0))
