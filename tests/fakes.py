"""The test doubles, in one place: a text-dependent embedder and an LLM that cites its sources."""

import hashlib
import re
from collections.abc import Iterator

import numpy as np

from qa.core.text import fold, words


class FakeEmbedder:
    """Hashed bag of folded words: similar texts get similar vectors, and nothing is loaded."""

    name = "fake"
    dim = 256

    def __init__(self) -> None:
        self.passages_embedded = 0

    def _embed(self, texts) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in words(fold(t)):
                h = int(hashlib.md5(w.encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0 if (h >> 20) & 1 else -1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
        return out

    def embed_passages(self, texts) -> np.ndarray:
        self.passages_embedded += len(texts)
        return self._embed(list(texts))

    def embed_queries(self, texts) -> np.ndarray:
        return self._embed(list(texts))


class FakeSource:
    """The stored chunks and sentences a lexical build reads back; `asked` records the articles whose chunks it read."""

    def __init__(self, chunks=(), sentences=()) -> None:
        self.chunks, self.sentences = list(chunks), list(sentences)
        self.asked: list[list[str]] = []

    def chunks_of(self, article_ids):
        self.asked.append(list(article_ids))
        return [c for c in self.chunks if c.article_id in article_ids]

    def sentences_of(self, article_ids):
        return [(s, v) for s, v in self.sentences if s.article_id in article_ids]


class FakeLLM:
    """Answers with the first sentence of source [1], cited; or a scripted reply when given one."""

    name = "fake-llm"

    def __init__(self, reply: str | None = None, condensed: str | None = None) -> None:
        self.reply = reply
        self.condensed = condensed
        self.prompts: list[str] = []

    def stream(self, prompt: str, max_tokens: int | None = None) -> Iterator[str]:
        self.prompts.append(prompt)
        if prompt.startswith("Rewrite the last question"):
            text = self.condensed or prompt.rsplit("Last question:", 1)[1].split("\n")[0].strip()
        elif self.reply is not None:
            text = self.reply
        else:
            m = re.search(r"^\[1\] [^:]*: (.+?[.!?])(\s|$)", prompt, re.M)
            text = f"{m.group(1)} [1]" if m else "NOT_IN_SOURCES"
        for piece in re.findall(r"\S+\s*", text):
            yield piece

    def complete(self, prompt: str, max_tokens: int | None = None) -> str:
        return "".join(self.stream(prompt, max_tokens))


class FakeTranslator:
    """Marks each text as translated, its words swapped by `glossary` (lower-cased), or fails like a broken translator
    when told to."""

    name = "FakeMT"

    def __init__(self, fail: bool = False, glossary: dict[str, str] | None = None) -> None:
        self.fail = fail
        self.glossary = glossary or {}
        self.calls: list[tuple[str, str, int]] = []

    def translate(self, texts, source, target):
        from qa.core.errors import TranslationFailed

        self.calls.append((source, target, len(texts)))
        if self.fail:
            raise TranslationFailed("fake translator down")
        import re

        return [f"<{target}> " + re.sub(r"\w+", lambda m: self.glossary.get(m.group().lower(), m.group()), t) for t in texts]


class FakeReader:
    """Takes the similarity for the probability that a sentence answers: plain, monotone, and nothing loaded; a
    sentence holding one of `prefer` is certain (to steer a test to one sentence whatever the fake embedder thinks)."""

    name = "fake-reader"

    def __init__(self, *prefer: str) -> None:
        self.calls = 0
        self.prefer = prefer

    def read(self, question, candidates, idf):
        from qa.answer.reader import Reading

        self.calls += 1
        p = np.clip(np.array([1.0 if any(w in c.text for w in self.prefer) else c.similarity for c in candidates],
                             dtype=np.float64), 0.0, 1.0)
        return Reading(p, float(p.max()) if len(p) else 0.0)


class FakeSite:
    """A website on 127.0.0.1 for fetcher tests: path -> (content type, body) or a redirect; it counts requests.

    Started and stopped by the test (`with FakeSite() as site:`), so no test reads from anywhere else.
    """

    def __init__(self) -> None:
        import http.server
        import threading

        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.hits: dict[str, int] = {}
        self.agents: list[str] = []
        self.hosts: list[str] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                site.hits[path] = site.hits.get(path, 0) + 1
                site.agents.append(self.headers.get("User-Agent", ""))
                site.hosts.append(self.headers.get("Host", ""))
                status, headers, body = site.routes.get(path, (404, {"Content-Type": "text/plain"}, b"not found"))
                self.send_response(status)
                for key, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, content_type: str, body: bytes | str) -> str:
        self.routes[path] = (200, {"Content-Type": content_type}, body.encode("utf-8") if isinstance(body, str) else body)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.routes[path] = (status, {"Location": location}, b"")
        return self.url(path)

    def __enter__(self) -> "FakeSite":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


# --- documents of every format, made here so no binary fixture is committed ------------------------

MENU = '<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li></ul></nav>'
COOKIES = '<div class="cookie-banner"><p>We use cookies to improve your experience. Accept all cookies or manage your choices.</p></div>'
FOOTER = ("<aside><h3>Related stories</h3><ul><li><a href='/a'>Storm hits Porto</a></li><li><a href='/b'>Ferries cancelled</a></li>"
          "</ul></aside><div class='comments'><h3>Comments</h3><p>Great news for the city! – a reader</p></div>"
          "<footer><p>© 2024 Coast Herald. All rights reserved. Contact us. Privacy policy. Terms of use.</p></footer>")


def news_page(title: str, paragraphs: list[str], *, site: str, date: str, author: str, lang: str = "en") -> str:
    """A news page as sites write them: menus, a cookie banner, related links, comments and a footer around the
    article; its metadata in <meta>, OpenGraph and JSON-LD NewsArticle."""
    import json as _json

    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title, "datePublished": f"{date}T09:00:00Z",
          "author": {"@type": "Person", "name": author}, "publisher": {"@type": "Organization", "name": site}}
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title} | {site}</title>'
            f'<meta property="og:title" content="{title}"><meta property="og:site_name" content="{site}">'
            f'<meta name="author" content="{author}"><script type="application/ld+json">{_json.dumps(ld)}</script></head>'
            f"<body>{MENU}{COOKIES}<article><h1>{title}</h1>{body}</article>{FOOTER}</body></html>")


