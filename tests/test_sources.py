"""Inputs to articles: every format from a folder, a URL and a feed on a server the test starts on 127.0.0.1; and
end to end, `qa ingest` then `qa ask --json` with the real default models answering from each, citing it."""

import json
import re

import pytest

from qa.core.settings import Settings
from qa.ingest.sources import Known, Sources, stable_id
from qa.core.types import Article, Rejected
from tests.conftest import make_settings
from tests.fakes import FakeSite, docx_bytes, news_page, pdf_bytes, rss_feed

MARKET = ["The Bolhão market in Porto reopened on Friday after four years of renovation, the city council said.",
          "The restored market has 79 stalls selling fish, fruit, flowers and bread under a new glass roof.",
          "The works cost 26 million euros, paid by the city."]
HARBOUR = ["The port of Lisbon reopened on Tuesday after a storm closed it for three days, the harbour authority said.",
           "42 cargo ships waited off the coast while crews repaired two damaged cranes at the container terminal.",
           "The authority said the repairs cost 3.1 million euros."]
BRIDGE = ["The Luiz I bridge in Porto will close to traffic for 6 weeks from 4 May for repairs, the city council said "
          "on Monday. Engineers found corrosion in two of the steel arches during an inspection last winter.",
          "Buses will replace metro line D while the bridge is closed."]
LIBRARY = ["The new public library of Valencia opened on Saturday in a former tobacco factory.",
           "The library holds 120,000 books and has 600 reading places, the regional government said."]
FARO = "<p>Faro airport opened 3 new boarding gates on Sunday to handle the summer traffic.</p><p>The gates cost 5 million euros.</p>"
BRAGA = ["Braga's football stadium will get a roof over its open stands by 2026, the club announced on Saturday.",
         "The roof will cover 9,000 square metres and cost 12 million euros."]


@pytest.fixture
def site():
    with FakeSite() as s:
        yield s


