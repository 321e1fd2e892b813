"""The benchmark's own machinery: derived vectors, ratios, reports, workers (also against a Chroma server)."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qa import Assistant
from qa.ingest.articles import parse_file
from benchmarks.common import TimedReader, pct, reader_engine, reader_rerank, reset_store, spawn, worker_settings, write_corpus, xquad_articles
from qa_eval.servers import free_port, start_chroma, stop_process, wait_http
from benchmarks.compare import compare_markdown, compare_summary, median_run, reader_cost
from benchmarks.scale import DerivedEmbedder, RecordingEmbedder, Variations, scale_markdown, scale_plot, shift_numbers, variant
from qa.apps.cli import build_parser
from qa.core.errors import QAError
from qa.ingest.chunking import chunk_article, sentences_of
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder, FakeReader

MINI = Path(__file__).parent / "data" / "xquad-mini"  # two XQuAD articles per language


def test_percentiles():
    assert pct([1.0, 2.0, 3.0, 4.0, None]) == {"p50": 2.5, "p95": 3.85, "n": 4}
    assert pct([]) == {"p50": None, "p95": None, "n": 0}


def test_variations_are_deterministic_and_reversible():
    base = xquad_articles(MINI)[0]
    aid, text, order = variant(base, 0, 3)
    assert (aid, text) == variant(base, 0, 3)[:2] and aid == "xq-en-00-v003"
    assert sorted(order) == list(range(len(base.paragraphs))) and order[0] == 3
    assert shift_numbers(shift_numbers("In 1992, 1,275 of 150 people", 7), -7) == "In 1992, 1,275 of 150 people"


def test_derived_vectors_cover_every_stored_text_and_stay_near_their_base(tmp_path):
    settings = make_settings(tmp_path / "data", merge_duplicates=False)  # as the benchmark workers: variations are near-copies
    articles = xquad_articles(MINI)
    bases = [*articles[:2], next(a for a in articles if a.lang == "es")]
    recorder = RecordingEmbedder(FakeEmbedder())
    Assistant(settings, embedder=recorder, auto_ingest=False).ingest([write_corpus(tmp_path / "base", bases, with_seeds=False)])
    derived = DerivedEmbedder(FakeEmbedder())
    gen = Variations(bases, recorder.seen, settings)
    folder = tmp_path / "v"
    folder.mkdir()
    for b in range(len(bases)):
        gen.write(folder, b, 1, derived)
    bot = Assistant(settings, embedder=derived, auto_ingest=False)
    report = bot.ingest([folder])
    assert len(report.added) == 3 and derived.misses == 0
    # A sentence that only had its numbers shifted keeps (noisily) its base vector; chunks get their paragraph's.
    variants = [parse_file(f, 10**6) for f in sorted(folder.glob("*.txt"))]
    sentences = [s.text for a in variants for s in sentences_of(a, chunk_article(a, settings.chunk_tokens, settings.chunk_overlap))]
    pairs = [(derived.table[t], recorder.seen[shift_numbers(t, -1)]) for t in sentences if shift_numbers(t, -1) in recorder.seen]
    assert len(pairs) > 20
    assert all(0.9 < float(v @ b) < 0.995 for v, b in pairs)
    norms = np.linalg.norm(np.stack(list(derived.table.values())), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-4)


def _compare_result() -> dict:
    ingest = {"chunks": 100, "seconds": 50.0, "embed_seconds": 40.0, "peak_rss_mb": 400.0, "rss_before_mb": 300.0}
    row = {"retrieve": 0.1, "compose": 0.2, "verify": 0.01, "total": 0.31, "first_token": 0.31}
    base_row = {"retrieve": 0.05, "compose": 0.01, "verify": None, "total": 0.06, "first_token": 0.07}
    reader_row = {"retrieve": 0.05, "rerank": 0.02, "compose": 0.01, "total": 0.08, "candidates": 12, "read": 0.006}
    return {
        "command": "qa bench", "server": False, "questions": ["q"] * 3, "corpus": {"xquad_articles": 2},
        "machine": {"cpu": "cpu", "cores": 2, "memory_gb": 1, "platform": "p", "python": "3", "packages": {}, "commit": "c",
                    "when": "now", "loadavg": [1, 1, 1]},
        "ingest_ours": ingest, "ingest_baseline": {**ingest, "seconds": 25.0},
        "cold": {"ours": [{"process_seconds": s} for s in (3, 4, 9)], "baseline": [{"process_seconds": s} for s in (2, 2, 2)]},
        "queries": {"ours": [row] * 3, "baseline": [base_row] * 3, "baseline_reader": [reader_row] * 2 + [{**reader_row, "candidates": 4}]},
    }


def test_compare_summary_ratios_are_ours_over_baseline():
    rows = {r["metric"]: r for r in compare_summary(_compare_result()) if r["against"] == "baseline"}
    assert rows["cold start to first answer"]["ratio"] == 2.0  # medians 4 / 2
    assert rows["ingest throughput"]["ours"] == 2.0 and rows["ingest throughput"]["ratio"] == 0.5
    assert rows["query total p50"]["ratio"] == round(0.31 / 0.06, 2)
    assert rows["query verify p95"]["baseline"] is None and rows["query verify p95"]["ratio"] is None
    r = _compare_result()
    r["summary"], r["reader_cost"] = compare_summary(r), reader_cost(r["queries"])
    table = compare_markdown(r)
    assert "| query verify p50 (s) | 0.01 | — | — |" in table and "Command: `qa bench`" in table


def test_ingest_is_judged_on_each_side_s_median_run_and_every_pair_is_listed():
    run = {"embed_seconds": 8.0, "peak_rss_mb": 400.0, "rss_before_mb": 300.0}
    runs = {"ours": [{**run, "chunks": 100, "seconds": s, "pair": i, "first": i % 2 == 0} for i, s in enumerate((12.0, 10.0, 11.0))],
            "baseline": [{**run, "chunks": 90, "seconds": s, "pair": i, "first": i % 2 == 1} for i, s in enumerate((9.0, 9.5, 30.0))]}
    assert median_run(runs["ours"])["seconds"] == 11.0 and median_run(runs["baseline"])["seconds"] == 9.5
    assert median_run(runs["ours"][:2])["seconds"] == 10.0  # the lower middle of an even count
    r = {**_compare_result(), "ingest_runs": runs, "ingest_ours": median_run(runs["ours"]), "ingest_baseline": median_run(runs["baseline"])}
    r["summary"], r["reader_cost"] = compare_summary(r), reader_cost(r["queries"])
    row = next(row for row in r["summary"] if row["metric"] == "ingest throughput")
    assert row["ratio"] == round((100 / 11.0) / (90 / 9.5), 2) and "median of 3 runs" in row["note"]
    text = compare_markdown(r)
    assert "8.3 / 10.0 = 0.83 (ours first); 10.0 / 9.5 = 1.06 (baseline first); 9.1 / 3.0 = 3.03 (ours first)." in text


def test_compare_summary_also_sets_ours_against_the_baseline_with_the_reader():
    r = _compare_result()
    rows = {r["metric"]: r for r in compare_summary(r) if r["against"] == "baseline+reader"}
    assert set(rows) == {f"query {stage} {p}" for stage in ("retrieve", "rerank", "compose", "total") for p in ("p50", "p95")}
    assert rows["query total p50"]["baseline"] == 0.08 and rows["query total p50"]["ratio"] == round(0.31 / 0.08, 2)
    assert rows["query retrieve p50"]["ratio"] == 2.0
    assert rows["query rerank p50"]["ours"] is None and rows["query rerank p50"]["baseline"] == 0.02
    # The reader's scoring call: 6 ms on 12 candidates twice and on 4 once; medians over the three questions.
    cost = reader_cost(r["queries"])
    assert cost == {"questions": 3, "ms_per_candidate_p50": 0.5, "ms_per_question_p50": 6.0, "candidates_p50": 12.0,
                    "candidates_min": 4, "candidates_max": 12}
    r["summary"], r["reader_cost"] = compare_summary(r), cost
    text = compare_markdown(r)
    assert "| metric | ours | baseline+reader | ours/baseline+reader | note |" in text
    assert "| query total p50 (s) | 0.31 | 0.08 | 3.88 |" in text and "0.5 ms per candidate sentence" in text


def test_the_reader_as_a_llama_index_reranker_orders_nodes_by_their_best_sentence(tmp_path):
    """The baseline+reader's postprocessor: our store's sentences of the retrieved chunks, read by the reader, the
    chunks by their most probable sentence, whatever order the vector search gave."""
    from llama_index.core import QueryBundle

    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "baku.txt").write_text("Baku port\n\nThe Baku port ferry terminal is old. The Baku port ferry terminal will get a new hall.\n")
    (folder / "alat.txt").write_text("Alat\n\nFerries run to Alat from the coast. It handles 40 ferries a week.\n")
    (folder / "rain.txt").write_text("Weather\n\nRain fell on the city all week. The rivers rose.\n")
    fake = FakeReader("40 ferries")
    reader = TimedReader(fake)
    bot = Assistant(make_settings(tmp_path / "data", translate=False), embedder=FakeEmbedder(), reader=reader, auto_ingest=False)
    bot.ingest([folder])
    rerank = reader_rerank(bot)
    engine = reader_engine(bot.store.vector_store, bot.embedder, 3, rerank)
    bundle = QueryBundle("When did the Baku port ferry terminal open?")
    plain = engine.retriever.retrieve(QueryBundle(bundle.query_str))
    nodes = engine.retrieve(bundle)
    assert plain[0].node.metadata["title"] == "Baku port" and len(nodes) == len(plain) == 3
    assert nodes[0].node.metadata["title"] == "Alat" and nodes[0].score == 1.0
    # FakeReader's probability is the e5 (here hashed) similarity: a node's score is its closest sentence's (titles are
    # sentences too: 3 per article, all read, under the limit of 12).
    qvec = np.asarray(bundle.embedding, dtype=np.float32)
    sents = bot.store.sentences_for([n.node.node_id for n in nodes])
    for n in nodes[1:]:
        assert n.score == pytest.approx(max(0.0, max(float(v @ qvec) for s, v in sents if s.chunk_id == n.node.node_id)))
    assert nodes[1].score >= nodes[2].score
    assert fake.calls == 1 and rerank.last["candidates"] == len(sents) == 9 and 0 < rerank.last["read"] < rerank.last["rerank"]


def test_scale_report_and_plot(tmp_path):
    lat = {k: {"p50": 0.01, "p95": 0.02, "n": 3} for k in ("retrieve", "dense", "bm25", "sentences", "ask_total", "baseline_retrieve")}
    points = [{"target": n, "store_mb": n / 100, "ingest": {"peak_rss_mb": 300.0},
               "query": {"chunks": n, "articles": n // 10, "sentences": n * 2, "snapshot_seconds": n / 1e4, "first_retrieve_seconds": n / 1e3, "peak_rss_mb": 300 + n / 100,
                         "latency": lat}} for n in (1000, 10_000)]
    batches = [{"real_embedder": True, "chunks": 900, "seconds": 900.0, "embed_seconds": 800.0, "store_chunks": 900},
               {"real_embedder": False, "chunks": 100, "seconds": 1.0, "store_chunks": 1000},
               {"real_embedder": False, "chunks": 9000, "seconds": 90.0, "store_chunks": 10_000}]
    r = {"command": "qa bench scale", "noise_sigma": 0.017, "points": points, "batches": batches,
         "machine": {"cpu": "c", "cores": 2, "memory_gb": 1, "python": "3", "loadavg": [1], "commit": "c", "when": "now"}}
    text = scale_markdown(r, "scale.png")
    assert text.count("\n| 1") == 2 and "| 0.01 |" in text and "1.00 s/chunk" in text
    assert "| 0.100 / 1.10 |" in text  # manifest + lexical index, then with the first retrieve
    scale_plot(r, tmp_path / "scale.png")
    assert (tmp_path / "scale.png").stat().st_size > 10_000


def test_cli_offers_the_bench_modes():
    args = build_parser().parse_args(["bench", "scale", "--sizes", "1000", "10000", "--chroma-url", "http://127.0.0.1:9"])
    assert (args.mode, args.sizes, args.chroma_url) == ("scale", [1000, 10000], "http://127.0.0.1:9")
    assert build_parser().parse_args(["bench"]).mode == "compare"


def test_outside_a_checkout_qa_bench_says_where_it_runs(tmp_path, monkeypatch, capsys):
    import qa.core.settings
    from qa.apps.cli import main

    monkeypatch.setattr(qa.core.settings, "PROJECT_ROOT", tmp_path)  # an installed package: no benchmarks/ beside it
    assert main(["bench", "scale"]) == 2
    assert "source checkout" in capsys.readouterr().err


def test_matplotlib_is_no_run_time_dependency():
    import tomllib

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("matplotlib") for d in project["dependencies"])
    assert any(d.startswith("matplotlib") for d in project["optional-dependencies"]["bench"])


def test_a_failing_worker_is_an_error():
    with pytest.raises(QAError, match="worker 'no_such_worker' failed"):
        spawn("no_such_worker", {}, log=lambda _: None)


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory) -> Iterator[str]:
    port = free_port()
    proc = start_chroma(tmp_path_factory.mktemp("bench-chroma") / "db", port)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", proc, 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


@pytest.mark.server
@pytest.mark.model
def test_workers_run_against_a_chroma_server(chroma_url, tmp_path):
    """`--chroma-url`: ingest in a worker process, then a cold start against the same server store."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "note.txt").write_text("The new ferry terminal in Alat opened on Monday.\n\nIt handles 40 ferries a week.")
    cfg = {"data_dir": str(tmp_path / "data"), "chroma_url": chroma_url, "collection": "benchtest", "articles": str(folder)}
    ingest = spawn("ingest_ours", cfg, log=lambda _: None)
    assert ingest["chunks"] >= 1 and ingest["embed_seconds"] > 0 and ingest["peak_rss_mb"] > 50
    cold = spawn("cold_baseline", {**cfg, "question": "When did the ferry terminal open?"}, log=lambda _: None)
    assert cold["process_seconds"] > cold["first_answer"] > 0
    data = Path(cfg["data_dir"])
    assert [p.name for p in data.iterdir()] == ["lexical"]  # the lexical index only: no local Chroma store

    from qa.index.chroma import open_client

    settings = worker_settings(cfg)
    client = open_client(settings)
    client.get_or_create_collection("keepme")
    reset_store(settings, ["benchtest-"])
    names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    assert "keepme" in names and not any(n.startswith("benchtest-") for n in names)


