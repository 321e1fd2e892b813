"""Language-aware text helpers shared by every stage: sentences with offsets, terms, numbers."""

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

LANG_DIR = Path(__file__).resolve().parents[1] / "lang"  # one word file per language (qa/lang, package data)
# The languages with a word file, English first (the fallback).
LANGS = tuple(sorted((p.stem for p in LANG_DIR.glob("*.toml")), key=lambda lang: lang != "en"))


@cache
def _words_section(lang: str) -> dict:
    return tomllib.loads((LANG_DIR / f"{lang}.toml").read_text(encoding="utf-8"))["words"]


def lang_words(key: str) -> list:
    """One [words] entry of every language file, in LANGS order: lists of words are used for all languages at once,
    since a text may mix them."""
    return [_words_section(lang)[key] for lang in LANGS]


def alternation(found: Iterable[str]) -> str:
    """Words as a regex alternation, longest first (then alphabetical, so the pattern text is reproducible)."""
    return "|".join(re.escape(w) for w in sorted(set(found), key=lambda w: (-len(w), w)))


STOPWORDS = frozenset(w for found in lang_words("stopwords") for w in found.split())
MONTHS = {name: english for found in lang_words("months") for name, english in found.items()}  # any language -> English

_WORD = re.compile(r"[^\W_]+(?:[’'\-][^\W_]+)*", re.UNICODE)
_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:[,.]\d{3})+(?![\d])|(?<![\w.])\d+(?:[.,]\d+)?(?![\d])")
_ABBREV = frozenset(w for found in lang_words("abbreviations") for w in found)  # a stop after these ends no sentence


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Lower-case and strip accents so 'Azerbaiyán' matches 'azerbaiyan'.

    Cached, with a plain lower() for ASCII text (the same result): the reader folds every word of every candidate,
    which took a fifth of an answer's time.
    """
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return _WORD.findall(text)


# Prefixes that make a compound something other than its head: a vice-president is not the president.
_OTHER_THAN = frozenset("vice ex non anti pseudo".split())


def terms(text: str) -> list[str]:
    """Folded content words (stopwords removed) with a light plural stem; used by BM25 and coverage.

    A hyphenated word also yields its parts, so "Karabakh" finds "Nagorno-Karabakh", unless its prefix makes it
    something else ("vice-president" does not hold "president").
    """
    out = []
    folded = words(fold(text))
    for w in [p for w in folded for p in ([w, *re.split(r"[-’']", w)] if "-" in w and w.split("-")[0] not in _OTHER_THAN else [w])]:
        if w in STOPWORDS or len(w) < 2 and not w.isdigit():
            continue
        if len(w) > 4 and w.endswith("es") and not w.endswith("ies"):
            w = w[:-2]
        elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


class Vocabulary:
    """Folded words with the 5-letter stems and 4-letter heads of those of 5 letters or more, so stem_found and
    name_found look a word up instead of scanning every word (the reader asks ~200 of them per question)."""

    __slots__ = ("words", "stems", "heads")

    def __init__(self, folded: Iterable[str]) -> None:
        self.words = frozenset(folded)
        long = [w for w in self.words if len(w) >= 5]
        self.stems = frozenset(w[:5] for w in long)
        self.heads = frozenset(w[:4] for w in long)


def stem_found(term: str, hay: Vocabulary) -> bool:
    """Exact, or the same 5-letter stem (hostage/hostages, Azerbaijan/Azerbaiyán)."""
    return term in hay.words or (len(term) >= 5 and term[:5] in hay.stems)


def name_found(name: str, hay: Vocabulary) -> bool:
    """Names across languages share less: also the same first 4 letters (Moscow/Moscú, Khojaly/Jojalí)."""
    return stem_found(name, hay) or (len(name) >= 5 and name[:4] in hay.heads)


YEAR = r"(?:1[89]\d\d|20\d\d)"  # a four-digit number read as a year


def is_year(token: str) -> bool:
    return bool(re.fullmatch(YEAR, token))


def numbers(text: str) -> set[str]:
    """Numbers normalised to digits only ('1,275' and '1275' are the same number)."""
    return {re.sub(r"[,.](?=\d{3}\b)", "", n).replace(",", ".") for n in _NUMBER.findall(text)}


def quantities(text: str) -> list[str]:
    """Numbers that can be amounts: "2,000" is one and "For 2021," dates something; a year-like number
    followed by a lower-case content word ("2000 personas") counts it."""
    out = []
    for m in _NUMBER.finditer(text):
        after = re.match(r"\s+([^\W\d_]+)", text[m.end():])
        if not is_year(m.group()) or (after and after.group(1).islower() and after.group(1) not in STOPWORDS):
            out.append(m.group())
    return out


@lru_cache(maxsize=1)
def _identifier():
    """py3langid's naive Bayes model over byte n-grams (shipped in its wheel), told only our languages: it reads
    names and accents that a stopword count misses ("Presidente Aliyev visitó Moscú"). Loaded on first use."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.set_languages(list(LANGS))
    return identifier


