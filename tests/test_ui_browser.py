"""The real chat (`qa chat`, real embedded model, store under tmp_path) driven in headless Chromium and by gradio_client."""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import json
from typing import NamedTuple

import httpx
import pytest

from qa.settings import PROJECT_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.server]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
QUESTION = "How many people were taken hostage in Khojaly?"
STARTUP_SECONDS = 400  # the seeds are embedded before the server listens; slow on a busy 2-core machine

TRAMS = """date 2025-03-14 By Lusa

Lisbon orders electric trams

The Lisbon city council approved the purchase of 42 new electric trams on Friday, the mayor said.
The first trams will run on line 15 from the spring of 2026.
"""
SCRIPTED = """date 2025-03-15 By Lusa

Harbour notice defaced in Valparaiso

The harbour master of Valparaiso found the text <script>window.__qa_pwned = 1</script> and <b>bold claims</b> pasted on the harbour notice board.
Officials removed the notice from the board on Saturday morning.
"""


class Chat(NamedTuple):
    url: str
    data: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Chat]:
    """`qa chat` in a subprocess on 127.0.0.1 and a free port, with its own store; stopped in teardown."""
    data = tmp_path_factory.mktemp("chat") / "data"
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    # QA_FETCH_ALLOW_PRIVATE: the URL test's pages are served on 127.0.0.1 by the test itself.
    env.update(QA_DATA_DIR=str(data), QA_BACKEND="extractive", QA_CONCURRENCY="2", PYTHONUNBUFFERED="1", QA_FETCH_ALLOW_PRIVATE="true")
    log = (ARTIFACTS / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "chat", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if proc.poll() is not None:
                pytest.fail(f"qa chat exited with {proc.returncode}: {(ARTIFACTS / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"qa chat did not answer on {url} within {STARTUP_SECONDS} s")
            time.sleep(1)
        yield Chat(url, data)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: CI must install Chromium (apt-get install chromium) before the browser tests")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh tab on the chat; every request it makes must stay on this machine."""
    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    pg = context.new_page()
    outside: list[str] = []
    pg.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server.url)
    pg.wait_for_selector("#qa-question textarea")
    yield pg
    context.close()
    assert outside == [], f"the page made requests off this machine: {outside}"
    assert errors == [], f"JavaScript errors on the page: {errors}"


def shot(pg, name: str) -> None:
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


FINAL = "#qa-chat .qa-answer, #qa-chat .qa-refusal"


def ask(pg, question: str | None = None, example: str | None = None) -> str:
    """Type a question and press Enter (or click an example); return the newest bot message's HTML once final."""
    before = pg.locator(FINAL).count()
    if example is not None:
        pg.locator(".gradio-container").get_by_text(example, exact=True).first.click()
    else:
        pg.fill("#qa-question textarea", question)
        pg.press("#qa-question textarea", "Enter")
    pg.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length > n", arg=[FINAL, before], timeout=60_000)
    return pg.locator(FINAL).last.inner_html()


def open_citation(pg, n: int) -> tuple[str, str]:
    """Click marker [n] of the newest answer; return the highlighted text and the article panel's text."""
    pg.locator("#qa-chat .qa-answer").last.locator(f'a.qa-cite:text-is("[{n}]")').first.click()
    pg.wait_for_selector(f'#qa-sources .qa-article[data-n="{n}"] mark.qa-quote', timeout=20_000)
    return pg.locator("#qa-sources mark.qa-quote").text_content(), pg.locator("#qa-sources .qa-article-text").text_content()


def test_gradio_client_asks_like_an_outside_program(server):
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    answer = client.predict(QUESTION, api_name="/ask")
    assert not answer["refused"] and "1275" in answer["text"]
    c = answer["citations"][0]
    assert c["n"] == 1 and c["quote"] and c["end"] > c["start"]
    job = client.submit(QUESTION, [], "", "", "", api_name="/chat")
    steps = list(job)
    assert len(steps) >= 3 and "1275" in str(steps[-1][0])  # streamed: pending, deltas, final
    with pytest.raises(Exception, match="question is empty"):
        client.predict("   ", api_name="/ask")
    # the filter widgets reach retrieval in the order the page sends them: articles, language, date from, date to
    for filters in (([], "es", "", ""), ([], "", "", "2021-01-01"), (["002_80680643ca28e344"], "", "", "")):
        sources = client.predict(QUESTION, *filters, api_name="/chat")[2]
        assert "Azernews" not in sources and "001_0fce656212b9b58a" not in sources
    notice = client.predict(QUESTION, [], "", "2021-13-01", "", api_name="/chat")[4]
    assert "YYYY-MM-DD" in notice


def test_answer_streams_and_citation_highlights_the_quote(page, server):
    from gradio_client import Client

    shot(page, "01-empty")
    html = ask(page, QUESTION)
    assert "1275" in html and 'class="qa-cite' in html
    shot(page, "02-answer")
    expected = Client(server.url, verbose=False).predict(QUESTION, api_name="/ask")["citations"]
    for c in reversed(expected):  # last first, so [1] is not merely the initial state
        marked, article = open_citation(page, c["n"])
        assert marked == c["quote"]
        assert marked in article
    shot(page, "03-citation")
    page.locator("#qa-chat button[aria-label='Like']").last.click()
    page.wait_for_selector("#qa-notice .qa-notice-info")
    feedback = [json.loads(line) for line in (server.data / "feedback.jsonl").read_text().splitlines()]
    assert feedback[-1]["rating"] == "up" and feedback[-1]["question"] == QUESTION and "1275" in feedback[-1]["answer"]
    assert [c["quote"] for c in feedback[-1]["citations"]] == [c["quote"] for c in expected]
    page.locator("#qa-passages-box").get_by_text("Retrieved but not cited").click()
    page.wait_for_selector("#qa-passages .qa-scores")
    assert "dense" in page.locator("#qa-passages").inner_text()
    shot(page, "04-passages")


def test_spanish_question_follow_up_and_clear(page):
    html = ask(page, example="¿Cuánto duró la reunión trilateral en el Kremlin?")
    assert "horas" in html and "qa-cite" in html
    marked, _ = open_citation(page, 1)
    assert "horas" in marked
    assert page.locator("#qa-sources .qa-lang").first.inner_text().lower() == "es"
    shot(page, "05-spanish")
    ask(page, "¿Y qué valora Moscú en sus relaciones con Azerbaiyán y Armenia?")
    assert page.locator("#qa-chat .qa-answer").count() == 2
    page.click("#qa-clear")
    page.wait_for_function("() => !document.querySelector('#qa-chat .qa-answer')")


def test_the_answering_words_are_bold_and_the_confidence_is_shown(page):
    """The reader's confidence under the answer; "1275" in bold in the answer and inside the highlighted quote."""
    html = ask(page, "How many people were taken hostage in Khojaly?")
    assert '<strong class="qa-answer-span">1275</strong>' in html
    assert re.search(r"confidence 0\.\d\d", page.locator("#qa-chat .qa-confidence").last.inner_text())
    marked, _ = open_citation(page, 1)
    assert "1275" in marked and page.locator("#qa-sources mark.qa-quote strong.qa-answer-span").inner_text() == "1275"
    shot(page, "10-answer-span")


def test_unanswerable_is_a_refusal_and_errors_are_notices(page):
    html = ask(page, "Who won the 2018 football World Cup?")
    assert "do not contain the answer" in html
    assert page.locator("#qa-chat .qa-refusal").count() == 1 and page.locator("#qa-notice .qa-notice-error").count() == 0
    assert "No sources" in page.locator("#qa-sources").inner_text()
    shot(page, "06-refusal")
    page.fill("#qa-question textarea", "  ?  ")
    page.press("#qa-question textarea", "Enter")
    page.wait_for_selector("#qa-notice .qa-notice-error")
    assert "The question is empty" in page.locator("#qa-notice").inner_text()
    shot(page, "07-error")
    assert "1275" in ask(page, QUESTION)  # the app keeps working after an error
    assert page.locator("#qa-notice .qa-notice-error").count() == 0


def test_upload_then_ask_and_tags_render_as_text(page, tmp_path):
    (tmp_path / "lisbon_trams.txt").write_text(TRAMS)
    (tmp_path / "valparaiso_notice.md").write_text(SCRIPTED)
    page.locator("#qa-upload-box").get_by_text("Add articles").click()
    page.set_input_files("#qa-upload input[type=file]", [str(tmp_path / "lisbon_trams.txt"), str(tmp_path / "valparaiso_notice.md")])
    page.wait_for_selector("#qa-report .qa-report", timeout=90_000)
    report = page.locator("#qa-report").inner_text()
    assert "added: lisbon_trams, valparaiso_notice" in report
    shot(page, "08-upload")

    html = ask(page, "How many electric trams did the Lisbon city council approve?")
    assert "42" in html
    marked, _ = open_citation(page, 1)
    assert "42 new electric trams" in marked

    ask(page, "What did the harbour master of Valparaiso find on the notice board?")
    _, article = open_citation(page, 1)
    assert "<script>window.__qa_pwned = 1</script>" in article and "<b>bold claims</b>" in article
    assert page.locator("#qa-sources script, #qa-sources b, #qa-chat script").count() == 0
    assert page.evaluate("() => window.__qa_pwned === undefined")
    shot(page, "09-script-as-text")


def test_a_url_typed_in_the_upload_box_is_fetched_and_its_quote_highlighted(page):
    from tests.fakes import FakeSite, news_page, pdf_bytes

    with FakeSite() as site:
        page_url = site.serve("/harbour", "text/html", news_page("Lisbon harbour reopens after storm", [
            "The port of Lisbon reopened on Tuesday after a storm closed it for three days, the harbour authority said.",
            "42 cargo ships waited off the coast while crews repaired two damaged cranes at the container terminal."],
            site="Coast Herald", date="2024-03-05", author="Ana Ribeiro"))
        pdf_url = site.serve("/bridge.pdf", "application/pdf", pdf_bytes("Luiz I bridge closes for repairs", [
            "The Luiz I bridge in Porto will close to traffic for 6 weeks from 4 May for repairs, the city council said on Monday."],
            author="Douro Daily", created="2024-04-22T10:00:00"))
        page.locator("#qa-upload-box").get_by_text("Add articles").click()
        page.fill("#qa-url textarea, #qa-url input", f"{page_url} {pdf_url}")
        page.locator("#qa-add-url").click()
        page.wait_for_selector("#qa-report .qa-report", timeout=90_000)
    assert "added 2" in page.locator("#qa-report").inner_text()
    for question, words, outlet in (("How many cargo ships waited off the coast of Lisbon?", "42 cargo ships", "Coast Herald"),
                                    ("How long will the Luiz I bridge close for repairs?", "6 weeks", "Douro Daily")):
        ask(page, question)
        marked, article = open_citation(page, 1)
        assert words in marked and marked in article
        assert outlet in page.locator("#qa-sources .qa-article").inner_text()
    shot(page, "09-url")
