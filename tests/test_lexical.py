"""The persisted lexical index: the reader's idf, generations on disk, incremental commits, restarts and repair."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from qa import Assistant
from qa.index.lexical import LexicalStore
from qa.core.text import terms
from qa.core.types import Chunk, Sentence
from tests.conftest import KHOJALY, make_settings
from tests.fakes import FakeEmbedder, FakeSource

DOCS = {"a": ["Khojaly hostage was taken", "ceasefire in Moscow"], "b": ["hostage hostage Baku"]}


def chunks(article: str, texts: list[str]) -> list[Chunk]:
    return [Chunk(f"{article}#{i}", article, t, 10 * i, 10 * i + len(t)) for i, t in enumerate(texts)]


def sentences(article: str, texts: list[str], translated: bool = False) -> list[tuple[Sentence, np.ndarray]]:
    """One sentence per chunk, its vector a one-hot of its text's length (so a row's vector names its text)."""
    out = []
    for c in chunks(article, texts):
        vec = np.zeros(64, dtype=np.float32)
        vec[len(c.text) % 64] = 1.0
        out.append((Sentence(Sentence.make_id(article, c.start), article, c.id, c.text, c.start, c.end,
                             f"[es] {c.text}" if translated else None), vec))
    return out


def stored(docs=DOCS) -> FakeSource:
    return FakeSource(sentences=[row for a, texts in docs.items() for row in sentences(a, texts)])


def committed(folder, docs=DOCS) -> LexicalStore:
    lex = LexicalStore(folder, 1.2, 0.75)
    for a, texts in docs.items():
        lex.stage(a, f"sha-{a}", chunks(a, texts))
    source = stored(docs)
    lex.synced({a: f"sha-{a}" for a in docs}, source)
    assert source.asked == []  # the staged chunks are not read back
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
    assert again.synced({"a": "sha-a", "b": "sha-b"}, FakeSource()).name == first.name  # in step: nothing is built


def test_commits_follow_the_manifest_add_update_remove(tmp_path):
    lex = committed(tmp_path)
    lex.stage("a", "sha-a2", chunks("a", ["ferry terminal in Alat"]))  # updated
    lex.stage("c", "sha-c", chunks("c", ["Moscow talks on the ferry"]))  # added; b is removed
    source = stored({"a": ["ferry terminal in Alat"], "c": ["Moscow talks on the ferry"]})
    after = lex.synced({"a": "sha-a2", "c": "sha-c"}, source)
    assert source.asked == []
    assert after.held == {"a": "sha-a2", "c": "sha-c"}
    assert sorted(after.docs.chunk_ids.tolist()) == ["a#0", "c#0"]
    assert after.scores(["hostage"]).max() == 0 and after.df("ferry") == 2 and after.df("baku") == 0
    assert "baku" not in after.docs.vocab  # terms nobody holds are dropped
    assert len(list(tmp_path.glob("g-*"))) == 1  # the old generation is gone


def test_a_lagging_generation_is_repaired_from_the_stored_chunks(tmp_path):
    committed(tmp_path)
    fresh = LexicalStore(tmp_path, 1.2, 0.75)  # a process that never staged "c" (killed before its commit)
    source = FakeSource(chunks("c", ["the ferry left Baku"]), sentences("c", ["the ferry left Baku"]))
    repaired = fresh.synced({"a": "sha-a", "b": "sha-b", "c": "sha-c"}, source)
    assert source.asked == [["c"]] and repaired.df("baku") == 2 and repaired.n == 4
    assert [s.text for s, _ in repaired.sentences.of_docs([3], repaired.docs.chunk_ids)] == ["the ferry left Baku"]


def rows(lex) -> dict[str, tuple[str, str | None, int]]:
    """Every chunk's sentence in a generation: its text, translation, and the hot index of its vector."""
    got = lex.sentences.of_docs(list(range(lex.n)), lex.docs.chunk_ids)
    return {s.chunk_id: (s.text, s.translation, int(v.argmax())) for s, v in got}


