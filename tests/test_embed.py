"""Chunk vectors pooled from sentence vectors: weights, normalisation, and one model pass per article at ingest."""

import numpy as np
import pytest

from qa import Assistant
from qa.index.embed import pooled
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder


def test_a_span_pools_the_parts_it_overlaps_by_shared_characters():
    parts, vecs = [(0, 8), (9, 20), (22, 30)], np.eye(3, dtype=np.float32)
    out = pooled([(0, 10), (5, 25), (30, 40), (26, 28)], parts, vecs)
    assert np.allclose(out[0], np.array([8, 1, 0]) / np.linalg.norm([8, 1, 0]))
    assert np.allclose(out[1], np.array([3, 11, 3]) / np.linalg.norm([3, 11, 3]))
    assert not out[2].any()  # touches a part's end only: nothing to pool
    assert np.allclose(out[3], [0, 0, 1])


def test_ingest_embeds_each_sentence_once_and_no_chunk_again(tmp_path, seeds_copy):
    pooled_bot = Assistant(make_settings(tmp_path / "a", translate=False), embedder=FakeEmbedder(), auto_ingest=False)  # the default
    pooled_bot.ingest([seeds_copy])
    sentences = pooled_bot.store.sentences.count()
    assert pooled_bot.embedder.passages_embedded == sentences
    twice = Assistant(make_settings(tmp_path / "b", translate=False, chunk_vectors="embedded"), embedder=FakeEmbedder(), auto_ingest=False)
    twice.ingest([seeds_copy])
    assert twice.embedder.passages_embedded == sentences + twice.store.count_chunks()
    stored = pooled_bot.store.chunks.get(include=["embeddings"], limit=3)["embeddings"]
    assert np.allclose(np.linalg.norm(stored, axis=1), 1.0, atol=1e-5)


@pytest.mark.model
def test_the_real_model_returns_rows_in_the_given_order_whatever_order_it_embeds_them_in():
    from qa.index.embed import E5Embedder

    e5 = E5Embedder()
    texts = ["A long sentence about floods that damaged roads and bridges in the north.", "Short.", "Una frase mediana aquí."]
    together = e5.embed_passages(texts)
    assert np.allclose(together, np.stack([e5.embed_passages([t])[0] for t in texts]), atol=1e-5)
