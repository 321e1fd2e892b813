"""Quotes from the other language's article come with a machine translation after them; the quote stays the claim."""

import os
import shutil

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from qa import Assistant
from qa.core.errors import TranslationFailed
from qa.ingest.translate import ApertiumTranslator, build_translator
from tests.conftest import KHOJALY, make_settings
from tests.fakes import FakeEmbedder, FakeReader, FakeTranslator

SPANISH = "002_80680643ca28e344"


@pytest.fixture(scope="module")
def apertium() -> ApertiumTranslator:
    if shutil.which("apertium") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("apertium is missing: CI must install it (apt-get install apertium-en-es)")
        pytest.skip("apertium is missing (apt-get install apertium-en-es)")
    translator = build_translator(make_settings("/nonexistent"))
    assert isinstance(translator, ApertiumTranslator)
    return translator


def test_apertium_translates_both_ways_sentence_for_sentence(apertium):
    es = apertium.translate(["1275 people were taken hostage.", "The talks lasted four hours."], "en", "es")
    assert len(es) == 2 and "1275 personas" in es[0] and "horas" in es[1]
    en = apertium.translate(["Las conversaciones duraron casi 4 horas.\nEn Moscú."], "es", "en")
    assert en == ["The conversations lasted almost 4 hours. In Moscow."]  # a line break inside a quote shifts nothing


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=80), min_size=1, max_size=6))
def test_apertium_returns_one_line_per_text_whatever_the_text(apertium, texts):
    """Apertium's stream syntax (^ $ @ * / < > [ ]), line breaks and control characters shift no answer."""
    try:
        out = apertium.translate(texts, "en", "es")
    except TranslationFailed:
        return
    assert len(out) == len(texts) and all("\n" not in o for o in out)


def test_apertium_failures_are_translation_errors(apertium):
    with pytest.raises(TranslationFailed):
        apertium.translate(["Bonjour."], "fr", "en")
    with pytest.raises(TranslationFailed):
        ApertiumTranslator("/bin/false", 5).translate(["Hello."], "en", "es")


def test_translation_can_be_turned_off():
    assert build_translator(make_settings("/nonexistent").model_copy(update={"translate": False})) is None


def _bot(tmp_path, translator):
    bot = Assistant(make_settings(tmp_path / "data").model_copy(update={"answer_bar": 0.0}), embedder=FakeEmbedder(),
                    translator=translator, reader=FakeReader("1275"))
    bot.articles()
    return bot


def test_a_quote_in_the_other_language_is_followed_by_its_translation(tmp_path):
    translator = FakeTranslator()
    bot = _bot(tmp_path, translator)
    at_ingest = len(translator.calls)  # one per language: the sentences' translations are stored
    ans = bot.ask("¿Cuántas personas fueron tomadas como rehenes en Khojaly en 1992?")
    assert not ans.refused and ans.citations[0].lang == "en" and len(translator.calls) == at_ingest == 2
    shown = [s for s in ans.sentences if s.supported]
    for s in shown:
        # The English quote is the verified claim and stays in the text; its translation follows it, labelled.
        assert s.translation == f"<es> {s.text}"
        assert f"{s.text} [" in ans.text and f"(Traducción automática de FakeMT: <es> {s.text})" in ans.text


def test_a_quote_stored_without_translation_is_translated_when_shown(tmp_path):
    plain = Assistant(make_settings(tmp_path / "data").model_copy(update={"answer_bar": 0.0, "translate": False}),
                      embedder=FakeEmbedder())
    plain.articles()  # a store built without a translator
    bot = Assistant(plain.settings, embedder=FakeEmbedder(), store=plain.store, translator=FakeTranslator(), reader=FakeReader("1275"),
                    auto_ingest=False)
    ans = bot.ask("¿Cuántas personas fueron tomadas como rehenes en Khojaly en 1992?")
    assert not ans.refused and all(s.translation == f"<es> {s.text}" for s in ans.sentences if s.supported)


def test_a_failed_translation_leaves_the_quote_as_it_is(tmp_path):
    ans = _bot(tmp_path, FakeTranslator(fail=True)).ask("¿Cuántas personas fueron tomadas como rehenes en Khojaly en 1992?")
    assert not ans.refused and "Traducción automática" not in ans.text and "(cita de un artículo en inglés)" in ans.text
    assert all(s.translation is None for s in ans.sentences)


def test_a_same_language_answer_is_not_translated(tmp_path):
    ans = _bot(tmp_path, FakeTranslator()).ask("How many people were taken hostage in Khojaly in 1992?")
    assert not ans.refused and "Machine translation" not in ans.text and all(s.translation is None for s in ans.sentences)


def test_real_spanish_question_on_english_article_gets_a_spanish_rendering(real_bot, apertium):
    ans = real_bot.ask("¿Cuántas personas fueron tomadas como rehenes en Khojaly?")
    assert {c.article_id for c in ans.citations} == {KHOJALY}
    assert "1275 people were taken hostage" in ans.text and "(Traducción automática de Apertium: 1275 personas" in ans.text
    ans = real_bot.ask("How long did the trilateral talks in the Kremlin last?")
    assert {c.article_id for c in ans.citations} == {SPANISH} and "(Machine translation by Apertium:" in ans.text
    assert "4 hours" in ans.text or "four hours" in ans.text


def test_translated_sentences_carry_their_translation_or_stay_as_they_are():
    from qa.ingest.translate import translated
    from qa.core.types import Sentence

    sents = [Sentence("a@0", "a", "a#0", "Hostages were taken.", 0, 20)]
    assert translated(sents, "en", FakeTranslator())[0].translation == "<es> Hostages were taken."
    assert translated(sents, "en", FakeTranslator(fail=True)) == sents
    assert translated(sents, "en", None) == sents
