"""The real chat (`qa chat`, real embedded model, store under tmp_path) driven in headless Chromium and by gradio_client."""

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import html
import json

import httpx
import pytest

from qa.core.settings import PROJECT_ROOT
from qa_eval.servers import free_port

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.server]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
QUESTION = "How many people were taken hostage in Khojaly?"
STARTUP_SECONDS = 400  # the first start embeds the seeds (the page is served meanwhile); slow on a busy 2-core machine

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


class ChatServer:
    """`qa chat` (or `qa serve`, its chat at /chat/) in a subprocess on 127.0.0.1 and a fixed free port, with its own
    store; restartable on the same store."""

    def __init__(self, data: Path, seeds: Path, log: str = "server.log", command: str = "chat") -> None:
        self.data, self.seeds, self.command = data, seeds, command
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/" + ("chat/" if command == "serve" else "")
        self.proc: subprocess.Popen | None = None
        self.log_path = ARTIFACTS / log
        self.log = None
        self.log_from = 0

    def start(self, indexed: bool = True) -> None:
        """Start, and return once the page is served and, with `indexed`, once a first start has indexed the seeds."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
        # QA_FETCH_ALLOW_PRIVATE: the URL test's pages are served on 127.0.0.1 by the test itself. TMPDIR: a temporary
        # folder beside the data folder, not above it, since Gradio serves files from the temporary folder unasked and a
        # download must show that the exports folder itself is served.
        tmp = self.data.parent / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        env.update(QA_DATA_DIR=str(self.data), QA_SEEDS_DIR=str(self.seeds), QA_BACKEND="extractive", QA_CONCURRENCY="2",
                   PYTHONUNBUFFERED="1", QA_FETCH_ALLOW_PRIVATE="true", TMPDIR=str(tmp))
        self.log = self.log_path.open("ab")  # binary: tell() and said() count bytes alike, whatever the earlier runs wrote
        self.log_from = self.log.tell()
        self.proc = subprocess.Popen([sys.executable, "-m", "qa.apps.cli", self.command, "--host", "127.0.0.1", "--port", str(self.port)],
                                     cwd=PROJECT_ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"qa {self.command} exited with {self.proc.returncode}: {self.said()[-2000:]}")
            try:
                if httpx.get(self.url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"qa {self.command} did not answer on {self.url} within {STARTUP_SECONDS} s")
            time.sleep(1)
        while indexed and "First start" in self.said() and "Indexed:" not in self.said():
            if time.monotonic() > deadline:
                pytest.fail(f"qa {self.command} did not index its seeds within {STARTUP_SECONDS} s: {self.said()[-2000:]}")
            time.sleep(1)

    def said(self) -> str:
        """What this start has written to the terminal."""
        return self.log_path.read_bytes()[self.log_from:].decode("utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ChatServer]:
    """The chat on the seeds and the conversation test articles (a floating solar farm, a research ship)."""
    root = tmp_path_factory.mktemp("chat")
    seeds = root / "seeds"
    seeds.mkdir()
    for f in [*(PROJECT_ROOT / "seeds").glob("*.txt"), *(PROJECT_ROOT / "tests" / "data" / "conversation").glob("*.md")]:
        shutil.copy(f, seeds / f.name)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "server.log").write_text("")
    chat = ChatServer(root / "data", seeds)
    try:
        chat.start()
        yield chat
    finally:
        chat.stop()


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
    # The HTML is read in the same call that sees the new message: Gradio may re-render the chat between two calls
    # (a loaded machine once left a second lookup waiting 30 s for an element that had been replaced).
    found = pg.wait_for_function("([sel, n]) => { const all = document.querySelectorAll(sel); "
                                 "return all.length > n ? all[all.length - 1].innerHTML : false; }",
                                 arg=[FINAL, before], timeout=60_000)
    return found.json_value()


def plain(markup: str) -> str:
    """An answer's words without its markup (the answering span is in <strong>)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


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
    with pytest.raises(Exception, match="question is empty"):
        client.predict("   ", api_name="/ask")
    # /chat: named parameters, all optional but the question; a conversation goes on through `history`
    first = client.predict(question=QUESTION, api_name="/chat")
    assert "1275" in first["text"]
    history = [{"role": "user", "content": first["question"], "standalone": first["standalone_question"]},
               {"role": "assistant", "content": first["text"], "citations": [{"article_id": c["article_id"]} for c in first["citations"]]}]
    follow = client.predict(question="And how many were children?", history=history, api_name="/chat")
    assert "63" in follow["text"] and follow["standalone_question"] != follow["question"]
    for filters in ({"lang": "es"}, {"date_to": "2021-01-01"}, {"article_ids": ["002_80680643ca28e344"]}):
        cited = client.predict(question=QUESTION, api_name="/chat", **filters)["citations"]
        assert all(c["article_id"] != "001_0fce656212b9b58a" for c in cited)
    with pytest.raises(Exception, match="YYYY-MM-DD"):
        client.predict(question=QUESTION, date_from="2021-13-01", api_name="/chat")


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
    # one vote per answer: a dislike on the same answer replaces the like
    page.locator("#qa-chat button[aria-label='Dislike']").last.click()
    page.wait_for_function("() => document.querySelector('#qa-notice') !== null")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        votes = [json.loads(line) for line in (server.data / "feedback.jsonl").read_text().splitlines()]
        if votes and votes[-1]["rating"] == "down":
            break
        time.sleep(0.2)
    mine = [v for v in votes if v["answer_id"] == feedback[-1]["answer_id"]]
    assert [v["rating"] for v in mine] == ["down"]
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
    assert "do not mention this" in html
    assert page.locator("#qa-chat .qa-refusal").count() == 1 and page.locator("#qa-notice .qa-notice-error").count() == 0
    assert "No sources" in page.locator("#qa-sources").inner_text()
    shot(page, "06-refusal")
    page.fill("#qa-question textarea", "  ?  ")
    page.press("#qa-question textarea", "Enter")
    page.wait_for_selector("#qa-notice .qa-notice-error")
    assert "The question has no words" in page.locator("#qa-notice").inner_text()
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
    assert "added: Lisbon orders electric trams (lisbon_trams), Harbour notice defaced in Valparaiso (valparaiso_notice)" in report
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


