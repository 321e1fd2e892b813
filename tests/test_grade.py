"""The grade is decided in one place: per part of a question from the bars, for the whole from its parts."""

import pytest

from qa.answer.grade import answer_grade, part_grade
from qa.core.settings import Settings
from qa.core.types import Answer, Grade

A, P, R = Grade.ANSWER, Grade.PARTIAL, Grade.REFUSED
BARS = Settings(answer_bar=0.4, partial_bar=0.5)


@pytest.mark.parametrize(("confidence", "best", "topic_named", "grade"), [
    (0.40, 0.0, False, A),    # at the answer bar
    (0.90, 0.9, False, A),
    (0.39, 0.50, False, P),   # under it, the best sentence at the partial bar
    (0.39, 0.49, False, R),
    (0.00, 0.00, False, R),
    (0.20, 0.17, True, A),    # an open question whose topic the evidence holds, whatever the reader's probability
    (0.90, 0.90, True, A),
])
def test_part_grade(confidence, best, topic_named, grade):
    assert part_grade(confidence, best, BARS, topic_named) is grade


@pytest.mark.parametrize(("parts", "verified", "grade"), [
    ([A], True, A),
    ([P], True, P),
    ([R], True, R),
    ([R, P], True, P),      # one part of a two-part question found in part
    ([P, A], True, A),      # any part answered in full
    ([R, R], True, R),
    ([A], False, R),        # the verifier left nothing standing
    ([], True, R),
])
def test_answer_grade(parts, verified, grade):
    assert answer_grade(parts, verified) is grade


def test_an_answer_grade_and_refused_flag_agree():
    assert Answer(text="", citations=[], refused=True, passages=[]).grade is R
    assert Answer(text="x", citations=[], refused=False, passages=[], grade="partial").grade is P  # read back from JSON
    assert Answer(text="x", citations=[], refused=False, passages=[]).grade == "answer"
    with pytest.raises(ValueError, match="refused"):
        Answer(text="x", citations=[], refused=False, passages=[], grade=R)
