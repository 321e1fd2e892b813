"""The Gradio chat: streamed answers whose [n] markers open the source with the quoted span highlighted.

Only the public API (`Assistant` and the types) is used here. Every piece of article or answer
text is HTML-escaped before it is put into HTML, so an article containing tags renders as text.
"""

import argparse
import html
import json
import logging
import re
import shutil
import sys
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from functools import cache, cached_property
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gradio as gr

from qa.assistant import Assistant
from qa.apps.chats import ChatStore
from qa.apps.cli import progress_printer
from qa.core.errors import InvalidQuestion, InvalidSetting, QAError, StoreUnavailable, TranslationFailed
from qa.core.settings import Settings
from qa.core.text import LANG_DIR, LANGS
from qa.ingest.sources import SUFFIXES
from qa.core.types import Answer, Citation, Filters, IngestProgress, IngestReport, Passage, Rejected

log = logging.getLogger(__name__)

EXAMPLES = [
    "How many people were taken hostage in Khojaly?",
    "What did Blinken ask the president of Azerbaijan?",
    "¿Cuánto duró la reunión trilateral en el Kremlin?",
    "¿Qué valora Moscú en sus relaciones con Azerbaiyán y Armenia?",
]
UPLOAD_SUFFIXES = SUFFIXES
UNUSABLE_UPLOAD = f"only {', '.join(UPLOAD_SUFFIXES)} files with a usable name are accepted"
_MARKER = re.compile(r"\[(\d+)\]")
_UNSAFE_NAME_CHARS = re.compile(r"[^\w.-]+")
_BLANK_RUN = re.compile(r"\n(?:[ \t\u00a0]*\n){2,}")
_TITLE_END = re.compile(r"\n|[.!?](?=\s)")
_UNSAFE_FILE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


@cache
def words_for(lang: str | None) -> dict[str, str]:
    """The chat's own words in a language (qa/lang/<lang>.toml, [ui]); English for any other."""
    chosen = lang if lang in LANGS else "en"
    return tomllib.loads((LANG_DIR / f"{chosen}.toml").read_text(encoding="utf-8"))["ui"]

# The [n] links live inside the chat, a component Python cannot listen to; one document-level
# listener turns a click on any "#cite-<turn>-<n>" link into a click event of the sources panel.
SOURCES_JS = """
window.__qaSelectCitation = (turn, n) => trigger('click', {turn: turn, n: n});
if (!window.__qaCiteListener) {
  window.__qaCiteListener = true;
  document.addEventListener('click', (event) => {
    const link = event.target.closest ? event.target.closest('a[href^="#cite-"]') : null;
    if (!link) return;
    const m = link.getAttribute('href').match(/^#cite-(\\d+)-(\\d+)$/);
    if (!m) return;
    event.preventDefault();
    event.stopPropagation();
    window.__qaSelectCitation(Number(m[1]), Number(m[2]));
  }, true);
}
// An opened article starts at its first line when the quote shows there; otherwise the quote comes a few whole lines
// down, so no line is cut in half under the article's title.
const CONTEXT_LINES = 2;
watch('value', () => {
  const mark = element.querySelector('mark.qa-quote');
  const box = element.querySelector('.qa-article-text');
  if (!mark || !box) return;
  const line = parseFloat(getComputedStyle(box).lineHeight);
  const fits = mark.offsetTop + mark.offsetHeight <= box.clientHeight;
  box.scrollTop = fits ? 0 : Math.max(0, Math.floor(mark.offsetTop / line) - CONTEXT_LINES) * line;
  element.querySelector('.qa-article').scrollIntoView({block: 'nearest'});
});
"""

# The system's own fonts: the default theme's web fonts are fetched from the server, in two weights only, and bold
# capitals showed in another face; system fonts load nothing and have every weight.
FONTS = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans", "Liberation Sans", "Arial", "sans-serif")
MONO_FONTS = ("ui-monospace", "SF Mono", "Menlo", "Consolas", "DejaVu Sans Mono", "Liberation Mono", "monospace")
THEME = gr.themes.Default(font=FONTS, font_mono=MONO_FONTS)


def _font_stack(fonts: tuple[str, ...]) -> str:
    return ", ".join(f'"{f}"' if " " in f else f for f in fonts)


# The fonts again as variables, for `qa serve`, which mounts the chat with this CSS and Gradio's default theme.
CSS = f"""
:root, .gradio-container {{ --font: {_font_stack(FONTS)}; --font-mono: {_font_stack(MONO_FONTS)}; }}
""" + """
#qa-title h1 { margin-bottom: 0; }
#qa-title p { margin-top: 0.25rem; color: var(--body-text-color-subdued); }
.qa-answer p { margin: 0 0 0.5em 0; }
a.qa-cite { font-weight: 600; text-decoration: none; color: var(--color-accent); cursor: pointer;
  padding: 0 2px; border-radius: 4px; }
a.qa-cite:hover { background: var(--color-accent-soft); }
a.qa-cite.qa-selected { background: var(--color-accent); color: white; }
.qa-streaming { opacity: 0.75; }
.qa-translation { font-style: italic; color: var(--body-text-color-subdued); }
.qa-refusal { border-left: 4px solid #9ca3af; padding: 0.25em 0.75em; font-style: italic; }
.qa-refusal .qa-hint { font-style: normal; font-size: 0.85em; color: var(--body-text-color-subdued); margin-top: 0.25em; }
.qa-removed { margin-top: 0.6em; font-size: 0.85em; border-top: 1px dashed #d97706; padding-top: 0.4em; }
.qa-removed-label { color: #b45309; font-weight: 600; }
.qa-removed s { color: var(--body-text-color-subdued); }
.qa-unsupported { background: #fde68a; color: #78350f; border-radius: 3px; padding: 0 3px; font-size: 0.8em; }
/* The notice areas take no room while they hold no notice. */
#qa-progress .html-container, #qa-notice .html-container { padding: 0; }
#qa-progress:not(:has(.qa-notice)), #qa-notice:not(:has(.qa-notice)) { display: none; }
.qa-notice { border-radius: 8px; padding: 0.6em 0.9em; overflow: hidden; }
.qa-notice-error { background: #fee2e2; color: #7f1d1d; border: 1px solid #fca5a5; }
.qa-notice-warning { background: #fef3c7; color: #78350f; border: 1px solid #fcd34d; }
/* The thank-you fades in place and only then gives its room back: shrinking while visible, its text spilled over the
   top of the chat box. */
.qa-notice-info { background: #e0f2fe; color: #0c4a6e; border: 1px solid #7dd3fc; animation: qa-fade 6s ease forwards, qa-gone 0s 6s forwards; }
@keyframes qa-fade { 0%, 75% { opacity: 1; } 100% { opacity: 0; } }
@keyframes qa-gone { to { visibility: hidden; height: 0; padding: 0; margin: 0; border-width: 0; } }
.qa-progress progress { width: 100%; margin-top: 0.4em; }
#qa-ask, #qa-clear { min-width: max-content !important; white-space: nowrap; }
/* The saved chats' list opens wider than its narrow column, so each chat reads on a line or two. */
#qa-chat-list .options, #qa-chat-list .options .item { width: min(32rem, 90vw) !important; }
.qa-sources h3, .qa-passages h3 { margin: 0.2em 0 0.4em 0; font-size: 1.05em; }
.qa-empty { color: var(--body-text-color-subdued); font-size: 0.9em; }
.qa-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.5em 0.7em; margin-bottom: 0.5em; }
.qa-source-title { font-weight: 600; }
.qa-meta { font-size: 0.85em; color: var(--body-text-color-subdued); }
.qa-lang { text-transform: uppercase; font-size: 0.75em; border: 1px solid var(--border-color-primary);
  border-radius: 4px; padding: 0 4px; }
.qa-source-quote { font-size: 0.88em; margin: 0.3em 0 0 0; }
.qa-article { border: 1px solid var(--color-accent); border-radius: 8px; padding: 0.6em 0.8em; margin-top: 0.6em; }
.qa-article-text { position: relative; white-space: pre-wrap; max-height: 420px; overflow-y: auto; font-size: 0.9em; line-height: 1.5; }
mark.qa-quote { background: #fde047; color: #111827; padding: 1px 0; border-radius: 2px; }
.qa-confidence { font-size: 0.8em; color: #6b7280; margin-top: 0.3em; }
.qa-partial { border-left: 3px solid #f59e0b; padding-left: 0.5em; }
.qa-passage { font-size: 0.85em; border-bottom: 1px solid var(--border-color-primary); padding: 0.4em 0; }
.qa-scores { font-family: var(--font-mono); font-size: 0.8em; color: var(--body-text-color-subdued); }
.qa-report ul { margin: 0.2em 0 0.2em 1.2em; }
"""


