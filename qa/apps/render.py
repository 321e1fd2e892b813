"""The chat's HTML, from answers and articles: pure functions, and every piece of article or answer text is
HTML-escaped before it is put into HTML, so an article containing tags renders as text."""

import html
import re
import tomllib
from functools import cache

from qa.core.errors import InvalidQuestion, QAError, StoreUnavailable
from qa.core.text import LANG_DIR, LANGS
from qa.core.types import (
    Answer,
    Citation,
    Grade,
    IngestReport,
    Passage,
)

EXAMPLES = [
    "How many people were taken hostage in Khojaly?",
    "What did Blinken ask the president of Azerbaijan?",
    "¿Cuánto duró la reunión trilateral en el Kremlin?",
    "¿Qué valora Moscú en sus relaciones con Azerbaiyán y Armenia?",
]


_MARKER = re.compile(r"\[(\d+)\]")


_BLANK_RUN = re.compile(r"\n(?:[ \t\u00a0]*\n){2,}")


_TITLE_END = re.compile(r"\n|[.!?](?=\s)")


@cache
def words_for(lang: str | None) -> dict[str, str]:
    """The chat's own words in a language (qa/lang/<lang>.toml, [ui]); English for any other."""
    chosen = lang if lang in LANGS else "en"
    return tomllib.loads((LANG_DIR / f"{chosen}.toml").read_text(encoding="utf-8"))["ui"]


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
    if any(t.step == "note" and t.verdict == "conflict" for t in answer.trace):
        # The answer said that two articles give different values for what was asked, quoting both: marked above it.
        body = f'<div class="qa-differ">{esc(w["differ"])}</div>' + body
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
    kind = "qa-answer qa-partial" if answer.grade is Grade.PARTIAL else "qa-answer"
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
