"""Load: 20 concurrent chat users against a real `qa chat` process on 127.0.0.1, bounded in time and requests."""

from collections.abc import Iterator

import pytest

from benchmarks.common import SEED_QUESTIONS

from qa_eval.servers import free_port, start_chat, stop_process, wait_http
from benchmarks.load import run_load

pytestmark = [pytest.mark.server, pytest.mark.model]


@pytest.fixture(scope="module")
def chat(tmp_path_factory) -> Iterator[str]:
    """`qa chat` with its own data folder; it indexes the seeds (real model) before it starts listening."""
    data = tmp_path_factory.mktemp("load") / "data"
    data.mkdir()
    port = free_port()
    proc = start_chat(data, port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url, proc, 240)
        yield url
    finally:
        stop_process(proc)
        assert proc.returncode is not None


def test_twenty_users_get_every_answer(chat):
    result = run_load(chat, users=20, seconds=10, max_requests=300, questions=SEED_QUESTIONS)
    assert result["lost"] == 0 and result["completed"] == result["requests"]
    assert result["errors"] == 0, result["error_samples"]
    assert result["ok"] >= 20  # every user got at least one answer on average
    assert result["latency"]["p95"] < 60


def test_load_runner_only_targets_loopback():
    with pytest.raises(Exception, match="127.0.0.1"):
        run_load("http://192.0.2.1:7860", users=1, seconds=1, max_requests=1, questions=["x"])
