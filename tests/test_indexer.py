import shutil

import pytest

from qa import Assistant
from qa.core.errors import IngestError
from tests.conftest import KHOJALY, SPANISH, make_settings
from tests.fakes import FakeEmbedder, FakeSite, FakeTranslator, news_page, rss_feed


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
    assert bot.ingest([seeds_copy]).unchanged and len(translator.calls) == 2  # one batch per language, not again


@pytest.mark.parametrize(("batch", "runs"), [(1, 5), (10_000, 2)])
def test_translations_are_made_a_batch_of_articles_per_language(settings, seeds_copy, batch, runs):
    translator = FakeTranslator()
    bot = Assistant(settings.model_copy(update={"translate_batch": batch}), embedder=FakeEmbedder(), translator=translator,
                    auto_ingest=False)
    bot.ingest([seeds_copy])
    assert len(translator.calls) == runs and sorted({c[0] for c in translator.calls}) == ["en", "es"]
    assert all(a.translated for a in bot.articles())
    for a in bot.articles():
        stored = bot.store.article_sentences(a.id)
        assert stored and all(s.translation == f"<{'es' if a.lang == 'en' else 'en'}> {s.text}" for s in stored)


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


def test_sentences_keep_their_event_dates_and_a_store_written_before_them_is_dated_by_the_next_ingest(settings, seeds_copy):
    embedder = FakeEmbedder()
    bot = Assistant(settings.model_copy(update={"translate": False}), embedder=embedder, auto_ingest=False)
    bot.ingest([seeds_copy])
    dates = {s.text[:40]: s.event_date for s in bot.store.article_sentences(KHOJALY)}
    assert "1992-02-26" in dates.values() and "2023" in dates.values() and None in dates.values()
    # The store as the code before event dates wrote it: no dates on the sentences, the records not marked dated.
    got = bot.store.sentences.get(include=["metadatas"])
    bot.store.sentences.update(ids=got["ids"], metadatas=[{**m, "event_date": None} for m in got["metadatas"]])
    records = bot.store.articles.get(include=["metadatas"])
    bot.store.articles.update(ids=records["ids"], metadatas=[{**m, "dated": False} for m in records["metadatas"]])
    bot.store.commit_lexical()
    old = Assistant(settings.model_copy(update={"translate": False}), embedder=embedder, auto_ingest=False)
    assert not old.ask("How many people were taken hostage in Khojaly?").refused  # it keeps working, undated
    chunks = [c.id for c in old.store.all_chunks() if c.article_id == KHOJALY]
    assert not any(s.event_date for s, _ in old.retriever.sentences_for(chunks))
    embedded = embedder.passages_embedded
    again = old.ingest([seeds_copy])
    assert len(again.unchanged) == 5 and embedder.passages_embedded == embedded  # dated in place, nothing embedded again
    assert all(a.dated for a in old.articles())
    assert {s.text[:40]: s.event_date for s in old.store.article_sentences(KHOJALY)} == dates
    assert {s.text[:40]: s.event_date for s, _ in old.retriever.sentences_for(chunks)} == dates


# --- near-duplicates, feeds, URLs -------------------------------------------------------------------------------


def syndicated_copy(text: str) -> str:
    """How another outlet runs a wire story: its own byline and credit line, a few words changed."""
    edited = text.replace("The Peruvian Congress", "Peru's Congress", 1).replace("adopted", "approved", 1)
    return f" date 2024-02-28 By Azertac\n\n{edited}\n\nAzertac, with information from the Azerbaijani Embassy in Mexico."


def test_a_syndicated_copy_is_merged_into_its_story_and_listed_as_its_outlet(bot, seeds_copy, tmp_path):
    bot.ingest([seeds_copy])
    count = bot.store.count_chunks()
    (seeds_copy / "khojaly_copy.txt").write_text(syndicated_copy(bot.article_text(KHOJALY)))
    report = bot.ingest([seeds_copy])
    assert [(m.id, m.into, m.source) for m in report.merged] == [("khojaly_copy", KHOJALY, "Azertac")]
    assert report.merged[0].similarity >= bot.settings.duplicate_jaccard and not report.added
    assert bot.store.count_chunks() == count  # its text is not indexed a second time
    stored = {a.id: a for a in bot.articles()}
    assert stored["khojaly_copy"].same_as == KHOJALY and stored["khojaly_copy"].chunks == 0
    assert stored[KHOJALY].outlets == ("Azernews", "Azertac")
    answer = bot.ask("How many people were taken hostage in Khojaly?")
    assert "khojaly_copy" not in {p.article_id for p in answer.passages}
    khojaly = [c for c in answer.citations if c.article_id == KHOJALY]
    assert len(khojaly) == 1 and khojaly[0].outlets == ("Azernews", "Azertac")
    again = bot.ingest([seeds_copy])
    assert "khojaly_copy" in again.unchanged and not again.merged and not again.added