def pdf_bytes(title: str, paragraphs: list[str], *, author: str, created: str) -> bytes:
    """A PDF with a heading and paragraphs (reportlab), and Title, Author and CreationDate properties."""
    import io
    from datetime import datetime

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    out = io.BytesIO()
    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(out, pagesize=A4, title=title, author=author, creator="tests")
    stamp = datetime.fromisoformat(created)
    doc.build([Paragraph(title, styles["Heading1"]), *(Paragraph(p, styles["Normal"]) for p in paragraphs)])
    # reportlab stamps today's date; the story's own creation date is written into the Info dictionary with pypdf.
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(out.getvalue())))
    writer.add_metadata({"/CreationDate": stamp.strftime("D:%Y%m%d%H%M%S+00'00'")})
    final = io.BytesIO()
    writer.write(final)
    return final.getvalue()


def docx_bytes(title: str, paragraphs: list[str], *, author: str, created: str, lang: str = "en-GB") -> bytes:
    """A Word document (python-docx) with a heading, paragraphs and its core properties set."""
    import io
    from datetime import datetime

    import docx

    document = docx.Document()
    document.add_heading(title, 1)
    for p in paragraphs:
        document.add_paragraph(p)
    props = document.core_properties
    props.title, props.author, props.created, props.language = title, author, datetime.fromisoformat(created), lang
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def rss_feed(channel: str, items: list[dict]) -> str:
    """RSS 2.0; an item with `content` carries its full text (content:encoded), one without only its summary."""
    from datetime import datetime, timezone
    from email.utils import format_datetime

    def item(i: dict) -> str:
        when = format_datetime(datetime.fromisoformat(i["date"]).replace(tzinfo=timezone.utc))
        content = f"<content:encoded><![CDATA[{i['content']}]]></content:encoded>" if "content" in i else ""
        return (f"<item><title>{i['title']}</title><link>{i['link']}</link><guid>{i.get('guid', i['link'])}</guid>"
                f"<pubDate>{when}</pubDate><description>{i['summary']}</description>{content}</item>")

    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f"<channel><title>{channel}</title><link>http://example.invalid/</link><description>News</description>"
            f"{''.join(item(i) for i in items)}</channel></rss>")
