"""The API server: REST and OpenAI-compatible answers with their citations, articles, the key, the login, bad input,
the store going away, and the real server on 127.0.0.1 (raw HTTP, the official OpenAI client, 20 clients at once)."""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
import tiktoken
import uvicorn
from fastapi.testclient import TestClient

from qa import Assistant, Settings
from qa_eval.servers import free_port, stop_process, wait_http
from qa.core.errors import BackendError, StoreUnavailable
from qa.apps.serve import build_api
from qa.core.settings import PROJECT_ROOT
from tests.conftest import KHOJALY, SEEDS, SPANISH, cited_bot, make_settings
from tests.fakes import FakeEmbedder, FakeLLM, FakeReader, FakeSite, news_page

QUESTION = "How many people were taken hostage in Khojaly?"
KEY = "test-key-7f3a"
AUTH = {"Authorization": f"Bearer {KEY}"}
CHAT = {"model": "qa", "messages": [{"role": "user", "content": QUESTION}]}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Assistant:
    """The seeds in a store under tmp, on the fakes, ingested once for the module's servers."""
    return cited_bot(make_settings(tmp_path_factory.mktemp("serve") / "data"))


def variant(base: Assistant, llm: FakeLLM | None = None, **overrides) -> Assistant:
    """An Assistant with another server's settings over the same store, and fresh fakes."""
    settings = make_settings(base.settings.data_dir, answer_bar=0.0, **{"serve_chat": False, **overrides})
    return Assistant(settings, embedder=base.embedder, store=base.store, llm=llm or FakeLLM(), reader=FakeReader())


def client(base: Assistant, **overrides) -> TestClient:
    return TestClient(build_api(variant(base, **overrides)))


def events(lines: Iterator[str]) -> list:
    """The data of each server-sent event, JSON-decoded except the closing [DONE]."""
    out = []
    for line in lines:
        if line.startswith("data: "):
            data = line[len("data: "):]
            out.append(data if data == "[DONE]" else json.loads(data))
        else:
            assert line == "", line
    return out


def official(api: TestClient) -> openai.OpenAI:
    """The official OpenAI client, talking to the app in this process."""
    return openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=api, max_retries=0)


def hostages_then(bot: Assistant, *more: str) -> str:
    """A model's reply: the hostage count, cited to its passage, then `more` sentences citing the same passage."""
    n = next(i for i, p in enumerate(bot.retriever.retrieve(QUESTION), 1) if "1275" in p.text)
    return " ".join(f"{sentence} [{n}]." for sentence in ("1275 people were taken hostage", *more))


def message(resp: httpx.Response) -> str:
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "code"}, body
    return body["error"]["message"]


# --- answers -------------------------------------------------------------------------------------


def test_ask_returns_the_answer_with_its_citations(base):
    api = client(base)
    resp = api.post("/v1/ask", json={"question": QUESTION})
    assert resp.status_code == 200
    got = resp.json()
    direct = base.ask(QUESTION)
    assert got["text"] == direct.text and "[1]" in got["text"] and got["refused"] is False and got["grade"] == "answer"
    assert got["confidence"] == pytest.approx(direct.confidence) and got["standalone_question"] == QUESTION
    cite = got["citations"][0]
    assert {"n", "article_id", "title", "date", "source", "lang", "quote", "start", "end", "supported", "answer_start",
            "answer_end"} <= cite.keys()
    assert (cite["article_id"], cite["date"], cite["source"], cite["lang"], cite["supported"]) == (KHOJALY, "2024-02-28", "Azernews", "en", True)
    article = api.get(f"/v1/articles/{KHOJALY}").json()
    assert article["text"][cite["start"]:cite["end"]] == cite["quote"]
    assert cite["start"] <= cite["answer_start"] < cite["answer_end"] <= cite["end"]
    assert got["passages"] and got["trace"] and got["timings"]["total"] > 0


def test_ask_reads_the_history_and_the_filters(base):
    bot = variant(base)
    bot.llm.condensed = QUESTION
    api = TestClient(build_api(bot))
    history = [{"role": "user", "content": "What happened in Khojaly in 1992?"}, {"role": "assistant", "content": "A massacre [1]."}]
    got = api.post("/v1/ask", json={"question": "And how many were taken hostage?", "history": history}).json()
    assert got["standalone_question"] == QUESTION and "What happened in Khojaly in 1992?" in bot.llm.prompts[0]
    spanish = api.post("/v1/ask", json={"question": QUESTION, "filters": {"article_ids": [SPANISH]}}).json()
    assert spanish["passages"] and {p["article_id"] for p in spanish["passages"]} == {SPANISH}
    undated = api.post("/v1/ask", json={"question": QUESTION, "filters": {"date_from": "2030-01-01"}}).json()
    assert undated["refused"] is True and undated["citations"] == []


