import pytest

from qa.ingest.articles import ArticleRejected, parse_bytes, parse_file, parse_text
from tests.conftest import SEEDS

EXPECTED = {
    "000_fbefe321117536a3": ("2021-10-08", "Trend", "en"),
    "001_0fce656212b9b58a": ("2024-02-28", "Azernews", "en"),
    "002_80680643ca28e344": (None, None, "es"),
    "003_4e2d7c02eb82f3b3": ("2022-09-13", "EFE", "en"),
    "004_332e190914e64a60": ("2020-11-27", "Trend", "en"),
}


@pytest.mark.parametrize("article_id", sorted(EXPECTED))
def test_seed_metadata(article_id):
    a = parse_file(SEEDS / f"{article_id}.txt", 10**6)
    assert a.id == article_id
    assert (a.date, a.source, a.lang) == EXPECTED[article_id]
    assert not a.text.lstrip().lower().startswith("date ")  # header removed
    assert a.text == a.text.strip() and a.title


def test_spanish_article_without_date_uses_headline_as_title():
    a = parse_file(SEEDS / "002_80680643ca28e344.txt", 10**6)
    assert a.title == "Las conversaciones trilaterales entre Putin, Aliyev y Pashinyan duraron casi 4 horas"
    assert a.date is None and a.lang == "es"


def test_header_text_is_removed_but_body_kept_verbatim():
    raw = (SEEDS / "001_0fce656212b9b58a.txt").read_text()
    a = parse_text(raw, "001_0fce656212b9b58a")
    assert "28 February 2024 14:43" not in a.text
    assert a.text in raw


def test_markdown_title_and_date():
    a = parse_text("# Big news\n date 2023-01-02 By Reuters\n\nThe mayor said hello to everyone.", "md1", markdown=True)
    assert (a.title, a.date, a.source) == ("Big news", "2023-01-02", "Reuters")
    assert a.text == "The mayor said hello to everyone."


@pytest.mark.parametrize(
    "raw, reason",
    [(b"", "no article text"), (b"   \n\t ", "no article text"), (b"\x00\x01binary", "binary"), (b"caf\xe9 \xff", "not UTF-8")],
)
def test_bad_bytes_are_rejected_with_reason(raw, reason):
    with pytest.raises(ArticleRejected, match=reason):
        parse_bytes(raw, "x")


def test_file_rules(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "big.txt").write_text("word " * 100)
    with pytest.raises(ArticleRejected, match="unsupported file type"):
        parse_file(tmp_path / "a.pdf", 10**6)
    with pytest.raises(ArticleRejected, match="empty file"):
        parse_file(tmp_path / "empty.txt", 10**6)
    with pytest.raises(ArticleRejected, match=r"too large \(\d+\.\d MB; the limit is \d+\.\d MB\)"):
        parse_file(tmp_path / "big.txt", 100)


def test_control_characters_are_dropped_and_crlf_normalised():
    a = parse_text("Hello\x07 world.\r\nSecond line\x1b here.", "c")
    assert a.text == "Hello world.\nSecond line here."


def test_a_documents_own_metadata_comes_before_the_texts_patterns():
    from qa.ingest.articles import make_article
    from qa.core.types import Extracted

    text = "By Trend\n\nLa línea 3 del metro de Sevilla tendrá 17 estaciones y abrirá en 2030, según EFE."
    a = make_article("metro", "m.html", Extracted(text=text, title="  El metro\n de Sevilla ", date="2023-11-20", source="Diario del Sur",
                                                  author="Ana", lang="en-GB"))
    assert (a.title, a.date, a.source, a.author, a.lang) == ("El metro de Sevilla", "2023-11-20", "Diario del Sur", "Ana", "en")
    bare = make_article("metro", "m.html", Extracted(text=text, lang="fr"))  # a language without word lists: the text decides
    assert (bare.source, bare.lang, bare.title) == ("EFE", "es", "By Trend")
    assert bare.text == text and bare.sha256 == a.sha256


def test_a_date_line_naming_no_real_day_leaves_the_article_undated():
    article = parse_text(" date 2024-02-30\nTitle\n\nThe council met on Tuesday.", "bad-date")
    assert article.date is None and "The council met" in article.text
