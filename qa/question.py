"""A question parsed once: its language, what it asks for, the names and words it hangs on.

The words that say what a question asks for live in per-language data files (qa/lang/*.toml), not in code.
"""

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .text import detect_lang, fold, terms
from .verify import names

LANG_DIR = Path(__file__).resolve().parent / "lang"
# Answer types, in the order the reader's feature encodes them (the shipped model depends on this order).
ASKS = ("other", "person", "time", "duration", "count", "amount", "place", "reason", "manner", "entity")


@dataclass(frozen=True)
class LanguageWords:
    asks: dict[str, tuple[str, ...]]
    sentence: dict[str, tuple[str, ...]]
    pronouns: tuple[str, ...]  # lower case, accents kept
    follow_up_leads: tuple[str, ...]  # folded
    follow_up_pronouns: tuple[str, ...]  # lower case, accents kept
    follow_up_about: str  # "{question} (about {topic})"


@cache
def language_words(lang: str) -> LanguageWords:
    path = LANG_DIR / f"{lang if (LANG_DIR / f'{lang}.toml').exists() else 'en'}.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return LanguageWords(
        asks={k: tuple(fold(w) for w in v) for k, v in data["asks"].items()},
        sentence={k: tuple(fold(w) for w in v) for k, v in data["sentence"].items()},
        pronouns=tuple(w.lower() for w in data["pronouns"]["words"]),
        follow_up_leads=tuple(fold(w) for w in data["follow_up"]["leads"]),
        follow_up_pronouns=tuple(w.lower() for w in data["follow_up"]["pronouns"]),
        follow_up_about=data["follow_up"]["about"],
    )


@cache
def cue_pattern(cues: tuple[str, ...]) -> re.Pattern:
    """Any of the cues as a whole word or phrase, the longest first; compiled once per word list."""
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(c) for c in sorted(cues, key=len, reverse=True)) + r")(?!\w)")


def asks_for(text: str, lang: str) -> str:
    """The answer type a question asks for: the earliest cue in it, the longest at one place ('how many' over 'how')."""
    folded = " ".join(fold(text).replace("¿", " ").split())
    best: tuple[int, int, str] | None = None
    for kind, cues in language_words(lang).asks.items():
        m = cue_pattern(cues).search(folded)
        if m and (best is None or (m.start(), -len(m.group(1))) < (best[0], best[1])):
            best = (m.start(), -len(m.group(1)), kind)
    return best[2] if best else "other"


@dataclass(frozen=True)
class Question:
    text: str
    lang: str
    asks: str  # one of ASKS
    names: frozenset[str]
    terms: tuple[str, ...]  # folded content words, in order, repeated words once


def parse(text: str) -> Question:
    lang = detect_lang(text)
    return Question(text=text, lang=lang, asks=asks_for(text, lang), names=frozenset(names(text)),
                    terms=tuple(dict.fromkeys(terms(text))))