def test_a_copy_ingested_with_its_story_is_recorded_only_after_the_story_is_committed(tmp_path, seeds_copy):
    first = Assistant(make_settings(tmp_path / "first"), embedder=FakeEmbedder(), auto_ingest=False)
    first.ingest([seeds_copy])
    (seeds_copy / "khojaly_copy.txt").write_text(syndicated_copy(first.article_text(KHOJALY)))
    bot = Assistant(make_settings(tmp_path / "both"), embedder=FakeEmbedder(), auto_ingest=False)  # one batch would hold all
    written: list[list[str]] = []
    upsert = bot.store.articles.upsert
    bot.store.articles.upsert = lambda *a, ids, **kw: written.append(list(ids)) or upsert(*a, ids=ids, **kw)
    report = bot.ingest([seeds_copy])
    assert [m.id for m in report.merged] == ["khojaly_copy"] and len(report.added) == 5
    copy_at = next(i for i, ids in enumerate(written) if "khojaly_copy" in ids)
    assert written[copy_at] == ["khojaly_copy"] and any(KHOJALY in ids for ids in written[:copy_at])
    assert {a.id: a.same_as for a in bot.articles()}["khojaly_copy"] == KHOJALY


def test_removing_the_copy_or_its_story_keeps_the_rest_right(bot, seeds_copy):
    bot.ingest([seeds_copy])
    copy = seeds_copy / "khojaly_copy.txt"
    copy.write_text(syndicated_copy(bot.article_text(KHOJALY)))
    bot.ingest([seeds_copy])
    copy.unlink()
    assert bot.ingest([seeds_copy]).removed == ["khojaly_copy"]
    assert next(a for a in bot.articles() if a.id == KHOJALY).outlets == ("Azernews",)
    copy.write_text(syndicated_copy(bot.article_text(KHOJALY)))
    assert [m.id for m in bot.ingest([seeds_copy]).merged] == ["khojaly_copy"]
    (seeds_copy / f"{KHOJALY}.txt").unlink()
    report = bot.ingest([seeds_copy])  # the story is gone: its copy becomes the article
    assert report.removed == [KHOJALY] and report.updated == ["khojaly_copy"] and not report.merged
    promoted = next(a for a in bot.articles() if a.id == "khojaly_copy")
    assert promoted.same_as is None and promoted.chunks > 0 and promoted.outlets == ("Azertac",)


@pytest.fixture
def site():
    with FakeSite() as s:
        yield s


def wire_feed(site: FakeSite, extra: list[dict] = ()) -> str:
    entries = [
        {"title": "Faro airport adds gates", "link": site.url("/faro"), "date": "2024-06-02T07:00:00", "summary": "Faro adds gates.",
         "content": "<p>Faro airport opened 3 new boarding gates on Sunday.</p><p>The gates cost 5 million euros.</p>"},
        {"title": "Braga stadium gets a roof", "link": site.url("/braga"), "date": "2024-06-01T07:00:00", "summary": "Braga's roof."},
        *extra,
    ]
    return site.serve("/feed.xml", "application/rss+xml", rss_feed("Iberia Wire", entries))