def test_quality_probes_rank_by_article_or_by_an_answer_span_and_the_memo_embeds_once():
    from benchmarks.quality import MemoEmbedder, Probe, quality_markdown
    from qa.core.types import Passage

    def passage(article: str, text: str) -> Passage:
        return Passage(chunk_id=f"{article}#0", article_id=article, title="t", date=None, source=None, lang="en", text=text,
                       start=0, end=len(text), score=0.0)

    found = [passage("a", "The ferry left at six."), passage("b", "It carried 40 cars."), passage("b", "More text.")]
    assert Probe("q", "g", None, frozenset({"b"})).rank(found) == 2
    assert Probe("q", "g", None, frozenset({"b"}), ("40 cars",)).rank(found) == 2
    assert Probe("q", "g", None, frozenset({"a"}), ("40 cars",)).rank(found) is None
    inner = FakeEmbedder()
    memo = MemoEmbedder(inner)
    first = memo.embed_passages(["x y", "z"])
    assert np.array_equal(memo.embed_passages(["z", "x y"]), first[::-1]) and inner.passages_embedded == 2
    row = {"n": 2, "hit_at_1": 0.5, "hit_at_5": 1.0, "mrr": 0.75}
    r = {"command": "qa bench quality", "sample": 2, "datasets": {"gold": {"embedded": {"gold": row}, "sentences": {"gold": row}}},
         "machine": {"cpu": "c", "cores": 2, "loadavg": [1], "commit": "c", "when": "now"}}
    assert "| gold | 2 | 0.5 | 0.5 | 1.0 | 1.0 | 0.75 | 0.75 |" in quality_markdown(r)


def test_the_lexical_bench_builds_then_loads_what_it_built(tmp_path):
    from benchmarks.lexical import lexical_markdown, w_lexical_build, w_lexical_query

    built = w_lexical_build({"chunks": 500, "folder": str(tmp_path)})
    query = w_lexical_query({"folder": str(tmp_path), "questions": 5})
    assert query["chunks"] == 500 and query["score"]["n"] == 5 and built["terms"] > 500 * 20
    r = {"command": "qa bench lexical", "corpus": {"zipf": 1.2, "vocab": 10, "terms_per_chunk": (20, 70)},
         "points": [{"chunks": 500, "build": built, "query": query, "disk_mb": 0.1}],
         "machine": {"cpu": "c", "cores": 2, "loadavg": [1], "commit": "c", "when": "now"}}
    assert "| 500 |" in lexical_markdown(r)