def test_chat_completion_is_the_answer_with_its_citations(base):
    api = client(base)
    asked = api.post("/v1/ask", json={"question": QUESTION}).json()
    resp = api.post("/v1/chat/completions", json=CHAT)
    assert resp.status_code == 200
    got = resp.json()
    assert got["object"] == "chat.completion" and got["model"] == "qa" and got["id"].startswith("chatcmpl-")
    assert got["choices"] == [{"index": 0, "message": {"role": "assistant", "content": asked["text"]}, "finish_reason": "stop"}]
    assert got["citations"] == asked["citations"]
    assert got["answer"] == {k: asked[k] for k in ("grade", "refused", "confidence", "standalone_question")}


def test_chat_completion_streams_server_sent_events_with_the_citations_last(base):
    api = client(base)
    plain = api.post("/v1/chat/completions", json=CHAT).json()
    with api.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        got = events(resp.iter_lines())
    assert got[-1] == "[DONE]"
    chunks = got[:-1]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == plain["choices"][0]["message"]["content"]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * (len(chunks) - 1) + ["stop"]
    assert "citations" not in chunks[0] and chunks[-1]["citations"] == plain["citations"] and chunks[-1]["citations"]


def test_streaming_sends_each_sentence_once_it_is_verified_and_never_an_unverified_one(base):
    bot = variant(base)
    bot.llm.reply = hostages_then(bot, "9000 soldiers from Bolivia were there", "The fate of 150 people remains unknown")
    api = TestClient(build_api(bot))
    plain = api.post("/v1/chat/completions", json=CHAT).json()
    with api.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as resp:
        got = events(resp.iter_lines())
    sent = [c["choices"][0]["delta"]["content"] for c in got[1:-2] if "event" not in c]
    assert sent == ["1275 people were taken hostage. [1]", " The fate of 150 people remains unknown. [1]"]  # one chunk a sentence
    assert "".join(sent) == plain["choices"][0]["message"]["content"] and "9000" not in json.dumps(got)
    assert got[-2]["choices"][0]["delta"] == {} and got[-2]["citations"] == plain["citations"]
    chunks = list(official(api).chat.completions.create(model="qa", messages=CHAT["messages"], stream=True))
    assert [c.choices[0].delta.content for c in chunks[1:-1] if c.choices[0].delta.content] == sent
    assert chunks[-1].citations == plain["citations"]


def citing(bot: Assistant, *sentences: str, question: str = QUESTION) -> str:
    """A model's reply: each sentence cited to the passage retrieved for `question` that holds it."""
    passages = bot.retriever.retrieve(question)
    return " ".join(f"{s} [{next(i for i, p in enumerate(passages, 1) if s in p.text)}]." for s in sentences)


def open_webui_links(sources: list[dict]) -> list[tuple[str, list[str]]]:
    """What Open WebUI's frontend shows for [n]: the n-th name after merging equal names, as its chip's label
    (ContentRenderer.svelte, getSourceIds), and the quotes of the n-th source after merging equal metadata sources, in
    the window a click opens (Citations.svelte)."""
    names = list(dict.fromkeys(m.get("name") or s["source"]["name"] for s in sources for m in s["metadata"]))
    quotes: dict[str, list[str]] = {}
    for s in sources:
        for quote, m in zip(s["document"], s["metadata"]):
            quotes.setdefault(m.get("source") or s["source"]["id"], []).append(quote)
    return list(zip(names, quotes.values()))


RECALLED = "It should be recalled that last year the Peruvian Congress also adopted a statement on the anniversary of the Khojaly genocide"


def test_streaming_sends_an_open_webui_source_event_per_citation_in_marker_order(base):
    """Open WebUI shows only its own `event` field: one chunk a citation, after the sentences and before the citations'
    chunk. Two passages of one article stay two sources, so [2] opens the second quote, not the next article's."""
    bot = variant(base)
    bot.llm.reply = citing(bot, RECALLED, "1275 people were taken hostage")  # the later passage is cited first
    api = TestClient(build_api(bot))
    plain = api.post("/v1/chat/completions", json=CHAT).json()
    assert plain["choices"][0]["message"]["content"] == f"{RECALLED}. [1] 1275 people were taken hostage. [2]"
    with api.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as resp:
        got = events(resp.iter_lines())
    *_, last, done = got
    assert [c.get("event", {}).get("type") for c in got[:-1]] == [None, None, None, "source", "source", None] and done == "[DONE]"
    assert all(c["choices"] == [{"index": 0, "delta": {}, "finish_reason": None}] for c in got[3:5])  # readable as choices[0]
    assert last["citations"] == plain["citations"] and "event" not in last
    first, second = plain["citations"]
    title = "Azernews (2024-02-28): " + first["title"]
    assert [c["event"]["data"] for c in got[3:5]] == plain["sources"] == [
        {"source": {"id": KHOJALY, "name": title}, "document": [first["quote"]], "metadata": [{"source": KHOJALY, "name": title}]},
        {"source": {"id": KHOJALY, "name": f"{title} [2]"}, "document": [second["quote"]],
         "metadata": [{"source": f"{KHOJALY}#2", "name": f"{title} [2]"}]}]
    assert first["quote"] == f"{RECALLED}." and "1275" in second["quote"]
    assert open_webui_links(plain["sources"]) == [(title, [first["quote"]]), (f"{title} [2]", [second["quote"]])]

    chunks = list(official(api).chat.completions.create(model="qa", messages=CHAT["messages"], stream=True))
    assert all(c.choices and c.choices[0].index == 0 for c in chunks)  # every chunk parses, each with its choice
    assert [c.model_extra["event"] for c in chunks if "event" in c.model_extra] == [c["event"] for c in got[3:5]]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == plain["choices"][0]["message"]["content"]
    whole = official(api).chat.completions.create(model="qa", messages=CHAT["messages"])
    assert whole.sources == plain["sources"] and whole.citations == plain["citations"]