def detect_lang(text: str) -> str:
    """The language of a question or article among LANGS; text with no letters counts as the first (English)."""
    if not any(c.isalpha() for c in text):
        return LANGS[0]
    return _identifier().classify(text)[0]


@dataclass(frozen=True)
class Span:
    text: str
    start: int
    end: int


_BOUNDARY = re.compile(r"(?<=[.!?…])[\"”»’)]*\s+|\n\s*\n|\n(?=\s*[A-Z¿¡“\"])")


def sentences(text: str, offset: int = 0) -> list[Span]:
    """Split into sentences, keeping each sentence's character offsets into the original text."""
    spans: list[Span] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.start()
        piece = text[start:end]
        last = piece.rstrip().rsplit(None, 1)[-1] if piece.strip() else ""
        token = fold(last.rstrip(".")).strip("([\"“")
        # Do not split after abbreviations ("Nov.", "Sept.") or single initials ("U.S.", "J.").
        if m.group(0).strip() == "" and "\n" not in m.group(0) and (token in _ABBREV or len(token) == 1 or re.fullmatch(r"(\w\.)+\w", token)):
            continue
        _add(spans, text, start, end, offset)
        start = m.end()
    _add(spans, text, start, len(text), offset)
    return spans


def _add(spans: list[Span], text: str, start: int, end: int, offset: int) -> None:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    piece = piece.strip()
    if len(words(piece)) == 0:
        return
    s = start + lead
    spans.append(Span(piece, offset + s, offset + s + len(piece)))


# Sentences that address the reader's assistant rather than report anything: orders to ignore rules, change role,
# reveal the prompt or answer every question a given way. They are never quoted, shown to a model or counted as
# support, so an article cannot steer answers to other questions. Matched on folded text (no accents, lower case).
_DIRECTIVE = re.compile(
    r"\b(?:ignore|disregard|forget|override|ignora|ignoren|olvida|olviden|descarta|omite)\b.{0,40}"
    r"\b(?:instructions?|rules|prompts?|guidelines|instrucciones|reglas|indicaciones)\b"
    r"|\b(?:you are now|from now on you|ahora eres|a partir de ahora eres)\b"
    r"|\b(?:developer|jailbreak|dan|desarrollador) mode\b|\bmodo (?:desarrollador|developer)\b"
    r"|\b(?:reveal|print|show|repeat|leak|output|revela|muestra|repite)\b.{0,30}"
    r"\b(?:system prompt|hidden rules|your (?:prompt|instructions|rules)|tus (?:instrucciones|reglas))\b"
    r"|\bsystem prompt\b"
    r"|\b(?:for|to) (?:every|each|any|all) (?:questions?|quer(?:y|ies)|users?)\b"
    r"|\bpara (?:cada|toda|todas las|cualquier) preguntas?\b"
    r"|\b(?:always|instead) (?:answer|respond|reply|say)\b|\b(?:responde|contesta|di|responda|conteste) siempre\b"
    r"|\bcite only this\b|\bcita solo este\b"
)


def is_directive(sentence: str) -> bool:
    return bool(_DIRECTIVE.search(" ".join(fold(sentence).split())))


def without_directives(text: str) -> str:
    """The text with its directive sentences cut out (for prompts and verification; quotes keep the original)."""
    kept, last = [], 0
    for span in sentences(text):
        if is_directive(span.text):
            kept.append(text[last : span.start])
            last = span.end + len(text[span.end :]) - len(text[span.end :].lstrip())
    return "".join(kept) + text[last:] if kept else text


# Terminal escape sequences (CSI "\x1b[31m", OSC "\x1b]0;title\x07", and two-character ones): dropped whole.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def normalise_input(text: str) -> str:
    """Typed or pasted text made plain: escape sequences dropped whole, zero-width and other invisible separators
    read as a space (so "in\u200bKhojaly" stays two words), other control characters dropped, spaces collapsed."""
    text = _ESCAPES.sub("", text)
    out = []
    for c in text:
        if c in "\n\t" or unicodedata.category(c) in ("Zs", "Zl", "Zp") or c in "\u200b\u200c\u200d\u2060\ufeff":
            out.append(" ")
        elif unicodedata.category(c) not in ("Cc", "Cf", "Co", "Cs", "Cn"):
            out.append(c)
    return " ".join("".join(out).split())


def megabytes(n: int) -> str:
    """A size as people read it: "1.9 MB" (decimal megabytes, as file managers show them)."""
    return f"{n / 1_000_000:.1f} MB"