# --- session state ---------------------------------------------------------------------------


@dataclass
class Session:
    """One browser tab's conversation: the saved chat it belongs to (None until its first answer) and its answers."""

    chat_id: str | None = None
    answers: list[Answer] = field(default_factory=list)

    def history(self) -> list[dict]:
        return [m for a in self.answers for m in a.messages()]

    def messages(self) -> list[dict]:
        out: list[dict] = []
        for i, a in enumerate(self.answers):
            out += [{"role": "user", "content": render_question(a.question)}, {"role": "assistant", "content": render_answer(a, i)}]
        return out


# --- rendering (pure functions: everything from articles or answers is escaped) -----------------


def esc(text: str | None) -> str:
    return html.escape(text or "", quote=True)


def render_question(question: str) -> str:
    return f"<p>{esc(question)}</p>"


def cite_link(turn: int, n: int, selected: bool = False, lang: str | None = None) -> str:
    cls = "qa-cite qa-selected" if selected else "qa-cite"
    return f'<a class="{cls}" href="#cite-{turn}-{n}" title="{esc(words_for(lang)["show_source"].format(n=n))}">[{n}]</a>'


def linkify(text: str, turn: int, known: set[int], lang: str | None = None) -> str:
    """Escape the answer text, then turn the markers of known citations into links."""

    def sub(m: re.Match) -> str:
        n = int(m.group(1))
        return cite_link(turn, n, lang=lang) if n in known else m.group(0)

    return _MARKER.sub(sub, esc(text))


def render_answer(answer: Answer, turn: int) -> str:
    """An answer in the chat, in its question's language."""
    w = words_for(answer.lang)
    if answer.refused:
        return f'<div class="qa-refusal"><p>{esc(answer.text)}</p><div class="qa-hint">{esc(w["refusal_hint"])}</div></div>'
    known = {c.n for c in answer.citations}
    body = "".join(f"<p>{linkify(par, turn, known, answer.lang)}</p>" for par in answer.text.split("\n") if par.strip())
    for c in answer.citations:
        # The words that answer, in bold where the quote appears in the answer ("1275" of "1275 people were ...").
        if c.answer_start is not None and c.answer_end is not None:
            words = esc(c.quote[c.answer_start - c.start : c.answer_end - c.start])
            if words:
                # Inside the quoted sentence, not in an attribution's title that happens to hold the same words.
                quoted = next((esc(s.text) for s in answer.sentences if c.n in s.citations and words in esc(s.text)), None)
                body = _bold_once(body, words, quoted)
    for translation in dict.fromkeys(s.translation for s in answer.sentences if s.supported and s.translation):
        # A machine translation follows its quote; set apart so it does not read as the source's words.
        shown = esc(translation)
        body = body.replace(shown, f'<span class="qa-translation" lang="{esc(answer.lang)}">{shown}</span>', 1)
    unsupported = [c.n for c in answer.citations if c.supported is False]
    if unsupported:
        marks = ", ".join(f"[{n}]" for n in unsupported)
        body += f'<p><span class="qa-unsupported">{esc(w["unsupported"].format(markers=marks))}</span></p>'
    removed = [s for s in answer.sentences if s.supported is False]
    if removed:
        items = "".join(
            f'<li><s>{esc(s.text)}</s>{f" <small>({esc(s.reason)})</small>" if s.reason else ""}</li>' for s in removed
        )
        body += (
            f'<div class="qa-removed"><span class="qa-removed-label">{esc(w["removed"])}</span>'
            f"<ul>{items}</ul></div>"
        )
    if answer.confidence is not None:
        body += f'<div class="qa-confidence">{esc(w["confidence"])} {answer.confidence:.2f}</div>'
    kind = "qa-answer qa-partial" if answer.grade == "partial" else "qa-answer"
    return f'<div class="{kind}">{body}</div>'


def _bold_once(markup: str, words: str, within: str | None = None) -> str:
    """`words` in bold at their first appearance in the text of `markup` (inside the first `within` when it is
    there), never inside a tag or its attributes."""
    pieces = re.split(r"(<[^>]*>)", markup)
    for i, piece in enumerate(pieces):
        if piece.startswith("<"):
            continue
        start = piece.find(within) if within else 0
        at = piece.find(words, start) if start >= 0 else -1
        if at >= 0:
            pieces[i] = f'{piece[:at]}<strong class="qa-answer-span">{words}</strong>{piece[at + len(words):]}'
            break
    return "".join(pieces)


def render_streaming(partial: str) -> str:
    return f'<div class="qa-streaming"><p>{esc(partial)}▍</p></div>'


def _squeeze(text: str) -> str:
    """Runs of blank lines (some articles have many) shown as one; never applied inside the quote."""
    return _BLANK_RUN.sub("\n\n", text)