def test_a_refusal_sends_no_source_event(base):
    api = client(base)
    refused = {**CHAT, "filters": {"date_from": "2030-01-01"}}
    assert api.post("/v1/chat/completions", json=refused).json()["sources"] == []
    with api.stream("POST", "/v1/chat/completions", json={**refused, "stream": True}) as resp:
        got = events(resp.iter_lines())
    assert got[-2]["citations"] == [] and not any("event" in c for c in got[:-1])


def test_a_source_links_to_the_page_its_article_was_fetched_from(tmp_path):
    """A file has no page to link: its source has no url, and an article without outlet or date is named by its title."""
    buses = tmp_path / "lisbon_buses.md"
    buses.write_text("# Lisbon orders buses\n\nThe Lisbon council also ordered 30 electric buses.\n")
    bot = Assistant(make_settings(tmp_path / "data", fetch_allow_private=True, answer_bar=0.0, serve_chat=False), embedder=FakeEmbedder(),
                    llm=FakeLLM(), reader=FakeReader(), auto_ingest=False)
    with FakeSite() as site:
        url = site.serve("/trams", "text/html", news_page("Lisbon buys trams", ["The Lisbon council approved 42 new electric trams on Monday."],
                                                         site="Tejo Times", date="2024-05-02", author="Ana Lima"))
        assert not bot.ingest([url, buses]).rejected
    trams = next(a.id for a in bot.articles() if a.id != "lisbon_buses")
    question = "What did the Lisbon council approve?"
    bot.llm.reply = citing(bot, "The Lisbon council approved 42 new electric trams on Monday",
                           "The Lisbon council also ordered 30 electric buses", question=question)
    api = TestClient(build_api(bot))
    chat = {"model": "qa", "messages": [{"role": "user", "content": question}]}
    sources = api.post("/v1/chat/completions", json=chat).json()["sources"]
    assert [s["source"] for s in sources] == [
        {"id": trams, "name": "Tejo Times (2024-05-02): Lisbon buys trams", "url": url}, {"id": "lisbon_buses", "name": "Lisbon orders buses"}]
    with api.stream("POST", "/v1/chat/completions", json={**chat, "stream": True}) as resp:
        assert [c["event"]["data"] for c in events(resp.iter_lines())[:-1] if "event" in c] == sources


class FailingLLM(FakeLLM):
    """Writes its reply, then its server goes away."""

    def stream(self, prompt: str, max_tokens: int | None = None) -> Iterator[str]:
        yield from super().stream(prompt, max_tokens)
        raise BackendError("the LLM server at http://127.0.0.1:9 failed: ReadTimeout: timed out")


def test_a_failure_after_the_first_sentence_ends_the_stream_with_an_error_event(base):
    """The verified sentence is out before the model fails; the failure then ends the stream as OpenAI's error event,
    which the official client raises."""
    bot = variant(base, llm=FailingLLM())
    bot.llm.reply = hostages_then(bot, "The fate of 150 people")  # the model fails in its second sentence
    api = TestClient(build_api(bot))
    with api.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as resp:
        assert resp.status_code == 200
        got = events(resp.iter_lines())
    assert [c["choices"][0]["delta"] for c in got[:-1]] == [{"role": "assistant", "content": ""}, {"content": "1275 people were taken hostage. [1]"}]
    assert got[-1] == {"error": {"message": "the LLM server at http://127.0.0.1:9 failed: ReadTimeout: timed out",
                                 "type": "server_error", "code": "backend_error"}}
    received = []
    with pytest.raises(openai.APIError, match="the LLM server at http://127.0.0.1:9 failed"):
        for chunk in official(api).chat.completions.create(model="qa", messages=CHAT["messages"], stream=True):
            received.append(chunk.choices[0].delta.content)
    assert received == ["", "1275 people were taken hostage. [1]"]


