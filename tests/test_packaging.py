"""A built wheel answers on its own: installed into a fresh venv and run outside the checkout, with the prompts and
seed articles it carries (issue 39: they were read from the checkout's top level, so an installed wheel could not)."""

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from qa.core.settings import PROJECT_ROOT

# What the build reads; copied out so that it neither writes into the checkout nor picks up a stale build/.
SOURCES = ("pyproject.toml", "README.md", "qa", "prompts", "seeds", "eval/qa_eval")
KHOJALY = "001_0fce656212b9b58a"
# No QA_* setting and no PYTHONPATH from the test run: the package runs on its embedded defaults and its own files.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("QA_") and k != "PYTHONPATH"}
WHERE = "import qa, qa.core.prompts as p, qa.core.settings as s; print(qa.__file__, p.PROMPTS_DIR, s.Settings().seeds_dir, s.Settings().data_dir)"


def run(argv: list, cwd: Path, env: dict = ENV) -> str:
    result = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{argv} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def source_copy(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        if (PROJECT_ROOT / name).is_dir():
            shutil.copytree(PROJECT_ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(PROJECT_ROOT / name, src / name)
    return src


def install(tmp_path: Path, *target) -> tuple[Path, Path]:
    """A venv that takes the dependencies from this interpreter's site-packages (offline, no download) and installs
    only qa itself, shadowing the checkout's editable install; returns its python and a folder outside any checkout."""
    venv.create(tmp_path / "venv", system_site_packages=True, with_pip=False)
    # When the tests run in a venv, --system-site-packages reaches only the base interpreter's packages, not this one's.
    own = sysconfig.get_path("purelib", "venv", vars={"base": tmp_path / "venv", "platbase": tmp_path / "venv"})
    Path(own, "outer.pth").write_text("".join(f"import site; site.addsitedir({p!r})\n" for p in site.getsitepackages()))
    python = tmp_path / "venv" / "bin" / "python"
    run([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--ignore-installed", "--no-cache-dir", "-q", *target],
        tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return python, elsewhere


def test_installed_wheel_answers_from_any_folder(tmp_path):
    src = source_copy(tmp_path)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir", "-q", "-w", tmp_path / "dist", "."], src)
    python, elsewhere = install(tmp_path, next((tmp_path / "dist").glob("qa-*.whl")))

    module, prompts, seeds, data = map(Path, run([python, "-c", WHERE], elsewhere).split())
    venv_dir = tmp_path / "venv"
    assert module.is_relative_to(venv_dir) and prompts.is_relative_to(venv_dir) and seeds.is_relative_to(venv_dir)
    assert (prompts / "refusal.en.txt").is_file() and (seeds / f"{KHOJALY}.txt").is_file()
    assert not data.is_relative_to(venv_dir)  # an installed package never writes into site-packages

    answer = json.loads(run([venv_dir / "bin" / "qa", "ask", "How many people were killed in Khojaly?", "--json"], elsewhere,
                            {**ENV, "QA_DATA_DIR": str(tmp_path / "data")}))
    assert answer["grade"] == "answer" and not answer["refused"], answer["text"]
    assert KHOJALY in {c["article_id"] for c in answer["citations"]} and "[1]" in answer["text"]


def test_editable_install_reads_the_top_level_folders(tmp_path):
    src = source_copy(tmp_path)
    python, elsewhere = install(tmp_path, "-e", src)
    module, prompts, seeds, data = map(Path, run([python, "-c", WHERE], elsewhere).split())
    assert (module.parent, prompts, seeds, data) == (src / "qa", src / "prompts", src / "seeds", src / "data")
