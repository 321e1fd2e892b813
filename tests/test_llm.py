"""The OpenAI-compatible client without a server: event-stream parsing, the request it sends, failures as BackendError."""

import json
import socket
import sys
from collections.abc import Callable, Iterator

import httpx
import pytest

from qa.core.errors import BackendError
from qa.answer.llm import OpenAICompatLLM, Transcript, build_llm, sse_deltas
from qa_eval.servers import ServerProcess, free_port
from tests.conftest import make_settings


def event(content: str | None = None, **extra) -> str:
    delta = {} if content is None else {"content": content}
    return "data: " + json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": None}], **extra}) + "\n\n"


def client(handler: Callable[[httpx.Request], httpx.Response], base_url: str = "http://llm.test/v1/") -> OpenAICompatLLM:
    return OpenAICompatLLM(base_url, "tiny", "secret", timeout=5.0, max_tokens=64, transport=httpx.MockTransport(handler))


def sse(*chunks: str, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, headers={"content-type": "text/event-stream"}, content="".join(chunks).encode())


def test_sse_deltas_skip_comments_roles_and_usage_and_stop_at_done():
    lines = [": keep-alive", "", 'data: {"choices":[{"delta":{"role":"assistant"}}]}', "event: message",
             'data:{"choices":[{"delta":{"content":"1275 "}}]}', 'data: {"choices":[{"delta":{"content":"people [1]."}}]}',
             'data: {"choices":[],"usage":{"completion_tokens":3}}', "data: [DONE]",
             'data: {"choices":[{"delta":{"content":"after done"}}]}']
    assert list(sse_deltas(lines)) == ["1275 ", "people [1]."]


@pytest.mark.parametrize("line, message", [
    ('data: {"error": {"message": "context window exceeded", "code": 400}}', "context window exceeded"),
    ('data: {"error": "model crashed"}', "model crashed"),
    ("data: {not json", "unreadable event"),
    ('data: ["a", "list"]', "unexpected event"),
])
def test_sse_error_or_garbled_event_raises(line, message):
    with pytest.raises(BackendError, match=message):
        list(sse_deltas([event("ok").strip(), line]))


def test_stream_sends_one_user_message_and_yields_deltas():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return sse(event(None), event("Según [1], "), event("1275 rehenes [1]."), "data: [DONE]\n\n")(request)

    llm = client(handler)
    assert list(llm.stream("the prompt", max_tokens=12)) == ["Según [1], ", "1275 rehenes [1]."]
    request = seen[0]
    assert str(request.url) == "http://llm.test/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer secret"
    body = json.loads(request.content)
    assert body["messages"] == [{"role": "user", "content": "the prompt"}]
    assert body["model"] == "tiny" and body["stream"] is True and body["max_tokens"] == 12 and body["temperature"] == 0.0
    assert llm.name == "openai:tiny"


def test_complete_joins_deltas_and_uses_default_max_tokens():
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return sse(event("a "), event("b"), "data: [DONE]\n\n")(request)

    assert client(handler).complete("p") == "a b"
    assert bodies[0]["max_tokens"] == 64


def test_deltas_arrive_before_the_response_ends():
    """Streaming must hand each delta on as it comes, not after the whole body."""
    sent: list[int] = []

    def body() -> Iterator[bytes]:
        for i, text in enumerate(["one ", "two ", "three"]):
            sent.append(i)
            yield event(text).encode()
        yield b"data: [DONE]\n\n"

    llm = client(lambda request: httpx.Response(200, content=body()))
    deltas = llm.stream("p")
    assert next(deltas) == "one "
    assert sent == [0]
    assert list(deltas) == ["two ", "three"]


@pytest.mark.parametrize("status, text", [(500, "internal boom"), (404, "model 'tiny' not found"), (401, "bad key")])
def test_http_error_status_is_a_backend_error_with_the_body(status, text):
    llm = client(lambda request: httpx.Response(status, json={"error": {"message": text}}))
    with pytest.raises(BackendError, match=rf"HTTP {status}.*{text}"):
        llm.complete("p")


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("peer closed connection")])
def test_transport_failure_is_a_backend_error(exc):
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    with pytest.raises(BackendError, match=type(exc).__name__):
        client(handler).complete("p")


def test_nothing_listening_is_a_backend_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the request: nothing listens there
    llm = OpenAICompatLLM(f"http://127.0.0.1:{port}/v1", "m", "k", timeout=5.0, max_tokens=8)
    with pytest.raises(BackendError, match="ConnectError"):
        llm.complete("p")


def test_build_llm_follows_settings(tmp_path):
    assert build_llm(make_settings(tmp_path)) is None
    with pytest.raises(BackendError, match="QA_LLM_BASE_URL"):
        build_llm(make_settings(tmp_path, backend="openai"))
    llm = build_llm(make_settings(tmp_path, backend="openai", llm_base_url="http://127.0.0.1:9/v1", llm_model="smol"))
    assert isinstance(llm, OpenAICompatLLM) and llm.name == "openai:smol" and llm.base_url == "http://127.0.0.1:9/v1"


def test_transcript_keeps_prompt_and_whole_reply():
    llm = Transcript(client(sse(event("a "), event("b"), "data: [DONE]\n\n")))
    assert list(llm.stream("p1")) == ["a ", "b"] and llm.complete("p2") == "a b"
    assert llm.calls == [("p1", "a b"), ("p2", "a b")] and llm.name == "openai:tiny"


# A stand-in for an OpenAI-compatible server: real sockets and chunked SSE, without a model.
STUB_SERVER = """
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": "stub"}]}).encode()
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        prompt = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["messages"][0]["content"]
        if prompt == "fail":
            self.send_response(500)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"boom")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in ("echo: ", prompt):
            self.wfile.write(("data: " + json.dumps({"choices": [{"delta": {"content": piece}}]}) + "\\n\\n").encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\\n\\n")

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def test_server_process_serves_over_real_http_then_stops(tmp_path):
    script = tmp_path / "stub_server.py"
    script.write_text(STUB_SERVER)
    port = free_port()
    with ServerProcess([sys.executable, str(script), str(port)], f"http://127.0.0.1:{port}/v1", startup_timeout=30) as server:
        llm = OpenAICompatLLM(server.base_url, "stub", "k", timeout=10.0, max_tokens=16)
        assert list(llm.stream("hello")) == ["echo: ", "hello"]
        with pytest.raises(BackendError, match="HTTP 500: boom"):
            llm.complete("fail")
        assert server.running
    assert not server.running
    with pytest.raises(BackendError, match="ConnectError"):
        llm.complete("hello")


def test_server_that_dies_while_starting_reports_its_output():
    server = ServerProcess([sys.executable, "-c", "import sys; print('model file not found'); sys.exit(3)"], "http://127.0.0.1:9/v1", 30)
    with pytest.raises(BackendError, match="(?s)code 3.*model file not found"):
        server.__enter__()
    assert not server.running


def test_server_that_never_answers_is_stopped():
    server = ServerProcess([sys.executable, "-c", "import time; time.sleep(120)"], f"http://127.0.0.1:{free_port()}/v1", startup_timeout=1)
    with pytest.raises(BackendError, match="did not answer"):
        server.__enter__()
    assert not server.running