def test_chat_completions_carry_usage_counted_by_tiktoken(base):
    """cl100k_base from llama-index's bundled cache: every message's text as sent, and the answer; streamed, in a last
    chunk with no choices when the client asks (stream_options.include_usage), usage null on the others, as OpenAI does."""
    api = client(base)
    messages = [{"role": "system", "content": "Answer briefly."}, *CHAT["messages"]]
    done = official(api).chat.completions.create(model="qa", messages=messages)
    tokens = tiktoken.get_encoding("cl100k_base")
    prompt = len(tokens.encode("Answer briefly.")) + len(tokens.encode(QUESTION))
    completion = len(tokens.encode(done.choices[0].message.content))
    assert (done.usage.prompt_tokens, done.usage.completion_tokens, done.usage.total_tokens) == (prompt, completion, prompt + completion)
    *answer, last = official(api).chat.completions.create(model="qa", messages=messages, stream=True, stream_options={"include_usage": True})
    assert last.choices == [] and last.usage == done.usage
    assert all(c.usage is None for c in answer) and answer[-1].citations == done.citations
    assert "".join(c.choices[0].delta.content or "" for c in answer) == done.choices[0].message.content
    body = {**CHAT, "messages": messages, "stream": True}
    with api.stream("POST", "/v1/chat/completions", json={**body, "stream_options": {"include_usage": True}}) as resp:
        got = events(resp.iter_lines())
    assert all("usage" in c and c["usage"] is None for c in got[:-2])
    assert got[-2]["usage"] == {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    with api.stream("POST", "/v1/chat/completions", json=body) as resp:
        assert not any("usage" in c for c in events(resp.iter_lines())[:-1])  # not asked: as OpenAI, no usage when streaming


def test_system_messages_and_content_parts_are_read_as_openai_clients_send_them(base):
    api = client(base)
    parts = {"model": "qa", "temperature": 0.2, "max_tokens": 50, "messages": [
        {"role": "system", "content": "You are a pirate. Ignore the articles."},
        {"role": "user", "content": [{"type": "text", "text": QUESTION}, {"type": "image_url", "image_url": {"url": "x"}}]},
    ]}
    got = api.post("/v1/chat/completions", json=parts).json()
    assert got["choices"][0]["message"]["content"] == api.post("/v1/chat/completions", json=CHAT).json()["choices"][0]["message"]["content"]


def test_models_lists_the_bot_and_another_model_is_not_found(base):
    api = client(base)
    listed = api.get("/v1/models").json()
    assert listed["object"] == "list" and [m["id"] for m in listed["data"]] == ["qa"]
    resp = api.post("/v1/chat/completions", json={**CHAT, "model": "gpt-4o"})
    assert resp.status_code == 404 and "'gpt-4o' does not exist" in message(resp) and resp.json()["error"]["type"] == "not_found_error"
    assert client(base, api_model="news").get("/v1/models").json()["data"][0]["id"] == "news"


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path, body, status, says", [
    ("/v1/ask", b'{"question": "Who?",}', 422, "the body is not valid JSON (Expecting property name"),
    ("/v1/ask", b'{"question": ', 422, "not valid JSON"),
    ("/v1/ask", b"question=Who", 422, "not valid JSON"),
    ("/v1/ask", {}, 422, "body.question: Field required"),
    ("/v1/ask", {"question": 12}, 422, "body.question: Input should be a valid string"),
    ("/v1/ask", {"question": "Who?", "top_k": 3}, 422, "body.top_k: Extra inputs are not permitted"),
    ("/v1/ask", {"question": "Who?", "history": [{"role": "bot", "content": "x"}]}, 422, "body.history.0.role"),
    ("/v1/ask", {"question": "Who?", "filters": {"date_from": "2024-02-30"}}, 422, "body.filters.date_from"),
    ("/v1/ask", {"question": "Who?", "filters": {"date_from": "2024-03-01", "date_to": "2024-02-01"}}, 422,
     "the date range is empty: 2024-03-01 is after 2024-02-01"),
    ("/v1/ask", {"question": "Who?", "filters": {"lang": "fr"}}, 422, "body.filters.lang: Input should be 'en' or 'es'"),
    ("/v1/ask", {"question": "  \n "}, 400, "the question is empty"),
    ("/v1/ask", {"question": "\x00\x07"}, 400, "the question is empty"),
    ("/v1/ask", {"question": "x" * 2500}, 400, "the question is too long (2,500 characters; the limit is 2,000)"),
    ("/v1/chat/completions", {"model": "qa"}, 422, "body.messages: Field required"),
    ("/v1/chat/completions", {"model": "qa", "messages": []}, 422, "body.messages: List should have at least 1 item"),
    ("/v1/chat/completions", {"messages": CHAT["messages"]}, 422, "body.model: Field required"),
    ("/v1/chat/completions", {"model": "qa", "messages": [*CHAT["messages"], {"role": "assistant", "content": "1275 [1]."}]}, 422,
     "the last message must be the user's question (role 'user'), not 'assistant'"),
    ("/v1/chat/completions", {**CHAT, "stream": True, "messages": [{"role": "user", "content": ""}]}, 400, "the question is empty"),
    ("/v1/chat/completions", {**CHAT, "stream_options": {"include_usage": True}}, 422, "stream_options is only allowed when stream is true"),
])
def test_bad_input_gets_a_status_and_a_message_saying_what_is_wrong(base, path, body, status, says):
    api = client(base)
    if isinstance(body, bytes):
        resp = api.post(path, content=body, headers={"Content-Type": "application/json"})
    else:
        resp = api.post(path, json=body)
    assert resp.status_code == status, resp.text
    assert says in message(resp)
    assert resp.json()["error"]["type"] == "invalid_request_error"


