"""The core API against a real Chroma server (`chroma run` on 127.0.0.1), started and stopped here.

Never skipped: the `chroma` command ships with chromadb, so a missing one is a broken install.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa import Assistant, Settings
from qa_eval.servers import free_port, start_chroma, stop_process, wait_http
from tests.conftest import KHOJALY, SEEDS, make_settings
from tests.fakes import FakeEmbedder, FakeLLM

pytestmark = pytest.mark.server

# Worded close to the article, so the hashing FakeEmbedder finds it answerable.
QUESTION = "Were 1275 people taken hostage and does the fate of 150 people remain unknown?"


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("chroma-server") / "db"
    port = free_port()
    proc = start_chroma(path, port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/api/v2/heartbeat", proc, 60)
        yield url
    finally:
        stop_process(proc)


@pytest.fixture
def server_settings(chroma_url, tmp_path) -> Settings:
    # One collection set per test (tmp_path's name is unique), so tests sharing the server stay apart.
    return Settings(data_dir=tmp_path / "data", seeds_dir=SEEDS, chroma_url=chroma_url, collection=tmp_path.name)


def cited_bot(settings: Settings) -> Assistant:
    return Assistant(settings, embedder=FakeEmbedder(), llm=FakeLLM(), auto_ingest=False)


def test_ingest_ask_and_idempotent_reingest(server_settings, seeds_copy):
    bot = cited_bot(server_settings)
    first = bot.ingest([seeds_copy])
    assert len(first.added) == 5 and first.chunks > 0 and not first.rejected
    assert not (server_settings.data_dir / "chroma").exists()  # nothing written locally in server mode

    answer = bot.ask(QUESTION)
    assert not answer.refused and answer.citations
    for c in answer.citations:
        assert bot.article_text(c.article_id)[c.start : c.end] == c.quote
    assert any(p.article_id == KHOJALY for p in answer.passages)

    count = bot.store.count_chunks()
    again = bot.ingest([seeds_copy])
    assert (again.added, again.updated, again.removed, again.chunks) == ([], [], [], 0)
    assert sorted(again.unchanged) == sorted(first.added)
    assert bot.store.count_chunks() == count


def test_update_and_remove_on_server(server_settings, seeds_copy):
    bot = cited_bot(server_settings)
    bot.ingest([seeds_copy])
    path = seeds_copy / f"{KHOJALY}.txt"
    path.write_text(path.read_text() + "\nA closing paragraph about the memorial in Lima.\n")
    (seeds_copy / "004_332e190914e64a60.txt").unlink()
    report = bot.ingest([seeds_copy])
    assert (report.updated, report.removed) == ([KHOJALY], ["004_332e190914e64a60"])
    assert "memorial in Lima" in bot.article_text(KHOJALY)
    assert "004_332e190914e64a60" not in {c.article_id for c in bot.store.all_chunks()}


def test_a_second_process_sees_the_same_store(server_settings, seeds_copy):
    """Past one machine several app processes share a server: a new client sees what another ingested."""
    cited_bot(server_settings).ingest([seeds_copy])
    other = cited_bot(server_settings)
    assert len(other.articles()) == 5
    assert not other.ask(QUESTION).refused


def test_server_and_local_store_retrieve_the_same_passages(server_settings, tmp_path):
    server = Assistant(server_settings, embedder=FakeEmbedder(), auto_ingest=False)
    local = Assistant(make_settings(tmp_path / "local"), embedder=FakeEmbedder(), auto_ingest=False)
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    for bot in (server, local):
        bot.ingest([seeds])
    for q in (QUESTION, "How many people were taken hostage in Khojaly?", "¿Cuánto duró la reunión trilateral en el Kremlin?"):
        assert [p.chunk_id for p in server.retriever.retrieve(q)] == [p.chunk_id for p in local.retriever.retrieve(q)]


def test_default_assistant_seeds_itself_on_a_server(server_settings):
    bot = Assistant(server_settings, embedder=FakeEmbedder())
    assert {a.id for a in bot.articles()} == {p.stem for p in Path(SEEDS).glob("*.txt")}


def test_the_lexical_index_lives_in_each_machines_data_folder(server_settings, seeds_copy, tmp_path, monkeypatch):
    """Another machine on the same server builds its own lexical index from the server's chunks, once."""
    first = cited_bot(server_settings)
    first.ingest([seeds_copy])
    assert (first.store.lexical.folder / "current").is_file() and first.store.lexical.folder.is_relative_to(server_settings.data_dir)
    elsewhere = server_settings.model_copy(update={"data_dir": tmp_path / "other-machine"})
    second = cited_bot(elsewhere)
    assert any(p.article_id == KHOJALY and p.bm25_score for p in second.retriever.retrieve(QUESTION))
    assert second.retriever.snapshot().bm25.held == first.retriever.snapshot().bm25.held

    import qa.index.lexical

    monkeypatch.setattr(qa.index.lexical, "build", lambda *a, **k: pytest.fail("the second machine rebuilt after a restart"))
    assert cited_bot(elsewhere).retriever.snapshot().bm25.n == first.store.count_chunks()
