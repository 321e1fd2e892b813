import contextlib

import pytest

from qa import Assistant
from qa.retrieve.hybrid import allows, chroma_where
from qa.index.records import StoredArticle
from qa.core.types import Chunk, Filters
from tests.conftest import KHOJALY, SPANISH
from tests.fakes import FakeEmbedder, FakeReader


def test_filters_translate_to_chroma_and_python_alike():
    f = Filters(article_ids=("a",), lang="en", date_from="2021-01-01", date_to="2022-12-31")
    where = chroma_where(f)
    assert {"article_id": {"$in": ["a"]}} in where["$and"] and {"date_int": {"$gte": 20210101}} in where["$and"]
    art = StoredArticle("a", "t", "2021-10-08", None, "en", "", "x", 1)
    assert allows(f, art)
    assert not allows(Filters(date_to="2020-01-01"), art)
    assert not allows(Filters(date_from="2020-01-01"), StoredArticle("b", "t", None, None, "es", "", "x", 1))
    assert chroma_where(Filters()) is None


@pytest.mark.model
@pytest.mark.parametrize(
    "question, article",
    [
        ("How many people were taken hostage in Khojaly?", KHOJALY),
        ("¿Cuántas personas fueron tomadas como rehenes en Khojaly?", KHOJALY),  # Spanish -> English article
        ("How long did the trilateral talks in the Kremlin last?", SPANISH),  # English -> Spanish article
        ("¿Cuánto duraron las conversaciones trilaterales en Moscú?", SPANISH),
        ("¿Cuántos militares armenios murieron según Pashinyan?", "003_4e2d7c02eb82f3b3"),
        ("¿Con quién se reunió el embajador de México?", "004_332e190914e64a60"),
        ("Which organization did Azerbaijan chair?", "000_fbefe321117536a3"),
    ],
)
def test_real_model_finds_the_right_article(real_bot, question, article):
    passages = real_bot.retriever.retrieve(question)
    assert passages[0].article_id == article
    p = passages[0]
    assert real_bot.article_text(p.article_id)[p.start : p.end] == p.text
    assert p.dense_score is not None and p.score > 0


@pytest.mark.model
def test_real_model_filters(real_bot):
    only_es = real_bot.retriever.retrieve("How many people were taken hostage in Khojaly?", Filters(lang="es"))
    assert only_es and {p.article_id for p in only_es} == {SPANISH}
    dated = real_bot.retriever.retrieve("ceasefire", Filters(date_from="2022-01-01"))
    assert dated and all(p.date and p.date >= "2022-01-01" for p in dated)
    one = real_bot.retriever.retrieve("ceasefire", Filters(article_ids=(KHOJALY,)))
    assert {p.article_id for p in one} == {KHOJALY}


@pytest.mark.model
def test_the_closest_chunk_joins_even_when_fusion_ranks_it_low(real_bot):
    """'How many people died in the 2020 war?': the 6,500 dead chunk is the densest but shares few words."""
    question = "How many people died in the 2020 war?"
    passages = real_bot.retriever.retrieve(question)
    assert len(passages) <= real_bot.settings.top_k + real_bot.settings.dense_keep
    assert any("6,500 dead" in p.text for p in passages)
    assert "6,500" in real_bot.ask(question).text


@pytest.mark.model
def test_sentence_search_honours_filters(real_bot):
    qvec = real_bot.embedder.embed_queries(["When was the ceasefire statement signed?"])[0]
    passages, sentences = real_bot.retriever.sentence_passages(qvec, Filters(lang="es"), 10)
    assert passages and {p.article_id for p in passages} == {SPANISH}
    assert {s.chunk_id for s, _ in sentences} == {p.chunk_id for p in passages}
    for p in passages:
        assert real_bot.article_text(p.article_id)[p.start : p.end] == p.text


def test_a_query_sees_what_another_writer_changed_even_when_no_count_changes(settings, seeds_copy):
    from qa import Assistant
    from tests.fakes import FakeEmbedder

    reader = Assistant(settings, embedder=FakeEmbedder(), auto_ingest=False)
    writer = Assistant(settings, embedder=FakeEmbedder(), auto_ingest=False)  # another process on the same data folder
    writer.ingest([seeds_copy])
    before = reader.retriever.snapshot()
    assert before.manifest[KHOJALY].path and reader.retriever.snapshot() is before  # unchanged: not read again
    moved = seeds_copy.parent / "moved"
    seeds_copy.rename(moved)
    writer.ingest([moved])  # same articles, same counts, new paths
    after = reader.retriever.snapshot()
    assert after is not before and after.manifest[KHOJALY].path.startswith(str(moved))