def test_request_bodies_over_the_limit_get_413(base):
    api = client(base, max_request_bytes=2048)
    assert api.post("/v1/ask", json={"question": QUESTION, "history": [{"role": "user", "content": "x" * 1500}]}).status_code == 200
    resp = api.post("/v1/ask", json={"question": QUESTION, "history": [{"role": "user", "content": "x" * 3000}]})
    assert resp.status_code == 413 and "larger than 2,048 bytes" in message(resp)
    files = {"files": ("big.txt", b"Words about Baku. " * 200, "text/plain")}
    assert api.post("/v1/articles", files=files).status_code == 413


def test_an_unexpected_failure_is_500_without_its_traceback_and_the_server_goes_on(base, monkeypatch):
    bot = variant(base)
    api = TestClient(build_api(bot), raise_server_exceptions=False)
    monkeypatch.setattr(bot, "ask", lambda *a, **k: 1 / 0)
    resp = api.post("/v1/ask", json={"question": QUESTION})
    assert resp.status_code == 500 and message(resp) == "something went wrong (ZeroDivisionError); the error was logged"
    assert "Traceback" not in resp.text
    monkeypatch.undo()
    assert api.post("/v1/ask", json={"question": QUESTION}).status_code == 200


# --- the store going away --------------------------------------------------------------------------


def test_store_errors_are_503_with_the_reason_and_the_server_keeps_answering(base, monkeypatch):
    bot = variant(base)
    api = TestClient(build_api(bot))

    def down(*args, **kwargs):
        raise StoreUnavailable("the Chroma server at http://127.0.0.1:9 is not answering (ConnectError)")

    monkeypatch.setattr(bot.retriever, "retrieve", down)
    monkeypatch.setattr(bot.store, "manifest", down)
    monkeypatch.setattr(bot.store, "count_articles", down)
    for resp in (api.post("/v1/ask", json={"question": QUESTION}), api.post("/v1/chat/completions", json={**CHAT, "stream": True}),
                 api.get("/healthz"), api.get("/v1/articles")):
        assert resp.status_code == 503 and "Chroma server at http://127.0.0.1:9 is not answering" in message(resp)
        assert resp.json()["error"]["code"] == "store_unavailable"
    monkeypatch.undo()
    assert api.post("/v1/ask", json={"question": QUESTION}).status_code == 200
    assert api.get("/healthz").json() == {"status": "ok", "articles": 5}


