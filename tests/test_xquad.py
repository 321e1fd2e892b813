"""The XQuAD runner on a three-paragraph corpus in SQuAD format, with the hashing embedder."""

import argparse
import json
from pathlib import Path

import pytest

from qa import Assistant

from qa_eval import evaluate, metrics, xquad
from qa_eval.paths import paths
from tests.fakes import FakeEmbedder

PARAGRAPHS = {
    "en": [
        "The Panthers defense gave up just 308 points, ranking sixth in the league. Kawann Short led the team in sacks with 11.",
        "The Rhine is a European river that flows through Switzerland and Germany. The Rhine is 1,230 kilometres long.",
        "Oxygen is a chemical element with the symbol O. Oxygen was discovered by Carl Wilhelm Scheele.",
    ],
    "es": [
        "La defensa de los Panthers concedió solo 308 puntos, la sexta de la liga. Kawann Short lideró al equipo con 11 capturas.",
        "El Rin es un río europeo que atraviesa Suiza y Alemania. El Rin tiene 1230 kilómetros de longitud.",
        "El oxígeno es un elemento químico de símbolo O. El oxígeno fue descubierto por Carl Wilhelm Scheele.",
    ],
}
QUESTIONS = {
    "en": [("How many points did the Panthers defense give up?", "308"), ("How long is the Rhine river?", "1,230 kilometres"),
           ("Who discovered oxygen?", "Carl Wilhelm Scheele")],
    "es": [("¿Cuántos puntos concedió la defensa de los Panthers?", "308"), ("¿Qué longitud tiene el río Rin?", "1230 kilómetros"),
           ("¿Quién descubrió el oxígeno?", "Carl Wilhelm Scheele")],
}


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for lang in ("en", "es"):
        paragraphs = [
            {"context": ctx, "qas": [{"id": f"q{i}", "question": q, "answers": [{"answer_start": ctx.find(a), "text": a}]}]}
            for i, (ctx, (q, a)) in enumerate(zip(PARAGRAPHS[lang], QUESTIONS[lang]))
        ]
        data = {"version": "1.1", "data": [{"title": "Mixed", "paragraphs": paragraphs}]}
        (folder / f"xquad.{lang}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("xquad")
    parser = argparse.ArgumentParser()
    evaluate.configure(parser)
    thresholds = tmp / "thresholds.toml"
    thresholds.write_text('[xquad.min."en-en"]\nhit_at_1 = 1.0\n[xquad.min."es-en"]\nem = 101\n')
    args = parser.parse_args(["--xquad", "--quiet", "--xquad-dir", str(write_corpus(tmp / "src")), "--out", str(tmp / "out"),
                              "--check", "--thresholds", str(thresholds)])
    bot = Assistant(xquad.xquad_settings(tmp / "data"), embedder=FakeEmbedder(), auto_ingest=False)
    code = xquad.execute(args, bot)
    return code, tmp / "out", bot


def test_paragraphs_become_articles_in_both_languages(run):
    _, _, bot = run
    ids = {a.id for a in bot.articles()}
    assert ids == {"en-000", "en-001", "en-002", "es-000", "es-001", "es-002"}
    assert bot.article_text("es-001").startswith("El Rin")


def test_report_has_four_directions(run):
    _, out, _ = run
    data = json.loads((out / "report.json").read_text())
    assert list(data["metrics"]) == ["en-en", "es-es", "es-en", "en-es"]
    assert data["metrics"]["en-en"]["hit_at_1"] == 1.0  # the words of each question are in its paragraph only
    assert len(data["results"]) == 12
    md = (out / "report.md").read_text()
    assert "es → en" in md and "given the gold paragraph" in md and "86.5 / 75.7" in md


def test_cross_lingual_answers_are_scored_on_the_paragraphs_language(run, tmp_path):
    _, _, bot = run
    corpus = xquad.load_corpus(write_corpus(tmp_path))
    results = xquad.ask_direction(bot, corpus.questions, "es", "en", 3)
    assert [r.question for r in results] == [q for q, _ in QUESTIONS["es"]]
    assert [r.gold for r in results] == [(a,) for _, a in QUESTIONS["en"]]
    for r in results:
        assert (r.em, r.f1) == metrics.squad_scores(r.prediction, r.gold)
        assert r.contains == metrics.contains_answer(r.prediction, r.gold)
        assert r.refused == (r.prediction == "")


def test_check_reads_the_xquad_section(run):
    code, _, _ = run
    assert code == 1  # en-en hit@1 of 1.0 passes, an EM above 100 cannot


def test_query_cache_embeds_each_text_once():
    calls = []

    class Counting(FakeEmbedder):
        def embed_queries(self, texts):
            calls.append(list(texts))
            return super().embed_queries(texts)

    cache = xquad.QueryCache(Counting())
    first = cache.embed_queries(["a b", "c"])
    again = cache.embed_queries(["c", "a b", "c"])
    assert calls == [["a b", "c"]]
    assert (again[1] == first[0]).all() and (again[0] == again[2]).all()
    assert cache.embed_queries([]).shape == (0, cache.dim)


def test_sample_is_seeded_and_shared():
    corpus_questions = [xquad.XQuestion(f"q{i}", i // 3, {"en": "", "es": ""}, {"en": ("a",), "es": ("a",)}) for i in range(30)]
    a, b = xquad.sample(corpus_questions, 10, 1), xquad.sample(corpus_questions, 10, 1)
    assert a == b and len(a) == 10 and xquad.sample(corpus_questions, 10, 2) != a
    assert xquad.sample(corpus_questions, None, 0) == corpus_questions


@pytest.mark.skipif(not (paths().xquad_dir / "xquad.en.json").exists(), reason="XQuAD files not present")
def test_real_files_pair_up():
    corpus = xquad.load_corpus(paths().xquad_dir)
    assert len(corpus.paragraphs["en"]) == len(corpus.paragraphs["es"]) == 240
    assert len(corpus.questions) == 1190
    q = corpus.questions[0]
    assert q.answers["en"][0] in corpus.paragraphs["en"][q.paragraph]
    assert q.answers["es"][0] in corpus.paragraphs["es"][q.paragraph]