def test_only_the_chunks_that_rank_are_read(fake_bot, monkeypatch):
    """The vector searches return ids; texts are read for the passages only, not for every hit of a wide search."""
    reads: list[list[str]] = []
    chunks_by_id = fake_bot.store.chunks_by_id
    monkeypatch.setattr(fake_bot.store, "chunks_by_id", lambda ids: reads.append(ids) or chunks_by_id(ids))
    fake_bot.articles()
    reads.clear()
    passages = fake_bot.retriever.retrieve("How many people were taken hostage in Khojaly?")
    settings = fake_bot.settings
    read = [cid for ids in reads for cid in ids]
    assert len(reads) == 1  # the passages and the closest chunk by meaning, in one read
    assert passages and len(read) <= settings.top_k + settings.dense_keep
    assert {p.chunk_id for p in passages} <= set(read)
    for p in passages:
        assert fake_bot.article_text(p.article_id)[p.start : p.end] == p.text


def test_a_language_the_wide_searches_miss_gets_a_search_of_its_own(settings, monkeypatch):
    """Wide unfiltered searches crowded by near-duplicates in one language (all at one low score): the other language
    could still rank, so it is searched with a filter, and its chunks then lead."""
    from qa import Assistant
    from tests.fakes import FakeEmbedder

    bot = Assistant(settings.model_copy(update={"dense_k": 2, "dense_widths": [3, 4]}), embedder=FakeEmbedder())
    bot.articles()
    manifest = bot.store.manifest()
    lang_of = lambda cid: manifest[Chunk.article_of(cid)].lang  # noqa: E731
    search = bot.store.dense_search
    wheres: list[dict | None] = []

    def crowded(qvec, k, where):
        wheres.append(where)
        if where:
            return search(qvec, k, where)
        return [(cid, 0.2) for cid, _ in search(qvec, 1000, None) if lang_of(cid) == "en"][:k]

    monkeypatch.setattr(bot.store, "dense_search", crowded)
    qvec = bot.embedder.embed_queries(["How long did the trilateral talks in the Kremlin last?"])[0]
    dense = bot.retriever._dense(qvec, "en", None, bot.retriever.snapshot())
    assert wheres == [None, None, {"lang": {"$eq": "es"}}]
    assert [lang_of(cid) for cid, _, _ in dense] == ["es", "es"]
    assert dense == sorted(dense, key=lambda h: -h[1])


class _Closed:
    """A Chroma collection a query must not open: a local client would load it whole into the process."""

    def __getattr__(self, name):
        raise AssertionError(f"the query opened Chroma's sentence collection ({name})")


def test_a_query_reads_its_sentences_from_the_lexical_generation_and_never_chromas_collection(settings, seeds_copy):
    bot = Assistant(settings, embedder=FakeEmbedder(), reader=FakeReader("November 10, 2020", "9 de noviembre de 2020"), auto_ingest=False)
    bot.ingest([seeds_copy])
    bot.store.sentences = _Closed()
    ans = bot.ask("When was the trilateral statement on Karabakh signed?")  # a date: the rival search runs too
    assert not ans.refused and ans.citations and any(t.step == "decide" and t.verdict == "answer" for t in ans.trace)


def test_sentences_of_an_article_written_since_the_last_commit_come_from_the_store(settings, seeds_copy, monkeypatch):
    bot = Assistant(settings, embedder=FakeEmbedder(), auto_ingest=False)
    bot.ingest([seeds_copy])
    lexical = bot.retriever.snapshot().bm25
    path = seeds_copy / f"{KHOJALY}.txt"
    path.write_text(path.read_text() + "\nThe zanzibarian delegation arrived late.\n")
    with bot.store.ingesting():  # held, as by an ingest in another process: no query rebuilds the index meanwhile
        monkeypatch.setattr(bot.store, "ingesting", contextlib.nullcontext)  # this ingest writes under the held lock
        bot.ingest([seeds_copy])
        chunk_ids = [c.id for c in bot.store.chunks_of([KHOJALY])]
        got = bot.retriever.sentences_for(chunk_ids)
        assert bot.retriever.snapshot().bm25.name == lexical.name  # the old generation, which holds the old text
        assert any("zanzibarian" in s.text for s, _ in got)
        assert sorted(s.id for s, _ in got) == sorted(s.id for s, _ in bot.store.sentences_for(chunk_ids))


