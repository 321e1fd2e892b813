"""Where evaluation reads its sets and writes its reports: from settings (QA_EVAL_DIR, QA_BENCHMARKS_DIR, QA_DATA_DIR),
so `qa eval` from an installed wheel says what to set instead of guessing folders beside the package."""

from dataclasses import dataclass
from pathlib import Path

from qa.core.errors import InvalidSetting
from qa.core.settings import Settings


@dataclass(frozen=True)
class EvalPaths:
    settings: Settings

    @property
    def eval_dir(self) -> Path:
        if self.settings.eval_dir is None:
            raise InvalidSetting("no evaluation folder: set QA_EVAL_DIR to a folder holding questions.jsonl and "
                                 "thresholds.toml (eval/ in a checkout), or pass --dataset, --thresholds and --out")
        return self.settings.eval_dir

    @property
    def benchmarks_dir(self) -> Path:
        if self.settings.benchmarks_dir is None:
            raise InvalidSetting("no benchmark folder: set QA_BENCHMARKS_DIR to the folder holding squad2/ and xquad/")
        return self.settings.benchmarks_dir

    @property
    def squad2_file(self) -> Path:
        """SQuAD 2.0 dev-8 in English: the set the fold readers were split on."""
        return self.benchmarks_dir / "squad2" / "squad2-dev-8.json"

    @property
    def xquad_dir(self) -> Path:
        return self.benchmarks_dir / "xquad"

    @property
    def stores(self) -> Path:
        """Stores and fold readers that evaluation builds (data/eval in a checkout)."""
        return self.settings.data_dir / "eval"


def paths() -> EvalPaths:
    return EvalPaths(Settings())