def test_a_generation_keeps_its_chunks_sentences_and_vectors_across_commits_and_processes(tmp_path):
    lex = committed(tmp_path)
    first = rows(lex.load())
    assert first == {c: (t, None, len(t) % 64) for a, texts in DOCS.items() for c, t in zip([f"{a}#{i}" for i in range(9)], texts)}
    lex.stage("a", "sha-a+translated", chunks("a", DOCS["a"]))  # a's translations landed; b stays; c is new
    lex.stage("c", "sha-c", chunks("c", ["Moscow talks on the ferry"]))
    source = FakeSource(sentences=sentences("a", DOCS["a"], translated=True) + sentences("c", ["Moscow talks on the ferry"]))
    after = lex.synced({"a": "sha-a+translated", "b": "sha-b", "c": "sha-c"}, source)
    again = rows(LexicalStore(tmp_path, 1.2, 0.75).load())
    assert again == rows(after)
    assert again["b#0"] == first["b#0"]  # kept from the old generation, bytes and vector
    assert again["a#1"] == ("ceasefire in Moscow", "[es] ceasefire in Moscow", len("ceasefire in Moscow") % 64)
    assert again["c#0"][0] == "Moscow talks on the ferry" and len(again) == 4


def test_a_generation_scores_each_chunk_by_its_translations_too_across_commits_and_processes(tmp_path):
    """The translations' BM25 runs doc for doc with the chunks' own, has its own vocabulary and idf (so the reader's
    idf is untouched), and an article whose translations land later enters it at the next commit."""
    lex = committed(tmp_path)
    first = lex.load()
    assert first.translations.n == first.n and first.translations.scores(terms("rehenes")).max() == 0
    lex.stage("a", "sha-a+translated", chunks("a", DOCS["a"]))
    source = FakeSource(sentences=[(replace(s, translation=f"rehenes tomados {s.text}"), v) for s, v in sentences("a", DOCS["a"])])
    after = lex.synced({"a": "sha-a+translated", "b": "sha-b"}, source)
    for gen in (after, LexicalStore(tmp_path, 1.2, 0.75).load()):
        tr = gen.translations
        assert tr.docs.chunk_ids.tolist() == gen.docs.chunk_ids.tolist()
        scores = tr.scores(terms("¿Cuántos rehenes?"))
        assert [bool(x) for x in scores] == [c.startswith("a#") for c in gen.docs.chunk_ids.tolist()]
        assert gen.df("rehen") == 0 and tr.df("rehen") == 2 and tr.df("baku") == 0  # b has no translation
        assert gen.idf("hostage") == first.idf("hostage")
        by_chunk = lambda lex: dict(zip(lex.docs.chunk_ids.tolist(), lex.scores(terms("hostage")).tolist()))  # noqa: E731
        assert by_chunk(gen) == by_chunk(first)


def test_a_generation_written_before_sentences_were_kept_is_rebuilt_whole(tmp_path):
    lex = committed(tmp_path)
    gen = tmp_path / lex.current_name()
    meta = json.loads((gen / "docs.json").read_text())
    (gen / "docs.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "format"}))
    old = LexicalStore(tmp_path, 1.2, 0.75)
    assert old.load().held == {}
    source = FakeSource([c for a, texts in DOCS.items() for c in chunks(a, texts)], stored().sentences)
    rebuilt = old.synced({a: f"sha-{a}" for a in DOCS}, source)
    assert source.asked == [["a", "b"]] and rebuilt.n == 3 and len(rows(rebuilt)) == 3


@pytest.fixture
def folder(seeds_copy):
    return seeds_copy


def test_ingest_commits_once_and_a_new_assistant_on_the_folder_does_not_rebuild(tmp_path, folder, monkeypatch):
    settings = make_settings(tmp_path / "data")
    bot = Assistant(settings, embedder=FakeEmbedder(), auto_ingest=False)
    bot.ingest([folder])
    name = bot.store.lexical.current_name()
    assert name and bot.retriever.snapshot().bm25.n == bot.store.count_chunks()

    import qa.index.lexical

    def no_build(*args, **kwargs):
        raise AssertionError("a restart rebuilt the lexical index")

    monkeypatch.setattr(qa.index.lexical, "build", no_build)
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
