"""Per-format extraction: a web page, PDF, DOCX or feed's bytes -> its clean text and its own metadata.

Well-kept extractors do the reading: trafilatura keeps a page's main text (no menus, banners, related links or
comments) and reads its <meta>, OpenGraph and JSON-LD; htmldate finds a date trafilatura missed; pypdf and
python-docx read documents and their properties; feedparser reads RSS and Atom. The text returned here is what is
stored, so citation offsets point into it whatever the format.
"""

import io
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime

from qa.core.errors import InputRejected
from qa.core.types import Extracted


@dataclass(frozen=True)
class FeedEntry:
    key: str  # the entry's id, else its link: stable from one reading of the feed to the next
    link: str | None
    content: Extracted | None  # the entry's own text and metadata (None when it carries no text)
    full: bool  # the text is the entry's content, not only its summary


@dataclass(frozen=True)
class Feed:
    title: str | None
    entries: list[FeedEntry]


def _paragraphs(lines) -> str:
    return "\n\n".join(line.strip() for line in lines if line and line.strip())


def _day(value: datetime | time.struct_time | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, time.struct_time):
        return time.strftime("%Y-%m-%d", value)
    return value.date().isoformat()


# --- web pages ---------------------------------------------------------------------------------


def html(raw: bytes | str, url: str | None = None) -> Extracted:
    import htmldate
    import trafilatura

    tree = trafilatura.load_html(raw)
    if tree is None:
        raise InputRejected("not an HTML page")
    lang = _declared_lang(tree)
    # favor_precision: on a short story trafilatura's default keeps the menu as text; a missed paragraph costs an
    # answer, a menu or banner in the text costs wrong quotes.
    doc = trafilatura.bare_extraction(tree, url=url, with_metadata=True, include_comments=False, include_tables=True,
                                      favor_precision=True)
    if doc is None or not (doc.text or "").strip():
        raise InputRejected("no article text found in the page")
    date = doc.date or htmldate.find_date(raw, url=url, extensive_search=True, outputformat="%Y-%m-%d")
    return Extracted(text=_paragraphs(doc.text.split("\n")), title=doc.title, date=date or None, source=doc.sitename,
                     author=doc.author, lang=lang)


def _declared_lang(tree) -> str | None:
    """The language the page declares: <html lang>, a Content-Language <meta>, or OpenGraph's locale."""
    declared = tree.getroottree().getroot().get("lang")
    for meta in tree.iter("meta"):
        key = (meta.get("http-equiv") or meta.get("property") or meta.get("name") or "").lower()
        if key in ("content-language", "og:locale", "language"):
            declared = declared or meta.get("content")
    return declared.strip() if declared and declared.strip() else None


def html_fragment(fragment: str) -> str:
    """A feed entry's HTML content or summary as paragraphs (trafilatura wants a page, so it gets one)."""
    import trafilatura

    page = f"<html><body><article>{fragment}</article></body></html>"
    text = trafilatura.extract(page, include_comments=False, include_tables=True) or trafilatura.html2txt(page)
    return _paragraphs((text or "").split("\n"))


# --- documents ---------------------------------------------------------------------------------


def pdf(raw: bytes, short_line: float) -> Extracted:
    """Text of every page, its layout line breaks undone; Title, Author (or XMP publisher), CreationDate as metadata."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputRejected("the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        xmp = _xmp(reader)
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise InputRejected(f"not a readable PDF ({type(exc).__name__}: {exc})") from None
    text = "\n\n".join(p for p in (_unwrap(page, short_line) for page in pages) if p)
    publisher = (xmp.dc_publisher or [None])[0] if xmp is not None else None
    language = (xmp.dc_language or [None])[0] if xmp is not None else None
    author = info.author if info else None
    return Extracted(text=text, title=info.title if info else None, date=_day(_pdf_date(info)), source=publisher or author,
                     author=author, lang=language)


def _xmp(reader):
    try:
        return reader.xmp_metadata
    except Exception:  # pypdf raises whatever its XML parser raises on a malformed XMP stream; the Info dictionary remains
        return None


def _pdf_date(info) -> datetime | None:
    try:
        return info.creation_date if info else None
    except ValueError:  # a malformed /CreationDate string
        return None


def _unwrap(page: str, short_line: float) -> str:
    """pypdf returns layout lines, not paragraphs: a line shorter than short_line of the page's longest ends its
    paragraph (a heading, a paragraph's last line); every other break is the layout's and becomes a space."""
    lines = [line.strip() for line in page.split("\n")]
    widest = max((len(line) for line in lines), default=0)
    out: list[str] = []
    for line in lines:
        if not line:
            out.append("\n\n")
            continue
        out.append(line)
        if len(line) < short_line * widest:
            out.append("\n\n")
        elif not line.endswith("-"):
            out.append(" ")
    return _paragraphs("".join(out).split("\n\n"))


def docx(raw: bytes) -> Extracted:
    """Paragraphs of the body; title, author, created and language from the core properties."""
    import docx as python_docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = python_docx.Document(io.BytesIO(raw))
    except (PackageNotFoundError, zipfile.BadZipFile, ValueError, KeyError) as exc:
        raise InputRejected(f"not a readable DOCX file ({type(exc).__name__}: {exc})") from None
    props = document.core_properties
    return Extracted(text=_paragraphs(p.text for p in document.paragraphs), title=props.title or None, date=_day(props.created),
                     source=props.author or None, author=props.author or None, lang=props.language or None)


# --- feeds -------------------------------------------------------------------------------------


def feed(raw: bytes) -> Feed:
    """RSS or Atom; each entry with its title, date, link, outlet and the text it carries."""
    import feedparser

    parsed = feedparser.parse(raw)  # bytes: feedparser never fetches anything itself
    if not parsed.version and not parsed.entries:
        raise InputRejected("not an RSS or Atom feed")
    channel = parsed.feed
    entries = []
    for e in parsed.entries:
        key = e.get("id") or e.get("link")
        if not key:
            continue
        content = e.get("content") or []
        body = "\n".join(c.get("value", "") for c in content) or e.get("summary", "")
        text = html_fragment(body) if body else ""
        source = (e.get("source") or {}).get("title") or channel.get("title")
        meta = Extracted(text=text, title=e.get("title"), date=_day(e.get("published_parsed") or e.get("updated_parsed")),
                         source=source, author=e.get("author"), lang=e.get("language") or channel.get("language"))
        entries.append(FeedEntry(key=key, link=e.get("link"), content=meta if text else None, full=bool(content)))
    return Feed(title=channel.get("title"), entries=entries)

