"""Turn text and its metadata into an Article: id, title, date, outlet, language and clean text (header removed).

Plain .txt/.md files are parsed here (a ` date YYYY-MM-DD` line, a Markdown title, byline patterns); other formats
arrive as `Extracted` text with their own metadata (qa/ingest/formats.py), and the patterns only fill what that lacks.
"""

import hashlib
import re
from datetime import date as calendar_day
from pathlib import Path

from qa.core.errors import InputRejected
from qa.core.text import LANGS, detect_lang, fold, megabytes, sentences
from qa.core.types import Article, Extracted

SUFFIXES = (".txt", ".md")

_DATE_LINE = re.compile(r"^[ \t]*date[ \t]+(\d{4}-\d{2}-\d{2})\b[ \t]*(.*)$", re.IGNORECASE)
_MD_TITLE = re.compile(r"^[ \t]*#[ \t]+(.+?)[ \t#]*$")
# Outlet patterns, strongest first: a byline, a credit line, "X reports", "told X", a photo agency.
_OUTLETS = [
    re.compile(r"^\s*By\s+([A-Z][\w.&-]*(?:\s+[A-Z][\w.&-]*){0,3})\s*$"),
    re.compile(r"(?:With|Con)\s+(?:information|información)\s+(?:from|de)\s+([A-Z][\w.&-]+)", re.IGNORECASE),
    re.compile(r"\b([A-Z][A-Za-z]+)\s+(?:reports|reported|informa)\b"),
    re.compile(r"\btold\s+([A-Z][A-Za-z]+)\b"),
    re.compile(r"\b(REUTERS|AFP|EFE|AP|TASS|XINHUA|ANADOLU)\b"),
]
_AGENCY_NAMES = {"REUTERS": "Reuters", "XINHUA": "Xinhua", "ANADOLU": "Anadolu", "TASS": "TASS"}


class ArticleRejected(InputRejected, ValueError):
    """Raised with a reason a person can act on; ingest turns it into a `Rejected` entry."""


def _real_day(iso: str) -> str | None:
    """A date line's date if it names a real day; 2024-02-30 does not, and the article is kept undated."""
    try:
        calendar_day.fromisoformat(iso)
    except ValueError:
        return None
    return iso


def parse_file(path: Path, max_bytes: int) -> Article:
    if path.suffix.lower() not in SUFFIXES:
        raise ArticleRejected(f"unsupported file type '{path.suffix or '(none)'}': only .txt and .md articles are accepted")
    return parse_bytes(read_file(path, max_bytes), article_id=path.stem, path=str(path), markdown=path.suffix.lower() == ".md")


def read_file(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, or a rejection for an empty or too large one (checked before reading it)."""
    size = path.stat().st_size
    if size == 0:
        raise ArticleRejected("empty file")
    if size > max_bytes:
        raise ArticleRejected(f"file too large ({megabytes(size)}; the limit is {megabytes(max_bytes)})")
    return path.read_bytes()


def parse_bytes(raw: bytes, article_id: str, path: str = "", markdown: bool = False) -> Article:
    if b"\x00" in raw:
        raise ArticleRejected("binary content (NUL bytes), not a text article")
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleRejected(f"not UTF-8 text (undecodable byte at position {exc.start})") from None
    return parse_text(decoded, article_id=article_id, path=path, markdown=markdown)


def parse_text(raw: str, article_id: str, path: str = "", markdown: bool = False) -> Article:
    date, header, title, text = _split_header(_clean(raw), markdown)
    return make_article(article_id, path, Extracted(text=text, title=title, date=date), header=header)


def make_article(article_id: str, path: str, found: Extracted, header: str = "") -> Article:
    """The Article for extracted text: its own metadata first, then the text's byline patterns and first line."""
    if not article_id or not re.fullmatch(r"[\w.\-]+", article_id):
        raise ArticleRejected(f"unusable article id {article_id!r}: use letters, digits, '.', '-' or '_' in the file name")
    text = _clean(found.text).strip()
    if not text or not any(ch.isalnum() for ch in text):
        raise ArticleRejected("no article text (empty or whitespace only)")
    declared = (found.lang or "").replace("_", "-").split("-", 1)[0].lower()
    return Article(
        id=article_id,
        title=_one_line(found.title) or _title_from_text(text),
        date=found.date,
        source=_one_line(found.source) or _outlet(header, text),
        lang=declared if declared in LANGS else detect_lang(text),
        text=text,
        path=path,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        author=_one_line(found.author),
    )


def _clean(raw: str) -> str:
    """Unix newlines, no control characters: the text as stored, which every offset points into."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or (c >= " " and not 0x7F <= ord(c) < 0xA0))


def _one_line(value: str | None) -> str | None:
    return " ".join(value.split()) or None if value else None


def _split_header(text: str, markdown: bool) -> tuple[str | None, str, str | None, str]:
    """Pull the ` date YYYY-MM-DD ...` line and a Markdown `# title` off the top of the text."""
    date = title = None
    header = ""
    lines = text.split("\n")
    i = 0
    while i < len(lines) and i < 5:
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if date is None and (m := _DATE_LINE.match(line)):
            date, header = _real_day(m.group(1)), m.group(2).strip()
            i += 1
            continue
        if markdown and title is None and (m := _MD_TITLE.match(line)):
            title = m.group(1).strip()
            i += 1
            continue
        break
    return date, header, title, "\n".join(lines[i:])


def _title_from_text(text: str) -> str:
    """A short first line is a headline; otherwise the first sentence stands in for one."""
    first_line = text.split("\n", 1)[0].strip()
    candidate = first_line if len(first_line) <= 140 else sentences(text)[0].text
    if len(candidate) > 120:
        candidate = candidate[:117].rsplit(" ", 1)[0] + "…"
    return candidate.rstrip(".")


def _outlet(header: str, text: str) -> str | None:
    head = text[:600]
    tail = text[-300:]
    for i, pattern in enumerate(_OUTLETS):
        for where in ([header] if i == 0 else [header, head, tail]):
            if m := pattern.search(where):
                name = m.group(1).strip()
                if fold(name) in {"the", "it", "he", "she", "they", "la", "el"}:
                    continue
                return _AGENCY_NAMES.get(name, name)
    return None


def iter_files(paths: list[Path]) -> list[Path]:
    """Files under the given paths, sorted; folders are walked recursively, hidden entries skipped."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(
                f for f in sorted(p.rglob("*")) if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        else:
            found.append(p)
    return found