@pytest.mark.parametrize("weight, order", [
    (0.0, ["blur", "sharp", "bare"]),  # the chunk cosines alone: the hits as given
    (0.5, ["sharp", "blur", "bare"]),  # sharp's closest sentence lifts it over blur
    (1.0, ["sharp", "blur", "bare"]),
])
def test_dense_hits_are_rescored_by_their_closest_sentence(settings, monkeypatch, weight, order):
    """A chunk vector blurs one answering sentence among others: sentence_weight of each cosine comes from the
    chunk's closest sentence, the language penalty is kept, and a chunk with no stored sentence keeps its own."""
    import math

    import numpy as np

    from qa.retrieve.hybrid import Retriever
    from qa.core.types import Sentence

    q = np.array([1.0, 0.0], dtype=np.float32)
    vecs = {"blur": [[0.6, 0.8], [0.7, 0.71414]], "sharp": [[0.1, 0.99499], [0.99, 0.14107]]}
    sents = [(Sentence(id=f"{cid}:{i}", article_id="a", chunk_id=cid, text="x", start=0, end=1), np.array(v, dtype=np.float32))
             for cid, vs in vecs.items() for i, v in enumerate(vs)]
    retriever = Retriever(settings.model_copy(update={"sentence_weight": weight}), store=None, embedder=None)
    monkeypatch.setattr(retriever, "_sentences_for", lambda ids, snap: [s for s in sents if s[0].chunk_id in ids])
    sim = lambda cos: math.exp(cos - 1.0)  # noqa: E731  Chroma's similarity: exp(-cosine distance)
    hits = [("blur", sim(0.8) - 0.02, sim(0.8)), ("sharp", sim(0.7), sim(0.7)), ("bare", sim(0.5), sim(0.5))]
    got = retriever._rescored(hits, q, None)
    assert [cid for cid, _, _ in got] == order
    for cid, adjusted, mixed in got:
        chunk_cos = {"blur": 0.8, "sharp": 0.7, "bare": 0.5}[cid]
        best = {"blur": 0.7, "sharp": 0.99, "bare": chunk_cos}[cid]
        assert mixed == pytest.approx(sim((1 - weight) * chunk_cos + weight * best), abs=1e-4)
        assert mixed - adjusted == pytest.approx(0.02 if cid == "blur" else 0.0, abs=1e-9)


@pytest.mark.parametrize("on", [True, False])
def test_lexical_hits_the_vector_search_missed_are_scored_by_their_chunk_vector(fake_bot, monkeypatch, on):
    """A vector search that returns nothing (as when the chunk ranks just past dense_k): with score_lexical_hits each
    BM25 hit gets the similarity the search would have given it, from its stored vector; without, none has one."""
    import math

    fake_bot.articles()
    retriever = fake_bot.retriever
    monkeypatch.setattr(retriever.settings, "score_lexical_hits", on)
    monkeypatch.setattr(retriever.settings, "sentence_weight", 0.0)
    monkeypatch.setattr(fake_bot.store, "dense_search", lambda qvec, k, where: [])
    question = "How many people were taken hostage in Khojaly?"
    passages = retriever.retrieve(question)
    assert passages and all(p.bm25_score is not None for p in passages)
    if not on:
        assert all(p.dense_score is None for p in passages)
        return
    qvec = fake_bot.embedder.embed_queries([question])[0]
    vectors = fake_bot.store.chunk_vectors([p.chunk_id for p in passages])
    for p in passages:
        assert p.dense_score == pytest.approx(math.exp(float(vectors[p.chunk_id] @ qvec) - 1.0), abs=1e-6)


