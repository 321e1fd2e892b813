"""The reader: its features, the shipped model, and what it makes of sentences nobody here tuned it on."""

import json
from dataclasses import replace

import numpy as np
import pytest

from qa.core.errors import InvalidSetting
from qa.answer.question import parse
from qa.index.e5file import E5File, E5Tokenizer
from tests.fakes import FakeTranslator
from qa.answer.reader import FEATURES, MODEL_DIR, NeuralReader, PairEncoder, ReaderCandidate, TreeReader, best_span, features


@pytest.fixture(scope="module")
def neural() -> NeuralReader:
    return NeuralReader()


@pytest.fixture(scope="module")
def tree(neural) -> TreeReader:
    return TreeReader(neural)


def _cand(text: str, similarity: float, lang: str = "en", reading: str | None = "same", position: int = 0) -> ReaderCandidate:
    reading = text if reading == "same" else reading
    return ReaderCandidate(text, lang, similarity, position, reading, reading)


def test_features_describe_each_candidate_against_the_others():
    q = parse("How many people were taken hostage in Khojaly?")
    rows = features(q, [_cand("1275 people were taken hostage in Khojaly.", 0.9), _cand("The town lies in the mountains.", 0.8)],
                    lambda t: 1.0, np.array([0.7, 0.2]))
    col = {f: i for i, f in enumerate(FEATURES)}
    assert rows.shape == (2, len(FEATURES))
    assert rows[0, col["similarity_rank"]] == 0 and rows[1, col["similarity_rank"]] == 1
    assert rows[0, col["similarity_minus_next"]] == pytest.approx(0.1) and rows[1, col["similarity_minus_best"]] == pytest.approx(-0.1)
    assert rows[0, col["coverage"]] == 1.0 and rows[1, col["coverage"]] == 0.0
    assert rows[0, col["quantities"]] == 1 and rows[1, col["quantities"]] == 0
    assert rows[0, col["names_found"]] == 1.0
    assert rows[0, col["neural"]] == pytest.approx(0.7) and rows[1, col["neural_minus_best"]] == pytest.approx(-0.5)
    assert rows[0, col["neural_rank"]] == 0 and rows[1, col["neural_rank"]] == 1


def test_a_sentence_in_the_other_language_without_a_translation_has_no_word_features():
    q = parse("How long did the talks last?")
    row = features(q, [_cand("La reunión duró casi cuatro horas.", 0.85, lang="es", reading=None)], lambda t: 1.0, np.array([0.6]))[0]
    col = {f: i for i, f in enumerate(FEATURES)}
    assert row[col["cross_language"]] == 1 and row[col["has_reading"]] == 0
    assert np.isnan(row[col["coverage"]]) and np.isnan(row[col["coverage_context"]])
    assert row[col["has_duration"]] == 1  # read with the sentence's own language words


def test_a_model_trained_on_other_features_is_refused(tmp_path, neural):
    meta = json.loads((MODEL_DIR / "reader.json").read_text())
    (tmp_path / "reader.json").write_text(json.dumps({**meta, "features": ["similarity"]}))
    with pytest.raises(InvalidSetting, match="other features"):
        TreeReader(neural, tmp_path)
    with pytest.raises(InvalidSetting, match="no reader model"):
        TreeReader(neural, tmp_path / "missing")


def test_the_shipped_model_is_small_and_calibrated(tree):
    size = sum(p.stat().st_size for p in MODEL_DIR.iterdir())
    assert size < 60 * 2**20
    reader = tree
    for model in ("sentence", "question"):
        p = reader.calibrate(np.linspace(-1, 2, 50), model)
        assert np.all(np.diff(p) >= 0) and p.min() >= 0 and p.max() <= 1


def test_reading_gives_each_candidate_a_probability_and_the_question_a_confidence(tree):
    q = parse("How many people were taken hostage in Khojaly?")
    reading = tree.read(q, [_cand("1275 people were taken hostage in Khojaly.", 0.9), _cand("The town lies in the hills.", 0.8)],
                                lambda t: 2.0)
    assert reading.p.shape == (2,) and 0.0 <= reading.confidence <= 1.0 and reading.p[0] > reading.p[1]
    assert tree.read(q, [], lambda t: 2.0).confidence == 0.0
    a, b = reading.spans[0]  # the cross-encoder's answering words
    assert "1275" in "1275 people were taken hostage in Khojaly."[a:b]


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
def test_the_real_reader_prefers_the_sentence_that_answers(tree, question, answer, distractor):
    from qa.index.embed import E5Embedder

    e5 = E5Embedder()
    q = parse(question)
    qv = e5.embed_queries([question])[0]
    sv = e5.embed_passages([answer, distractor])
    lang = "es" if "huelga" in answer else "en"
    reading = None if lang != q.lang else "same"
    cands = [_cand(answer, float(sv[0] @ qv), lang, reading, 1), _cand(distractor, float(sv[1] @ qv), lang, reading, 0)]
    p = tree.read(q, cands, lambda t: 2.0).p
    assert p[0] > p[1]


# The neural reader (alone with QA_READER=neural): its input layout, span decoding, and the shipped cross-encoder.

def _ncand(text: str, before: str = "", lang: str = "en") -> ReaderCandidate:
    return ReaderCandidate(text, lang, 0.0, 0, text, text, before)