def highlight(text: str, start: int, end: int, answer_start: int | None = None, answer_end: int | None = None) -> str:
    """The article text, escaped, with exactly [start:end] inside <mark>, and the answering words inside it in bold;
    offsets outside the text are clamped."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    quote = esc(text[start:end])
    if answer_start is not None and answer_end is not None and start <= answer_start < answer_end <= end:
        quote = (f'{esc(text[start:answer_start])}<strong class="qa-answer-span">{esc(text[answer_start:answer_end])}</strong>'
                 f'{esc(text[answer_end:end])}')
    return f'{esc(_squeeze(text[:start]))}<mark class="qa-quote">{quote}</mark>{esc(_squeeze(text[end:]))}'


def _meta(date_: str | None, source: str | None, lang: str, outlets: tuple[str, ...] = (), shown_in: str | None = None) -> str:
    """Date, outlet and language, in the words of the language the chat is shown in; a story merged from several
    outlets' copies lists them all."""
    w = words_for(shown_in)
    shown = f"{', '.join(outlets)} ({w['same_story']})" if len(outlets) > 1 else source or w["outlet_unknown"]
    return (
        f'<span class="qa-meta">{esc(date_ or w["undated"])} · {esc(shown)}</span> '
        f'<span class="qa-lang">{esc(lang)}</span>'
    )


def render_sources(answer: Answer | None, texts: dict[str, str | None], turn: int, selected: int | None = None,
                   lang: str | None = None) -> str:
    """Cited articles (title, date, outlet, language) with their quotes; the selected citation's article below.
    Shown in `lang`, or in the answer's language when none is chosen."""
    w = words_for(lang or (answer.lang if answer is not None else None))
    shown_in = lang or (answer.lang if answer is not None else None)
    if answer is None or not answer.citations:
        msg = w["no_sources"] if answer is not None and answer.refused else w["sources_hint"]
        return f'<div class="qa-sources"><h3>{esc(w["sources"])}</h3><p class="qa-empty">{esc(msg)}</p></div>'
    by_article: dict[str, list[Citation]] = {}
    for c in answer.citations:
        by_article.setdefault(c.article_id, []).append(c)
    cards = []
    for cites in by_article.values():
        first = cites[0]
        quotes = "".join(
            f'<p class="qa-source-quote">{cite_link(turn, c.n, c.n == selected, shown_in)} “{esc(_clip(c.quote, 220))}”</p>' for c in cites
        )
        cards.append(
            f'<div class="qa-source" data-article="{esc(first.article_id)}"><div class="qa-source-title">{esc(first.title)}</div>'
            f"<div>{_meta(first.date, first.source, first.lang, first.outlets, shown_in)}</div>{quotes}</div>"
        )
    chosen = next((c for c in answer.citations if c.n == selected), None)
    if chosen is not None:
        text = texts.get(chosen.article_id)
        shown = highlight(text, chosen.start, chosen.end, chosen.answer_start, chosen.answer_end) if text is not None else f'<span class="qa-empty">{esc(w["text_gone"])}</span>'
        article = (
            f'<div class="qa-article" data-n="{chosen.n}"><div class="qa-source-title">[{chosen.n}] {esc(full_title(chosen.title, text))}</div>'
            f"<div>{_meta(chosen.date, chosen.source, chosen.lang, chosen.outlets, shown_in)}</div>"
            f'<div class="qa-article-text">{shown}</div></div>'
        )
    else:
        article = f'<p class="qa-empty">{esc(w["click_marker"])}</p>'
    header = f'<h3>{esc(w["sources_for"].format(question=_clip(answer.question, 80)))}</h3>' if answer.question else f'<h3>{esc(w["sources"])}</h3>'
    return f'<div class="qa-sources">{header}{"".join(cards)}{article}</div>'


def full_title(title: str, text: str | None) -> str:
    """A title shortened with "…" at ingest (a long first line or sentence standing in for a headline) in full, read from
    the article text it was cut from, for the opened article; any other title as it is."""
    stem = title.removesuffix("…")
    at = text.find(stem) if text and stem != title else -1
    if at < 0:
        return title
    end = _TITLE_END.search(text, at + len(stem))
    return text[at : end.start() if end else len(text)].strip()


def is_cited(passage: Passage, citations: list[Citation]) -> bool:
    return any(c.article_id == passage.article_id and c.start < passage.end and passage.start < c.end for c in citations)


