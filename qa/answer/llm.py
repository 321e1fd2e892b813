"""The only place answer backends are built: an OpenAI-compatible chat server (Ollama, vLLM, llama.cpp, OpenAI)."""

import json
from collections.abc import Iterable, Iterator
from typing import Protocol

import httpx

from qa.core.errors import BackendError
from qa.core.settings import Settings


class LLM(Protocol):
    name: str

    def stream(self, prompt: str, max_tokens: int | None = None) -> Iterator[str]: ...

    def complete(self, prompt: str, max_tokens: int | None = None) -> str: ...


def sse_deltas(lines: Iterable[str]) -> Iterator[str]:
    """Text deltas of a chat-completions event stream; an error event or a garbled one is raised, never skipped,
    so a failing server cannot pass for a model that said nothing."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, ": keep-alive" comments, event:/id: fields
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except json.JSONDecodeError as exc:
            raise BackendError(f"the LLM server sent an unreadable event: {data[:200]!r}") from exc
        if not isinstance(event, dict):
            raise BackendError(f"the LLM server sent an unexpected event: {data[:200]!r}")
        if "error" in event:
            error = event["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise BackendError(f"the LLM server failed while answering: {message}")
        for choice in event.get("choices") or []:  # a final usage-only event has no choices
            content = (choice.get("delta") or {}).get("content")
            if content:
                yield content


class OpenAICompatLLM:
    """Streams chat completions over HTTP; no SDK, so nothing but httpx is needed."""

    def __init__(self, base_url: str, model: str, api_key: str, timeout: float, max_tokens: int,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_tokens = max_tokens
        self.name = f"openai:{model}"
        self._client = httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {api_key}"}, transport=transport)

    def stream(self, prompt: str, max_tokens: int | None = None) -> Iterator[str]:
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": 0.0,
            "max_tokens": max_tokens or self.max_tokens,
            "stream": True,
        }
        try:
            with self._client.stream("POST", f"{self.base_url}/chat/completions", json=body) as resp:
                if resp.status_code != 200:
                    resp.read()
                    raise BackendError(f"the LLM server answered HTTP {resp.status_code}: {resp.text[:300]}")
                yield from sse_deltas(resp.iter_lines())
        except httpx.HTTPError as exc:
            raise BackendError(f"the LLM server at {self.base_url} failed: {type(exc).__name__}: {exc}") from exc

    def complete(self, prompt: str, max_tokens: int | None = None) -> str:
        return "".join(self.stream(prompt, max_tokens))


class Transcript:
    """Wraps an LLM and keeps each prompt with the model's whole reply: what tests, benchmarks and debugging inspect."""

    def __init__(self, inner: LLM) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[tuple[str, str]] = []

    def stream(self, prompt: str, max_tokens: int | None = None) -> Iterator[str]:
        out: list[str] = []
        for delta in self.inner.stream(prompt, max_tokens):
            out.append(delta)
            yield delta
        self.calls.append((prompt, "".join(out)))

    def complete(self, prompt: str, max_tokens: int | None = None) -> str:
        return "".join(self.stream(prompt, max_tokens))


def build_llm(settings: Settings) -> LLM | None:
    if settings.backend != "openai":
        return None
    if not settings.llm_base_url:
        raise BackendError("QA_BACKEND=openai needs QA_LLM_BASE_URL (for example http://127.0.0.1:8080/v1)")
    return OpenAICompatLLM(settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout, settings.llm_max_tokens)
