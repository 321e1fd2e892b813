import shutil
from pathlib import Path

import pytest

from qa import Assistant, Settings
from qa.settings import PROJECT_ROOT
from tests.fakes import FakeEmbedder

SEEDS = PROJECT_ROOT / "seeds"
KHOJALY = "001_0fce656212b9b58a"
SPANISH = "002_80680643ca28e344"


def make_settings(data_dir: Path, **overrides) -> Settings:
    return Settings(data_dir=data_dir, seeds_dir=SEEDS, chroma_url=None, **overrides)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def fake_bot(settings) -> Assistant:
    """Fast assistant on the hashing embedder, seeds ingested into a store under tmp_path."""
    return Assistant(settings, embedder=FakeEmbedder())


@pytest.fixture(scope="session")
def real_bot(tmp_path_factory) -> Assistant:
    """The embedded default (real e5 model), built once per test session."""
    bot = Assistant(make_settings(tmp_path_factory.mktemp("real") / "data"))
    bot.articles()  # index the seeds now, not inside the first timed test
    return bot


@pytest.fixture
def seeds_copy(tmp_path) -> Path:
    dest = tmp_path / "articles"
    shutil.copytree(SEEDS, dest)
    return dest