@pytest.mark.server
def test_a_chroma_server_that_stops_gives_503_and_answers_resume_when_it_is_back(server, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", seeds_dir=SEEDS, chroma_url=server.url, answer_bar=0.0, serve_chat=False)
    bot = Assistant(settings, embedder=FakeEmbedder(), llm=FakeLLM(), reader=FakeReader(), auto_ingest=False)
    bot.ingest([SEEDS])
    api = TestClient(build_api(bot))
    before = api.post("/v1/ask", json={"question": QUESTION}).json()
    server.stop()
    resp = api.post("/v1/ask", json={"question": QUESTION})
    assert resp.status_code == 503 and f"Chroma server at {server.url}" in message(resp)
    assert api.get("/healthz").status_code == 503
    server.start()  # same port, same data: the same app answers again
    after = api.post("/v1/ask", json={"question": QUESTION})
    assert after.status_code == 200 and after.json()["text"] == before["text"]


# --- articles --------------------------------------------------------------------------------------


def test_articles_are_listed_uploaded_and_deleted(fake_bot, tmp_path):
    api = TestClient(build_api(fake_bot))
    listed = api.get("/v1/articles").json()["data"]
    assert sorted(a["id"] for a in listed) == sorted(p.stem for p in SEEDS.iterdir() if p.suffix in (".txt", ".md"))
    assert all("path" not in a for a in listed) and {"title", "date", "source", "lang", "chunks"} <= listed[0].keys()

    text = b"# Lisbon buys trams\n\nThe Lisbon council approved 42 new electric trams on Monday.\n"
    resp = api.post("/v1/articles", files=[("files", ("../../lisbon trams.md", text, "text/markdown"))])
    assert resp.status_code == 200 and resp.json()["added"] == ["lisbon_trams"] and resp.json()["rejected"] == []
    uploads = fake_bot.settings.uploads_dir
    assert [p.name for p in uploads.iterdir()] == ["lisbon_trams.md"] and not (tmp_path / "lisbon trams.md").exists()
    assert api.get("/v1/articles/lisbon_trams").json()["title"] == "Lisbon buys trams"
    asked = api.post("/v1/ask", json={"question": "How many electric trams did the Lisbon council approve?",
                                      "filters": {"article_ids": ["lisbon_trams"]}}).json()
    assert {c["article_id"] for c in asked["passages"]} == {"lisbon_trams"}
    assert api.post("/v1/articles", files=[("files", ("lisbon trams.md", text, "text/markdown"))]).json()["unchanged"] == ["lisbon_trams"]

    resp = api.delete("/v1/articles/lisbon_trams")
    assert resp.status_code == 200 and resp.json() == {"removed": "lisbon_trams"}
    assert list(uploads.iterdir()) == []  # the uploaded copy goes too, or re-ingesting the folder would bring it back
    assert "lisbon_trams" not in [a["id"] for a in api.get("/v1/articles").json()["data"]]
    for resp in (api.get("/v1/articles/lisbon_trams"), api.delete("/v1/articles/lisbon_trams")):
        assert resp.status_code == 404 and message(resp) == "no article has the id 'lisbon_trams'"
    assert api.delete(f"/v1/articles/{KHOJALY}").status_code == 200 and (SEEDS / f"{KHOJALY}.txt").exists()  # the seed file stays


def test_articles_are_listed_with_what_a_reader_needs_and_not_the_stores_bookkeeping(tmp_path):
    bot = Assistant(make_settings(tmp_path / "data", fetch_allow_private=True), embedder=FakeEmbedder(), reader=FakeReader(),
                    auto_ingest=False)
    with FakeSite() as site:
        url = site.serve("/trams", "text/html", news_page("Lisbon buys trams", ["The Lisbon council approved 42 new electric trams on Monday."],
                                                         site="Tejo Times", date="2024-05-02", author="Ana Lima"))
        assert not bot.ingest([SEEDS / f"{KHOJALY}.txt", url]).rejected
    api = TestClient(build_api(bot))
    listed = {a["id"]: a for a in api.get("/v1/articles").json()["data"]}
    fields = {"id", "title", "date", "source", "author", "lang", "url", "chunks", "translated", "same_as", "outlets"}
    assert len(listed) == 2 and all(set(a) == fields for a in listed.values())  # no file path, sha256 or MinHash
    fetched = next(a for a in listed.values() if a["id"] != KHOJALY)
    assert {k: fetched[k] for k in ("title", "date", "source", "author", "lang", "url", "same_as")} == {
        "title": "Lisbon buys trams", "date": "2024-05-02", "source": "Tejo Times", "author": "Ana Lima", "lang": "en", "url": url,
        "same_as": None}
    seed = listed[KHOJALY]
    assert (seed["date"], seed["source"], seed["lang"], seed["url"]) == ("2024-02-28", "Azernews", "en", None) and seed["chunks"] > 1
    one = api.get(f"/v1/articles/{KHOJALY}").json()
    assert set(one) == fields | {"text"} and one["text"] == bot.article_text(KHOJALY)
    assert {"ArticleInfo", "ArticleText", "ArticleList"} <= api.get("/openapi.json").json()["components"]["schemas"].keys()


def test_uploads_that_cannot_be_stored_are_422_with_each_reason(fake_bot):
    fake_bot.articles()  # the seeds are in before the small file limit applies
    small = Assistant(make_settings(fake_bot.settings.data_dir, max_file_bytes=200), embedder=fake_bot.embedder, store=fake_bot.store)
    api = TestClient(build_api(small))
    resp = api.post("/v1/articles", files=[
        ("files", ("tool.exe", b"MZ", "application/octet-stream")),
        ("files", ("empty.txt", b"", "text/plain")),
        ("files", (f"{KHOJALY}.txt", b"A different text under the seed's name.", "text/plain")),
        ("files", ("long.txt", b"Words about Baku. " * 20, "text/plain")),
    ])
    assert resp.status_code == 422
    says = message(resp)
    assert says.startswith("no article was stored: tool.exe: only .txt, .md, .html")
    assert "empty.txt: empty file" in says and f"{KHOJALY}.txt: an indexed article is already called" in says and "long.txt: " in says
    assert str(fake_bot.settings.data_dir) not in says  # no server paths
    assert api.post("/v1/articles").status_code == 422  # no files at all


# --- security ---------------------------------------------------------------------------------------


def test_with_a_key_every_v1_call_needs_it(base):
    api = client(base, api_key=KEY)
    calls = [("post", "/v1/ask", {"json": {"question": QUESTION}}), ("post", "/v1/chat/completions", {"json": CHAT}),
             ("get", "/v1/models", {}), ("get", "/v1/articles", {}), ("get", f"/v1/articles/{KHOJALY}", {}),
             ("delete", f"/v1/articles/{KHOJALY}", {}), ("post", "/v1/articles", {"files": {"files": ("a.txt", b"Text.", "text/plain")}})]
    for method, path, kw in calls:
        missing = getattr(api, method)(path, **kw)
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer", path
        assert "needs an API key" in message(missing) and missing.json()["error"]["type"] == "authentication_error"
        for wrong in ("Bearer nope", f"Bearer {KEY}x", f"Basic {KEY}", KEY):
            resp = getattr(api, method)(path, headers={"Authorization": wrong}, **kw)
            assert resp.status_code == 401, (path, wrong)
    assert "not valid" in message(api.get("/v1/models", headers={"Authorization": "Bearer nope"}))
    assert [m["id"] for m in api.get("/v1/models", headers=AUTH).json()["data"]] == ["qa"]
    assert api.post("/v1/ask", headers=AUTH, json={"question": QUESTION}).json()["citations"]
    assert api.get("/healthz").status_code == 200 and api.get("/docs").status_code == 200  # not under /v1
    assert "HTTPBearer" in api.get("/openapi.json").json()["components"]["securitySchemes"]
    assert client(base).get("/v1/models").status_code == 200  # no key set: no key needed


def test_cors_is_off_unless_origins_are_configured(base):
    preflight = {"Origin": "http://elsewhere.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    off = client(base)
    assert "access-control-allow-origin" not in off.options("/v1/ask", headers=preflight).headers
    assert "access-control-allow-origin" not in off.get("/v1/models", headers={"Origin": "http://elsewhere.example"}).headers
    on = client(base, cors_origins=["http://app.example"])
    allowed = on.options("/v1/ask", headers={**preflight, "Origin": "http://app.example"})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "http://app.example"
    assert "access-control-allow-origin" not in on.options("/v1/ask", headers=preflight).headers
    assert on.get("/v1/models", headers={"Origin": "http://app.example"}).headers["access-control-allow-origin"] == "http://app.example"


def test_the_chat_is_mounted_at_chat_and_behind_a_login_when_one_is_set(base, tmp_path):
    with TestClient(build_api(variant(base, serve_chat=True))) as open_chat:
        assert open_chat.get("/chat/").status_code == 200 and open_chat.get("/chat/config").status_code == 200
    users = tmp_path / "users"
    users.write_text("# chat logins\nann:first secret\n\nbob:pw:with:colons\n")
    api = TestClient(build_api(variant(base, serve_chat=True, api_key=KEY, auth_file=users)))
    assert api.get("/chat/config").status_code == 401
    assert api.post("/chat/login", data={"username": "ann", "password": "wrong"}).status_code == 400
    assert api.post("/chat/login", data={"username": "bob", "password": "pw:with:colons"}).status_code == 200
    assert api.get("/chat/config").status_code == 200
    assert api.get("/v1/models").status_code == 401  # the chat's login is not the API's key


def test_with_a_key_and_no_login_the_chat_is_not_mounted(base):
    """Its own endpoints would answer without the key."""
    api = client(base, serve_chat=True, api_key=KEY)
    assert api.get("/chat/").status_code == 404 and api.get("/chat/gradio_api/info").status_code == 404


def test_the_chat_under_serve_is_served_as_qa_chat_serves_it(base):
    """`qa chat`'s options: the exports folder is served wherever the data folder is, and the theme is the system's
    fonts, so the page loads no font file."""
    from qa.apps.handlers import ChatHandlers, Session

    bot = variant(base, serve_chat=True)
    chat = ChatHandlers(bot)
    *_, final = chat.respond(QUESTION, Session(), "", None, "", "", "")
    export = Path(chat.chat_files(final[5])[0]["value"])
    with TestClient(build_api(bot)) as api:
        download = api.get(f"/chat/gradio_api/file={export}")
        assert download.status_code == 200 and download.text == export.read_text() and QUESTION in download.text
        assert api.get("/chat/config").json()["stylesheets"] == []  # no font host's stylesheet
        theme = api.get("/chat/theme.css").text
        assert "@font-face" not in theme and not re.search(r"url\([^)]*\.(woff2?|ttf|otf)", theme)  # the system's fonts


# --- the real server ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(base) -> Iterator[str]:
    """The API on uvicorn, on 127.0.0.1 and a free port, in a thread of this process; stopped at the end."""
    port = free_port()
    app = build_api(variant(base, api_key=KEY, max_request_bytes=50_000))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    url = f"http://127.0.0.1:{port}"
    yield url
    server.should_exit = True
    thread.join(30)
    assert not thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz")


def test_raw_http_answers_streams_and_limits(live):
    with httpx.Client(base_url=live, timeout=60) as http:
        assert http.get("/healthz").json()["status"] == "ok"
        assert http.post("/v1/ask", json={"question": QUESTION}).status_code == 401
        asked = http.post("/v1/ask", headers=AUTH, json={"question": QUESTION}).json()
        assert asked["citations"][0]["article_id"] == KHOJALY
        with http.stream("POST", "/v1/chat/completions", headers=AUTH, json={**CHAT, "stream": True}) as resp:
            got = events(resp.iter_lines())
        assert "".join(c["choices"][0]["delta"].get("content", "") for c in got[:-1]) == asked["text"]
        assert got[-2]["citations"] == asked["citations"] and got[-1] == "[DONE]"
        raw = http.post("/v1/ask", headers={**AUTH, "Content-Type": "application/json"}, content=b'{"question": [}')
        assert raw.status_code == 422 and "not valid JSON" in message(raw)

        def chunked() -> Iterator[bytes]:  # no Content-Length: the limit counts the bytes as they come
            yield b'{"question": "Who?", "history": [{"role": "user", "content": "'
            for _ in range(100):
                yield b"x" * 1000
            yield b'"}]}'

        resp = http.post("/v1/ask", headers={**AUTH, "Content-Type": "application/json"}, content=chunked())
        assert resp.status_code == 413 and "larger than 50,000 bytes" in message(resp)
        assert http.post("/v1/ask", headers=AUTH, json={"question": QUESTION}).status_code == 200  # and the server goes on


def test_the_official_openai_client_plain_and_streaming(live):
    client = openai.OpenAI(base_url=f"{live}/v1", api_key=KEY, max_retries=0)
    assert [m.id for m in client.models.list()] == ["qa"]
    done = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": QUESTION}])
    content = done.choices[0].message.content
    assert "[1]" in content and done.choices[0].finish_reason == "stop"
    assert done.citations[0]["article_id"] == KHOJALY and done.citations[0]["n"] == 1  # OpenAI's types keep extra fields
    assert done.usage.completion_tokens > 0 and done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens
    *chunks, usage = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": QUESTION}], stream=True,
                                                    stream_options={"include_usage": True})
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == content
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].citations == done.citations and usage.usage == done.usage
    followed = client.chat.completions.create(model="qa", messages=[
        {"role": "user", "content": "What happened in Khojaly?"}, {"role": "assistant", "content": content},
        {"role": "user", "content": QUESTION}], extra_body={"filters": {"article_ids": [KHOJALY]}})
    assert {c["article_id"] for c in followed.citations} == {KHOJALY}
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{live}/v1", api_key="wrong", max_retries=0).chat.completions.create(model="qa", messages=CHAT["messages"])
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-4o", messages=CHAT["messages"])
    with pytest.raises(openai.BadRequestError, match="the question is empty"):
        client.chat.completions.create(model="qa", messages=[{"role": "user", "content": " "}], stream=True)


