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
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import gradio as gr

from .assistant import Assistant
from .errors import InvalidQuestion, InvalidSetting, QAError, StoreUnavailable
from .settings import Settings
from .sources import SUFFIXES
from .types import Answer, Citation, Filters, IngestReport, Passage, Rejected

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
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BLANK_RUN = re.compile(r"\n(?:[ \t\u00a0]*\n){2,}")
_CONFIDENCE = {"en": "confidence", "es": "confianza"}
_REFUSAL_HINT = {
    "en": "Nothing in the articles answers this. Try rephrasing, or widen the filters.",
    "es": "Nada en los artículos responde a esto. Prueba a reformular la pregunta o amplía los filtros.",
}

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
watch('value', () => {
  const mark = element.querySelector('mark.qa-quote');
  const box = element.querySelector('.qa-article-text');
  if (mark && box) box.scrollTop = Math.max(0, mark.offsetTop - box.offsetTop - 48);
  if (mark) element.scrollIntoView({block: 'nearest'});
});
"""

CSS = """
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
.qa-notice { border-radius: 8px; padding: 0.6em 0.9em; margin-bottom: 0.5em; }
.qa-notice-error { background: #fee2e2; color: #7f1d1d; border: 1px solid #fca5a5; }
.qa-notice-info { background: #e0f2fe; color: #0c4a6e; border: 1px solid #7dd3fc; }
.qa-sources h3, .qa-passages h3 { margin: 0.2em 0 0.4em 0; font-size: 1.05em; }
.qa-empty { color: var(--body-text-color-subdued); font-size: 0.9em; }
.qa-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.5em 0.7em; margin-bottom: 0.5em; }
.qa-source-title { font-weight: 600; }
.qa-meta { font-size: 0.85em; color: var(--body-text-color-subdued); }
.qa-lang { text-transform: uppercase; font-size: 0.75em; border: 1px solid var(--border-color-primary);
  border-radius: 4px; padding: 0 4px; }
.qa-source-quote { font-size: 0.88em; margin: 0.3em 0 0 0; }
.qa-article { border: 1px solid var(--color-accent); border-radius: 8px; padding: 0.6em 0.8em; margin-top: 0.6em; }
.qa-article-text { white-space: pre-wrap; max-height: 420px; overflow-y: auto; font-size: 0.9em; line-height: 1.5; }
mark.qa-quote { background: #fde047; color: #111827; padding: 1px 0; border-radius: 2px; }
.qa-confidence { font-size: 0.8em; color: #6b7280; margin-top: 0.3em; }
.qa-partial { border-left: 3px solid #f59e0b; padding-left: 0.5em; }
.qa-passage { font-size: 0.85em; border-bottom: 1px solid var(--border-color-primary); padding: 0.4em 0; }
.qa-scores { font-family: var(--font-mono); font-size: 0.8em; color: var(--body-text-color-subdued); }
.qa-report ul { margin: 0.2em 0 0.2em 1.2em; }
"""


# --- session state ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    question: str
    answer: Answer


@dataclass
class Session:
    """One browser tab's conversation; the chat shows HTML, so the plain text is kept for follow-ups."""

    turns: list[Turn] = field(default_factory=list)

    def history(self) -> list[dict]:
        out: list[dict] = []
        for t in self.turns:
            out += [{"role": "user", "content": t.question}, {"role": "assistant", "content": t.answer.text}]
        return out

    def messages(self) -> list[dict]:
        out: list[dict] = []
        for i, t in enumerate(self.turns):
            out += [{"role": "user", "content": render_question(t.question)}, {"role": "assistant", "content": render_answer(t.answer, i)}]
        return out


# --- rendering (pure functions: everything from articles or answers is escaped) -----------------


def esc(text: str | None) -> str:
    return html.escape(text or "", quote=True)


def render_question(question: str) -> str:
    return f"<p>{esc(question)}</p>"


def cite_link(turn: int, n: int, selected: bool = False) -> str:
    cls = "qa-cite qa-selected" if selected else "qa-cite"
    return f'<a class="{cls}" href="#cite-{turn}-{n}" title="Show source {n}">[{n}]</a>'


def linkify(text: str, turn: int, known: set[int]) -> str:
    """Escape the answer text, then turn the markers of known citations into links."""

    def sub(m: re.Match) -> str:
        n = int(m.group(1))
        return cite_link(turn, n) if n in known else m.group(0)

    return _MARKER.sub(sub, esc(text))


def render_answer(answer: Answer, turn: int) -> str:
    if answer.refused:
        hint = _REFUSAL_HINT.get(answer.lang, _REFUSAL_HINT["en"])
        return f'<div class="qa-refusal"><p>{esc(answer.text)}</p><div class="qa-hint">{esc(hint)}</div></div>'
    known = {c.n for c in answer.citations}
    body = "".join(f"<p>{linkify(par, turn, known)}</p>" for par in answer.text.split("\n") if par.strip())
    for c in answer.citations:
        # The words that answer, in bold where the quote appears in the answer ("1275" of "1275 people were ...").
        if c.answer_start is not None and c.answer_end is not None:
            words = esc(c.quote[c.answer_start - c.start : c.answer_end - c.start])
            if words:
                body = _bold_once(body, words)
    for translation in dict.fromkeys(s.translation for s in answer.sentences if s.supported and s.translation):
        # A machine translation follows its quote; set apart so it does not read as the source's words.
        shown = esc(translation)
        body = body.replace(shown, f'<span class="qa-translation" lang="{esc(answer.lang)}">{shown}</span>', 1)
    unsupported = [c.n for c in answer.citations if c.supported is False]
    if unsupported:
        marks = ", ".join(f"[{n}]" for n in unsupported)
        body += f'<p><span class="qa-unsupported">not supported by its source: {esc(marks)}</span></p>'
    removed = [s for s in answer.sentences if s.supported is False]
    if removed:
        items = "".join(
            f'<li><s>{esc(s.text)}</s>{f" <small>({esc(s.reason)})</small>" if s.reason else ""}</li>' for s in removed
        )
        body += (
            f'<div class="qa-removed"><span class="qa-removed-label">⚠ Removed: not supported by the sources</span>'
            f"<ul>{items}</ul></div>"
        )
    if answer.confidence is not None:
        body += f'<div class="qa-confidence">{_CONFIDENCE.get(answer.lang, _CONFIDENCE["en"])} {answer.confidence:.2f}</div>'
    kind = "qa-answer qa-partial" if answer.grade == "partial" else "qa-answer"
    return f'<div class="{kind}">{body}</div>'


def _bold_once(markup: str, words: str) -> str:
    """`words` in bold at their first appearance in the text of `markup`, never inside a tag or its attributes."""
    pieces = re.split(r"(<[^>]*>)", markup)
    for i, piece in enumerate(pieces):
        if not piece.startswith("<") and words in piece:
            pieces[i] = piece.replace(words, f'<strong class="qa-answer-span">{words}</strong>', 1)
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


def _meta(date_: str | None, source: str | None, lang: str, outlets: tuple[str, ...] = ()) -> str:
    """Date, outlet and language; a story merged from several outlets' copies lists them all."""
    shown = f"{', '.join(outlets)} (the same story)" if len(outlets) > 1 else source or "outlet unknown"
    return (
        f'<span class="qa-meta">{esc(date_ or "undated")} · {esc(shown)}</span> '
        f'<span class="qa-lang">{esc(lang)}</span>'
    )


def render_sources(answer: Answer | None, texts: dict[str, str | None], turn: int, selected: int | None = None) -> str:
    """Cited articles (title, date, outlet, language) with their quotes; the selected citation's article below."""
    if answer is None or not answer.citations:
        msg = "No sources: the articles do not answer this." if answer is not None and answer.refused else (
            "Ask a question: the articles each answer cites appear here. Click a [n] marker to read the quoted passage in its article."
        )
        return f'<div class="qa-sources"><h3>Sources</h3><p class="qa-empty">{esc(msg)}</p></div>'
    by_article: dict[str, list[Citation]] = {}
    for c in answer.citations:
        by_article.setdefault(c.article_id, []).append(c)
    cards = []
    for cites in by_article.values():
        first = cites[0]
        quotes = "".join(
            f'<p class="qa-source-quote">{cite_link(turn, c.n, c.n == selected)} “{esc(_clip(c.quote, 220))}”</p>' for c in cites
        )
        cards.append(
            f'<div class="qa-source" data-article="{esc(first.article_id)}"><div class="qa-source-title">{esc(first.title)}</div>'
            f"<div>{_meta(first.date, first.source, first.lang, first.outlets)}</div>{quotes}</div>"
        )
    article = ""
    chosen = next((c for c in answer.citations if c.n == selected), None)
    if chosen is not None:
        text = texts.get(chosen.article_id)
        shown = highlight(text, chosen.start, chosen.end, chosen.answer_start, chosen.answer_end) if text is not None else '<span class="qa-empty">The article text is no longer available.</span>'
        article = (
            f'<div class="qa-article" data-n="{chosen.n}"><div class="qa-source-title">[{chosen.n}] {esc(chosen.title)}</div>'
            f"<div>{_meta(chosen.date, chosen.source, chosen.lang, chosen.outlets)}</div>"
            f'<div class="qa-article-text">{shown}</div></div>'
        )
    else:
        article = '<p class="qa-empty">Click a [n] marker to read the article with the quoted passage highlighted.</p>'
    header = f'<h3>Sources for “{esc(_clip(answer.question, 80))}”</h3>' if answer.question else "<h3>Sources</h3>"
    return f'<div class="qa-sources">{header}{"".join(cards)}{article}</div>'


def is_cited(passage: Passage, citations: list[Citation]) -> bool:
    return any(c.article_id == passage.article_id and c.start < passage.end and passage.start < c.end for c in citations)


def _score(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def render_passages(answer: Answer | None) -> str:
    """Retrieved passages that no citation points into, with their fused, dense and BM25 scores."""
    if answer is None:
        return '<div class="qa-passages"><p class="qa-empty">Passages retrieved but not cited will be listed here.</p></div>'
    uncited = [p for p in answer.passages if not is_cited(p, answer.citations)]
    if not uncited:
        return '<div class="qa-passages"><p class="qa-empty">Every retrieved passage was cited.</p></div>'
    rows = "".join(
        f'<div class="qa-passage"><div><b>{esc(p.title)}</b> {_meta(p.date, p.source, p.lang, p.outlets)}</div>'
        f'<div class="qa-scores">fused {_score(p.score)} · dense {_score(p.dense_score)} · bm25 {_score(p.bm25_score)}</div>'
        f"<div>{esc(_clip(p.text, 300))}</div></div>"
        for p in uncited
    )
    return f'<div class="qa-passages"><h3>{len(uncited)} retrieved but not cited</h3>{rows}</div>'


def render_notice(message: str, kind: str = "error") -> str:
    icon = "⚠" if kind == "error" else "ℹ"
    return f'<div class="qa-notice qa-notice-{kind}" role="{"alert" if kind == "error" else "status"}">{icon} {esc(message)}</div>'


def error_message(exc: Exception) -> str:
    if isinstance(exc, StoreUnavailable):
        return f"The article store is unavailable right now, so nothing can be answered: {exc}. Try again in a moment."
    if isinstance(exc, InvalidQuestion):
        text = str(exc)
        return f"{text[:1].upper()}{text[1:]}."
    if isinstance(exc, QAError):
        return f"The question could not be answered: {exc}."
    return f"Something went wrong while answering ({type(exc).__name__}). The error was logged; please try again."


def render_report(report: IngestReport) -> str:
    def ids(label: str, items: list[str]) -> str:
        return f"<li>{label}: {esc(', '.join(items))}</li>" if items else ""

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
    """The filter widgets as `Filters`; a malformed date raises ValueError with a message for the notice."""
    dates = []
    for label, value in (("from", date_from), ("to", date_to)):
        value = (value or "").strip()
        if value:
            try:
                if not _ISO_DATE.fullmatch(value):
                    raise ValueError
                date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"the date '{label}' must be a real date written YYYY-MM-DD, not '{value}'") from None
        dates.append(value or None)
    if dates[0] and dates[1] and dates[0] > dates[1]:
        raise ValueError(f"the date range is empty: {dates[0]} is after {dates[1]}")
    filters = Filters(article_ids=tuple(article_ids) if article_ids else None, lang=lang or None, date_from=dates[0], date_to=dates[1])
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
    """Copy uploaded files into the uploads folder and index them; the report names files only by their base name,
    so no server path reaches a person or a client."""
    indexed = {a.id: a.path for a in assistant.articles()}
    saved, rejected = save_uploads([str(p) for p in paths], assistant.settings.uploads_dir, indexed)
    report = assistant.ingest(saved) if saved else IngestReport()
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


def record_feedback(path: Path, turn: Turn, liked: bool) -> None:
    """Append one JSON line: the question, the answer text and its citations, and the verdict."""
    entry = {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rating": "up" if liked else "down",
        "question": turn.question,
        "answer": turn.answer.text,
        "refused": turn.answer.refused,
        "citations": [asdict(c) for c in turn.answer.citations],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with _feedback_lock, path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")


# --- the app ------------------------------------------------------------------------------------


class ChatHandlers:
    """The event handlers, kept apart from the layout so tests can call them without a browser."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.settings: Settings = assistant.settings

    def article_choices(self) -> list[tuple[str, str]]:
        return [(f"{_clip(a.title, 60)} · {a.date or 'undated'} · {a.lang}", a.id) for a in self.assistant.articles() if a.same_as is None]

    def texts_for(self, answer: Answer) -> dict[str, str | None]:
        return {aid: self.assistant.article_text(aid) for aid in dict.fromkeys(c.article_id for c in answer.citations)}

    def respond(
        self, question: str, session: Session, article_ids: list[str] | None, lang: str | None, date_from: str | None, date_to: str | None
    ) -> Iterator[tuple]:
        """Stream one answer: (chat messages, question box, sources, passages, notice, session) at every step."""
        session = session or Session()
        shown = session.messages()
        pending = [*shown, {"role": "user", "content": render_question(question or "")}]
        try:
            filters = to_filters(article_ids, lang, date_from, date_to)
        except ValueError as exc:
            yield shown, question, gr.skip(), gr.skip(), render_notice(f"Please check the filters: {exc}."), session
            return
        try:
            if (question or "").strip():
                yield pending + [{"role": "assistant", "content": render_streaming("")}], "", gr.skip(), gr.skip(), "", session
            partial = ""
            answer = None
            for event in self.assistant.stream(question, history=session.history(), filters=filters):
                if isinstance(event, Answer):
                    answer = event
                    break
                partial += event
                yield pending + [{"role": "assistant", "content": render_streaming(partial)}], "", gr.skip(), gr.skip(), "", session
        except Exception as exc:  # the edge of the app: explain, log what is a bug, keep the page usable
            if not isinstance(exc, QAError):
                log.exception("answering %r failed", question)
            yield shown, question, gr.skip(), gr.skip(), render_notice(error_message(exc)), session
            return
        assert answer is not None
        session = Session([*session.turns, Turn(answer.question or question, answer)])
        turn = len(session.turns) - 1
        yield session.messages(), "", render_sources(answer, self.texts_for(answer), turn), render_passages(answer), "", session

    def select_citation(self, session: Session, evt: gr.EventData) -> str:
        data = evt._data if isinstance(evt._data, dict) else {}
        try:
            turn, n = int(data["turn"]), int(data["n"])
            answer = session.turns[turn].answer
        except (KeyError, TypeError, ValueError, IndexError):
            return gr.skip()
        return render_sources(answer, self.texts_for(answer), turn, selected=n)

    def feedback(self, session: Session, evt: gr.LikeData) -> str:
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        if index % 2 != 1 or index // 2 >= len(session.turns) or evt.liked not in (True, False):
            return ""
        record_feedback(self.settings.feedback_path, session.turns[index // 2], bool(evt.liked))
        return render_notice("Thank you: your feedback was saved with the question, the answer and its citations.", "info")

    def upload(self, paths: list[str] | None) -> tuple[str, Any, Any]:
        """Copy, ingest and report; refresh the article filter so new articles can be chosen (one upload at a time)."""
        if not paths:
            return "", gr.skip(), gr.skip()
        return self._report(lambda: ingest_uploads(self.assistant, list(paths)), None)

    def add_urls(self, text: str | None) -> tuple[str, Any, Any]:
        """Fetch and ingest the web pages, documents or feeds at the URLs typed (one or more, separated by spaces)."""
        urls = (text or "").split()
        if not urls:
            return "", gr.skip(), gr.skip()
        return self._report(lambda: self.assistant.ingest(urls), "")

    def _report(self, ingest: Callable[[], IngestReport], cleared: Any) -> tuple[str, Any, Any]:
        """Ingest, report, and refresh the article filter so new articles can be chosen."""
        try:
            report = ingest()
        except QAError as exc:
            return render_notice(error_message(exc)), cleared, gr.skip()
        try:
            choices = gr.update(choices=self.article_choices())
        except QAError:
            choices = gr.skip()
        return render_report(report), cleared, choices

    def ask_api(self, question: str) -> dict[str, Any]:
        """The whole Answer as JSON, for programs calling the app (gradio_client)."""
        try:
            return self.assistant.ask(question).to_dict()
        except QAError as exc:
            raise gr.Error(error_message(exc)) from exc

    def clear(self) -> tuple:
        return [], "", render_sources(None, {}, 0), render_passages(None), "", Session()


def build_app(assistant: Assistant) -> gr.Blocks:
    h = ChatHandlers(assistant)
    startup_notice = ""
    try:
        choices = h.article_choices()
    except QAError as exc:
        choices = []
        startup_notice = render_notice(error_message(exc))
    with gr.Blocks(title="News Q&A") as app:
        session = gr.State(Session())
        gr.Markdown(
            "# News Q&A\nAnswers come only from the news articles, and every claim cites its article. "
            "Click a [n] marker to read the quoted passage in its article. English and Spanish.",
            elem_id="qa-title",
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                notice = gr.HTML(startup_notice, elem_id="qa-notice", js_on_load=None)
                chatbot = gr.Chatbot(
                    elem_id="qa-chat",
                    height=560,
                    render_markdown=False,
                    sanitize_html=True,
                    buttons=["copy"],
                    placeholder="Ask about the articles (English or Spanish). Answers cite their sources as [1], [2] …",
                    show_label=False,
                )
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="Ask a question… / Haz una pregunta…",
                        show_label=False,
                        scale=6,
                        elem_id="qa-question",
                        autofocus=True,
                        max_length=assistant.settings.max_question_chars,
                    )
                    ask = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="qa-ask")
                    clear = gr.Button("Clear", scale=1, min_width=80, elem_id="qa-clear")
                examples = gr.Examples(EXAMPLES, inputs=question, label="Examples / Ejemplos (click to ask)")
            with gr.Column(scale=2):
                sources = gr.HTML(render_sources(None, {}, 0), elem_id="qa-sources", js_on_load=SOURCES_JS)
                with gr.Accordion("Retrieved but not cited", open=False, elem_id="qa-passages-box"):
                    passages = gr.HTML(render_passages(None), elem_id="qa-passages", js_on_load=None)
                with gr.Accordion("Filters", open=False, elem_id="qa-filters"):
                    article_filter = gr.Dropdown(choices=choices, multiselect=True, label="Only these articles", elem_id="qa-filter-articles")
                    lang_filter = gr.Radio([("Any", ""), ("English", "en"), ("Español", "es")], value="", label="Language", elem_id="qa-filter-lang")
                    with gr.Row():
                        date_from = gr.Textbox(label="From date", placeholder="YYYY-MM-DD", elem_id="qa-date-from")
                        date_to = gr.Textbox(label="To date", placeholder="YYYY-MM-DD", elem_id="qa-date-to")
                with gr.Accordion("Add articles: files or a URL", open=False, elem_id="qa-upload-box"):
                    files = gr.File(file_count="multiple", file_types=list(UPLOAD_SUFFIXES), elem_id="qa-upload",
                                    label="Articles (.txt .md .html .pdf .docx, RSS/Atom .rss .xml)")
                    with gr.Row():
                        url_box = gr.Textbox(placeholder="https://… a news page, PDF, DOCX or RSS/Atom feed", show_label=False,
                                             scale=5, elem_id="qa-url")
                        add_url = gr.Button("Add URL", scale=1, min_width=80, elem_id="qa-add-url")
                    report = gr.HTML("", elem_id="qa-report", js_on_load=None)

        chat_inputs = [question, session, article_filter, lang_filter, date_from, date_to]
        chat_outputs = [chatbot, question, sources, passages, notice, session]
        # Every way of asking shares one concurrency group, so settings.concurrency bounds the answers computed at once.
        question.submit(h.respond, chat_inputs, chat_outputs, api_name="chat", show_progress="hidden", concurrency_id="answer")
        ask.click(h.respond, chat_inputs, chat_outputs, api_visibility="private", show_progress="hidden", concurrency_id="answer")
        examples.load_input_event.then(h.respond, chat_inputs, chat_outputs, api_visibility="private", show_progress="hidden",
                                       concurrency_id="answer")
        clear.click(h.clear, None, chat_outputs, api_visibility="private", concurrency_limit=None)
        chatbot.clear(h.clear, None, chat_outputs, api_visibility="private", concurrency_limit=None)
        sources.click(h.select_citation, [session], [sources], api_visibility="private", concurrency_limit=None, show_progress="hidden")
        chatbot.like(h.feedback, [session], [notice], api_visibility="private", concurrency_limit=None)
        files.upload(h.upload, [files], [report, files, article_filter], api_visibility="private", concurrency_limit=1, concurrency_id="ingest")
        for event in (url_box.submit, add_url.click):
            event(h.add_urls, [url_box], [report, url_box, article_filter], api_visibility="private", concurrency_limit=1,
                  concurrency_id="ingest")
        gr.api(h.ask_api, api_name="ask", concurrency_id="answer")
    app.queue(default_concurrency_limit=assistant.settings.concurrency)
    return app


def launch(app: gr.Blocks, host: str, port: int, *, block: bool = True, max_file_bytes: int | None = None,
           auth: list[tuple[str, str]] | None = None) -> None:
    """Serve on host:port only: no share link, no server-side rendering, the app's own CSS."""
    app.launch(
        server_name=host,
        server_port=port,
        share=False,
        inbrowser=False,
        prevent_thread_lock=not block,
        ssr_mode=False,
        footer_links=["api", "settings"],
        max_file_size=max_file_bytes,
        auth=auth,
        css=CSS,
        quiet=not block,
    )


def run(args: argparse.Namespace) -> int:
    settings = Settings()
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    app = build_app(Assistant(settings))
    print(f"qa chat on http://{host}:{port}", flush=True)
    launch(app, host, port, max_file_bytes=settings.max_file_bytes, auth=chat_logins(settings))
    return 0