def test_follow_ups_in_each_language_and_a_topic_change(page):
    ask(page, QUESTION)
    assert "63" in plain(ask(page, "And how many were children?"))
    ask(page, "How many solar panels does the Valdoria floating farm have?")
    assert "74 million dollars" in plain(ask(page, "How much did it cost to build?"))
    moscow = plain(ask(page, "How long did the trilateral talks in Moscow last?"))  # a new topic: not the solar farm
    assert "Valdoria" not in moscow and ("horas" in moscow or "hours" in moscow)
    page.click("#qa-clear")
    page.wait_for_function("() => !document.querySelector('#qa-chat .qa-answer')")
    ask(page, "¿Cuántos científicos viajan en el buque Alborán?")
    assert "27 mujeres" in plain(ask(page, "¿Y cuántas eran mujeres?"))
    assert "marzo de 2027" in plain(ask(page, "¿Y cuándo volverá?"))
    shot(page, "11-follow-ups")


def test_a_spanish_question_gets_spanish_labels_and_the_language_can_be_chosen(page):
    ask(page, "¿Cuánto duró la reunión trilateral en el Kremlin?")
    page.wait_for_function("() => document.querySelector('#qa-ask').innerText.trim() === 'Preguntar'")
    assert "Fuentes de «" in page.locator("#qa-sources").inner_text()
    assert page.locator("#qa-passages-box").get_by_text("Recuperados pero no citados").count() == 1
    shot(page, "12-spanish-labels")
    page.locator("#qa-ui-lang").get_by_text("English").click()
    page.wait_for_function("() => document.querySelector('#qa-ask').innerText.trim() === 'Ask'")
    assert "Sources for" in page.locator("#qa-sources").inner_text()