def test_a_pair_is_question_then_sentence_then_the_sentence_before():
    tok = E5Tokenizer(E5File())
    enc = PairEncoder(tok, max_len=64, max_question=8, max_sentence=12)
    pair = enc.encode("How many people were taken hostage?", "1275 people were taken hostage.", "It was 1992.")
    d = tok.dims
    assert pair.ids[0] == d.bos and pair.ids[-1] == d.eos and pair.ids.count(d.eos) == 3
    assert pair.ids[1:pair.ids.index(d.eos)] == tok.ids("query: How many people were taken hostage?")[:8]
    sentence = pair.ids[pair.first:pair.first + len(pair.spans)]
    assert sentence == tok.ids("1275 people were taken hostage.")
    assert pair.spans[0] == (0, 4)  # "1275": each token carries its word's span


def test_a_long_pair_is_cut_to_the_model_lengths():
    tok = E5Tokenizer(E5File())
    enc = PairEncoder(tok, max_len=40, max_question=5, max_sentence=10)
    pair = enc.encode("word " * 30, "long " * 50, "before " * 50)
    assert len(pair.ids) <= 40 and len(pair.spans) == 10


@pytest.mark.parametrize("start, end, longest, expected", [
    ([0, 5, 0], [0, 0, 5], 3, (1, 2)),
    ([5, 0, 0], [0, 1, 5], 2, (0, 1)),   # too long a span (0, 2) is not allowed: the best within two tokens
    ([0, 0, 5], [5, 0, 0], 3, (0, 0)),   # an end before the start (2, 0) is not allowed
    ([1, 1, 1], [1, 1, 1], 3, (0, 0)),
])
def test_best_span(start, end, longest, expected):
    assert best_span(np.array(start, float), np.array(end, float), longest) == expected


def test_a_folder_without_the_model_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidSetting, match="no neural reader"):
        NeuralReader(tmp_path)


def test_the_neural_reader_without_candidates_has_no_confidence(neural):
    assert neural.read(parse("Who won?"), []).confidence == 0.0


@pytest.mark.parametrize("question, answer, distractor, words", [
    ("How much damage did the floods cause to roads and bridges?",
     "Damage to roads and bridges was estimated at 8 million dollars, the ministry said.",
     "The floods began after three days of heavy rain in the north of the province.", "8 million"),
    ("Who financed the solar farm?",
     "The farm was financed by the regional government and a loan from the Inter-American Development Bank.",
     "The floating solar farm opened on Tuesday on the Valdoria reservoir.", "regional government"),
    ("¿Cuántos trabajadores se sumaron a la huelga?",
     "Unos 2.300 trabajadores se sumaron a la huelga el lunes, según el sindicato.",
     "La mina de cobre está situada en el desierto de Atacama.", "2.300"),
    ("How many workers joined the strike?",  # across languages, no translation
     "Unos 2.300 trabajadores se sumaron a la huelga el lunes, según el sindicato.",
     "La mina de cobre está situada en el desierto de Atacama.", "2.300"),
])
def test_the_real_reader_prefers_the_sentence_that_answers_and_marks_the_words(neural, question, answer, distractor, words):
    lang = "es" if "huelga" in answer else "en"
    reading = neural.read(parse(question), [_ncand(answer, lang=lang), _ncand(distractor, lang=lang)])
    assert reading.p[0] > reading.p[1] and reading.confidence == reading.p.max()
    a, b = reading.spans[0]
    assert words in answer[a:b]


def test_a_sentence_in_another_language_is_read_through_its_stored_translation(neural):
    """The cross-encoder learned on English passages: a Spanish sentence is read as its English translation, and then
    it marks no words (they would be the translation's); without a translation it reads the Spanish."""
    text, english = "Unos 2.300 trabajadores se sumaron a la huelga.", "About 2,300 workers joined the strike."
    translated = ReaderCandidate(text, "es", 0.0, 1, None, None, "La mina cerró.", english, "The mine closed.")
    assert neural.as_read(translated) == (english, "The mine closed.")
    assert neural.as_read(replace(translated, translation=None)) == (text, "La mina cerró.")
    assert neural.as_read(replace(translated, lang="en", text=english)) == (english, "La mina cerró.")
    reading = neural.read(parse("How many workers joined the strike?"), [translated, replace(translated, translation=None)])
    assert reading.spans[0] is None and reading.spans[1] is not None


def test_a_question_in_another_language_is_read_through_the_translator_once():
    translator = FakeTranslator()
    reader = NeuralReader(translator=translator)
    spanish = parse("¿Cuántos trabajadores se sumaron a la huelga?")
    assert reader.question_as_read(spanish) == "<en> ¿Cuántos trabajadores se sumaron a la huelga?"
    reader.question_as_read(spanish)
    assert translator.calls == [("es", "en", 1)]
    assert reader.question_as_read(parse("How many workers joined the strike?")) == "How many workers joined the strike?"
    assert NeuralReader(translator=FakeTranslator(fail=True)).question_as_read(spanish) == spanish.text
    assert NeuralReader().question_as_read(spanish) == spanish.text


def test_the_real_reader_doubts_a_near_miss(neural):
    """The sentence is on the topic but does not say when the gate will be repaired."""
    q = parse("When will the barrier gate be repaired?")
    near = "The barrier was completed in 2011 at a cost of 38 million pounds."
    right = "Engineers expect the gate to be repaired by the end of March."
    reading = neural.read(q, [_ncand(near), _ncand(right)])
    assert reading.p[1] > reading.p[0]


def test_the_neural_reader_runs_without_torch():
    """Run time is onnxruntime only: torch is for training (the train extra)."""
    import subprocess
    import sys

    code = ("import sys; from qa.answer.reader import NeuralReader, ReaderCandidate; from qa.answer.question import parse; "
            "NeuralReader().read(parse('Who won?'), [ReaderCandidate('Ana won the race.', 'en', 0.0, 0, None, None)]); "
            "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
