"""Sentence-level verification: every answer sentence must be backed by the passages it cites.

Two independent checks: a strict one (numbers, dates and names in the sentence must appear in the
cited text) and a semantic one (the sentence's embedding must be close to a cited sentence's).
"""

import re
from dataclasses import dataclass

import numpy as np

from qa.index.embed import Embedder
from qa.core.text import MONTHS, STOPWORDS, YEAR, alternation, fold, lang_words, numbers, words

MARKER = re.compile(r"\s*\[(\d{1,3})\]")

_ALL_MONTHS = MONTHS
_NOT_NAMES = frozenset(fold(w) for found in lang_words("not_names") for w in found.split())


@dataclass(frozen=True)
class Check:
    supported: bool
    strict_ok: bool
    support: float
    reason: str | None


def strip_markers(text: str) -> str:
    return MARKER.sub("", text).strip()


def months(text: str) -> set[str]:
    return {_ALL_MONTHS[w] for w in words(fold(text)) if w in _ALL_MONTHS}


def names(text: str) -> set[str]:
    """Capitalised words (acronyms included): the proper nouns a claim hangs on."""
    out = set()
    for w in words(text):
        f = fold(w)
        if len(w) > 1 and w[:1].isupper() and f not in _NOT_NAMES and f not in STOPWORDS and f not in _ALL_MONTHS:
            out.add(f)
    return out


def _name_found(name: str, haystack_words: set[str]) -> bool:
    if name in haystack_words:
        return True
    # Same name across languages or inflections: Azerbaiyán / Azerbaijan, Armenia / Armenian.
    stem = name[: max(4, len(name) - 3)]
    return len(stem) >= 4 and any(w.startswith(stem) or (len(w) >= 4 and name.startswith(w)) for w in haystack_words)


def _alternatives(key: str) -> str:
    """One [words] list of every language file as a regex alternation of folded words."""
    return alternation(fold(w) for found in lang_words(key) for w in found)


def _optional(key: str, after: str = "") -> str:
    """An optional word from one [words] list, then `after` (nothing when no language has such words)."""
    found = _alternatives(key)
    return rf"(?:(?:{found}){after})?" if found else ""


MONTH_WORD = alternation(_ALL_MONTHS)
_ORDINAL = _optional("ordinals")
_DAY_JOINER, _YEAR_JOINER = _optional("date_joiners", r"\s+"), _optional("year_joiners", r"\s+")
DATE_NUMBERS = re.compile(
    rf"\b(?:{MONTH_WORD})\.?\s+\d{{1,2}}{_ORDINAL}(?:,?\s+\d{{4}})?\b|\b\d{{1,2}}{_ORDINAL}\s+{_DAY_JOINER}(?:{MONTH_WORD})\b(?:,?\s+{_YEAR_JOINER}{YEAR}\b)?"
    r"|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b"
    # A year after a year lead or a month, in a range, or before punctuation ("in 2020", "1992-1994", "2022.");
    # "2000 guests" stays a count.
    rf"|\b(?:{_alternatives('year_leads')}|{MONTH_WORD})\.?\s+{YEAR}\b"
    rf"|\b{YEAR}(?=\s*(?:[-,.;:)\]–]|$))"
)


def quantity_text(text: str) -> str:
    """The folded text without its dates: a day or a year is not a count ('September 13, 2022' answers no 'how many')."""
    return DATE_NUMBERS.sub(" ", fold(text).replace("%", " percent"))


def figures(text: str) -> set[str]:
    """The numbers a sentence reports as quantities (dates' numbers left out): what two reports of one event compare."""
    return numbers(quantity_text(text))


_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+")


def _counts(text: str) -> list[tuple[str, list[str]]]:
    """Each number that is not a date, with the words right after it."""
    tokens = _TOKEN.findall(quantity_text(text))
    return [(next(iter(numbers(tok)), tok), tokens[i + 1 : i + 4]) for i, tok in enumerate(tokens) if tok[0].isdigit()]


def unbound_numbers(sentence: str, cited_text: str) -> list[str]:
    """Numbers the sentence attaches to another thing than the cited text does ("106 people" where the source
    says "106 women"). Only words the cited text uses somewhere are compared, so a translation is not held against it."""
    cited = _counts(cited_text)
    vocabulary = {w[:5] for w in _TOKEN.findall(fold(cited_text))}
    out = []
    for n, after in _counts(sentence):
        thing = next((w for w in after[:2] if not w[0].isdigit() and w not in STOPWORDS and len(w) > 2), None)
        if thing is None or thing[:5] not in vocabulary:
            continue
        if not any(m == n and any(w[:5] == thing[:5] for w in following) for m, following in cited):
            out.append(f"{n} {thing}")
    return out


def strict_check(sentence: str, cited_text: str) -> str | None:
    """None when every number, month and name of the sentence appears in the cited text, each count attached to
    the same thing as there; else the reason."""
    body = strip_markers(sentence)
    missing_numbers = numbers(body) - numbers(cited_text)
    if missing_numbers:
        return f"numbers not in the cited text: {', '.join(sorted(missing_numbers))}"
    missing_months = months(body) - months(cited_text)
    if missing_months:
        return f"dates not in the cited text: {', '.join(sorted(missing_months))}"
    hay = set(words(fold(cited_text)))
    missing_names = sorted(n for n in names(body) if not _name_found(n, hay))
    if missing_names:
        return f"names not in the cited text: {', '.join(missing_names)}"
    unbound = unbound_numbers(body, cited_text)
    if unbound:
        return f"counts attached to other things than in the cited text: {', '.join(unbound)}"
    return None


class Verifier:
    def __init__(self, embedder: Embedder, min_similarity: float) -> None:
        self.embedder = embedder
        self.min_similarity = min_similarity

    def check(self, sentence: str, cited_texts: list[str], cited_vectors: np.ndarray | None = None) -> Check:
        """Verify one sentence against the text (and, if known, the sentence vectors) of what it cites."""
        if not cited_texts:
            return Check(False, False, 0.0, "cites nothing")
        joined = "\n".join(cited_texts)
        reason = strict_check(sentence, joined)
        body = strip_markers(sentence)
        if fold(body).strip(" .") in fold(joined):
            support = 1.0
        else:
            if cited_vectors is None or len(cited_vectors) == 0:
                cited_vectors = self.embedder.embed_passages(cited_texts)
            vec = self.embedder.embed_passages([body])[0]
            support = float(np.max(cited_vectors @ vec))
        if reason is None and support < self.min_similarity:
            reason = f"meaning not close enough to the cited text (similarity {support:.2f} < {self.min_similarity:.2f})"
        return Check(reason is None, strict_check(sentence, joined) is None, round(support, 4), reason)
