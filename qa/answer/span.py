"""The words that answer, inside a quoted sentence: "1275" in "1275 people were taken hostage, and ...".

Typed questions (a count, an amount, a time, a person, a place) are answered by a phrase of that type the question
does not already hold; the one nearest the question's own words in the sentence wins. Other questions get no span:
marking a guess would claim more than the reader knows.
"""

import re
from dataclasses import dataclass
from functools import cache

from qa.answer.question import Question, cue_pattern, language_words
from qa.core.text import alternation, fold, lang_words, terms
from qa.answer.verify import DATE_NUMBERS, MONTH_WORD

_NUMBER = r"(?<![\w.])[$€£]?\s?\d+(?:[.,]\d+)*(?:\s?%)?"
_WEEKDAY_OR_MONTH = rf"\b(?:{MONTH_WORD})\b"


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@cache
def _quantity_pattern(lang: str) -> re.Pattern:
    w = language_words(lang).sentence
    units = sorted({*w["numbers"], *w["duration"], *w["currency"], *w["percent"]}, key=len, reverse=True)
    unit = "|".join(re.escape(u) for u in units)
    return re.compile(rf"{_NUMBER}(?:\s+(?:de\s+)?(?:{unit})\b){{0,2}}")


def _quantities(text: str, lang: str) -> list[Span]:
    """A number with the scale or unit word right after it ("74 million dollars", "38,000", "19 months", "6.25%")."""
    dates = _dates(text)
    out = []
    for m in _quantity_pattern(lang).finditer(_folded(text)):
        if not any(d.start <= m.start() < d.end for d in dates):  # the 26 of "February 26, 1992" counts nothing
            out.append(Span(m.start(), m.end()))
    return out


def _folded(text: str) -> str:
    """Folded text of the same length, so offsets carry over (casefolding can lengthen a few letters)."""
    folded = fold(text)
    return folded if len(folded) == len(text) else text.lower()


def _dates(text: str) -> list[Span]:
    """Dates, or failing that month names; the finder of "when" answers."""
    folded = _folded(text)
    return [Span(m.start(), m.end()) for m in DATE_NUMBERS.finditer(folded)] or \
        [Span(m.start(), m.end()) for m in re.finditer(_WEEKDAY_OR_MONTH, folded)]


_PARTICLE = alternation(w for found in lang_words("name_particles") for w in found)
_NAME_RUN = re.compile(rf"(?:(?<=\s)|^)([A-ZÁÉÍÓÚÑ][\w’'\-.]*(?:\s+(?:(?:{_PARTICLE})\s+)?[A-ZÁÉÍÓÚÑ][\w’'\-]*)*)")


def _names(text: str, question: Question) -> list[Span]:
    """Runs of capitalised words not in the question, the sentence's first word only when a name follows it."""
    out = []
    for m in _NAME_RUN.finditer(text):
        lead = re.match(r"(?:(?:The|El|La|Los|Las|A|An|Un|Una|In|En|On|At|By|Por)\s+)+", m.group(1))
        start = m.start(1) + (lead.end() if lead else 0)
        words = [fold(x) for x in re.findall(r"[\w’'\-]+", text[start:m.end(1)])]
        if not words:
            continue
        if all(any(x[:5] == t[:5] for t in (*question.names, *question.terms)) for x in words):
            continue
        if m.start() == 0 and len(words) == 1 and not lead:
            continue
        out.append(Span(start, m.end(1)))
    return out


def _has_unit(text: str, s: Span, lang: str, kind: str) -> bool:
    """The quantity at `s` carries a word of `kind` (duration, currency)."""
    return bool(cue_pattern(language_words(lang).sentence[kind]).search(_folded(text)[s.start:s.end]))


def _with_unit(kind: str):
    """Quantities, those with a word of `kind` (duration, currency) first when there are any."""
    def find(text: str, q: Question) -> list[Span]:
        found = _quantities(text, q.lang)
        typed = [s for s in found if _has_unit(text, s, q.lang, kind)
                 or (kind == "currency" and re.search(r"[$€£]", text[s.start:s.end]))]
        return typed or [s for s in found if kind != "currency" or not _has_unit(text, s, q.lang, "duration")]
    return find


_FINDERS = {
    "count": lambda text, q: _quantities(text, q.lang),
    "amount": _with_unit("currency"),
    "duration": _with_unit("duration"),
    "time": lambda text, q: _dates(text),
    "person": _names,
    "place": _names,
}


def answer_span(question: Question, text: str) -> Span | None:
    """The phrase of the asked type nearest the question's words in `text` (offsets into it), or None."""
    finder = _FINDERS.get(question.asks)
    if finder is None:
        return None
    spans = [s for s in finder(text, question) if not set(terms(text[s.start:s.end])) <= set(question.terms) or not terms(text[s.start:s.end])]
    spans = [s for s in spans if text[s.start:s.end].strip()]
    if not spans:
        return None
    folded = _folded(text)
    anchors = {t: [m.start() for m in re.finditer(rf"\b{re.escape(t[:5])}", folded)] for t in question.terms}

    def near(s: Span) -> int:
        """How many of the question's words stand close to the span (a sentence reports several counts)."""
        return sum(any(s.start - _WINDOW <= a <= s.end + _WINDOW for a in at) for at in anchors.values())

    return _trim(text, max(spans, key=lambda s: (near(s), -s.start)))


_WINDOW = 40  # characters either side of a span in which a question word counts as near it


def _trim(text: str, span: Span) -> Span:
    piece = text[span.start:span.end]
    lead = len(piece) - len(piece.lstrip())
    tail = len(piece.rstrip(" ,.;:")) - lead
    return Span(span.start + lead, span.start + lead + tail)