def test_an_over_long_paste_gets_a_notice_and_stays_in_the_box(page):
    long = "How many people were taken hostage in Khojaly? " * 220  # 10,340 characters
    page.fill("#qa-question textarea", long)
    page.press("#qa-question textarea", "Enter")
    page.wait_for_selector("#qa-notice .qa-notice-error")
    notice = page.locator("#qa-notice").inner_text()
    assert f"{len(long.strip()):,} characters" in notice and "2,000" in notice
    assert page.locator("#qa-question textarea").input_value() == long
    assert page.locator(FINAL).count() == 0
    shot(page, "13-too-long")


def download(pg, button: str, name: str, holding: str = "") -> Path:
    """Click an export button until it downloads `name` holding `holding`: the file is rewritten just after the change
    that names it or adds a turn, so the button may still offer the one before for a moment."""
    deadline = time.monotonic() + 20
    while True:
        with pg.expect_download() as started:
            pg.click(button)
        path = Path(started.value.path())
        if (started.value.suggested_filename == name and holding in path.read_text()) or time.monotonic() > deadline:
            assert started.value.suggested_filename == name
            return path
        time.sleep(0.5)


def test_a_saved_chat_is_downloaded_by_its_name_and_resumed_after_a_restart(page, server, browser):
    ask(page, QUESTION)
    page.wait_for_function("() => document.querySelector('#qa-chat-title textarea, #qa-chat-title input').value !== ''")
    page.fill("#qa-chat-title textarea, #qa-chat-title input", "Khojaly numbers")
    page.click("#qa-rename")
    markdown = download(page, "#qa-export-md", "Khojaly numbers.md").read_text()
    assert markdown.startswith("# Khojaly numbers") and "**Q:** " + QUESTION in markdown and "1275" in markdown
    data = json.loads(download(page, "#qa-export-json", "Khojaly numbers.json").read_text())
    assert data["title"] == "Khojaly numbers" and data["turns"][0]["citations"][0]["quote"]
    page.click("#qa-clear")  # a new chat offers no file of the last one
    page.wait_for_function("() => document.querySelector('#qa-export-md').disabled && document.querySelector('#qa-export-json').disabled")
    shot(page, "14-new-chat-no-export")
    server.restart()
    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    pg = context.new_page()
    try:
        pg.goto(server.url)
        pg.wait_for_selector("#qa-question textarea")
        pg.click("#qa-chat-list input")
        pg.locator("#qa-chat-list [role=option]").filter(has_text="Khojaly numbers").first.click()
        pg.wait_for_function("() => document.querySelectorAll('#qa-chat .qa-answer').length === 1")
        assert "1275" in pg.locator("#qa-chat .qa-answer").first.inner_text()
        assert "63" in ask(pg, "And how many were children?")  # the resumed chat goes on
        follow_up = "And how many were children?"
        assert follow_up in download(pg, "#qa-export-md", "Khojaly numbers.md", holding=follow_up).read_text()
        shot(pg, "14-resumed")
    finally:
        context.close()


def test_the_chat_under_qa_serve_downloads_its_export_and_loads_no_font(server, browser, tmp_path):
    """`qa serve` launches its chat as `qa chat` does: an export downloads from a data folder outside the server's
    temporary one, and the page fetches no font file and nothing off this machine. On a copy of the chat's store
    (indexing the seeds again would take a minute)."""
    shutil.copytree(server.data, tmp_path / "data")
    served = ChatServer(tmp_path / "data", server.seeds, log="serve.log", command="serve")
    served.start()
    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    fetched: list[str] = []
    try:
        pg = context.new_page()
        pg.on("request", lambda r: fetched.append(r.url))
        pg.goto(served.url)
        pg.wait_for_selector("#qa-question textarea")
        assert "1275" in ask(pg, QUESTION)
        pg.wait_for_function("() => document.querySelector('#qa-chat-title textarea, #qa-chat-title input').value !== ''")
        pg.fill("#qa-chat-title textarea, #qa-chat-title input", "Served chat")
        pg.click("#qa-rename")
        assert "**Q:** " + QUESTION in download(pg, "#qa-export-md", "Served chat.md").read_text()
    finally:
        context.close()
        served.stop()
    assert fetched and all(url.startswith(("http://127.0.0.1", "data:", "blob:")) for url in fetched), fetched
    assert not [url for url in fetched if "/fonts/" in url or url.endswith((".woff", ".woff2", ".ttf"))]


