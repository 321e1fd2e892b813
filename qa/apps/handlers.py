"""The chat's event handlers: one Session per browser tab, every answer, upload, feedback and saved chat."""

import logging
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import gradio as gr

from qa.apps.chats import ChatStore
from qa.apps.inputs import (
    export_name,
    local_time,
    record_feedback,
    to_filters,
    translation_missing,
)
from qa.apps.render import (
    _clip,
    error_message,
    render_answer,
    render_notice,
    render_passages,
    render_question,
    render_report,
    render_sources,
    render_streaming,
    words_for,
)
from qa.apps.uploads import FirstIndex, ingest_uploads
from qa.assistant import Assistant
from qa.core.errors import QAError
from qa.core.settings import Settings
from qa.core.types import Answer, IngestReport

log = logging.getLogger(__name__)


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