def _score(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def render_passages(answer: Answer | None, lang: str | None = None) -> str:
    """Retrieved passages that no citation points into, with their fused, dense and BM25 scores."""
    shown_in = lang or (answer.lang if answer is not None else None)
    w = words_for(shown_in)
    if answer is None:
        return f'<div class="qa-passages"><p class="qa-empty">{esc(w["passages_hint"])}</p></div>'
    uncited = [p for p in answer.passages if not is_cited(p, answer.citations)]
    if not uncited:
        return f'<div class="qa-passages"><p class="qa-empty">{esc(w["passages_all_cited"])}</p></div>'
    rows = "".join(
        f'<div class="qa-passage"><div><b>{esc(p.title)}</b> {_meta(p.date, p.source, p.lang, p.outlets, shown_in)}</div>'
        f'<div class="qa-scores">fused {_score(p.score)} · dense {_score(p.dense_score)} · bm25 {_score(p.bm25_score)}</div>'
        f"<div>{esc(_clip(p.text, 300))}</div></div>"
        for p in uncited
    )
    return f'<div class="qa-passages"><h3>{esc(w["passages_uncited"].format(n=len(uncited)))}</h3>{rows}</div>'


def render_notice(message: str, kind: str = "error") -> str:
    """A notice above the chat: "error" (what went wrong), "warning" (what is missing, it stays) or "info" (it fades)."""
    icon = "ℹ" if kind == "info" else "⚠"
    return f'<div class="qa-notice qa-notice-{kind}" role="{"alert" if kind == "error" else "status"}">{icon} {esc(message)}</div>'


def error_message(exc: Exception, lang: str | None = None) -> str:
    w = words_for(lang)
    if isinstance(exc, StoreUnavailable):
        return w["store_down"].format(error=exc)
    if isinstance(exc, InvalidQuestion):
        text = str(exc)
        return f"{text[:1].upper()}{text[1:]}."
    if isinstance(exc, QAError):
        return w["not_answered"].format(error=exc)
    return w["bug"].format(kind=type(exc).__name__)


def render_report(report: IngestReport, titles: dict[str, str] | None = None) -> str:
    """What an upload did, each article by its title and id."""
    titles = titles or {}

    def ids(label: str, items: list[str]) -> str:
        named = [f"{titles[i]} ({i})" if titles.get(i) else i for i in items]
        return f"<li>{label}: {esc(', '.join(named))}</li>" if items else ""

    rejected = "".join(f"<li>rejected {esc(r.path)}: {esc(r.reason)}</li>" for r in report.rejected)
    merged = "".join(f"<li>merged {esc(m.id)} ({esc(m.source or 'outlet unknown')}) into {esc(m.into)}: the same story</li>"
                     for m in report.merged)
    return (
        f'<div class="qa-report"><b>Upload:</b> {esc(report.summary())}'
        f"<ul>{ids('added', report.added)}{ids('updated', report.updated)}{ids('unchanged', report.unchanged)}{merged}{rejected}</ul></div>"
    )


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


# --- inputs: filters, uploads, feedback ---------------------------------------------------------


def to_filters(article_ids: list[str] | None, lang: str | None, date_from: str | None, date_to: str | None) -> Filters | None:
    """The filter widgets as `Filters`; unusable ones (Filters.problem) raise ValueError with a message for the notice."""
    dates = [(value or "").strip() or None for value in (date_from, date_to)]
    filters = Filters(article_ids=tuple(article_ids) if article_ids else None, lang=lang or None, date_from=dates[0], date_to=dates[1])
    if (problem := filters.problem()) is not None:
        raise ValueError(problem)
    return None if filters.is_empty() else filters


def safe_upload_name(name: str) -> str | None:
    """Only the base name, in a safe alphabet, so '../../x.txt' lands as 'x.txt' inside the uploads folder."""
    stem, dot, suffix = re.split(r"[\\/]", name)[-1].rpartition(".")
    stem = _UNSAFE_NAME_CHARS.sub("_", stem).strip("._-")[:100]
    if not dot or not stem or f".{suffix.lower()}" not in UPLOAD_SUFFIXES:
        return None
    return f"{stem}.{suffix}"


def save_uploads(paths: list[str], uploads_dir: Path, indexed: dict[str, str] | None = None) -> tuple[list[Path], list[Rejected]]:
    """Copy uploaded files into uploads_dir under sanitised names; unusable names are rejected, not copied.

    The file name is the article id, so a name an article from elsewhere already has (a seed) is rejected: indexing
    it would replace that article. Uploading a name again replaces the earlier upload, as an update.
    """
    uploads_dir.mkdir(parents=True, exist_ok=True)
    root = uploads_dir.resolve()
    saved: list[Path] = []
    rejected: list[Rejected] = []
    for p in paths:
        name = safe_upload_name(Path(p).name)
        dest = (root / name).resolve() if name else None
        if dest is None or dest.parent != root:
            rejected.append(Rejected(Path(p).name, UNUSABLE_UPLOAD))
            continue
        other = (indexed or {}).get(dest.stem)
        if other is not None and Path(other).resolve().parent != root:
            rejected.append(Rejected(Path(p).name, f"an indexed article is already called {dest.stem!r}; rename the file to add it"))
            continue
        try:
            shutil.copyfile(p, dest)
        except OSError as exc:
            rejected.append(Rejected(Path(p).name, f"cannot be read: {exc.strerror or exc}"))
            continue
        saved.append(dest)
    return saved, rejected


def ingest_uploads(assistant: Assistant, paths: list[str | Path]) -> IngestReport:
    """Copy uploaded files into the uploads folder and index them; a file the ingest rejects is not kept (an earlier
    upload of the same name is put back as it was). The report names files only by their base name, so no server
    path reaches a person or a client."""
    uploads = assistant.settings.uploads_dir
    indexed = {a.id: a.path for a in assistant.articles()}
    names = {n for p in paths if (n := safe_upload_name(Path(p).name))}
    previous = {n: (uploads / n).read_bytes() for n in names if (uploads / n).is_file()}
    saved, rejected = save_uploads([str(p) for p in paths], uploads, indexed)
    report = assistant.ingest(saved) if saved else IngestReport()
    for r in report.rejected:
        path = Path(r.path)
        if path.parent.resolve() == uploads.resolve():
            if path.name in previous:
                path.write_bytes(previous[path.name])
            else:
                path.unlink(missing_ok=True)
    return replace(report, rejected=[*rejected, *(Rejected(Path(r.path).name, r.reason) for r in report.rejected)])


def chat_logins(settings: Settings) -> list[tuple[str, str]] | None:
    """The chat's logins (Gradio's login page) from `auth` and `auth_file`; None when neither is set."""
    lines = [("QA_AUTH", settings.auth)] if settings.auth else []
    if settings.auth_file is not None:
        try:
            text = settings.auth_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidSetting(f"the chat's users file {settings.auth_file} cannot be read: {exc.strerror or exc}") from exc
        lines += [(f"{settings.auth_file} line {i}", line.strip()) for i, line in enumerate(text.splitlines(), 1)
                  if line.strip() and not line.lstrip().startswith("#")]
    logins = []
    for where, line in lines:
        user, colon, password = line.partition(":")
        if not colon or not user.strip() or not password:
            raise InvalidSetting(f"{where} must be written user:password")  # the line itself may hold a password
        logins.append((user.strip(), password))
    return logins or None


_feedback_lock = threading.Lock()


def record_feedback(path: Path, key: str, answer: Answer, liked: bool | None) -> None:
    """One vote per answer (`key`): the new vote replaces an earlier one, and None withdraws it. Each line holds
    the question, the answer text and its citations, and the verdict."""
    with _feedback_lock:
        kept = []
        if path.exists():
            kept = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and json.loads(line).get("answer_id") != key]
        if liked is not None:
            kept.append(json.dumps({
                "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "answer_id": key,
                "rating": "up" if liked else "down",
                "question": answer.question,
                "answer": answer.text,
                "refused": answer.refused,
                "citations": [asdict(c) for c in answer.citations],
            }, ensure_ascii=False))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
        tmp.replace(path)


def local_time(stamp: str, lang: str | None = None) -> str:
    """A stored UTC time as this machine's local date and time, written the language's way."""
    return datetime.fromisoformat(stamp).astimezone().strftime(words_for(lang)["time_format"])


def export_name(title: str) -> str:
    """A chat title as a file name a person recognises: its words kept, only what file systems refuse replaced."""
    return " ".join(_UNSAFE_FILE_CHARS.sub(" ", title).split()).strip(".")


def translation_missing(assistant: Assistant) -> bool:
    """True when quotes from the other language will go untranslated although translation is on: Apertium or its
    English-Spanish pair is not installed (a missing pair only shows when a translation is tried)."""
    if not assistant.settings.translate:
        return False
    if assistant.translator is None:
        return True
    try:
        assistant.translator.translate([EXAMPLES[0]], "en", "es")
    except TranslationFailed:
        return True
    return False


