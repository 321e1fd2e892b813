"""Bad input: odd questions, odd files and odd folders each get a clear error or a sensible answer, and nothing stored is lost."""

import os
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings as hsettings, strategies as st

from qa import Answer, Assistant
from qa.ingest.articles import ArticleRejected, parse_text
from qa.core.errors import InvalidQuestion
from qa.ingest.chunking import chunk_article, count_tokens, sentences_of
from tests.conftest import KHOJALY, SEEDS, SPANISH, make_settings
from tests.fakes import FakeEmbedder, FakeLLM

# Worded close to the article, so the hashing FakeEmbedder finds it answerable.
FAKE_QUESTION = "Were 1275 people taken hostage and does the fate of 150 people remain unknown?"


@pytest.fixture(scope="module")
def bot(tmp_path_factory) -> Assistant:
    """Seeds on the fake embedder with an LLM that cites, shared by the read-only question tests."""
    b = Assistant(make_settings(tmp_path_factory.mktemp("rel") / "data"), embedder=FakeEmbedder(), llm=FakeLLM(), auto_ingest=False)
    b.ingest([SEEDS])
    return b


@pytest.fixture
def fresh(settings, seeds_copy) -> Assistant:
    b = Assistant(settings, embedder=FakeEmbedder(), auto_ingest=False)
    b.ingest([seeds_copy])
    return b


def snapshot(bot: Assistant) -> tuple[dict[str, str], int]:
    return {a.id: a.sha256 for a in bot.articles()}, bot.store.count_chunks()


def assert_grounded(bot: Assistant, answer: Answer) -> None:
    """Either a refusal, or every citation quotes its article exactly at its offsets."""
    assert answer.refused == (not answer.citations)
    for c in answer.citations:
        assert bot.article_text(c.article_id)[c.start : c.end] == c.quote
        assert c.supported is True


# --- questions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, message",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\n\t\r\n", "empty"),
        ("?!... ¿¡", "has no words"),
        ("😀🙏", "has no words"),
        ("\x00\x01\x07\x1b", "empty"),
        ("\u200b\u200b", "empty"),
        ("x" * 100_000, "too long .100,000 characters; the limit is 2,000"),
        (None, "must be text"),
        (b"How many?", "must be text"),
    ],
    ids=["empty", "spaces", "whitespace", "punctuation", "emoji", "control", "zero-width", "100k", "none", "bytes"],
)
def test_unusable_questions_are_clear_errors_and_fast(bot, question, message):
    before = snapshot(bot)
    t0 = time.perf_counter()
    with pytest.raises(InvalidQuestion, match=message):
        bot.ask(question)
    assert time.perf_counter() - t0 < 1.0  # rejected before any retrieval or embedding
    assert snapshot(bot) == before


def test_control_characters_inside_a_question_are_ignored(bot):
    clean = bot.ask(FAKE_QUESTION)
    noisy = bot.ask(FAKE_QUESTION.replace(" ", " \x00\x07", 3).replace("hostage", "host\x1bage") + "\x7f")
    assert not clean.refused
    assert (noisy.text, [p.chunk_id for p in noisy.passages]) == (clean.text, [p.chunk_id for p in clean.passages])


