import shutil

import pytest

from qa import Assistant
from qa.errors import IngestError
from tests.conftest import KHOJALY, SPANISH
from tests.fakes import FakeEmbedder, FakeTranslator


@pytest.fixture
def bot(settings):
    return Assistant(settings, embedder=FakeEmbedder(), auto_ingest=False)


def test_ingest_is_incremental_and_idempotent(bot, seeds_copy):
    first = bot.ingest([seeds_copy])
    assert sorted(first.added) == sorted(p.stem for p in seeds_copy.glob("*.txt"))
    assert first.chunks > 0 and not first.rejected
    before = {a.id: a.sha256 for a in bot.articles()}
    count = bot.store.count_chunks()

    again = bot.ingest([seeds_copy])
    assert (again.added, again.updated, again.removed, again.chunks) == ([], [], [], 0)
    assert sorted(again.unchanged) == sorted(before)
    assert bot.store.count_chunks() == count
    assert {a.id: a.sha256 for a in bot.articles()} == before


def test_update_and_remove(bot, seeds_copy):
    bot.ingest([seeds_copy])
    path = seeds_copy / f"{KHOJALY}.txt"
    path.write_text(path.read_text() + "\nA new closing paragraph about the anniversary.\n")
    (seeds_copy / "004_332e190914e64a60.txt").unlink()
    report = bot.ingest([seeds_copy])
    assert report.updated == [KHOJALY]
    assert report.removed == ["004_332e190914e64a60"]
    assert "new closing paragraph" in bot.article_text(KHOJALY)
    assert "004_332e190914e64a60" not in {a.id for a in bot.articles()}
    chunk_articles = {c.article_id for c in bot.store.all_chunks()}
    assert "004_332e190914e64a60" not in chunk_articles


def test_rejected_inputs_lose_nothing(bot, seeds_copy, tmp_path):
    bot.ingest([seeds_copy])
    before = {a.id: a.sha256 for a in bot.articles()}
    count = bot.store.count_chunks()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "blank.md").write_text("  \n\n ")
    (bad / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (bad / "latin1.txt").write_bytes("Art\xedculo".encode("latin-1"))
    (bad / "nul.txt").write_bytes(b"abc\x00def")
    report = bot.ingest([bad, tmp_path / "missing.txt"])
    reasons = {r.path.rsplit("/", 1)[-1]: r.reason for r in report.rejected}
    assert set(reasons) == {"empty.txt", "blank.md", "image.png", "latin1.txt", "nul.txt", "missing.txt"}
    assert "unsupported file type" in reasons["image.png"] and "UTF-8" in reasons["latin1.txt"]
    assert not report.added and not report.removed
    assert {a.id: a.sha256 for a in bot.articles()} == before
    assert bot.store.count_chunks() == count


def test_nonexistent_path_only_is_an_error(bot, tmp_path):
    with pytest.raises(IngestError, match="no such file"):
        bot.ingest([tmp_path / "nope"])


def test_duplicate_ids_in_one_run_are_rejected(bot, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "same.txt").write_text("First text about Baku.")
    (tmp_path / "b" / "same.md").write_text("Second text about Yerevan.")
    report = bot.ingest([tmp_path / "a", tmp_path / "b"])
    assert report.added == ["same"]
    assert len(report.rejected) == 1 and "duplicate article id" in report.rejected[0].reason


def test_renamed_file_is_a_new_article_and_the_old_one_is_removed(bot, seeds_copy):
    bot.ingest([seeds_copy])
    shutil.move(seeds_copy / f"{KHOJALY}.txt", seeds_copy / "khojaly.txt")
    report = bot.ingest([seeds_copy])
    assert report.added == ["khojaly"] and report.removed == [KHOJALY]


def test_empty_store_is_seeded_on_first_use(settings):
    bot = Assistant(settings, embedder=FakeEmbedder())
    assert len(bot.articles()) == 5


def test_sentences_keep_their_translation_and_a_store_built_without_one_gains_it_once(settings, seeds_copy):
    plain = Assistant(settings.model_copy(update={"translate": False}), embedder=FakeEmbedder(), auto_ingest=False)
    plain.ingest([seeds_copy])
    assert not any(a.translated for a in plain.articles())
    translator, embedder = FakeTranslator(), FakeEmbedder()
    bot = Assistant(settings, embedder=embedder, translator=translator, auto_ingest=False)
    again = bot.ingest([seeds_copy])
    assert sorted(again.unchanged) == sorted(p.stem for p in seeds_copy.glob("*.txt")) and not again.updated
    assert embedder.passages_embedded == 0  # the translations join the stored sentences; nothing is embedded again
    assert all(a.translated for a in bot.articles())
    chunks = bot.store.all_chunks()
    stored = bot.store.sentences_for([c.id for c in chunks if c.article_id == KHOJALY])
    assert stored and all(s.translation == f"<es> {s.text}" for s, _ in stored)
    spanish = bot.store.sentences_for([c.id for c in chunks if c.article_id == SPANISH])
    assert spanish and all(s.translation == f"<en> {s.text}" for s, _ in spanish)
    assert bot.ingest([seeds_copy]).unchanged and len(translator.calls) == 5  # once per article, not again


def test_a_failing_translator_stores_the_sentences_without_translations(bot, settings, seeds_copy):
    broken = Assistant(settings, embedder=FakeEmbedder(), translator=FakeTranslator(fail=True), auto_ingest=False)
    report = broken.ingest([seeds_copy])
    assert len(report.added) == 5 and not report.rejected
    assert not any(a.translated for a in broken.articles())


def test_an_untranslated_article_is_only_translated_again_at_the_next_ingest(settings, seeds_copy):
    translator, embedder = FakeTranslator(fail=True), FakeEmbedder()
    bot = Assistant(settings, embedder=embedder, translator=translator, auto_ingest=False)
    bot.ingest([seeds_copy])
    embedded, tried = embedder.passages_embedded, len(translator.calls)
    again = bot.ingest([seeds_copy])
    assert len(again.unchanged) == 5 and not again.updated
    assert embedder.passages_embedded == embedded and len(translator.calls) == 2 * tried
    translator.fail = False  # Apertium's language pair installed since
    bot.ingest([seeds_copy])
    assert all(a.translated for a in bot.articles()) and embedder.passages_embedded == embedded
    stored = bot.store.article_sentences(KHOJALY)
    assert stored and all(s.translation == f"<es> {s.text}" for s in stored)
