"""The disagreement step: another article's different value for what was asked, only for a report of the same event."""

import math

import numpy as np
import pytest

from qa.answer.disagreement import Disagreement
from qa.answer.evidence import Evidence
from qa.answer.question import parse
from qa.answer.reader import ReaderCandidate
from qa.core.settings import Settings
from qa.core.types import Sentence


def evidence(article: str, text: str, event_date: str | None = None, cosine: float = 1.0, similarity: float = 0.9) -> Evidence:
    """A sentence whose vector lies at `cosine` from the answer's (which is [1, 0])."""
    s = Sentence(Sentence.make_id(article, 0), article, f"{article}#0", text, 0, len(text), event_date=event_date)
    vector = np.array([cosine, math.sqrt(max(0.0, 1 - cosine**2))], dtype=np.float32)
    return Evidence(s, vector, 1, ReaderCandidate(text, "en", similarity, 0, text, text))


@pytest.fixture
def step():
    return Disagreement(Settings(same_event_similarity=0.9, same_event_days=7))


@pytest.mark.parametrize("question, best, other, differ", [
    # Dates: the event dates resolved at ingest; one within a week of the other is the same event at any cosine when it
    # names a name the answer's sentence names (across languages too).
    ("When did the Harlow bridge open?", ("It opened on 3 May.", "2023-05-03"), ("It opened on 4 May.", "2023-05-04", 0.95), True),
    ("When was the statement signed?", ("The statement on Karabakh was signed on November 10, 2020.", "2020-11-10"),
     ("La declaración sobre Karabaj se firmó el 9 de noviembre.", "2020-11-09", 0.8), True),
    ("When was the ceasefire signed?", ("The Karabakh ceasefire was signed on 10 November.", "2020-11-10"),
     ("Fighting resumed on 12 November.", "2020-11-12", 0.8), False),  # near in time, another event
    ("When was the statement signed?", ("Signed on November 10, 2020.", "2020-11-10"), ("Clashes broke out on 27 September.", "2020-09-27", 0.84), False),
    ("When did the strike begin?", ("It began on 2 March.", "2024-03-02"), ("Workers struck on 2 March.", "2024-03-02", 0.95), False),
    ("When was the road opened?", ("Opened in March 2021.", "2021-03"), ("Opened on 9 March 2021.", "2021-03-09", 0.95), False),
    ("When did the trial open?", ("The trial opens next week.", "2024-W41"), ("It opens on 10 October.", "2024-10-10", 0.95), False),
    ("When did the mine collapse?", ("It collapsed on 7 June.", "2023-06-07"), ("It collapsed, the company said.", None, 0.95), False),
    # Counts and amounts: the numbers of the phrase the answer would mark, told alike however they are written.
    ("How many people died in the Tarsis earthquake?", ("Rescue teams said 41 people died in Tarsis.", None),
     ("The earthquake in Tarsis killed 47 people.", None, 0.95), True),
    ("How many people died in the Tarsis earthquake?", ("Rescue teams said 41 people died in Tarsis.", None),
     ("The earthquake in Tarsis killed 47 people.", None, 0.85), False),  # not the same report: another event's figure
    ("How many people were evacuated?", ("Police evacuated 1,200 people.", None), ("Some 1200 residents were moved.", None, 0.94), False),
    ("How much is the contract worth?", ("A contract worth 2.3 billion dollars.", None), ("A 2.8 billion dollar order.", None, 0.96), True),
    ("¿Cuántas hectáreas quemó el incendio?", ("El incendio quemó 3.200 hectáreas.", None), ("El fuego arrasó 4.100 hectáreas.", None, 0.94), True),
    ("How many hostages were released?", ("They freed 5 hostages.", None), ("Five hostages were released.", None, 0.97), False),
    # Names: the name the answer would mark, beyond the question's own.
    ("Who is the new chief executive of Baltan Energy?", ("Baltan Energy named Peter Lund as its new chief executive.", None),
     ("Erik Sand was appointed chief executive of Baltan Energy.", None, 0.95), True),
    ("Who will preside over the trial?", ("Judge Maria Oyelaran will preside.", None), ("Maria Oyelaran presides.", None, 0.95), False),
    # A question for none of these slots.
    ("What did the statement do?", ("Signed on November 10, 2020.", "2020-11-10"), ("Firmada el 9 de noviembre.", "2020-11-09", 0.95), False),
])
def test_another_article_differs_only_on_the_asked_value_of_the_same_event(step, question, best, other, differ):
    q = parse(question)
    verdict = step(q, evidence("a", *best), [evidence("b", *other)])
    assert (verdict.rival is not None) == differ
    assert verdict.step.step == "disagreement" and verdict.step.verdict == ("differ" if differ else "agree" if verdict.slot else "not asked")


def test_the_same_article_never_disagrees_with_itself(step):
    q = parse("When did the Harlow bridge open?")
    verdict = step(q, evidence("a", "It opened on 3 May.", "2023-05-03"), [evidence("a", "It opened on 4 May.", "2023-05-04")])
    assert verdict.rival is None and verdict.compared == 0


def test_the_report_closest_to_the_question_is_the_one_shown(step):
    q = parse("How many people died in the Tarsis earthquake?")
    far = evidence("b", "The quake in Tarsis killed 45 people.", None, 0.95, similarity=0.8)
    near = evidence("c", "The earthquake in Tarsis killed 47 people.", None, 0.95, similarity=0.88)
    verdict = step(q, evidence("a", "Rescue teams said 41 people died in Tarsis."), [far, near])
    assert verdict.rival is near and verdict.values == ("41", "47")
    assert verdict.step.detail == "count: 41 vs 47 (c@0)"