def test_a_feed_read_again_adds_only_its_new_entries(settings, site):
    bot = Assistant(settings.model_copy(update={"fetch_allow_private": True}), embedder=FakeEmbedder(), auto_ingest=False)
    site.serve("/braga", "text/html", news_page("Braga stadium gets a roof", [
        "Braga's football stadium will get a roof over its open stands by 2026, the club announced on Saturday."],
        site="Minho Post", date="2024-06-01", author="Rui Costa"))
    first = bot.ingest([wire_feed(site)])
    assert len(first.added) == 2 and not first.rejected
    count = bot.store.count_chunks()
    again = bot.ingest([site.url("/feed.xml")])
    assert (again.added, again.updated, sorted(again.unchanged)) == ([], [], sorted(first.added))
    assert bot.store.count_chunks() == count and site.hits == {"/feed.xml": 2, "/braga": 1}  # the page is not fetched again
    site.serve("/porto", "text/html", news_page("Porto metro extends", ["The Porto metro will add 7 stations by 2027, the operator said."],
                                                site="Douro Daily", date="2024-06-03", author="Ana"))
    wire_feed(site, [{"title": "Porto metro extends", "link": site.url("/porto"), "date": "2024-06-03T07:00:00", "summary": "Metro."}])
    third = bot.ingest([site.url("/feed.xml")])
    assert len(third.added) == 1 and third.added[0].startswith("127.0.0.1-porto-") and len(third.unchanged) == 2


def test_refused_and_failing_urls_are_reported_and_lose_nothing(bot, seeds_copy, site, monkeypatch, tmp_path):
    bot.ingest([seeds_copy])
    before = {a.id: a.sha256 for a in bot.articles()}
    report = bot.ingest([site.serve("/p", "text/html", "<p>x</p>"), "file:///etc/passwd"])
    assert [r.path for r in report.rejected] == [site.url("/p"), "file:///etc/passwd"]
    assert "non-public address" in report.rejected[0].reason and report.all_rejected
    assert {a.id: a.sha256 for a in bot.articles()} == before and site.hits == {}
    # a folder ingest never removes an article that came from a URL, wherever the folder is
    allowed = Assistant(bot.settings.model_copy(update={"fetch_allow_private": True}), embedder=FakeEmbedder(), auto_ingest=False)
    url = site.serve("/harbour", "text/html", news_page("Lisbon harbour reopens", [
        "The port of Lisbon reopened on Tuesday after a storm closed it for three days."], site="Coast Herald", date="2024-03-05", author="Ana"))
    assert len(allowed.ingest([url]).added) == 1
    monkeypatch.chdir(tmp_path)
    assert allowed.ingest([tmp_path / "articles"]).removed == []
    assert any(a.path == url for a in allowed.articles())


def test_progress_counts_files_chunks_and_estimates_the_rest(bot, seeds_copy):
    seen = []
    report = bot.ingest([seeds_copy], progress=seen.append)
    files = len(list(seeds_copy.glob("*.txt")))
    assert [p.files_done for p in seen] == list(range(1, files + 1)) and {p.files_total for p in seen} == {files}
    assert seen[-1].chunks == report.chunks and seen[-1].eta_seconds == 0
    assert all(a.chunks <= b.chunks and a.seconds <= b.seconds for a, b in zip(seen, seen[1:]))
    first = seen[0]
    assert first.eta_seconds == pytest.approx((files - 1) * first.seconds) and first.chunks_per_second > 0


def test_qa_ingest_prints_progress_at_most_every_few_seconds_and_always_the_end(capsys):
    from qa.apps.uploads import progress_printer
    from qa.core.types import IngestProgress

    show = progress_printer(3600.0)
    for done in range(1, 11):
        show(IngestProgress(done, 10, done * 5, done * 2.0))
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["1/10 files · 5 chunks · 2.5 chunks/s · ETA 0:00:18", "10/10 files · 50 chunks · 2.5 chunks/s · ETA 0:00:00"]


def test_an_interrupted_ingest_commits_what_it_stored_and_the_next_run_resumes_there(settings, seeds_copy):
    class Interrupted(FakeEmbedder):
        def embed_passages(self, texts):
            if self.passages_embedded > 30:  # a Ctrl-C while the third batch is embedded
                raise KeyboardInterrupt
            return super().embed_passages(texts)

    settings = settings.model_copy(update={"write_batch": 20})  # two seed articles a batch
    bot = Assistant(settings, embedder=Interrupted(), auto_ingest=False)
    with pytest.raises(KeyboardInterrupt):
        bot.ingest([seeds_copy])
    done = {a.id: a.version for a in bot.store.manifest().values()}
    assert 0 < len(done) < 5
    assert bot.store.lexical.load().held == done  # committed on the way out, not left for the next query to rebuild
    again = Assistant(settings, embedder=FakeEmbedder(), auto_ingest=False).ingest([seeds_copy])
    assert sorted(again.unchanged) == sorted(done) and len(again.added) == 5 - len(done)
