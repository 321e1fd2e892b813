"""A question parsed once: its language, what it asks for, the names and words it hangs on.

The words that say what a question asks for live in per-language data files (qa/lang/*.toml), not in code.
"""

import re
import tomllib
from dataclasses import dataclass
from functools import cache

from qa.core.text import LANG_DIR, LANGS, detect_lang, fold, terms
from qa.answer.verify import names

# Answer types, in the order the reader's feature encodes them (the shipped model depends on this order).
ASKS = ("other", "person", "time", "duration", "count", "amount", "place", "reason", "manner", "entity", "open")


@dataclass(frozen=True)
class LanguageWords:
    asks: dict[str, tuple[str, ...]]
    sentence: dict[str, tuple[str, ...]]
    pronouns: tuple[str, ...]  # lower case, accents kept
    follow_up_leads: tuple[str, ...]  # folded
    follow_up_pronouns: tuple[str, ...]  # lower case, accents kept
    follow_up_about: str  # "{question} (about {topic})"
    part_joins: tuple[str, ...]  # folded
    part_openers: tuple[str, ...]  # folded
    boilerplate: tuple[str, ...]  # folded cues of page furniture (photo credits, subscriptions)
    byline: tuple[str, ...]  # folded words that open a line naming only its writer
    overview: tuple[str, ...]  # folded questions about the whole collection
    timeline: tuple[str, ...]  # folded words that ask for a timeline of what follows them
    after: tuple[str, ...]  # folded words that ask what happened after what follows them
    month_date: str  # how a month is said: "{month} {year}"
    year_date: str  # how a year is said: "{year}"
    recency: tuple[str, ...]  # folded words that ask for the latest
    months: tuple[str, ...]  # full month names, January first, for saying a date
    date: str  # how a date is said: "{day} {month} {year}"
    name: str  # the language's name in English, as the model's (English) prompt asks for it


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
        part_joins=tuple(fold(w) for w in data["parts"]["joins"]),
        part_openers=tuple(fold(w) for w in data["parts"]["openers"]),
        boilerplate=tuple(fold(w) for w in data["boilerplate"]["cues"]),
        byline=tuple(fold(w) for w in data["boilerplate"]["byline"]),
        overview=tuple(fold(w) for w in data["overview"]["questions"]),
        timeline=tuple(fold(w) for w in data["timeline"]["leads"]),
        after=tuple(fold(w) for w in data["after"]["leads"]),
        month_date=data["after"]["month"],
        year_date=data["after"]["year"],
        recency=tuple(fold(w) for w in data["recency"]["cues"]),
        months=tuple(data["recency"]["months"]),
        date=data["recency"]["date"],
        name=data["words"]["name"],
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
    latest: bool = False  # asks for the latest ("the most recent figure"): answered from the newest report


def about_collection(text: str) -> bool:
    """A question about the whole collection ("What is this about?", "¿De qué tratan los artículos?"): one of the
    language files' overview questions, whole, in either language."""
    folded = " ".join(re.sub(r"[^\w\s]", " ", fold(text)).split())
    return any(folded in language_words(lang).overview for lang in LANGS)


def timeline_topic(text: str) -> str | None:
    """What a question asks the timeline of ("Give me a timeline of the Khojaly events" -> "the Khojaly events"), or
    None when it asks for none: the words after a language file's timeline lead, in either language."""
    return _after_lead(text, tuple(w for lang in LANGS for w in language_words(lang).timeline))


def after_anchor(text: str) -> str | None:
    """What a question asks what happened after ("What happened after the Moscow talks?" -> "the Moscow talks"), or
    None when it asks for none: the words after a language file's after lead, in either language."""
    return _after_lead(text, tuple(w for lang in LANGS for w in language_words(lang).after))


def _after_lead(text: str, leads: tuple[str, ...]) -> str | None:
    """The words after the first of `leads` (folded, whole words, the longest at one place), as written; None when
    they name nothing ("What happened after that?", "timeline of it"): only the conversation says what they mean, so
    the question goes the ordinary way, where a follow-up is read in its conversation."""
    folded = fold(text)
    m = cue_pattern(leads).search(folded)
    if m is None:
        return None
    rest = (text if len(folded) == len(text) else folded)[m.end():].strip(" ?¿!.:,")
    return rest if rest and (names(rest) or terms(rest)) else None


def open_topic(text: str) -> str | None:
    """What an open question asks about ("What happened in Khojaly?" -> "in Khojaly", "Tell me about the Port Ellery
    barrier" -> "the Port Ellery barrier"): the words after a language file's open cue, in either language; None when
    it has no open cue or they name nothing."""
    return _after_lead(text, tuple(w for lang in LANGS for w in language_words(lang).asks["open"]))


def parse(text: str) -> Question:
    lang = detect_lang(text)
    return Question(text=text, lang=lang, asks=asks_for(text, lang), names=frozenset(names(text)),
                    terms=tuple(dict.fromkeys(terms(text))), latest=asks_latest(text))


def asks_latest(text: str) -> bool:
    """The question asks for the latest: one of the language files' recency cues, in either language."""
    return bool(cue_pattern(tuple(w for lang in LANGS for w in language_words(lang).recency)).search(fold(text)))


@cache
def _parts_pattern() -> re.Pattern:
    """A join between two questions, in either language (a question may mix them): matched on folded text, which
    keeps every character in place, so the split positions hold for the text as written."""
    joins = {w for lang in LANGS for w in language_words(lang).part_joins}
    openers = {w for lang in LANGS for w in language_words(lang).part_openers}
    alt = lambda ws: "|".join(re.escape(w) for w in sorted(ws, key=len, reverse=True))
    return re.compile(rf"(?<![?\s]),?\s+(?:{alt(joins)})\s+(?=(?:{alt(openers)})\b)")


def split_question(question: str) -> list[str]:
    """'How many X, and how long Y?' becomes two questions, each retrieved and answered on its own."""
    folded = fold(question)
    if len(folded) != len(question):  # a character that folds to more than one: keep the question whole
        return [question]
    cuts = [(m.start(), m.end()) for m in _parts_pattern().finditer(folded)]
    if not cuts:
        return [question]
    bounds = [0, *[x for cut in cuts for x in cut], len(question)]
    parts = [question[bounds[i]:bounds[i + 1]].strip(" ,") for i in range(0, len(bounds), 2)]
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return [question]
    lead = "¿" if question.lstrip().startswith("¿") else ""
    return [(lead + p.lstrip("¿") if lead and not p.startswith("¿") else p).rstrip("?") + "?" for p in parts]