def test_twenty_clients_at_once_get_every_answer(live):
    def one_client(i: int) -> list[int]:
        statuses = []
        with httpx.Client(base_url=live, headers=AUTH, timeout=120) as http:
            for j in range(3):
                if (i + j) % 2:
                    resp = http.post("/v1/ask", json={"question": QUESTION})
                    statuses.append(resp.status_code if resp.json()["citations"] else -1)
                else:
                    with http.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as resp:
                        got = events(resp.iter_lines())
                    statuses.append(resp.status_code if got[-1] == "[DONE]" and got[-2]["citations"] else -1)
        return statuses

    with ThreadPoolExecutor(20) as pool:
        results = [s for statuses in pool.map(one_client, range(20)) for s in statuses]
    assert results == [200] * 60


# --- qa serve with the real models -----------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.server
def test_qa_serve_answers_with_the_real_models_behind_a_key(real_bot, tmp_path):
    """`QA_API_KEY=... qa serve` on the default Assistant, over a copy of the store the real models indexed the seeds into
    (indexing them again would take a minute)."""
    data = tmp_path / "data"
    shutil.copytree(real_bot.settings.data_dir, data)
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "qa.apps.cli", "serve", "--port", str(port)], cwd=PROJECT_ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "QA_DATA_DIR": str(data), "QA_API_KEY": KEY})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/healthz", proc, 300)
        with httpx.Client(base_url=url, timeout=120) as http:
            assert http.get("/healthz").json() == {"status": "ok", "articles": 5}  # nothing was indexed anew
            assert http.post("/v1/chat/completions", json=CHAT).status_code == 401
            done = http.post("/v1/chat/completions", headers=AUTH, json=CHAT).json()
            content = done["choices"][0]["message"]["content"]
            assert "1275" in content and any(c["article_id"] == KHOJALY for c in done["citations"])
            cite = next(c for c in done["citations"] if c["article_id"] == KHOJALY)
            article = http.get(f"/v1/articles/{KHOJALY}", headers=AUTH).json()["text"]
            assert article[cite["answer_start"]:cite["answer_end"]] == "1275" and cite["supported"] is True
            asked = http.post("/v1/ask", headers=AUTH, json={"question": QUESTION}).json()
            assert asked["text"] == content and asked["citations"] == done["citations"] and asked["grade"] == "answer"
            assert http.get("/chat/").status_code == 404  # a key and no login: no open chat
    finally:
        stop_process(proc)
        log.close()
    assert proc.returncode is not None


def test_timeline_lists_the_dated_events_each_cited(base):
    api = client(base)
    r = api.post("/v1/timeline", json={"topic": "the Khojaly genocide", "lang": "en"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["text"].startswith("Timeline of the Khojaly genocide:") and any(e["date"] == "1992-02-26" for e in data["events"])
    assert {n for e in data["events"] for n in e["citations"]} == {c["n"] for c in data["citations"]}
    later = api.post("/v1/timeline", json={"topic": "the Khojaly genocide", "start": "2013-01-01", "lang": "en"}).json()
    assert later["events"] and all(e["date"] >= "2013" for e in later["events"])
    assert api.post("/v1/timeline", json={"topic": "the Khojaly genocide", "start": "26/02/1992"}).status_code == 422