class FirstIndex:
    """The seed articles indexed in the background on a first start (an empty store): the page opens at once and shows
    how far the indexing is, instead of nothing for half a minute. Whatever reads the store waits for `done`."""

    def __init__(self, assistant: Assistant, terminal: bool = False) -> None:
        self.assistant = assistant
        self.terminal = terminal  # progress lines on stderr as `qa ingest` writes them, and the report at the end
        self.print_progress = progress_printer(assistant.settings.progress_seconds)
        self.progress: IngestProgress | None = None
        self.report: IngestReport | None = None
        self.error: Exception | None = None
        self.started = time.monotonic()
        self.done = threading.Event()

    @staticmethod
    def needed(assistant: Assistant) -> bool:
        """An empty store with seed articles to index (a store that cannot be reached is left to the usual notices)."""
        try:
            return assistant.settings.seeds_dir.is_dir() and assistant.article_count() == 0
        except QAError:
            return False

    def start(self) -> "FirstIndex":
        self._say(f"First start: indexing the articles in {self.assistant.settings.seeds_dir}; questions asked meanwhile are "
                  "answered once it is done.")
        threading.Thread(target=self._run, name="qa-first-index", daemon=True).start()
        return self

    def _run(self) -> None:
        seeds = self.assistant.settings.seeds_dir
        try:
            self.report = self.assistant.ingest([seeds], progress=self._progressed)
            self._say(f"Indexed: {self.report.summary()}. The chat answers now.")
        except Exception as exc:  # said on the page and in the terminal; the chat goes on as after a failed ingest
            if not isinstance(exc, QAError):
                log.exception("indexing %s failed", seeds)
            self.error = exc
            self._say(f"error: the articles in {seeds} could not be indexed: {exc}")
        finally:
            self.done.set()

    def _progressed(self, progress: IngestProgress) -> None:
        self.progress = progress
        if self.terminal:
            self.print_progress(progress)

    def _say(self, line: str) -> None:
        if self.terminal:
            print(line, file=sys.stderr, flush=True)

    def seconds(self) -> int:
        return round(time.monotonic() - self.started)

    def render(self, lang: str | None = None) -> str:
        """The indexing as a notice with a moving bar (files are read in a moment and embedded together, so a count
        of files would stand still); once done, what was indexed, or why not."""
        w = words_for(lang)
        if self.done.is_set():
            if self.report is None:
                return render_notice(w["indexing_failed"].format(error=self.error))
            return render_notice(w["indexed"].format(count=len(self.report.added), seconds=round(self.report.seconds)), "info")
        p = self.progress
        said = (w["indexing_read"].format(done=p.files_done, total=p.files_total, seconds=self.seconds()) if p is not None
                else w["indexing"].format(seconds=self.seconds()))
        return f'<div class="qa-notice qa-notice-warning qa-progress" role="status">{esc(said)}<progress></progress></div>'


# --- the app ------------------------------------------------------------------------------------

# The components whose words follow the interface language: (component, what is updated, word in the [ui] table).
LABELS = (("title", "value", "title"), ("question", "placeholder", "placeholder"), ("chatbot", "placeholder", "chat_placeholder"),
          ("ask", "value", "ask"), ("clear", "value", "clear"), ("passages_box", "label", "passages"), ("filters_box", "label", "filters"),
          ("article_filter", "label", "only_articles"), ("lang_filter", "label", "language"), ("date_from", "label", "date_from"),
          ("date_to", "label", "date_to"), ("upload_box", "label", "upload"), ("files", "label", "upload_files"),
          ("url_box", "placeholder", "url_placeholder"), ("add_url", "value", "add_url"), ("chats_box", "label", "chats"),
          ("chat_list", "label", "chats"), ("chat_title", "label", "chat_title"), ("rename", "value", "rename"),
          ("delete", "value", "delete"), ("export_md", "label", "export_md"), ("export_json", "label", "export_json"),
          ("ui_lang", "label", "interface"))
LABELLED = tuple(name for name, _, _ in LABELS)


