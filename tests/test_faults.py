"""Faults: ingest killed midway, a Chroma server that goes away or hangs, a damaged store folder."""

import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from qa import Assistant, Settings
from qa.core.errors import StoreCorrupted, StoreUnavailable
from qa.core.settings import PROJECT_ROOT
from tests.conftest import KHOJALY, SEEDS, ChromaServer, make_settings
from tests.fakes import FakeEmbedder, FakeLLM

# Worded close to the article, so the hashing FakeEmbedder finds it answerable.
QUESTION = "Were 1275 people taken hostage and does the fate of 150 people remain unknown?"

# Ingests argv[2] into the store at argv[1], writing batches of argv[4] sentences; SIGKILLs itself when the manifest
# records of argv[3]'s batch are about to be written (chunks and sentences already stored), or, with argv[3] == "-",
# prints a line per batch embedded so the test can kill it from outside at an arbitrary moment.
INGEST_SCRIPT = """
import os, signal, sys, time
from pathlib import Path
from qa import Assistant
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder

class Slow(FakeEmbedder):
    def embed_passages(self, texts):
        print("embedded", len(texts), flush=True)
        time.sleep(0.02)
        return super().embed_passages(texts)

bot = Assistant(make_settings(Path(sys.argv[1]), write_batch=int(sys.argv[4])), embedder=Slow(), auto_ingest=False)
victim = sys.argv[3]
upsert = bot.store.articles.upsert
def dying_upsert(*args, ids, **kwargs):
    if victim in ids:
        os.kill(os.getpid(), signal.SIGKILL)
    return upsert(*args, ids=ids, **kwargs)
bot.store.articles.upsert = dying_upsert
bot.ingest([sys.argv[2]])
print("done", flush=True)
"""