def test_question_at_the_length_limit_is_answered_or_refused(bot):
    question = (FAKE_QUESTION + " ") * (bot.settings.max_question_chars // (len(FAKE_QUESTION) + 1))
    assert len(question.strip()) <= bot.settings.max_question_chars
    t0 = time.perf_counter()
    assert_grounded(bot, bot.ask(question))
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize(
    "history",
    [
        [{"role": "user"}, {"role": "assistant", "content": None}],
        [{"role": "user", "content": ["a", "list"]}, {"role": "tool", "content": "x"}],
        [{"role": "user", "content": "Khojaly"}, {"role": "assistant"}],
        [{"role": "user", "content": "Khojaly"}] * 200,
        [],
    ],
    ids=["missing-content", "odd-content", "assistant-without-content", "long", "empty"],
)
def test_odd_histories_do_not_break_follow_ups(bot, history):
    assert_grounded(bot, bot.ask("And how many were taken hostage?", history=history))


@pytest.mark.model
@pytest.mark.parametrize(
    "question",
    [
        "Combien de personnes ont été prises en otage à Khojaly ?",
        "Wie viele Menschen wurden in Chodschali als Geiseln genommen?",
        "Сколько человек было взято в заложники в Ходжалы?",
        "霍贾利有多少人被劫为人质？",
        "كم عدد الأشخاص الذين أخذوا رهائن في خوجالي؟",
        "Wie hoch ist der Siedepunkt von Quecksilber?",
    ],
    ids=["fr", "de", "ru", "zh", "ar", "de-off-topic"],
)
def test_other_languages_get_a_grounded_answer_or_a_refusal(real_bot, question):
    answer = real_bot.ask(question)
    assert_grounded(real_bot, answer)
    assert answer.lang in ("en", "es")


@pytest.mark.model
def test_supported_languages_still_answer_with_the_right_article(real_bot):
    en = real_bot.ask("How many people were taken hostage in Khojaly?")
    es = real_bot.ask("¿Cuánto duró la reunión trilateral en el Kremlin?")
    assert "1275" in en.text and en.citations[0].article_id == KHOJALY
    assert not es.refused and es.citations[0].article_id == SPANISH and es.lang == "es"


# --- files and folders ---------------------------------------------------------------------------------


def test_mixed_folder_adds_the_articles_rejects_the_rest_with_reasons_and_loses_nothing(fresh, tmp_path):
    before = snapshot(fresh)
    mixed = tmp_path / "mixed"
    (mixed / "sub" / "deeper").mkdir(parents=True)
    (mixed / ".hidden").mkdir()
    (mixed / "good.txt").write_text("Baku hosted the regional summit on Tuesday.\n\nLeaders signed a transit agreement.")
    (mixed / "sub" / "notes.md").write_text("# Harbour news\n\nThe new ferry terminal in Alat opened to passengers.")
    (mixed / "sub" / "deeper" / "crlf.TXT").write_bytes(b"\xef\xbb\xbfWindows line\r\nendings and a BOM.\r\n")
    (mixed / ".hidden" / "secret.txt").write_text("never ingested")
    (mixed / ".dotfile.txt").write_text("never ingested")
    (mixed / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    (mixed / "binary.txt").write_bytes(os.urandom(300) + b"\x00")
    (mixed / "latin1.txt").write_bytes("Artículo en latín-1".encode("latin-1"))
    (mixed / "empty.md").write_bytes(b"")
    (mixed / "blank.txt").write_text(" \n\t\n")
    (mixed / "noext").write_text("no suffix")
    (mixed / "bad name!.txt").write_text("A file whose name is not a usable id.")
    (mixed / "sub" / "loop").symlink_to(mixed, target_is_directory=True)

    report = fresh.ingest([mixed])
    assert sorted(report.added) == ["crlf", "good", "notes"]
    reasons = {Path(r.path).name: r.reason for r in report.rejected}
    assert set(reasons) == {"image.png", "binary.txt", "latin1.txt", "empty.md", "blank.txt", "noext", "bad name!.txt"}
    assert all(reasons.values())
    assert "binary" in reasons["binary.txt"] and "UTF-8" in reasons["latin1.txt"] and "unusable article id" in reasons["bad name!.txt"]
    assert fresh.article_text("crlf") == "Windows line\nendings and a BOM."
    ids, count = snapshot(fresh)
    assert {k: v for k, v in ids.items() if k in before[0]} == before[0] and count > before[1]


def test_huge_files_are_rejected_and_large_single_line_ones_chunk_exactly(tmp_path):
    bot = Assistant(make_settings(tmp_path / "data", max_file_bytes=400_000), embedder=FakeEmbedder(), auto_ingest=False)
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "huge.txt").write_text("word " * 100_000)  # 500 kB
    words = [f"token{i % 977}" for i in range(35_000)]
    (folder / "oneline.txt").write_text(" ".join(words))  # ~370 kB, no sentence or line break anywhere
    t0 = time.perf_counter()
    report = bot.ingest([folder])
    assert report.added == ["oneline"] and "too large" in report.rejected[0].reason
    text = bot.article_text("oneline")
    chunks = bot.store.all_chunks()
    assert len(chunks) > 100 and all(text[c.start : c.end] == c.text for c in chunks)
    assert time.perf_counter() - t0 < 120


def test_duplicated_content_under_two_names_is_one_story_and_idempotent(fresh, tmp_path):
    """Copies of a stored article are merged into it (recorded, not indexed again); with merging off they are articles."""
    dup = tmp_path / "dup"
    dup.mkdir()
    for name in ("copy-a.txt", "copy-b.txt"):
        shutil.copyfile(SEEDS / f"{KHOJALY}.txt", dup / name)
    count = fresh.store.count_chunks()
    report = fresh.ingest([dup])
    assert [(m.id, m.into, m.similarity) for m in report.merged] == [("copy-a", KHOJALY, 1.0), ("copy-b", KHOJALY, 1.0)]
    assert not report.added and fresh.store.count_chunks() == count
    ids, count = snapshot(fresh)
    again = fresh.ingest([dup])
    assert sorted(again.unchanged) == ["copy-a", "copy-b"] and snapshot(fresh) == (ids, count)
    apart = Assistant(fresh.settings.model_copy(update={"merge_duplicates": False, "collection": "apart"}), embedder=FakeEmbedder(),
                      auto_ingest=False)
    assert sorted(apart.ingest([SEEDS, dup]).added) == sorted([*(p.stem for p in SEEDS.glob("*.txt")), "copy-a", "copy-b"])


def test_file_moved_into_a_subfolder_is_unchanged_then_removed_when_deleted(fresh, seeds_copy):
    (seeds_copy / "sub").mkdir()
    moved = seeds_copy / "sub" / f"{KHOJALY}.txt"
    shutil.move(seeds_copy / f"{KHOJALY}.txt", moved)
    report = fresh.ingest([seeds_copy])
    assert KHOJALY in report.unchanged and not report.removed
    moved.unlink()
    assert fresh.ingest([seeds_copy]).removed == [KHOJALY]


def test_file_moved_to_another_folder_survives_ingesting_the_old_one(fresh, seeds_copy, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.move(seeds_copy / f"{KHOJALY}.txt", elsewhere / f"{KHOJALY}.txt")
    assert KHOJALY in fresh.ingest([elsewhere]).unchanged
    fresh.ingest([seeds_copy])
    assert KHOJALY in {a.id for a in fresh.articles()}


# --- property: parsing and chunking ----------------------------------------------------------------------

_WORDS = st.sampled_from(["the", "Baku", "1,275", "people", "Sr.", "U.S.", "café", "Azerbaiyán", "¿qué?", "¡sí!", "日本語",
                          "—", "«cita»", "e.g.", "No.", "3.5", "hostages", "Khojaly", "x" * 30])
_SEPS = st.sampled_from([" ", " ", " ", ". ", "? ", "! ", "\n", "\n\n", "\r\n", "\t", "  ", "\x07", "\x1b", "\u200b", "… ", '." ', "\n \n"])
ARTICLE_TEXT = st.lists(st.tuples(_WORDS, _SEPS), max_size=250).map(lambda xs: "".join(w + s for w, s in xs)) | st.text(max_size=400)
PROPERTY = hsettings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(ARTICLE_TEXT, st.sampled_from([32, 64, 128]), st.sampled_from([0, 8, 16]))
def test_parsing_and_chunking_keep_exact_offsets(raw, size, overlap):
    try:
        article = parse_text(raw, "prop")
    except ArticleRejected:
        assert not any(c.isalnum() for c in raw)
        return
    assert article.text == article.text.strip() and any(c.isalnum() for c in article.text)
    assert not any(ord(c) < 32 and c not in "\n\t" for c in article.text)
    chunks = chunk_article(article, size, overlap)
    assert chunks
    for c in chunks:
        assert article.text[c.start : c.end] == c.text
        assert count_tokens(c.text) <= size
    by_id = {c.id: c for c in chunks}
    for s in sentences_of(article, chunks):
        assert article.text[s.start : s.end] == s.text
        assert by_id[s.chunk_id].start <= s.start < by_id[s.chunk_id].end


@PROPERTY
@example("The war ended in 1994 after the ceasefire. " * 60, 128, 16)
@example("日本語のテキスト。 " * 4, 32, 0)
@given(ARTICLE_TEXT, st.sampled_from([32, 64, 128]), st.sampled_from([0, 16]))
def test_chunks_cover_every_word_of_the_article(raw, size, overlap):
    try:
        article = parse_text(raw, "prop")
    except ArticleRejected:
        return
    covered = set()
    for c in chunk_article(article, size, overlap):
        covered.update(range(c.start, c.end))
    assert "".join(ch for i, ch in enumerate(article.text) if i not in covered).strip() == ""