class ChatHandlers:
    """The event handlers, kept apart from the layout so tests can call them without a browser."""

    def __init__(self, assistant: Assistant, chats: ChatStore | None = None, first_index: FirstIndex | None = None) -> None:
        self.assistant = assistant
        self.settings: Settings = assistant.settings
        self.chats = chats or ChatStore.for_settings(self.settings)
        self.first_index = first_index

    def indexing(self) -> bool:
        """Whether the first start's indexing is still going on (nothing may read the store meanwhile)."""
        return self.first_index is not None and not self.first_index.done.is_set()

    def _ready(self) -> None:
        """Wait for the first start's indexing, if any: a question or an upload reads the store only once it is whole."""
        if self.first_index is not None:
            self.first_index.done.wait()

    @cached_property
    def translation_missing(self) -> bool:
        return translation_missing(self.assistant)

    # --- what is shown ---

    def article_choices(self, lang: str | None = None) -> list[tuple[str, str]]:
        if self.indexing():
            return []  # filled when the indexing ends (indexing_tick)
        undated = words_for(lang)["undated"]
        return [(f"{_clip(a.title, 60)} · {a.date or undated} · {a.lang}", a.id) for a in self.assistant.articles() if a.same_as is None]

    def chat_choices(self, lang: str | None = None) -> list[tuple[str, str]]:
        """Saved chats, most recently used first, each by its title, when it was last used and how many questions it
        holds; two that would still read alike are numbered, so that none hides another."""
        w = words_for(lang)
        seen: Counter[str] = Counter()
        choices = []
        for c in self.chats.list():
            label = w["chat_choice"].format(title=_clip(c.title or w["untitled"], 50), when=local_time(c.updated, lang), turns=c.turns)
            seen[label] += 1
            choices.append((label if seen[label] == 1 else f"{label} ({seen[label]})", c.id))
        return choices

    def labels(self, lang: str | None) -> list:
        """Every labelled component's words in `lang` (see LABELS); the radio buttons' and the article list's choices too."""
        w = words_for(lang)
        choices = {"article_filter": self.article_choices(lang),
                   "lang_filter": [(w["any_language"], ""), ("English", "en"), ("Español", "es")],
                   "ui_lang": [(w["auto"], ""), ("English", "en"), ("Español", "es")]}
        return [gr.update(**{what: w[word]}, **({"choices": choices[name]} if name in choices else {})) for name, what, word in LABELS]

    def texts_for(self, answer: Answer) -> dict[str, str | None]:
        return {aid: self.assistant.article_text(aid) for aid in dict.fromkeys(c.article_id for c in answer.citations)}

    def _panels(self, session: Session, ui_lang: str | None, selected: int | None = None) -> tuple[str, str]:
        """The sources and passages panels for the session's last answer."""
        answer = session.answers[-1] if session.answers else None
        turn = len(session.answers) - 1
        texts = self.texts_for(answer) if answer is not None else {}
        return render_sources(answer, texts, turn, selected, ui_lang or None), render_passages(answer, ui_lang or None)

    # --- asking ---

    def respond(self, question: str, session: Session, ui_lang: str | None, article_ids: list[str] | None, lang: str | None,
                date_from: str | None, date_to: str | None) -> Iterator[tuple]:
        """Stream one answer. Each step yields: chat messages, question box, sources, passages, notice, session,
        saved-chat list, chat title, then the labelled components (LABELLED)."""
        session = session or Session()
        shown = session.messages()
        question = question or ""
        said_in = ui_lang or self.assistant.language(question)
        rest = [gr.skip()] * (2 + len(LABELLED))

        def notice(text: str) -> tuple:
            return (shown, question, gr.skip(), gr.skip(), render_notice(text), session, *rest)

        if len(question.strip()) > self.settings.max_question_chars:
            # Said, not cut: the question stays in the box to be shortened.
            yield notice(words_for(said_in)["too_long"].format(length=len(question.strip()), limit=self.settings.max_question_chars))
            return
        try:
            filters = to_filters(article_ids, lang, date_from, date_to)
        except ValueError as exc:
            yield notice(words_for(said_in)["check_filters"].format(error=exc))
            return
        pending = [*shown, {"role": "user", "content": render_question(question)}]
        answer = None
        try:
            if question.strip():
                yield (pending + [{"role": "assistant", "content": render_streaming("")}], "", gr.skip(), gr.skip(), "", session, *rest)
            self._ready()  # a question asked during the first start's indexing is answered once it is done
            partial = ""
            for event in self.assistant.stream(question, history=session.history(), filters=filters):
                if isinstance(event, Answer):
                    answer = event
                    break
                partial += event
                yield (pending + [{"role": "assistant", "content": render_streaming(partial)}], "", gr.skip(), gr.skip(), "", session, *rest)
            assert answer is not None
            chat_id = session.chat_id or self.chats.create()
            self.chats.add(chat_id, answer)
        except Exception as exc:  # the edge of the app: explain, log what is a bug, keep the page usable
            if not isinstance(exc, QAError):
                log.exception("answering %r failed", question)
            yield notice(error_message(exc, said_in))
            return
        session = Session(chat_id, [*session.answers, answer])
        shown_in = ui_lang or answer.lang
        sources, passages = self._panels(session, ui_lang)
        yield (session.messages(), "", sources, passages, "", session, gr.update(choices=self.chat_choices(shown_in), value=chat_id),
               gr.update(value=self.chats.get(chat_id).title), *self.labels(shown_in))

    def select_citation(self, session: Session, ui_lang: str | None, evt: gr.EventData) -> str:
        data = evt._data if isinstance(evt._data, dict) else {}
        try:
            turn, n = int(data["turn"]), int(data["n"])
            answer = session.answers[turn]
        except (KeyError, TypeError, ValueError, IndexError):
            return gr.skip()
        return render_sources(answer, self.texts_for(answer), turn, selected=n, lang=ui_lang or None)

    def feedback(self, session: Session, ui_lang: str | None, evt: gr.LikeData) -> str:
        """One vote per answer; a new click replaces it, and un-clicking withdraws it. The notice fades (CSS)."""
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        if index % 2 != 1 or index // 2 >= len(session.answers):
            return ""
        answer = session.answers[index // 2]
        liked = evt.liked if evt.liked in (True, False) else None
        record_feedback(self.settings.feedback_path, f"{session.chat_id}:{index // 2}", answer, liked)
        w = words_for(ui_lang or answer.lang)
        return render_notice(w["feedback_saved"] if liked is not None else w["feedback_cleared"], "info")

    # --- saved chats ---

    def open_chat(self, chat_id: str | None, session: Session, ui_lang: str | None) -> tuple:
        """Resume a saved chat: its answers, its last sources, its title (chat messages, sources, passages, notice, session, title)."""
        if not chat_id or (session and session.chat_id == chat_id):
            return (gr.skip(),) * 6
        try:
            opened = Session(chat_id, self.chats.answers(chat_id))
            title = self.chats.get(chat_id).title
        except QAError as exc:
            return gr.skip(), gr.skip(), gr.skip(), render_notice(error_message(exc, ui_lang)), gr.skip(), gr.skip()
        sources, passages = self._panels(opened, ui_lang)
        return opened.messages(), sources, passages, "", opened, title

    def new_chat(self, ui_lang: str | None) -> tuple:
        """An empty chat (saved once it has an answer): chat messages, question box, sources, passages, notice, session, chat list, title."""
        sources, passages = self._panels(Session(), ui_lang)
        return [], "", sources, passages, "", Session(), gr.update(choices=self.chat_choices(ui_lang), value=None), ""

    def rename_chat(self, session: Session, title: str, ui_lang: str | None) -> tuple:
        if not session.chat_id or not (title or "").strip():
            return gr.skip(), gr.skip()
        try:
            self.chats.rename(session.chat_id, title)
        except QAError as exc:
            return gr.skip(), render_notice(error_message(exc, ui_lang))
        return gr.update(choices=self.chat_choices(ui_lang), value=session.chat_id), ""

    def delete_chat(self, session: Session, ui_lang: str | None) -> tuple:
        """The chat and its exported files gone; an empty chat in its place."""
        if session.chat_id:
            try:
                self.chats.delete(session.chat_id)
            except QAError:
                pass  # already gone: the result the person asked for
            shutil.rmtree(self.settings.exports_dir / session.chat_id, ignore_errors=True)
        return self.new_chat(ui_lang)

    def export_files(self, chat_id: str) -> tuple[Path, Path]:
        """The chat as Markdown and as JSON, with its citations, in its own folder under the exports folder and named
        after its title; a renamed chat leaves no file under its old name."""
        folder = self.settings.exports_dir / chat_id
        name = export_name(_clip(self.chats.get(chat_id).title, self.settings.chat_title_chars)) or chat_id
        folder.mkdir(parents=True, exist_ok=True)
        files = (folder / f"{name}.md", folder / f"{name}.json")
        files[0].write_text(self.chats.export_markdown(chat_id), encoding="utf-8")
        files[1].write_text(self.chats.export_json(chat_id), encoding="utf-8")
        for old in folder.iterdir():
            if old not in files:
                old.unlink()
        return files

    def chat_files(self, session: Session | None) -> tuple:
        """After anything that changes the open chat: its exports behind the two download buttons, and the chat this
        browser reopens on a reload (export Markdown, export JSON, remembered chat). With no chat the buttons are off and
        hold no file, so a new chat never offers the last one's."""
        chat_id = session.chat_id if session else None
        if chat_id:
            try:
                md, data = self.export_files(chat_id)
                return gr.update(value=str(md), interactive=True), gr.update(value=str(data), interactive=True), chat_id
            except QAError:
                pass  # deleted meanwhile in another tab: nothing to export
        off = gr.update(value=None, interactive=False)
        return off, off, None

    # --- page load and first start ---

    def page_load(self, remembered: str | None, told: bool | None, ui_lang: str | None) -> tuple:
        """A page (re)load: the saved chats as they are now (a list built with the page misses every chat saved since),
        the chat this browser had open if it is still saved, the articles to filter by, the first start's indexing,
        and, once per browser, that quotes will go untranslated. Outputs: chat messages, sources, passages, notice,
        session, chat list, chat title, article filter, indexing notice, indexing timer, told."""
        indexing = self.indexing()
        notice = ""
        try:
            articles = gr.update(choices=self.article_choices(ui_lang))
        except QAError as exc:
            articles, notice = gr.skip(), render_notice(error_message(exc, ui_lang))
        opened, title = Session(), ""
        if remembered and not indexing:
            try:
                opened, title = Session(remembered, self.chats.answers(remembered)), self.chats.get(remembered).title
            except QAError:
                pass  # deleted since: the page opens on a new chat
        if self.translation_missing and not told:
            notice, told = render_notice(words_for(ui_lang)["no_translation"], "warning") + notice, True
        sources, passages = self._panels(opened, ui_lang)
        return (opened.messages(), sources, passages, notice, opened, gr.update(choices=self.chat_choices(ui_lang), value=opened.chat_id),
                title, articles, self.first_index.render(ui_lang) if indexing else "", gr.Timer(active=indexing), told)

    def indexing_tick(self, ui_lang: str | None) -> tuple:
        """The first start's progress while it lasts (indexing notice, timer, article filter); when it ends, what was
        indexed, the articles to filter by, and the timer stopped."""
        if self.first_index is None:
            return "", gr.Timer(active=False), gr.skip()
        shown = self.first_index.render(ui_lang)
        if self.indexing():
            return shown, gr.skip(), gr.skip()
        try:
            articles = gr.update(choices=self.article_choices(ui_lang))
        except QAError:
            articles = gr.skip()
        return shown, gr.Timer(active=False), articles

    def set_language(self, ui_lang: str | None, session: Session) -> tuple:
        """The interface language chosen: every label, and the panels, in it ('' follows each question)."""
        shown_in = ui_lang or (session.answers[-1].lang if session and session.answers else None)
        sources, passages = self._panels(session or Session(), ui_lang)
        return (sources, passages, gr.update(choices=self.chat_choices(shown_in)), *self.labels(shown_in))

    # --- articles ---

    def upload(self, paths: list[str] | None, ui_lang: str | None) -> tuple[str, Any, Any]:
        """Copy, ingest and report (each report replaces the last)."""
        if not paths:
            return "", gr.skip(), gr.skip()
        self._ready()
        return self._report(lambda: ingest_uploads(self.assistant, list(paths)), None, ui_lang)

    def add_urls(self, text: str | None, ui_lang: str | None) -> tuple[str, Any, Any]:
        """Fetch and ingest the web pages, documents or feeds at the URLs typed (one or more, separated by spaces)."""
        urls = (text or "").split()
        if not urls:
            return "", gr.skip(), gr.skip()
        self._ready()
        return self._report(lambda: self.assistant.ingest(urls), "", ui_lang)

    def _report(self, ingest: Callable[[], IngestReport], cleared: Any, ui_lang: str | None) -> tuple[str, Any, Any]:
        """Ingest, report by title and id, and refresh the article filter so new articles can be chosen."""
        try:
            report = ingest()
            titles = {a.id: a.title for a in self.assistant.articles()}
        except QAError as exc:
            return render_notice(error_message(exc, ui_lang)), cleared, gr.skip()
        try:
            choices = gr.update(choices=self.article_choices(ui_lang))
        except QAError:
            choices = gr.skip()
        return render_report(report, titles), cleared, choices

    # --- for programs (gradio_client) ---

    def chat_api(self, question: str, history: list[dict] | None = None, article_ids: list[str] | None = None, lang: str | None = None,
                 date_from: str | None = None, date_to: str | None = None) -> dict[str, Any]:
        """Ask with an optional conversation and filters; the whole Answer as JSON. Append `answer.messages()`-shaped
        turns to `history` to go on with the conversation; any article id in the store is accepted."""
        self._ready()
        try:
            filters = to_filters(article_ids, lang, date_from, date_to)
            return self.assistant.ask(question, history=history or None, filters=filters).to_dict()
        except ValueError as exc:
            raise gr.Error(words_for(lang)["check_filters"].format(error=exc)) from exc
        except QAError as exc:
            raise gr.Error(error_message(exc)) from exc

    def ask_api(self, question: str) -> dict[str, Any]:
        """The whole Answer as JSON, for programs calling the app (gradio_client)."""
        return self.chat_api(question)


def build_app(assistant: Assistant, first_index: FirstIndex | None = None) -> gr.Blocks:
    """The chat's page; what depends on the store or the saved chats is filled when a page loads (page_load), so a
    reload shows them as they are and the page is served while a first start still indexes."""
    h = ChatHandlers(assistant, first_index=first_index)
    w = words_for("en")
    with gr.Blocks(title="News Q&A") as app:
        session = gr.State(Session())
        # This browser's open chat, reopened on a reload, and whether it was told that quotes go untranslated.
        remembered = gr.BrowserState(None, storage_key="qa-open-chat")
        told = gr.BrowserState(False, storage_key="qa-told-translation")
        ticker = gr.Timer(assistant.settings.page_progress_seconds, active=False)
        c: dict[str, Any] = {}
        c["title"] = gr.Markdown(w["title"], elem_id="qa-title")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=220):
                c["ui_lang"] = gr.Radio([(w["auto"], ""), ("English", "en"), ("Español", "es")], value="", label=w["interface"],
                                        elem_id="qa-ui-lang")
                with gr.Accordion(w["chats"], open=True, elem_id="qa-chats-box") as c["chats_box"]:
                    c["chat_list"] = gr.Dropdown(choices=[], value=None, label=w["chats"], elem_id="qa-chat-list")
                    c["chat_title"] = gr.Textbox(label=w["chat_title"], elem_id="qa-chat-title")
                    with gr.Row():
                        c["rename"] = gr.Button(w["rename"], size="sm", elem_id="qa-rename")
                        c["delete"] = gr.Button(w["delete"], size="sm", variant="stop", elem_id="qa-delete")
                    with gr.Row():
                        c["export_md"] = gr.DownloadButton(w["export_md"], size="sm", interactive=False, elem_id="qa-export-md")
                        c["export_json"] = gr.DownloadButton(w["export_json"], size="sm", interactive=False, elem_id="qa-export-json")
            with gr.Column(scale=3):
                progress = gr.HTML("", elem_id="qa-progress", js_on_load=None)
                notice = gr.HTML("", elem_id="qa-notice", js_on_load=None)
                c["chatbot"] = gr.Chatbot(elem_id="qa-chat", height=560, render_markdown=False, sanitize_html=True, buttons=["copy"],
                                          placeholder=w["chat_placeholder"], show_label=False)
                with gr.Row():
                    # No max_length: an over-long paste is refused with a notice, not cut without a word.
                    c["question"] = gr.Textbox(placeholder=w["placeholder"], show_label=False, scale=6, elem_id="qa-question", autofocus=True)
                    # As wide as their words in either language (CSS), the question box taking the rest.
                    c["ask"] = gr.Button(w["ask"], variant="primary", size="md", scale=0, elem_id="qa-ask")
                    c["clear"] = gr.Button(w["clear"], size="md", scale=0, elem_id="qa-clear")
                examples = gr.Examples(EXAMPLES, inputs=c["question"], label="Examples / Ejemplos")
            with gr.Column(scale=2):
                sources = gr.HTML(render_sources(None, {}, 0), elem_id="qa-sources", js_on_load=SOURCES_JS)
                with gr.Accordion(w["passages"], open=False, elem_id="qa-passages-box") as c["passages_box"]:
                    passages = gr.HTML(render_passages(None), elem_id="qa-passages", js_on_load=None)
                with gr.Accordion(w["filters"], open=False, elem_id="qa-filters") as c["filters_box"]:
                    c["article_filter"] = gr.Dropdown(choices=[], multiselect=True, label=w["only_articles"], elem_id="qa-filter-articles")
                    c["lang_filter"] = gr.Radio([(w["any_language"], ""), ("English", "en"), ("Español", "es")], value="", label=w["language"],
                                                elem_id="qa-filter-lang")
                    with gr.Row():
                        c["date_from"] = gr.Textbox(label=w["date_from"], placeholder="YYYY-MM-DD", elem_id="qa-date-from")
                        c["date_to"] = gr.Textbox(label=w["date_to"], placeholder="YYYY-MM-DD", elem_id="qa-date-to")
                with gr.Accordion(w["upload"], open=False, elem_id="qa-upload-box") as c["upload_box"]:
                    c["files"] = gr.File(file_count="multiple", file_types=list(UPLOAD_SUFFIXES), label=w["upload_files"], elem_id="qa-upload")
                    with gr.Row():
                        c["url_box"] = gr.Textbox(placeholder=w["url_placeholder"], show_label=False, scale=5, elem_id="qa-url")
                        c["add_url"] = gr.Button(w["add_url"], scale=1, min_width=80, elem_id="qa-add-url")
                    report = gr.HTML("", elem_id="qa-report", js_on_load=None)

        labelled = [c[name] for name in LABELLED]
        ui_lang = c["ui_lang"]
        chat_inputs = [c["question"], session, ui_lang, c["article_filter"], c["lang_filter"], c["date_from"], c["date_to"]]
        chat_outputs = [c["chatbot"], c["question"], sources, passages, notice, session, c["chat_list"], c["chat_title"], *labelled]
        cleared = [c["chatbot"], c["question"], sources, passages, notice, session, c["chat_list"], c["chat_title"]]
        private = {"api_visibility": "private"}
        # Every way of asking shares one concurrency group, so settings.concurrency bounds the answers computed at once.
        answering = {"show_progress": "hidden", "concurrency_id": "answer", **private}
        quick = {"concurrency_limit": None, "show_progress": "hidden", **private}
        ticker.tick(h.indexing_tick, [ui_lang], [progress, ticker, c["article_filter"]], **quick)
        changes_chat = [
            app.load(h.page_load, [remembered, told, ui_lang], [c["chatbot"], sources, passages, notice, session, c["chat_list"],
                                                                c["chat_title"], c["article_filter"], progress, ticker, told], **quick),
            c["question"].submit(h.respond, chat_inputs, chat_outputs, **answering),
            c["ask"].click(h.respond, chat_inputs, chat_outputs, **answering),
            examples.load_input_event.then(h.respond, chat_inputs, chat_outputs, **answering),
            c["clear"].click(h.new_chat, [ui_lang], cleared, concurrency_limit=None, **private),
            c["chatbot"].clear(h.new_chat, [ui_lang], cleared, concurrency_limit=None, **private),
            c["chat_list"].input(h.open_chat, [c["chat_list"], session, ui_lang], [c["chatbot"], sources, passages, notice, session,
                                                                                  c["chat_title"]], concurrency_limit=None, **private),
            c["rename"].click(h.rename_chat, [session, c["chat_title"], ui_lang], [c["chat_list"], notice], concurrency_limit=None, **private),
            c["delete"].click(h.delete_chat, [session, ui_lang], cleared, concurrency_limit=None, **private),
        ]
        for event in changes_chat:
            event.then(h.chat_files, [session], [c["export_md"], c["export_json"], remembered], **quick)
        ui_lang.change(h.set_language, [ui_lang, session], [sources, passages, c["chat_list"], *labelled], concurrency_limit=None, **private)
        sources.click(h.select_citation, [session, ui_lang], [sources], concurrency_limit=None, show_progress="hidden", **private)
        c["chatbot"].like(h.feedback, [session, ui_lang], [notice], concurrency_limit=None, **private)
        c["files"].upload(h.upload, [c["files"], ui_lang], [report, c["files"], c["article_filter"]], concurrency_limit=1,
                          concurrency_id="ingest", **private)
        for event in (c["url_box"].submit, c["add_url"].click):
            event(h.add_urls, [c["url_box"], ui_lang], [report, c["url_box"], c["article_filter"]], concurrency_limit=1,
                  concurrency_id="ingest", **private)
        gr.api(h.chat_api, api_name="chat", concurrency_id="answer")
        gr.api(h.ask_api, api_name="ask", concurrency_id="answer")
    app.queue(default_concurrency_limit=assistant.settings.concurrency)
    return app


