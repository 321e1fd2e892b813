"""XQuAD as an outside benchmark: retrieval and answers over 240 Wikipedia paragraphs nobody here wrote.

Every paragraph becomes an article (`en-000` … `es-239`) in its own store, so the run never touches
the user's data. A question is asked through the public API with the search restricted to the
paragraphs of one language, which gives the four directions en→en, es→es, es→en and en→es.
"""

import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from . import metrics
from .settings import PROJECT_ROOT, Settings
from .types import Answer, Filters

LANGS = ("en", "es")
DIRECTIONS = (("en", "en"), ("es", "es"), ("es", "en"), ("en", "es"))
DEFAULT_DIR = PROJECT_ROOT.parent / "shared" / "benchmarks" / "xquad"
DEFAULT_DATA_DIR = PROJECT_ROOT / "data" / "eval" / "xquad"
# Reading comprehension with the gold paragraph given (Artetxe et al. 2020, via DESIGN.md): (F1, EM).
PUBLISHED = {
    "XLM-R Large": {"en": (86.5, 75.7), "es": (82.0, 63.9)},
    "mBERT": {"en": (83.5, 72.2), "es": (75.5, 56.9)},
}


@dataclass(frozen=True)
class XQuestion:
    """One XQuAD question in both languages; `paragraph` indexes the shared paragraph list."""

    qid: str
    paragraph: int
    text: dict[str, str]
    answers: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Corpus:
    paragraphs: dict[str, list[str]]
    questions: list[XQuestion]


@dataclass(frozen=True)
class XResult:
    qid: str
    direction: str
    question: str
    gold: tuple[str, ...]
    prediction: str
    refused: bool
    rank: int | None
    em: float
    f1: float
    contains: bool
    latency: float


def article_id(lang: str, paragraph: int) -> str:
    return f"{lang}-{paragraph:03d}"


def load_corpus(folder: Path) -> Corpus:
    """Pair the English and Spanish files; they list the same paragraphs and question ids in the same order."""
    data = {lang: json.loads((folder / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"] for lang in LANGS}
    paras = {lang: [p for doc in data[lang] for p in doc["paragraphs"]] for lang in LANGS}
    if len(paras["en"]) != len(paras["es"]):
        raise ValueError("the English and Spanish XQuAD files hold different numbers of paragraphs")
    questions = []
    for i, (en, es) in enumerate(zip(paras["en"], paras["es"])):
        by_lang = {"en": {q["id"]: q for q in en["qas"]}, "es": {q["id"]: q for q in es["qas"]}}
        if set(by_lang["en"]) != set(by_lang["es"]):
            raise ValueError(f"paragraph {i}: the English and Spanish question ids differ")
        for qid in by_lang["en"]:
            questions.append(
                XQuestion(
                    qid=qid,
                    paragraph=i,
                    text={lang: by_lang[lang][qid]["question"] for lang in LANGS},
                    answers={lang: tuple(a["text"] for a in by_lang[lang][qid]["answers"]) for lang in LANGS},
                )
            )
    return Corpus({lang: [p["context"] for p in paras[lang]] for lang in LANGS}, questions)


def write_articles(corpus: Corpus, folder: Path) -> Path:
    """One file per paragraph (rewritten only when it differs, so re-ingest finds nothing to do)."""
    for lang in LANGS:
        (folder / lang).mkdir(parents=True, exist_ok=True)
        for i, text in enumerate(corpus.paragraphs[lang]):
            path = folder / lang / f"{article_id(lang, i)}.txt"
            body = text.strip() + "\n"
            if not path.exists() or path.read_text(encoding="utf-8") != body:
                path.write_text(body, encoding="utf-8")
    return folder


def xquad_settings(data_dir: Path) -> Settings:
    """The default backend, on a store of its own (never the user's collection or server)."""
    return Settings(data_dir=data_dir, seeds_dir=data_dir / "articles", collection="xquad", chroma_url=None)