def test_only_lexical_hits_the_vector_search_missed_are_scored_and_they_pay_the_same_language_penalty(fake_bot):
    import math

    fake_bot.articles()
    retriever = fake_bot.retriever
    chunk_ids = [c.id for c in fake_bot.store.chunks_of([KHOJALY])][:3]
    qvec = fake_bot.embedder.embed_queries(["Khojaly"])[0]
    found = (chunk_ids[0], 0.9, 0.9)
    spanish = [c.id for c in fake_bot.store.chunks_of([SPANISH])][:2]
    got = retriever._lexical_dense({"en": [(cid, 1.0) for cid in chunk_ids], "es": [(cid, 1.0) for cid in spanish]}, [found], qvec, "en")
    assert sorted(cid for cid, _, _ in got) == sorted(chunk_ids[1:] + spanish)
    vectors = fake_bot.store.chunk_vectors(chunk_ids + spanish)
    for cid, adjusted, sim in got:
        assert sim == pytest.approx(math.exp(float(vectors[cid] @ qvec) - 1.0), abs=1e-6)
        penalty = 0.0 if cid in spanish else retriever.settings.same_language_penalty  # found through a translation
        assert sim - adjusted == pytest.approx(penalty)


TALKS = "Which talks lasted almost four hours?"  # the Spanish seed: "Las conversaciones trilaterales ... duraron casi 4 horas."


@pytest.mark.parametrize("weight, fail, langs", [
    (0.25, False, {"en", "es"}),  # the Spanish chunks' English translations hold the question's words
    (0.0, False, {"en"}),  # off: Spanish chunks take their lexical place from their dense rank
    (0.25, True, {"en"}),  # no translation was made: the same
])
def test_other_language_chunks_are_matched_by_their_translations(settings, seeds_copy, weight, fail, langs):
    from tests.fakes import FakeTranslator

    translator = FakeTranslator(fail=fail, glossary={"conversaciones": "talks", "duraron": "lasted", "horas": "hours"})
    bot = Assistant(settings.model_copy(update={"translated_weight": weight}), embedder=FakeEmbedder(), translator=translator,
                    auto_ingest=False)
    bot.ingest([seeds_copy])
    retriever = bot.retriever
    snap = retriever.snapshot()
    found = retriever._lexical(TALKS, "en", None, snap)
    assert set(found) == langs
    assert all(Chunk.article_of(cid) != SPANISH for cid, _ in found["en"])
    if "es" in found:
        assert {Chunk.article_of(cid) for cid, _ in found["es"]} == {SPANISH}
        top = bot.store.chunks_by_id([found["es"][0][0]])[found["es"][0][0]]
        assert "duraron casi 4 horas" in top.text
    assert set(retriever._lexical(TALKS, "en", Filters(lang="es"), snap)) == langs - {"en"}
    spanish = {p.chunk_id: p.bm25_score for p in retriever.retrieve(TALKS) if p.lang == "es"}
    if "es" in found:  # the best translated match ranks, with its translation's BM25 score
        assert spanish[found["es"][0][0]] == pytest.approx(found["es"][0][1])
    else:
        assert all(score is None for score in spanish.values())


def test_sentences_read_once_per_snapshot_come_back_the_same_without_a_read(settings, seeds_copy, monkeypatch):
    """One ask reads the same chunks' sentences several times: the snapshot keeps them until the store changes."""
    bot = Assistant(settings.model_copy(update={"sentence_cache_chunks": 3}), embedder=FakeEmbedder(), auto_ingest=False)
    bot.ingest([seeds_copy])
    chunk_ids = [c.id for c in bot.store.chunks_of([KHOJALY])][:3]
    first = bot.retriever.sentences_for(chunk_ids[::-1])
    table = type(bot.retriever.snapshot().bm25.sentences)
    reads: list[list[int]] = []
    of_docs = table.of_docs
    monkeypatch.setattr(table, "of_docs", lambda self, docs, ids: reads.append(docs) or of_docs(self, docs, ids))
    again = bot.retriever.sentences_for(chunk_ids)
    assert reads == [] and [s.id for s, _ in again] == [s.id for s, _ in first]
    assert [s.start for s, _ in again] == sorted(s.start for s, _ in again)  # doc order, whatever order was asked
    bot.retriever.sentences_for([c.id for c in bot.store.chunks_of([SPANISH])][:1])  # the oldest one is let go
    bot.retriever.sentences_for(chunk_ids)
    assert len(reads) == 2 and len(reads[1]) == 1
    path = seeds_copy / f"{KHOJALY}.txt"
    path.write_text(path.read_text() + "\nThe zanzibarian delegation arrived late.\n")
    bot.ingest([seeds_copy])
    changed = [c.id for c in bot.store.chunks_of([KHOJALY])]
    assert any("zanzibarian" in s.text for s, _ in bot.retriever.sentences_for(changed))


