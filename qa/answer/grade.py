"""The grade, decided here and nowhere else: for each part of a question from the reader's scores and the bars in
settings, then for the whole answer from its parts and the verifier."""

from collections.abc import Sequence

from qa.core.settings import Settings
from qa.core.types import Grade


def part_grade(confidence: float, best: float, settings: Settings, topic_named: bool = False) -> Grade:
    """Sure enough to answer, or an open question whose topic the evidence names (qa/answer/open_topic.py); or not,
    but the best sentence more likely than not holds the answer: shown as what the articles do state, saying they do
    not state exactly this; else refused."""
    if confidence >= settings.answer_bar or topic_named:
        return Grade.ANSWER
    return Grade.PARTIAL if best >= settings.partial_bar else Grade.REFUSED


def answer_grade(parts: Sequence[Grade], verified: bool = True) -> Grade:
    """Refused when no part is answered or the verifier left nothing standing; an answer when any part is answered in
    full; else partial."""
    if not verified or all(p is Grade.REFUSED for p in parts):
        return Grade.REFUSED
    return Grade.ANSWER if Grade.ANSWER in parts else Grade.PARTIAL
