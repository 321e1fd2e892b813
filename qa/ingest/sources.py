"""Inputs -> articles: files and folders, http(s) URLs and RSS/Atom feeds, each read by its format (qa/ingest/formats.py).

Every input yields one item per article it holds, or a `Rejected` naming what went wrong with that item alone, so
one bad file, URL or feed entry never stops the rest.
"""

import hashlib
import re
from collections.abc import Container, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from qa.ingest import formats
from qa.ingest.articles import iter_files, make_article, parse_bytes, read_file
from qa.core.errors import FetchError, InputRejected
from qa.ingest.fetch import Fetcher, is_url
from qa.core.settings import Settings
from qa.core.types import Article, Extracted, Rejected

# File suffixes by the format that reads them.
FILE_FORMATS = {
    ".txt": "txt", ".md": "md", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx",
    ".rss": "feed", ".atom": "feed", ".xml": "feed",
}
SUFFIXES = tuple(FILE_FORMATS)


@dataclass(frozen=True)
class Known:
    """A feed entry already stored whose text lives on its linked page: counted unchanged, the page not fetched again."""

    article_id: str
    path: str


Item = Article | Rejected | Known


def stable_id(key: str) -> str:
    """An article id for a URL or a feed entry's id: readable (host, last path segment) and unique (a hash of all of it)."""
    parts = urlsplit(key)
    segment = next((s for s in reversed(parts.path.split("/")) if s), "")
    readable = re.sub(r"[^\w.-]+", "-", "-".join(x for x in (parts.hostname, segment) if x)).strip("-.")
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
    return f"{readable}-{digest}" if readable else digest


class Sources:
    def __init__(self, settings: Settings, fetcher: Fetcher | None = None) -> None:
        self.settings = settings
        self._fetcher = fetcher

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            self._fetcher = Fetcher(self.settings)
        return self._fetcher

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()

    def read(self, inputs: list[str | Path], known: Container[str] = ()) -> Iterator[Item]:
        """Every article of the inputs; `known` holds the stored ids, so a feed entry stored already is not fetched."""
        for given in inputs:
            if is_url(str(given)):
                yield from self._url(str(given), known)
                continue
            path = Path(given).expanduser()
            if not path.exists():
                yield Rejected(str(given), "no such file or folder")
                continue
            for f in iter_files([path]):
                yield from self._file(f, known)

    def _file(self, f: Path, known: Container[str]) -> Iterator[Item]:
        fmt = FILE_FORMATS.get(f.suffix.lower())
        if fmt is None:
            yield Rejected(str(f), f"unsupported file type '{f.suffix or '(none)'}': accepted are {', '.join(SUFFIXES)}")
            return
        try:
            raw = read_file(f, self.settings.max_file_bytes)
        except InputRejected as exc:
            yield Rejected(str(f), str(exc))
            return
        except OSError as exc:
            yield Rejected(str(f), f"cannot be read: {exc.strerror or exc}")
            return
        yield from self._document(raw, fmt, f.stem, str(f), None, known)

    def _url(self, url: str, known: Container[str]) -> Iterator[Item]:
        try:
            got = self.fetcher.get(url)
        except FetchError as exc:
            yield Rejected(url, str(exc))
            return
        yield from self._document(got.body, got.format, stable_id(url), url, got.final_url, known)

    def _document(self, raw: bytes, fmt: str, article_id: str, path: str, url: str | None, known: Container[str]) -> Iterator[Item]:
        try:
            if fmt != "feed":
                yield self._article(raw, fmt, article_id, path, url)
                return
            entries = formats.feed(raw).entries
        except InputRejected as exc:
            yield Rejected(path, str(exc))
            return
        for entry in entries:
            yield self._entry(entry, path, known)

    def _article(self, raw: bytes, fmt: str, article_id: str, path: str, url: str | None) -> Article:
        if fmt in ("txt", "md"):
            return parse_bytes(raw, article_id=article_id, path=path, markdown=fmt == "md")
        if fmt == "html":
            found = formats.html(raw, url)
        elif fmt == "pdf":
            found = formats.pdf(raw, self.settings.pdf_short_line)
        else:
            found = formats.docx(raw)
        return make_article(article_id, path, found)

    def _entry(self, entry: formats.FeedEntry, feed: str, known: Container[str]) -> Item:
        """An entry's article: its own text, or the page it links to when it carries only a summary."""
        article_id = stable_id(entry.key)
        path = entry.link or f"{feed}#{entry.key}"
        found = entry.content
        if not entry.full and entry.link and is_url(entry.link):
            if article_id in known:
                return Known(article_id, path)
            page = self._page(entry.link)
            if page is not None:
                meta = entry.content or Extracted(text="")
                found = replace(page, title=meta.title or page.title, date=meta.date or page.date,
                                source=page.source or meta.source, author=meta.author or page.author, lang=page.lang or meta.lang)
        if found is None:
            return Rejected(f"{feed} entry {entry.key}", "the entry carries no text and its link could not be read")
        try:
            return make_article(article_id, path, found)
        except InputRejected as exc:
            return Rejected(f"{feed} entry {entry.key}", str(exc))

    def _page(self, url: str) -> Extracted | None:
        """The linked web page's text and metadata, or None when it cannot be fetched or is no page (the summary stays)."""
        try:
            got = self.fetcher.get(url)
            return formats.html(got.body, got.final_url) if got.format == "html" else None
        except InputRejected:
            return None