REMEMBERED = "() => localStorage.getItem('qa-open-chat')"  # the open chat, as this browser keeps it for a reload


def test_a_reload_lists_the_saved_chats_and_reopens_the_open_one(page):
    ask(page, QUESTION)
    page.wait_for_function(f"() => ({REMEMBERED})() !== null")
    first = page.evaluate(REMEMBERED)
    page.click("#qa-clear")
    page.wait_for_function("() => !document.querySelector('#qa-chat .qa-answer')")
    ask(page, QUESTION)  # a second chat with the same first question
    page.wait_for_function(f"(first) => ({REMEMBERED})() !== first", arg=first)
    page.reload()
    page.wait_for_selector("#qa-question textarea")
    page.wait_for_function("() => document.querySelectorAll('#qa-chat .qa-answer').length === 1")  # the chat open before
    assert page.locator("#qa-chat-title textarea, #qa-chat-title input").input_value() == QUESTION
    page.click("#qa-chat-list input")
    options = [o.inner_text() for o in page.locator("#qa-chat-list [role=option]").all()]
    assert options[0].startswith("✓")  # the most recent chat, the one open before the reload, is chosen in the list
    labels = [o.removeprefix("✓").strip() for o in options]
    same = [label for label in labels if label.startswith(QUESTION)]
    assert len(same) >= 2 and len(set(labels)) == len(labels)  # every chat listed, none looking like another
    assert all(re.search(r" · \d{4}-\d\d-\d\d \d\d:\d\d · questions: \d+", label) for label in same)
    page.wait_for_function("() => getComputedStyle(document.querySelector('#qa-chat-list .options')).opacity === '1'")  # faded in
    shot(page, "15-reloaded")


def test_the_opened_article_shows_its_first_line_its_whole_title_and_one_font(page):
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url))
    page.reload()  # every request of the page seen, fonts included
    page.wait_for_selector("#qa-question textarea")
    ask(page, QUESTION)
    open_citation(page, 1)
    seen = page.evaluate("""() => {
      const box = document.querySelector('#qa-sources .qa-article-text'), mark = box.querySelector('mark.qa-quote');
      const span = document.querySelector('#qa-sources strong.qa-answer-span');
      return {scroll: box.scrollTop, markBottom: mark.offsetTop + mark.offsetHeight, height: box.clientHeight,
              title: document.querySelector('#qa-sources .qa-article .qa-source-title').innerText, text: box.innerText,
              spanFont: getComputedStyle(span).fontFamily, textFont: getComputedStyle(box).fontFamily,
              faces: [...document.fonts].filter(f => f.status !== 'unloaded').map(f => f.family)};
    }""")
    assert seen["scroll"] == 0 and seen["markBottom"] <= seen["height"]  # from its first line, the quote in view
    assert "…" not in seen["title"] and seen["title"] == "[1] " + seen["text"].split("\n")[0].rstrip(".")
    assert seen["spanFont"] == seen["textFont"] and seen["faces"] == []  # the system's fonts: bold letters in the same face
    assert not [url for url in fetched if "/fonts/" in url or url.endswith((".woff", ".woff2", ".ttf"))]
    shot(page, "16-article")
    # A quote further down than the box shows: scrolled to it by whole lines, none cut in half under the title.
    page.add_style_tag(content="#qa-sources .qa-article-text { max-height: 90px !important; }")
    ask(page, "And how many were children?")
    open_citation(page, 1)
    page.wait_for_function("() => document.querySelector('#qa-sources .qa-article-text').scrollTop > 0")
    deep = page.evaluate("""() => {
      const box = document.querySelector('#qa-sources .qa-article-text'), mark = box.querySelector('mark.qa-quote');
      return {scroll: box.scrollTop, line: parseFloat(getComputedStyle(box).lineHeight), markTop: mark.offsetTop};
    }""")
    assert deep["scroll"] % deep["line"] == pytest.approx(0, abs=0.5) and deep["scroll"] < deep["markTop"]