def run_ingest(data: Path, folder: Path, victim: str = "-", kill_after_lines: int | None = None, write_batch: int = 1) -> int:
    proc = subprocess.Popen([sys.executable, "-c", INGEST_SCRIPT, str(data), str(folder), victim, str(write_batch)], cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    lines = 0
    for _ in proc.stdout:
        lines += 1
        if kill_after_lines is not None and lines == kill_after_lines:
            proc.send_signal(signal.SIGKILL)
    return proc.wait(60)


def corpus(tmp_path: Path) -> Path:
    """The seeds plus 20 short articles, so a kill lands in the middle of a run."""
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    for i in range(20):
        (folder / f"extra-{i:02d}.txt").write_text(
            f"Report number {i} from the harbour of Baku.\n\nThe ferry {i} left at {i + 6} o'clock with {i * 10 + 5} passengers. "
            f"Officials said the new terminal {i} will open next spring.\n"
        )
    return folder


def assert_consistent(bot: Assistant) -> None:
    """Every committed article has exactly its chunks, each the slice of its text; nothing uncommitted is visible."""
    manifest = bot.store.manifest()
    chunks = bot.store.all_chunks()
    for aid, stored in manifest.items():
        mine = [c for c in chunks if c.article_id == aid]
        assert len(mine) == stored.chunks, aid
        text = bot.article_text(aid)
        assert all(text[c.start : c.end] == c.text for c in mine), aid
    visible = {p.article_id for q in (QUESTION, "ferry passengers harbour Baku", "Kremlin") for p in bot.retriever.retrieve(q, k=20)}
    assert visible <= set(manifest)
    lexical = bot.retriever.snapshot().bm25  # repaired from the stored chunks when the kill came before its commit
    assert lexical.held == {aid: a.version for aid, a in manifest.items()} and lexical.n == sum(a.chunks for a in manifest.values())


def test_killed_between_chunks_and_manifest_hides_the_half_article_and_a_rerun_completes(tmp_path):
    folder = corpus(tmp_path)
    data = tmp_path / "data"
    assert run_ingest(data, folder, victim="extra-07", write_batch=8) == -signal.SIGKILL  # a few articles a batch

    bot = Assistant(make_settings(data), embedder=FakeEmbedder(), auto_ingest=False)
    manifest = bot.store.manifest()
    assert "extra-07" not in manifest and "extra-05" in manifest
    orphans = {c.article_id for c in bot.store.all_chunks() if c.article_id not in manifest}
    assert "extra-07" in orphans and 1 < len(orphans) < 5  # the kill hit the window under test: its whole batch is uncommitted
    assert_consistent(bot)

    report = bot.ingest([folder])
    assert "extra-07" in report.added and set(report.unchanged) == set(manifest)
    assert not report.rejected and len(bot.articles()) == 25
    assert bot.store.count_chunks() == sum(a.chunks for a in bot.articles())  # the orphans were replaced, not doubled
    assert_consistent(bot)


def test_killed_from_outside_at_an_arbitrary_moment(tmp_path):
    folder = corpus(tmp_path)
    data = tmp_path / "data"
    assert run_ingest(data, folder, kill_after_lines=23) == -signal.SIGKILL

    bot = Assistant(make_settings(data), embedder=FakeEmbedder(), auto_ingest=False)
    committed = set(bot.store.manifest())
    assert 0 < len(committed) < 25
    assert_consistent(bot)
    report = bot.ingest([folder])
    assert set(report.unchanged) == committed and len(report.added) == 25 - len(committed)
    assert bot.store.count_chunks() == sum(a.chunks for a in bot.articles())
    assert_consistent(bot)


def test_update_killed_midway_is_not_committed(tmp_path):
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    data = tmp_path / "data"
    Assistant(make_settings(data), embedder=FakeEmbedder(), auto_ingest=False).ingest([folder])
    path = folder / f"{KHOJALY}.txt"
    original = path.read_text()
    path.write_text(original.replace("1275", "9999"))
    assert run_ingest(data, folder, victim=KHOJALY) == -signal.SIGKILL
    path.write_text(original)  # the editor undoes the change before anyone re-runs ingest

    bot = Assistant(make_settings(data), embedder=FakeEmbedder(), auto_ingest=False)
    bot.ingest([folder])
    assert_consistent(bot)


# --- a Chroma server that goes away --------------------------------------------------------------------


def server_bot(server: ChromaServer, tmp_path: Path, **overrides) -> Assistant:
    settings = Settings(data_dir=tmp_path / "data", seeds_dir=SEEDS, chroma_url=server.url, collection="faults", **overrides)
    bot = Assistant(settings, embedder=FakeEmbedder(), llm=FakeLLM(), auto_ingest=False)
    bot.ingest([SEEDS])
    return bot


def test_server_gone_mid_chat_is_a_readable_error_and_the_chat_recovers(server, tmp_path):
    bot = server_bot(server, tmp_path)
    before = bot.ask(QUESTION)
    assert not before.refused

    server.stop()
    with pytest.raises(StoreUnavailable, match=f"Chroma server at {server.url}"):
        bot.ask(QUESTION)
    with pytest.raises(StoreUnavailable):
        bot.ask("¿Cuánto duró la reunión trilateral en el Kremlin?")

    server.start()  # same port, same data: the same Assistant carries on
    after = bot.ask(QUESTION)
    assert (after.text, [c.article_id for c in after.citations]) == (before.text, [c.article_id for c in before.citations])


def test_server_gone_while_streaming_raises_store_unavailable(server, tmp_path):
    bot = server_bot(server, tmp_path)
    bot.ask(QUESTION)  # the BM25 snapshot is built; the next call still needs the server for dense search
    events = bot.stream(QUESTION)
    server.stop()
    with pytest.raises(StoreUnavailable):
        list(events)


def test_hung_server_gives_store_unavailable_within_a_timeout(server, tmp_path):
    bot = server_bot(server, tmp_path, chroma_timeout=2.0)
    assert server.proc is not None
    outcome: list[BaseException | None] = []

    def ask() -> None:
        try:
            bot.ask(QUESTION)
            outcome.append(None)
        except BaseException as exc:  # recorded for the main thread
            outcome.append(exc)

    os.killpg(server.proc.pid, signal.SIGSTOP)
    try:
        worker = threading.Thread(target=ask, daemon=True)
        worker.start()
        worker.join(6)
        hung = worker.is_alive()
    finally:
        os.killpg(server.proc.pid, signal.SIGCONT)
    worker.join(30)
    assert not hung and isinstance(outcome[0], StoreUnavailable)


# --- a damaged store folder ----------------------------------------------------------------------------


@pytest.fixture
def built_store(tmp_path) -> Path:
    data = tmp_path / "data"
    Assistant(make_settings(data), embedder=FakeEmbedder(), auto_ingest=False).ingest([SEEDS])
    return data


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda db: db.write_bytes(os.urandom(64_000)), id="garbage"),
        pytest.param(lambda db: db.write_bytes(db.read_bytes()[: db.stat().st_size // 3]), id="truncated"),
        pytest.param(lambda db: db.write_bytes(b"\0" * db.stat().st_size), id="zeroed"),
    ],
)
def test_damaged_database_is_store_corrupted_with_a_clear_message(built_store, damage):
    damage(built_store / "chroma" / "chroma.sqlite3")
    with pytest.raises(StoreCorrupted, match=r"local store at .*chroma.*(corrupted|integrity|cannot be opened).*move it aside"):
        Assistant(make_settings(built_store), embedder=FakeEmbedder(), auto_ingest=False)


def test_cli_reports_a_damaged_store_with_its_exit_code(built_store):
    (built_store / "chroma" / "chroma.sqlite3").write_bytes(os.urandom(64_000))
    result = subprocess.run([sys.executable, "-m", "qa.apps.cli", "ask", "Who?"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            env={**os.environ, "QA_DATA_DIR": str(built_store)}, timeout=120)
    assert result.returncode == StoreCorrupted.exit_code
    assert result.stderr.startswith("error: the local store at") and "Traceback" not in result.stderr


def test_store_path_taken_by_a_file_is_store_corrupted(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "chroma").write_text("not a folder")
    with pytest.raises(StoreCorrupted, match="cannot be opened"):
        Assistant(make_settings(tmp_path / "data"), embedder=FakeEmbedder(), auto_ingest=False)


def test_missing_database_next_to_index_folders_is_store_corrupted(built_store):
    (built_store / "chroma" / "chroma.sqlite3").unlink()
    with pytest.raises(StoreCorrupted):
        Assistant(make_settings(built_store), embedder=FakeEmbedder(), auto_ingest=False)