def test_the_rival_search_reuses_the_wide_search_retrieve_made(settings, seeds_copy, monkeypatch):
    """Same vector, same filter, fewer ids: answered from the search retrieve made, until the store changes."""
    bot = Assistant(settings, embedder=FakeEmbedder(), reader=FakeReader("November 10, 2020", "9 de noviembre de 2020"), auto_ingest=False)
    bot.ingest([seeds_copy])
    asked: list[int] = []
    search = bot.store.dense_search
    monkeypatch.setattr(bot.store, "dense_search", lambda qvec, k, where: asked.append(k) or search(qvec, k, where))
    ans = bot.ask("When was the trilateral statement on Karabakh signed?")  # a date: the rival search runs
    assert ans.citations and settings.rival_chunks not in asked and asked[0] == settings.dense_widths[0] * settings.dense_k
    qvec = bot.embedder.embed_queries(["When was the trilateral statement on Karabakh signed?"])[0]
    snap = bot.retriever.snapshot()
    assert bot.retriever._search(qvec, settings.rival_chunks, None, snap) == search(qvec, settings.rival_chunks, None)
    asked.clear()
    path = seeds_copy / f"{KHOJALY}.txt"
    path.write_text(path.read_text() + "\nThe zanzibarian delegation arrived late.\n")
    bot.ingest([seeds_copy])
    bot.retriever._search(qvec, settings.rival_chunks, None, bot.retriever.snapshot())
    assert asked == [settings.rival_chunks]


@pytest.mark.parametrize("widths, ok", [([3, 100, 250], True), ([1], True), ([], False), ([3, 3], False), ([100, 3], False), ([0, 5], False)])
def test_dense_widths_must_grow(settings, widths, ok):
    from pydantic import ValidationError

    from qa.core.settings import Settings

    if ok:
        assert Settings(data_dir=settings.data_dir, dense_widths=widths).dense_widths == widths
    else:
        with pytest.raises(ValidationError, match="dense_widths"):
            Settings(data_dir=settings.data_dir, dense_widths=widths)


@pytest.mark.parametrize("weight", [0.0, 0.25, 1.0])
def test_each_language_earns_one_lexical_list_shared_between_translations_and_dense_rank(fake_bot, monkeypatch, weight):
    """Fusion credit, by rank r (1/(rrf_k + r + 1)): every chunk its dense rank; the question's language its BM25 rank;
    another language translated_weight of its translations' BM25 rank and the rest of its dense rank in the language."""
    fake_bot.articles()
    retriever = fake_bot.retriever
    english, spanish = [c.id for c in fake_bot.store.chunks_of([KHOJALY])][0], [c.id for c in fake_bot.store.chunks_of([SPANISH])][:2]
    dense = [(spanish[0], 0.9, 0.9), (english, 0.8, 0.8), (spanish[1], 0.7, 0.7)]
    monkeypatch.setattr(retriever.settings, "translated_weight", weight)
    monkeypatch.setattr(retriever.settings, "score_lexical_hits", False)
    monkeypatch.setattr(retriever.settings, "sentence_weight", 0.0)
    monkeypatch.setattr(retriever, "_dense", lambda *a: dense)
    monkeypatch.setattr(retriever, "_lexical", lambda *a: {"en": [(english, 3.0)], "es": [(spanish[1], 2.0)]})
    rank = lambda r: 1.0 / (retriever.settings.rrf_k + r + 1)  # noqa: E731
    expected = {
        spanish[0]: rank(0) + (1 - weight) * rank(0),
        english: rank(1) + rank(0),
        spanish[1]: rank(2) + weight * rank(0) + (1 - weight) * rank(1),
    }
    got = {p.chunk_id: p.score for p in retriever.retrieve("How many people were taken hostage in Khojaly?")}
    assert got == pytest.approx(expected, abs=1e-6)
