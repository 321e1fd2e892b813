"""The recency step: a question about the latest is answered from the newest report of the event, as of its date."""

import math

import numpy as np
import pytest

from qa import Assistant
from qa.answer.evidence import Evidence
from qa.answer.question import parse
from qa.answer.reader import ReaderCandidate
from qa.answer.recency import Recency, spoken_date
from qa.core.settings import Settings
from qa.core.types import Passage, Sentence
from tests.fakes import FakeEmbedder, FakeReader

LATEST = "What is the latest death toll from the Kemer landslide?"


def reports(*rows: tuple[str, str, str | None, float]) -> tuple[list[Evidence], list[Passage]]:
    """Evidence best first, one passage each: (article, sentence, article date, angle from the first report's vector)."""
    evidence, passages = [], []
    for i, (article, text, day, angle) in enumerate(rows, 1):
        s = Sentence(Sentence.make_id(article, 0), article, f"{article}#0", text, 0, len(text))
        vector = np.array([math.cos(angle), math.sin(angle)], dtype=np.float32)
        evidence.append(Evidence(s, vector, i, ReaderCandidate(text, "en", 0.9, 0, text, text)))
        passages.append(Passage(f"{article}#0", article, article, day, None, "en", text, 0, len(text), 1.0))
    return evidence, passages


OLD = ("old", "The death toll rose to 12, rescuers said.", "2023-02-01", 0.0)
NEW = ("new", "The death toll has risen to 19.", "2023-02-03", 0.2)


@pytest.mark.parametrize("question, rows, newest, earlier", [
    # The reader preferred the older report: the newer one leads, and the older figure it revises follows.
    (LATEST, [OLD, NEW], "new", "old"),
    (LATEST, [NEW, OLD], "new", "old"),
    # The same figure twice is no revision.
    (LATEST, [("new", "The toll stands at 12.", "2023-02-03", 0.0), OLD], "new", None),
    # A sentence about something else (far from the best) is not a report of the event.
    (LATEST, [OLD, ("new", "A new bridge opened with 19 lanes.", "2023-02-03", 1.0)], "old", None),
    # An undated article cannot be the newest.
    (LATEST, [OLD, ("new", "The death toll has risen to 19.", None, 0.2)], "old", None),
    ("¿Cuál es la última cifra de muertos?", [OLD, NEW], "new", "old"),
    # Not a question about the latest: nothing changes.
    ("What was the death toll from the Kemer landslide?", [OLD, NEW], None, None),
])
def test_the_newest_report_of_the_event_leads(question, rows, newest, earlier):
    evidence, passages = reports(*rows)
    recent = Recency(Settings(same_event_similarity=0.9))(parse(question), evidence, passages)
    assert (recent.newest.sentence.article_id if recent.newest else None) == newest
    assert (recent.earlier.sentence.article_id if recent.earlier else None) == earlier
    assert recent.step.step == "recency" and recent.step.verdict.startswith("as of" if newest else ("not asked", "undated"))


def test_no_dated_report_says_so():
    evidence, passages = reports(("old", "The death toll rose to 12.", None, 0.0))
    recent = Recency(Settings())(parse(LATEST), evidence, passages)
    assert recent.newest is None and recent.step.verdict == "undated"


@pytest.mark.parametrize("iso, lang, said", [("2023-02-03", "en", "3 February 2023"), ("2020-11-27", "es", "27 de noviembre de 2020")])
def test_a_date_is_said_in_the_question_s_language(iso, lang, said):
    assert spoken_date(iso, lang) == said


def test_a_question_about_the_latest_is_answered_as_of_the_newest_article(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "kemer_a.txt").write_text(" date 2023-02-01 By Pacific Bulletin\n\nThe death toll from the Kemer landslide "
                                        "rose to 12, rescuers said. Dozens of houses were buried under mud.\n")
    (folder / "kemer_b.txt").write_text(" date 2023-02-03 By Kemer Today\n\nThe death toll from the Kemer landslide has "
                                        "risen to 19 as rescuers reached the last houses. The search has now ended.\n")
    settings = Settings(data_dir=tmp_path / "data", seeds_dir=folder, chroma_url=None, same_event_similarity=0.5, translate=False)
    bot = Assistant(settings, embedder=FakeEmbedder(), reader=FakeReader("rose to 12"))  # the reader prefers the older
    ans = bot.ask(LATEST)
    assert ans.text.startswith("As of 3 February 2023, according to Kemer Today: The death toll from the Kemer landslide has risen to 19")
    assert "According to Pacific Bulletin (2023-02-01): The death toll from the Kemer landslide rose to 12" in ans.text
    assert ans.text.endswith("Note: a newer report revises the earlier figure; both are cited, the newest first.")
    assert [c.article_id for c in ans.citations] == ["kemer_b", "kemer_a"] and all(c.supported for c in ans.citations)
    assert [t.verdict for t in ans.trace if t.step == "recency"] == ["as of 2023-02-03"]
    plain = bot.ask("What was the death toll from the Kemer landslide?")
    assert "As of" not in plain.text and [t.verdict for t in plain.trace if t.step == "recency"] == ["not asked"]