def chat_options(settings: Settings) -> dict[str, Any]:
    """How the chat is served, the same by `qa chat` and under `qa serve`: no server-side rendering, the app's own theme
    (the system's fonts, so no font file is fetched) and CSS, the logins, and Gradio's upload cap above the article limit
    so a file just over it gets the ingest's reason, in MB. Gradio serves only files under the working or temporary
    folder unless told: the exports folder is named so downloads work wherever QA_DATA_DIR points."""
    return {"ssr_mode": False, "footer_links": ["api", "settings"], "theme": THEME, "css": CSS,
            "auth": chat_logins(settings), "max_file_size": settings.max_request_bytes,
            "allowed_paths": [str(settings.exports_dir)]}


def launch(app: gr.Blocks, host: str, port: int, settings: Settings, *, block: bool = True) -> None:
    """Serve on host:port only, with no share link."""
    app.launch(server_name=host, server_port=port, share=False, inbrowser=False, prevent_thread_lock=not block,
               quiet=not block, **chat_options(settings))


def run(args: argparse.Namespace) -> int:
    settings = Settings()
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    assistant = Assistant(settings)
    first_index = FirstIndex(assistant, terminal=True).start() if FirstIndex.needed(assistant) else None
    app = build_app(assistant, first_index)
    print(f"qa chat on http://{host}:{port}", flush=True)
    if translation_missing(assistant):
        print(words_for("en")["no_translation"], file=sys.stderr, flush=True)
    launch(app, host, port, settings)
    return 0
