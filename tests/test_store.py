"""The store's manifest: kept beside the lexical index per change token, read again from Chroma only after a write."""

from qa import Assistant
from qa.store import Store
from tests.conftest import KHOJALY
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
