"""The Gradio chat: streamed answers whose [n] markers open the source with the quoted span highlighted.

Only the public API (`Assistant` and the types) is used here. Every piece of article or answer
text is HTML-escaped before it is put into HTML, so an article containing tags renders as text.
"""

import argparse
import sys
from typing import Any

import gradio as gr

from qa.apps.handlers import LABELLED, ChatHandlers, Session
from qa.apps.inputs import chat_logins, translation_missing
from qa.apps.render import EXAMPLES, render_passages, render_sources, words_for
from qa.apps.theme import CSS, SOURCES_JS, THEME
from qa.apps.uploads import UPLOAD_SUFFIXES, FirstIndex
from qa.assistant import Assistant
from qa.core.settings import Settings


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
