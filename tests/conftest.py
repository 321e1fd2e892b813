import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa import Assistant, Settings
from qa_eval.servers import free_port, start_chroma, stop_process, wait_http
from qa.core.settings import PROJECT_ROOT
from tests.fakes import FakeEmbedder, FakeLLM, FakeReader

SEEDS = PROJECT_ROOT / "seeds"
KHOJALY = "001_0fce656212b9b58a"
SPANISH = "002_80680643ca28e344"


def make_settings(data_dir: Path, **overrides) -> Settings:
    return Settings(data_dir=data_dir, seeds_dir=SEEDS, chroma_url=None, **overrides)


def cited_bot(settings: Settings) -> Assistant:
    """Fast bot that answers: the fake LLM cites the first sentence of passage [1], verification on the fake embedder."""
    bot = Assistant(settings.model_copy(update={"answer_bar": 0.0}), embedder=FakeEmbedder(), llm=FakeLLM(), reader=FakeReader())
    bot.articles()
    return bot


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def fake_bot(settings) -> Assistant:
    """Fast assistant on the hashing embedder, seeds ingested into a store under tmp_path."""
    return Assistant(settings, embedder=FakeEmbedder())


@pytest.fixture(scope="session")
def real_bot(tmp_path_factory) -> Assistant:
    """The embedded default (real e5 model), built once per test session."""
    bot = Assistant(make_settings(tmp_path_factory.mktemp("real") / "data"))
    bot.articles()  # index the seeds now, not inside the first timed test
    return bot


@pytest.fixture
def seeds_copy(tmp_path) -> Path:
    dest = tmp_path / "articles"
    shutil.copytree(SEEDS, dest)
    return dest


class ChromaServer:
    """A `chroma run` on 127.0.0.1 that a test can stop and start again on the same port and data."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = start_chroma(self.path, self.port)
        wait_http(f"{self.url}/api/v2/heartbeat", self.proc, 60)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


@pytest.fixture
def server(tmp_path) -> Iterator[ChromaServer]:
    s = ChromaServer(tmp_path / "chroma-db")
    s.start()
    yield s
    if s.proc is not None and s.proc.poll() is None:
        os.killpg(s.proc.pid, signal.SIGCONT)  # in case a test left it paused
    s.stop()
