"""The store's manifest: kept beside the lexical index per change token, read again from Chroma only after a write;
articles written in batches exactly as one by one."""

import numpy as np
import pytest

from qa import Assistant
from qa.index.store import Store
from tests.conftest import KHOJALY, make_settings
from tests.fakes import FakeEmbedder


def test_a_restarted_process_reads_the_kept_manifest_until_something_is_written(settings, seeds_copy, monkeypatch):
    bot = Assistant(settings, embedder=FakeEmbedder(), auto_ingest=False)
    bot.ingest([seeds_copy])
    first = bot.store.manifest()
    restarted = Store(settings, FakeEmbedder())
    reads: list[int] = []
    real = Store._read_manifest
    monkeypatch.setattr(Store, "_read_manifest", lambda self: reads.append(1) or real(self))
    assert restarted.manifest() == first and not reads  # from the kept file
    restarted.update_manifest(KHOJALY, path="/elsewhere/khojaly.txt")
    assert restarted.manifest()[KHOJALY].path == "/elsewhere/khojaly.txt" and reads == [1]
    assert bot.store.manifest()[KHOJALY].path == "/elsewhere/khojaly.txt" and reads == [1]  # kept again at the new token


def test_an_unreadable_kept_manifest_is_read_again_from_chroma(settings, seeds_copy):
    bot = Assistant(settings, embedder=FakeEmbedder(), auto_ingest=False)
    bot.ingest([seeds_copy])
    expected = bot.store.manifest()
    (bot.store.lexical.folder / "manifest.json").write_text("{not json")
    assert Store(settings, FakeEmbedder()).manifest() == expected


@pytest.mark.parametrize("way", ["sentences", "embedded"])
def test_a_batch_of_articles_is_stored_as_the_same_articles_one_by_one_in_fewer_writes(tmp_path, seeds_copy, way):
    def ingested(name: str, write_batch: int) -> tuple[Assistant, list[int]]:
        bot = Assistant(make_settings(tmp_path / name, write_batch=write_batch, chunk_vectors=way, translate=False),
                        embedder=FakeEmbedder(), auto_ingest=False)
        sizes: list[int] = []
        add = bot.store.sentences.add
        bot.store.sentences.add = lambda *a, ids, **kw: sizes.append(len(ids)) or add(*a, ids=ids, **kw)
        bot.ingest([seeds_copy])
        return bot, sizes

    def stored(bot: Assistant) -> tuple[dict, dict]:
        chunks = bot.store.chunks.get(include=["embeddings", "documents", "metadatas"])
        sentences = bot.store.sentences.get(include=["embeddings", "metadatas"])
        return ({i: (d, m["article_id"], m["start"], m["end"], e) for i, d, m, e in
                 zip(chunks["ids"], chunks["documents"], chunks["metadatas"], chunks["embeddings"])},
                {i: (m["chunk_id"], m["start"], e) for i, m, e in zip(sentences["ids"], sentences["metadatas"], sentences["embeddings"])})

    alone, alone_writes = ingested("alone", 1)
    together, together_writes = ingested("together", 5000)
    assert len(alone_writes) == 5 and together_writes == [sum(alone_writes)]
    assert {a.id: (a.chunks, a.sha256) for a in alone.articles()} == {a.id: (a.chunks, a.sha256) for a in together.articles()}
    for one, many in zip(stored(alone), stored(together)):
        assert one.keys() == many.keys()
        for key in one:
            *fields, vec = one[key]
            *other, other_vec = many[key]
            assert fields == other and np.allclose(vec, other_vec, atol=1e-6), key


def test_ingest_hands_the_model_at_most_embed_batch_texts_a_call(tmp_path, seeds_copy):
    class Counting(FakeEmbedder):
        calls: list[int] = []

        def embed_passages(self, texts):
            self.calls.append(len(texts))
            return super().embed_passages(texts)

    bot = Assistant(make_settings(tmp_path / "data", embed_batch=7, translate=False), embedder=Counting(), auto_ingest=False)
    bot.ingest([seeds_copy])
    assert max(Counting.calls) == 7 and sum(Counting.calls) == bot.store.sentences.count()
