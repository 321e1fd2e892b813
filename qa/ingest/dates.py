"""Event dates: when what a sentence reports happened, resolved against its article's own date at ingest.

Expressions of time are found with the language file's words (qa/lang/*.toml, [dates]) and read by dateparser, a
maintained parser for English and Spanish, with the article's date as the reference. Two rules are ours, because
news uses them differently from dateparser: a weekday is the latest such day up to the article's ("on Tuesday" in a
Tuesday article is that day; "last Friday" the one before; "next Monday", or a weekday in a sentence about the
future, the one after), and a day or month given without a year is in the year that puts it nearest the article's
date ("31 August" in an article of 25 August). A sentence with no such expression stays undated: the article's date
is when it was written, not when its events happened. Of several expressions the most precise wins, then the first.
"""

import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from dateparser.date import DateDataParser

from qa.core.text import LANG_DIR

_NO_BASE = date(2000, 1, 1)  # an undated article's expressions all carry their year: this reference changes nothing

# Precisions, finest first; an event date is written ISO at its precision (a week as an ISO week, 2024-W18).
PRECISIONS = ("day", "week", "month", "year")


@dataclass(frozen=True)
class EventDate:
    value: str  # 1992-02-26, 2020-11, 1988 or 2024-W18
    precision: str  # one of PRECISIONS
    expression: str  # the words it was read from


def first_day(value: str) -> date:
    """The first day an event date covers (a year's 1 January, a week's Monday)."""
    if "-W" in value:
        year, week = value.split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    parts = [int(p) for p in value.split("-")]
    return date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)


def last_day(value: str) -> date:
    """The last day an event date covers (a year's 31 December, a week's Sunday)."""
    first = first_day(value)
    if "-W" in value:
        return first + timedelta(days=6)
    parts = value.split("-")
    if len(parts) == 3:
        return first
    if len(parts) == 2:
        return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first.replace(month=12, day=31)


def gap_days(a: str, b: str) -> int:
    """Days between two event dates' spans; 0 when they overlap (one holds the other)."""
    return max(0, (first_day(b) - last_day(a)).days, (first_day(a) - last_day(b)).days)


@dataclass(frozen=True)
class DateWords:
    months: tuple[str, ...]
    weekdays: tuple[str, ...]
    ordinals: tuple[str, ...]
    joiners: tuple[str, ...]
    days: tuple[str, ...]
    relative: tuple[str, ...]
    ago_before: tuple[str, ...]
    ago_after: tuple[str, ...]
    units: dict[str, str]  # unit word -> precision of an 'N units ago'
    year_before: tuple[str, ...]  # the words after which a bare year dates a sentence
    numbers: dict[str, int]
    previous: tuple[str, ...]
    next: tuple[str, ...]
    future: tuple[str, ...]


def _alt(words) -> str:
    """Any of the words, longest first, as written or capitalised."""
    forms = {f for w in words for f in (w, w[:1].upper() + w[1:])}
    return "|".join(re.escape(w) for w in sorted(forms, key=len, reverse=True))


class Patterns:
    """The expressions of one language, compiled once."""

    def __init__(self, w: DateWords) -> None:
        self.words = w
        month, joiner = _alt(w.months), _alt(w.joiners) or "(?!)"
        day = rf"[0-3]?\d(?:{_alt(w.ordinals)})?" if w.ordinals else r"[0-3]?\d"
        year = r"(?:1[89]\d\d|20\d\d)"
        b, e = r"(?<![\w.])", r"(?![\w])"
        self.kinds = [
            ("absolute", re.compile(rf"{b}(?:{day}\s+(?:(?:{joiner})\s+)?(?:{month})(?:,?\s+(?:(?:{joiner})\s+)?{year})?"
                                    rf"|(?:{month})\s+{day}(?:,?\s+{year})?"
                                    rf"|(?:{month})(?:,?\s+(?:(?:{joiner})\s+)?{year})?){e}")),
            ("weekday", re.compile(rf"{b}(?:(?P<before>{_alt(w.previous + w.next)})\s+)?(?P<weekday>{_alt(w.weekdays)})"
                                   rf"(?:\s+(?P<after>{_alt(w.previous + w.next)}))?{e}")),
            ("days", re.compile(rf"{b}(?:{_alt(w.days)}){e}")),
            ("relative", re.compile(rf"{b}(?:{_alt(w.relative)}){e}")),
            ("ago", re.compile(rf"{b}(?:{_alt(w.ago_before) or '(?!)'})\s+(?P<n>\d+|{_alt(w.numbers)})\s+(?P<unit>{_alt(w.units)}){e}"
                               if w.ago_before else
                               rf"{b}(?P<n>\d+|{_alt(w.numbers)})\s+(?P<unit>{_alt(w.units)})\s+(?:{_alt(w.ago_after)}){e}")),
            ("year", re.compile(rf"{b}(?:{_alt(w.year_before)})\s+(?P<year>{year})(?![\w,.]\d){e}")),
        ]
        self.future = re.compile(rf"{b}(?:{_alt(w.future)}){e}") if w.future else None


