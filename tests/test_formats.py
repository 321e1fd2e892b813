"""Each format's text and own metadata: a page without its menus and footer, a PDF and a DOCX with their properties,
a feed's entries."""

import pytest

from qa.ingest import formats
from qa.core.errors import InputRejected
from tests.fakes import docx_bytes, news_page, pdf_bytes, rss_feed

HARBOUR = [
    "The port of Lisbon reopened on Tuesday after a storm closed it for three days, the harbour authority said.",
    "42 cargo ships had waited off the coast while crews repaired two damaged cranes at the container terminal.",
]


def test_a_page_keeps_its_story_and_drops_menus_banners_related_links_comments_and_footer():
    page = news_page("Lisbon harbour reopens after storm", HARBOUR, site="Coast Herald", date="2024-03-05", author="Ana Ribeiro")
    got = formats.html(page.encode(), "http://news.test/harbour")
    assert all(p in got.text for p in HARBOUR)
    for boilerplate in ("Home", "Sport", "cookies", "Related", "Storm hits Porto", "Great news", "All rights reserved"):
        assert boilerplate not in got.text
    assert (got.title, got.date, got.source, got.author, got.lang) == (
        "Lisbon harbour reopens after storm", "2024-03-05", "Coast Herald", "Ana Ribeiro", "en")
    assert "\n\n" in got.text  # paragraphs stay paragraphs


def test_a_page_declares_its_language_and_a_date_outside_json_ld_is_found():
    page = ('<html lang="es-ES"><head><title>El metro de Sevilla</title><meta name="date" content="2023-11-20">'
            '<meta property="og:site_name" content="Diario del Sur"></head><body><article><h1>El metro de Sevilla</h1>'
            "<p>La línea 3 del metro de Sevilla tendrá 17 estaciones y abrirá en 2030, según la Junta.</p>"
            "<p>Las obras costarán 1.300 millones de euros.</p></article></body></html>")
    got = formats.html(page.encode())
    assert (got.lang, got.date, got.source) == ("es-ES", "2023-11-20", "Diario del Sur")


def test_a_pdf_reads_as_paragraphs_with_its_properties():
    raw = pdf_bytes("Porto bridge closes for repairs", [
        "The Luiz I bridge in Porto will close for six weeks from 4 May for repairs, the city council said on Monday. "
        "Engineers found corrosion in two of the steel arches during an inspection last winter.",
    ], author="Douro Daily", created="2024-04-22T10:00:00")
    got = formats.pdf(raw, short_line=0.7)
    assert (got.title, got.date, got.source, got.author) == ("Porto bridge closes for repairs", "2024-04-22", "Douro Daily", "Douro Daily")
    assert got.text.startswith("Porto bridge closes for repairs\n\nThe Luiz I bridge")
    assert "the city council said on Monday. Engineers found corrosion" in got.text  # layout line breaks undone
    assert "\n" not in got.text.split("\n\n", 1)[1]


def test_a_docx_reads_its_paragraphs_and_core_properties():
    raw = docx_bytes("Valencia opens a library", ["The new library holds 120,000 books.", "", "It cost 18 million euros."],
                     author="Levante News", created="2024-05-11T08:00:00", lang="es-ES")
    got = formats.docx(raw)
    assert got.text == "Valencia opens a library\n\nThe new library holds 120,000 books.\n\nIt cost 18 million euros."
    assert (got.title, got.date, got.source, got.lang) == ("Valencia opens a library", "2024-05-11", "Levante News", "es-ES")


def test_a_feed_gives_each_entry_its_title_date_link_and_text():
    feed = formats.feed(rss_feed("Iberia Wire", [
        {"title": "Faro airport adds gates", "link": "http://news.test/faro", "date": "2024-06-02T07:00:00",
         "summary": "Faro adds gates.", "content": "<p>Faro airport opened three gates on Sunday.</p><p>They cost 5 million euros.</p>"},
        {"title": "Braga stadium gets a roof", "link": "http://news.test/braga", "guid": "urn:braga-1", "date": "2024-06-01T07:00:00",
         "summary": "Braga's stadium gets a roof."},
    ]).encode())
    assert feed.title == "Iberia Wire"
    faro, braga = feed.entries
    assert (faro.key, faro.full, faro.content.title, faro.content.date, faro.content.source) == (
        "http://news.test/faro", True, "Faro airport adds gates", "2024-06-02", "Iberia Wire")
    assert faro.content.text == "Faro airport opened three gates on Sunday.\n\nThey cost 5 million euros."
    assert (braga.key, braga.link, braga.full, braga.content.text) == ("urn:braga-1", "http://news.test/braga", False,
                                                                       "Braga's stadium gets a roof.")


@pytest.mark.parametrize("reader, raw, reason", [
    (lambda raw: formats.pdf(raw, 0.7), b"%PDF-1.4 not really", "not a readable PDF"),
    (formats.docx, b"PK\x03\x04 not a zip", "not a readable DOCX"),
    (formats.feed, b"<html><body>no feed</body></html>", "not an RSS or Atom feed"),
    (formats.html, b"<html><body><div> </div></body></html>", "no article text"),
])
def test_unreadable_documents_are_rejected_with_a_reason(reader, raw, reason):
    with pytest.raises(InputRejected, match=reason):
        reader(raw)
