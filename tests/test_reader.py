"""The reader: its features, the shipped model, and what it makes of sentences nobody here tuned it on."""

import json

import numpy as np
import pytest

from qa.errors import InvalidSetting
from qa.question import parse
from qa.reader import FEATURES, MODEL_DIR, ReaderCandidate, TreeReader, features


def _cand(text: str, similarity: float, lang: str = "en", reading: str | None = "same", position: int = 0) -> ReaderCandidate:
    reading = text if reading == "same" else reading
    return ReaderCandidate(text, lang, similarity, position, reading, reading)


def test_features_describe_each_candidate_against_the_others():
    q = parse("How many people were taken hostage in Khojaly?")
    rows = features(q, [_cand("1275 people were taken hostage in Khojaly.", 0.9), _cand("The town lies in the mountains.", 0.8)],
                    lambda t: 1.0)
    col = {f: i for i, f in enumerate(FEATURES)}
    assert rows.shape == (2, len(FEATURES))
    assert rows[0, col["similarity_rank"]] == 0 and rows[1, col["similarity_rank"]] == 1
    assert rows[0, col["similarity_minus_next"]] == pytest.approx(0.1) and rows[1, col["similarity_minus_best"]] == pytest.approx(-0.1)
    assert rows[0, col["coverage"]] == 1.0 and rows[1, col["coverage"]] == 0.0
    assert rows[0, col["quantities"]] == 1 and rows[1, col["quantities"]] == 0
    assert rows[0, col["names_found"]] == 1.0


def test_a_sentence_in_the_other_language_without_a_translation_has_no_word_features():
    q = parse("How long did the talks last?")
    row = features(q, [_cand("La reunión duró casi cuatro horas.", 0.85, lang="es", reading=None)], lambda t: 1.0)[0]
    col = {f: i for i, f in enumerate(FEATURES)}
    assert row[col["cross_language"]] == 1 and row[col["has_reading"]] == 0
    assert np.isnan(row[col["coverage"]]) and np.isnan(row[col["coverage_context"]])
    assert row[col["has_duration"]] == 1  # read with the sentence's own language words


def test_a_model_trained_on_other_features_is_refused(tmp_path):
    meta = json.loads((MODEL_DIR / "reader.json").read_text())
    (tmp_path / "reader.json").write_text(json.dumps({**meta, "features": ["similarity"]}))
    with pytest.raises(InvalidSetting, match="other features"):
        TreeReader(tmp_path)
    with pytest.raises(InvalidSetting, match="no reader model"):
        TreeReader(tmp_path / "missing")


def test_the_shipped_model_is_small_and_calibrated():
    size = sum(p.stat().st_size for p in MODEL_DIR.iterdir())
    assert size < 60 * 2**20
    reader = TreeReader()
    for model in ("sentence", "question"):
        p = reader.calibrate(np.linspace(-1, 2, 50), model)
        assert np.all(np.diff(p) >= 0) and p.min() >= 0 and p.max() <= 1


def test_reading_gives_each_candidate_a_probability_and_the_question_a_confidence():
    q = parse("How many people were taken hostage in Khojaly?")
    reading = TreeReader().read(q, [_cand("1275 people were taken hostage in Khojaly.", 0.9), _cand("The town lies in the hills.", 0.8)],
                                lambda t: 2.0)
    assert reading.p.shape == (2,) and 0.0 <= reading.confidence <= 1.0 and reading.p[0] > reading.p[1]
    assert TreeReader().read(q, [], lambda t: 2.0).confidence == 0.0


@pytest.mark.model
@pytest.mark.parametrize("question, answer, distractor", [
    # Written for this test, on none of the seed articles: a flood, a solar farm, a strike.
    ("How much damage did the floods cause to roads and bridges?",
     "Damage to roads and bridges was estimated at 8 million dollars, the ministry said.",
     "The floods began after three days of heavy rain in the north of the province."),
    ("Who financed the solar farm?",
     "The farm was financed by the regional government and a loan from the Inter-American Development Bank.",
     "The floating solar farm opened on Tuesday on the Valdoria reservoir."),
    ("¿Cuántos trabajadores se sumaron a la huelga?",
     "Unos 2.300 trabajadores se sumaron a la huelga el lunes, según el sindicato.",
     "La mina de cobre está situada en el desierto de Atacama."),
    ("How many workers joined the strike?",
     "Unos 2.300 trabajadores se sumaron a la huelga el lunes, según el sindicato.",
     "La mina de cobre está situada en el desierto de Atacama."),
])
def test_the_real_reader_prefers_the_sentence_that_answers(question, answer, distractor):
    from qa.embed import E5Embedder

    e5 = E5Embedder()
    q = parse(question)
    qv = e5.embed_queries([question])[0]
    sv = e5.embed_passages([answer, distractor])
    lang = "es" if "huelga" in answer else "en"
    reading = None if lang != q.lang else "same"
    cands = [_cand(answer, float(sv[0] @ qv), lang, reading, 1), _cand(distractor, float(sv[1] @ qv), lang, reading, 0)]
    p = TreeReader().read(q, cands, lambda t: 2.0).p
    assert p[0] > p[1]
