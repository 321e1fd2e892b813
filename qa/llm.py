"""The only place answer backends are built: an OpenAI-compatible chat server (Ollama, vLLM, llama.cpp, OpenAI)."""

import json
from collections.abc import Iterator
from typing import Protocol

import httpx

from .errors import BackendError
from .settings import Settings


class LLM(Protocol):
    name: str

    def stream(self, prompt: str, max_tokens: int | None = None) -> Iterator[str]: ...

    def complete(self, prompt: str, max_tokens: int | None = None) -> str: ...


class OpenAICompatLLM:
    """Streams chat completions over HTTP; no SDK, so nothing but httpx is needed."""

    def __init__(self, base_url: str, model: str, api_key: str, timeout: float, max_tokens: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_tokens = max_tokens
        self.name = f"openai:{model}"
        self._client = httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {api_key}"})

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
                for line in resp.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    try:
                        delta = json.loads(data)["choices"][0].get("delta", {}).get("content")
                    except (KeyError, IndexError, json.JSONDecodeError):
                        continue
                    if delta:
                        yield delta
        except httpx.HTTPError as exc:
            raise BackendError(f"the LLM server at {self.base_url} failed: {type(exc).__name__}: {exc}") from exc

    def complete(self, prompt: str, max_tokens: int | None = None) -> str:
        return "".join(self.stream(prompt, max_tokens))


def build_llm(settings: Settings) -> LLM | None:
    if settings.backend != "openai":
        return None
    if not settings.llm_base_url:
        raise BackendError("QA_BACKEND=openai needs QA_LLM_BASE_URL (for example http://127.0.0.1:8080/v1)")
    return OpenAICompatLLM(settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout, settings.llm_max_tokens)
