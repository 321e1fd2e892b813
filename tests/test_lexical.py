"""The persisted lexical index: the reader's idf, generations on disk, incremental commits, restarts and repair."""

import math

import numpy as np
import pytest

from qa import Assistant
from qa.lexical import LexicalStore
from qa.text import terms
from qa.types import Chunk
from tests.conftest import KHOJALY, make_settings
from tests.fakes import FakeEmbedder

DOCS = {"a": ["Khojaly hostage was taken", "ceasefire in Moscow"], "b": ["hostage hostage Baku"]}


def chunks(article: str, texts: list[str]) -> list[Chunk]:
    return [Chunk(f"{article}#{i}", article, t, 10 * i, 10 * i + len(t)) for i, t in enumerate(texts)]


def no_fetch(ids):
    raise AssertionError(f"nothing should be read back from the store: {ids}")


def committed(folder, docs=DOCS) -> LexicalStore:
    lex = LexicalStore(folder, 1.2, 0.75)
    for a, texts in docs.items():
        lex.stage(a, f"sha-{a}", chunks(a, texts))
    lex.synced({a: f"sha-{a}" for a in docs}, no_fetch)
    return lex


def test_bm25_prefers_rare_matching_terms_and_keeps_the_readers_idf(tmp_path):
    lex = committed(tmp_path).load()
    scores = lex.scores(terms("Khojaly hostage hostage"))  # a repeated query term counts once
    assert scores.argmax() == 0 and scores[1] == 0 and scores[2] > 0
    n, df = 3, 2  # "hostage" is in two of the three chunks
    assert lex.idf("hostage") == pytest.approx(math.log(1 + (n - df + 0.5) / (df + 0.5)))
    assert lex.idf("khojaly") > lex.idf("hostage") > 0
    assert lex.idf("unseen") == pytest.approx(math.log(1 + (n + 0.5) / 0.5))
    assert list(lex.scores(["unseen"])) == [0, 0, 0] and list(lex.scores([])) == [0, 0, 0]


def test_a_committed_generation_loads_in_another_process_without_rebuilding(tmp_path):
    first = committed(tmp_path).load()
    again = LexicalStore(tmp_path, 1.2, 0.75)
    loaded = again.load()
    assert loaded.name == first.name and loaded.held == {"a": "sha-a", "b": "sha-b"}
    assert np.array_equal(loaded.scores(["hostage"]), first.scores(["hostage"]))
    assert again.synced({"a": "sha-a", "b": "sha-b"}, no_fetch).name == first.name  # in step: nothing is built


def test_commits_follow_the_manifest_add_update_remove(tmp_path):
    lex = committed(tmp_path)
    lex.stage("a", "sha-a2", chunks("a", ["ferry terminal in Alat"]))  # updated
    lex.stage("c", "sha-c", chunks("c", ["Moscow talks on the ferry"]))  # added; b is removed
    after = lex.synced({"a": "sha-a2", "c": "sha-c"}, no_fetch)
    assert after.held == {"a": "sha-a2", "c": "sha-c"}
    assert sorted(after.docs.chunk_ids.tolist()) == ["a#0", "c#0"]
    assert after.scores(["hostage"]).max() == 0 and after.df("ferry") == 2 and after.df("baku") == 0
    assert "baku" not in after.docs.vocab  # terms nobody holds are dropped
    assert len(list(tmp_path.glob("g-*"))) == 1  # the old generation is gone


def test_a_lagging_generation_is_repaired_from_the_stored_chunks(tmp_path):
    committed(tmp_path)
    fresh = LexicalStore(tmp_path, 1.2, 0.75)  # a process that never staged "c" (killed before its commit)
    asked = []

    def fetch(ids):
        asked.append(ids)
        return chunks("c", ["the ferry left Baku"])

    repaired = fresh.synced({"a": "sha-a", "b": "sha-b", "c": "sha-c"}, fetch)
    assert asked == [["c"]] and repaired.df("baku") == 2 and repaired.n == 4


@pytest.fixture
def folder(seeds_copy):
    return seeds_copy


def test_ingest_commits_once_and_a_new_assistant_on_the_folder_does_not_rebuild(tmp_path, folder, monkeypatch):
    settings = make_settings(tmp_path / "data")
    bot = Assistant(settings, embedder=FakeEmbedder(), auto_ingest=False)
    bot.ingest([folder])
    name = bot.store.lexical.current_name()
    assert name and bot.retriever.snapshot().bm25.n == bot.store.count_chunks()

    import qa.lexical

    def no_build(*args, **kwargs):
        raise AssertionError("a restart rebuilt the lexical index")

    monkeypatch.setattr(qa.lexical, "build", no_build)
    restarted = Assistant(settings, embedder=FakeEmbedder(), auto_ingest=False)
    passages = restarted.retriever.retrieve("How many people were taken hostage in Khojaly?")
    assert passages and passages[0].article_id == KHOJALY and passages[0].bm25_score
    assert restarted.retriever.snapshot().bm25.name == name


def test_an_update_and_a_removal_reach_the_lexical_index(tmp_path, folder):
    bot = Assistant(make_settings(tmp_path / "data"), embedder=FakeEmbedder(), auto_ingest=False)
    bot.ingest([folder])
    path = folder / f"{KHOJALY}.txt"
    path.write_text(path.read_text() + "\nThe zanzibarian delegation arrived late.\n")
    gone = "004_332e190914e64a60"
    (folder / f"{gone}.txt").unlink()
    bot.ingest([folder])
    snap = bot.retriever.snapshot()
    assert snap.bm25.df("zanzibarian") == 1 and gone not in snap.bm25.held
    assert snap.bm25.n == bot.store.count_chunks()
    found = bot.retriever.retrieve("zanzibarian delegation")
    assert any(p.article_id == KHOJALY and p.bm25_score and "zanzibarian" in p.text for p in found)