@pytest.fixture
def newsroom(site, tmp_path):
    """A folder with a page, a PDF, a DOCX and a feed; the server holds a page, the feed's linked page and a PDF."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "market.html").write_text(news_page("Porto's Bolhão market reopens", MARKET, site="Porto Gazette",
                                                  date="2024-02-16", author="Rita Sousa"), encoding="utf-8")
    (folder / "bridge.pdf").write_bytes(pdf_bytes("Luiz I bridge closes for repairs", BRIDGE, author="Douro Daily", created="2024-04-22T10:00:00"))
    (folder / "library.docx").write_bytes(docx_bytes("Valencia opens a new library", LIBRARY, author="Levante News", created="2024-05-11T08:00:00"))
    site.serve("/news/stadium", "text/html", news_page("Braga stadium gets a roof", BRAGA, site="Minho Post", date="2024-06-01", author="Rui Costa"))
    (folder / "wire.rss").write_text(rss_feed("Iberia Wire", [
        {"title": "Faro airport adds boarding gates", "link": site.url("/news/faro"), "date": "2024-06-02T07:00:00",
         "summary": "Faro adds three gates.", "content": FARO},
        {"title": "Braga stadium to get a roof", "link": site.url("/news/stadium"), "date": "2024-06-01T07:00:00",
         "summary": "Braga's stadium gets a roof."},
    ]), encoding="utf-8")
    site.serve("/news/harbour", "text/html; charset=utf-8", news_page("Lisbon harbour reopens after storm", HARBOUR,
                                                                      site="Coast Herald", date="2024-03-05", author="Ana Ribeiro"))
    return folder


def read(settings: Settings, inputs, known=()) -> list:
    sources = Sources(settings)
    try:
        return list(sources.read([str(i) for i in inputs], known))
    finally:
        sources.close()


def test_every_format_yields_articles_with_their_own_metadata(newsroom, site, tmp_path):
    settings = make_settings(tmp_path / "data", fetch_allow_private=True)
    items = read(settings, [newsroom, site.url("/news/harbour")])
    assert all(isinstance(i, Article) for i in items), items
    got = {a.path.rsplit("/", 1)[-1]: (a.title, a.date, a.source, a.lang) for a in items}
    assert got == {
        "market.html": ("Porto's Bolhão market reopens", "2024-02-16", "Porto Gazette", "en"),
        "bridge.pdf": ("Luiz I bridge closes for repairs", "2024-04-22", "Douro Daily", "en"),
        "library.docx": ("Valencia opens a new library", "2024-05-11", "Levante News", "en"),
        "faro": ("Faro airport adds boarding gates", "2024-06-02", "Iberia Wire", "en"),  # the entry's own content
        "stadium": ("Braga stadium to get a roof", "2024-06-01", "Minho Post", "en"),  # only a summary: its page was read
        "harbour": ("Lisbon harbour reopens after storm", "2024-03-05", "Coast Herald", "en"),
    }
    by_name = {a.path.rsplit("/", 1)[-1]: a for a in items}
    assert all(p in by_name["stadium"].text for p in BRAGA) and "Minho Post" not in by_name["stadium"].text
    assert by_name["harbour"].id == stable_id(site.url("/news/harbour")) and by_name["harbour"].author == "Ana Ribeiro"
    assert site.hits == {"/news/stadium": 1, "/news/harbour": 1}  # the full-content entry's link is not fetched


def test_a_stored_summary_entry_is_not_fetched_again_and_an_unreachable_page_leaves_the_summary(newsroom, site, tmp_path):
    settings = make_settings(tmp_path / "data", fetch_allow_private=True)
    feed = newsroom / "wire.rss"
    stadium = stable_id(site.url("/news/stadium"))
    assert Known(stadium, site.url("/news/stadium")) in read(settings, [feed], known={stadium})
    assert site.hits == {}
    del site.routes["/news/stadium"]
    summary = next(i for i in read(settings, [feed]) if isinstance(i, Article) and i.id == stadium)
    assert summary.text == "Braga's stadium gets a roof." and summary.source == "Iberia Wire"


def test_bad_items_are_rejected_one_by_one(newsroom, tmp_path):
    (newsroom / "photo.png").write_bytes(b"\x89PNG")
    (newsroom / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    items = read(make_settings(tmp_path / "data"), [newsroom, tmp_path / "missing.txt", "file:///etc/passwd", "http://127.0.0.1:9/x"])
    rejected = {r.path.rsplit("/", 1)[-1]: r.reason for r in items if isinstance(r, Rejected)}
    assert "unsupported file type '.png'" in rejected["photo.png"]
    assert "not a readable PDF" in rejected["broken.pdf"]
    assert rejected["missing.txt"] == "no such file or folder"
    assert "only http and https" in rejected["passwd"]
    assert "non-public address" in rejected["x"]
    # the summary-only entry's page is on 127.0.0.1 too: refused, so its summary is the article
    assert {a.path.rsplit("/", 1)[-1] for a in items if isinstance(a, Article)} == {"market.html", "bridge.pdf", "library.docx", "faro", "stadium"}


def test_ids_are_stable_readable_and_distinct():
    a, b = stable_id("https://news.example/world/2024/harbour-reopens"), stable_id("https://news.example/sport/harbour-reopens")
    assert a.startswith("news.example-harbour-reopens-") and a != b and a == stable_id("https://news.example/world/2024/harbour-reopens")
    assert stable_id("urn:uuid:1225c695-cfb8").startswith("uuid-1225c695-cfb8-")


# --- end to end: qa ingest, then qa ask --json on each format, with the real default models ----------------------

QUESTIONS = {
    "market.html": ("How many stalls does the restored Bolhão market have?", "79"),
    "bridge.pdf": ("How long will the Luiz I bridge close for repairs?", "6 weeks"),
    "library.docx": ("How many books does the new Valencia library hold?", "120,000"),
    "faro": ("How many boarding gates did Faro airport open?", "3 new boarding gates"),
    "stadium": ("By when will Braga's stadium get a roof?", "2026"),
    "harbour": ("How many cargo ships waited off the coast of Lisbon?", "42"),
}


@pytest.mark.model
def test_qa_ingest_and_ask_answer_from_each_format_citing_it(newsroom, site, tmp_path, monkeypatch, capsys):
    from qa.apps import render
    from qa.assistant import Assistant
    from qa.apps.cli import main

    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QA_FETCH_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("QA_TRANSLATE", "false")
    assert main(["ingest", str(newsroom), site.url("/news/harbour"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["added"]) == 6 and not report["rejected"] and not report["merged"]
    bot = Assistant(Settings(), auto_ingest=False)
    stored = {a.path.rsplit("/", 1)[-1]: a for a in bot.articles()}
    for name, (question, words) in QUESTIONS.items():
        assert main(["ask", question, "--json"]) == 0
        answer = json.loads(capsys.readouterr().out)
        assert not answer["refused"], (name, answer["text"])
        cite = answer["citations"][0]
        article = stored[name]
        assert (cite["article_id"], cite["title"], cite["date"], cite["source"]) == (article.id, article.title, article.date, article.source)
        text = bot.article_text(article.id)
        assert text[cite["start"] : cite["end"]] == cite["quote"] and words in cite["quote"], (name, cite)
        # the chat shows that article with exactly the quoted words highlighted
        same = bot.ask(question)
        first = same.citations[0]
        shown = re.sub(r"</?strong[^>]*>", "", render.render_sources(same, {first.article_id: text}, 0, selected=first.n))
        assert first.article_id == article.id and f'<mark class="qa-quote">{render.esc(cite["quote"])}</mark>' in shown