@cache
def patterns(lang: str) -> Patterns:
    path = LANG_DIR / f"{lang if (LANG_DIR / f'{lang}.toml').exists() else 'en'}.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))["dates"]
    return Patterns(DateWords(**{k: (v if isinstance(v, dict) else tuple(v)) for k, v in data.items()}))


@cache
def _parser(lang: str, base: date) -> DateDataParser:
    """dateparser told the language and the article's date (cached: an ingest reads many sentences of one article)."""
    return DateDataParser(languages=[lang], settings={"RELATIVE_BASE": datetime(base.year, base.month, base.day),
                                                      "PREFER_DATES_FROM": "past", "RETURN_TIME_AS_PERIOD": True})


class EventDater:
    """Resolves the event date of a sentence of an article written on `article_date` (ISO, or None: undated)."""

    def __call__(self, text: str, lang: str, article_date: str | None) -> EventDate | None:
        """The event date of one sentence, or None: undated."""
        p = patterns(lang)
        base = _day(article_date)
        found: list[tuple[int, int, EventDate]] = []
        taken: list[tuple[int, int]] = []
        for kind, pattern in p.kinds:
            for m in pattern.finditer(text):
                if any(a < m.end() and m.start() < b for a, b in taken):
                    continue
                resolved = self._resolve(kind, m, text, lang, base, p)
                taken.append((m.start(), m.end()))
                if resolved is not None:
                    found.append((PRECISIONS.index(resolved.precision), m.start(), resolved))
        return min(found, key=lambda f: f[:2])[2] if found else None

    def _resolve(self, kind: str, m: re.Match, text: str, lang: str, base: date | None, p: Patterns) -> EventDate | None:
        expression = m.group(0)
        has_year = re.search(r"\d{4}", expression) is not None
        if kind == "year":
            return EventDate(m.group("year"), "year", m.group("year"))
        if base is None and not has_year:
            return None  # a relative expression in an undated article cannot be placed
        if kind == "weekday":
            return self._weekday(m, text, base, p)
        said = expression
        if kind == "ago":
            n = m.group("n")
            said = expression.replace(n, str(p.words.numbers.get(n.lower(), n)), 1)
        data = _parser(lang, base or _NO_BASE).get_date_data(said)
        if data.date_obj is None:
            return None
        got = data.date_obj.date()
        if kind == "ago":  # as precise as its unit: "two years ago" names a year, not the article's day two years back
            period = p.words.units[m.group("unit").lower()]
        else:
            period = "day" if data.period in ("day", "part_of_day", "time") else data.period
        if kind == "absolute" and not has_year and base is not None:
            got = _nearest_year(got, base)
        if period == "week":
            y, w, _ = got.isocalendar()
            return EventDate(f"{y}-W{w:02d}", "week", expression)
        value = {"day": got.isoformat(), "month": got.isoformat()[:7], "year": str(got.year)}[period]
        return EventDate(value, period, expression)

    @staticmethod
    def _weekday(m: re.Match, text: str, base: date, p: Patterns) -> EventDate:
        w = p.words
        wanted = next(i for i, d in enumerate(w.weekdays) if d.lower() == m.group("weekday").lower())
        marks = {(m.group("before") or "").lower(), (m.group("after") or "").lower()}
        back = (base.weekday() - wanted) % 7
        if marks & {x.lower() for x in w.next} or (p.future is not None and p.future.search(text) and not marks & {x.lower() for x in w.previous}):
            day = base + timedelta(days=(wanted - base.weekday()) % 7 or 7)
        elif marks & {x.lower() for x in w.previous}:
            day = base - timedelta(days=back or 7)
        else:
            day = base - timedelta(days=back)
        return EventDate(day.isoformat(), "day", m.group(0))


def _day(iso: str | None) -> date | None:
    """The article's date, or None when it has none or it names no real day (a header saying 2024-02-30)."""
    try:
        return date.fromisoformat(iso) if iso else None
    except ValueError:
        return None


def _nearest_year(got: date, base: date) -> date:
    """The same day or month in the year nearest the article's date; 29 February in the nearest leap year, which may
    lie up to four years away."""
    options = []
    for year in range(base.year - 4, base.year + 5):
        try:
            options.append(got.replace(year=year))
        except ValueError:  # 29 February
            continue
    return min(options, key=lambda d: abs((d - base).days))