def test_the_feedback_notice_never_covers_the_chat_and_the_labels_fit_their_buttons(page):
    ask(page, "¿Cuánto duró la reunión trilateral en el Kremlin?")
    page.wait_for_function("() => document.querySelector('#qa-ask').innerText.trim() === 'Preguntar'")
    for button in ("#qa-ask", "#qa-clear"):
        fit = page.evaluate("""(sel) => {
          const b = document.querySelector(sel), words = document.createRange();
          words.selectNodeContents(b);
          const r = words.getBoundingClientRect();
          return {words: r.width, lines: Math.round(r.height / parseFloat(getComputedStyle(b).lineHeight)), button: b.clientWidth};
        }""", button)
        assert fit["lines"] == 1 and fit["words"] + 16 <= fit["button"], (button, fit)  # one line, with room around it
    page.locator("#qa-chat button[aria-label='Like']").last.click()
    frames = page.evaluate("""() => new Promise(done => {
      const t0 = performance.now(), seen = {shown: 0, covering: []};
      const look = () => {
        const n = document.querySelector('#qa-notice .qa-notice');
        if (n && getComputedStyle(n).visibility !== 'hidden' && parseFloat(getComputedStyle(n).opacity) > 0) {
          seen.shown++;
          const r = n.getBoundingClientRect(), chat = document.querySelector('#qa-chat').getBoundingClientRect();
          if (r.bottom > chat.top + 0.5 || n.scrollHeight > n.clientHeight + 1) seen.covering.push([r.bottom, chat.top]);
        }
        if (performance.now() - t0 < 8000) requestAnimationFrame(look); else done(seen);
      };
      look();
    })""")
    assert frames["shown"] > 0 and frames["covering"] == []
    shot(page, "17-after-feedback")


def test_a_first_start_shows_its_progress_in_the_terminal_and_on_the_page(browser, tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for f in [*(PROJECT_ROOT / "seeds").glob("*.txt"), *(PROJECT_ROOT / "eval" / "fresh" / "articles").glob("*")]:
        shutil.copy(f, seeds / f.name)
    chat = ChatServer(tmp_path / "data", seeds, log="first-start.log")
    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    try:
        chat.start(indexed=False)
        pg = context.new_page()
        pg.goto(chat.url)
        pg.wait_for_selector("#qa-progress .qa-progress progress")
        assert "First start: indexing the articles" in pg.locator("#qa-progress").inner_text()
        shot(pg, "18-first-start")
        pg.fill("#qa-question textarea", QUESTION)  # asked while indexing: answered once it is done
        pg.press("#qa-question textarea", "Enter")
        pg.wait_for_selector("#qa-progress .qa-notice-info", timeout=STARTUP_SECONDS * 1000)
        files = len(list(seeds.iterdir()))
        assert f"Ready: {files} articles indexed" in pg.locator("#qa-progress").inner_text()
        pg.wait_for_selector(FINAL, timeout=60_000)
        assert "1275" in pg.locator(FINAL).last.inner_text()
        said = chat.said()
        assert f"First start: indexing the articles in {seeds}" in said and re.search(r"\d+/\d+ files · \d+ chunks", said)
        assert f"Indexed: added {files}," in said
    finally:
        context.close()
        chat.stop()


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
