"""The chat's logic without a browser: escaping, highlight offsets, filters, uploads, feedback, concurrency."""

import html
import json
import re
import socket
import threading
import time
from argparse import Namespace

import gradio as gr
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa import Answer, Assistant, Citation, Filters
from qa import ui
from qa.errors import InvalidSetting, StoreUnavailable
from pathlib import Path

from qa.types import AnswerSentence, IngestReport, Merged, Passage
from tests.conftest import KHOJALY, cited_bot, make_settings
from tests.fakes import FakeEmbedder, FakeLLM, FakeSite, docx_bytes, news_page, pdf_bytes

QUESTION = "How many people were taken hostage in Khojaly?"
MARK = re.compile(r'<mark class="qa-quote">(.*?)</mark>', re.S)


def citation(n=1, **kw) -> Citation:
    base = dict(n=n, article_id="a1", title="T <i>", date="2024-02-28", source="Azernews", lang="en", quote="q", start=0, end=1, supported=True)
    return Citation(**{**base, **kw})


def passage(**kw) -> Passage:
    base = dict(chunk_id="a1:0", article_id="a1", title="T", date=None, source=None, lang="en", text="p", start=0, end=10,
                score=0.02, dense_score=0.81, bm25_score=None)
    return Passage(**{**base, **kw})


def last(gen):
    out = None
    for out in gen:
        pass
    return out


# --- rendering ---------------------------------------------------------------------------------


def test_answer_text_is_escaped_and_only_known_markers_become_links():
    ans = Answer(text='Crowd shouted <script>alert("x")</script> & left [1]. Invented [7].', citations=[citation()], refused=False, passages=[])
    out = ui.render_answer(ans, turn=3)
    assert "<script>" not in out and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; left" in out
    assert out.count('href="#cite-3-1"') == 1
    assert "[7]" in out and "#cite-3-7" not in out


def test_refusal_is_styled_as_refusal_in_its_language():
    es = ui.render_answer(Answer(text="Los artículos <no> contienen", citations=[], refused=True, passages=[], lang="es"), 0)
    assert 'class="qa-refusal"' in es and "reformular" in es and "&lt;no&gt;" in es
    assert "qa-cite" not in es and "qa-notice-error" not in es


def test_sentences_removed_by_the_verifier_are_shown_struck_with_reason():
    ans = Answer(text="Kept claim [1].", citations=[citation()], refused=False, passages=[], sentences=[
        AnswerSentence("Kept claim.", (1,), True),
        AnswerSentence("9000 <b>soldiers</b> came.", (1,), False, 0.1, "'9000' is not in the cited passage"),
    ])
    out = ui.render_answer(ans, 0)
    assert 'class="qa-removed"' in out
    assert "<s>9000 &lt;b&gt;soldiers&lt;/b&gt; came.</s>" in out and "&#x27;9000&#x27; is not in the cited passage" in out
    assert "Kept claim" in out.split("qa-removed")[0]


def test_a_quote_s_machine_translation_is_set_apart():
    ans = Answer(text="Según EFE: 1275 people were taken hostage. [1] (Traducción automática de Apertium: 1275 personas <b>rehenes</b>.)",
                 citations=[citation()], refused=False, passages=[], lang="es", sentences=[
                     AnswerSentence("1275 people were taken hostage.", (1,), True, translation="1275 personas <b>rehenes</b>.")])
    out = ui.render_answer(ans, 0)
    assert '<span class="qa-translation" lang="es">1275 personas &lt;b&gt;rehenes&lt;/b&gt;.</span>' in out
    assert "1275 people were taken hostage." in out.split("qa-translation")[0]


@given(st.text(max_size=200) | st.text("<>&\"' ab\n", max_size=60), st.integers(-5, 205), st.integers(-5, 205))
def test_highlight_marks_exactly_the_span_and_keeps_the_rest_as_text(text, a, b):
    start, end = min(a, b), max(a, b)
    out = ui.highlight(text, start, end)
    marked = MARK.search(out).group(1)
    s, e = max(0, min(start, len(text))), max(0, min(end, len(text)))
    assert html.unescape(marked) == text[s:e] and "<" not in marked and ">" not in marked
    # only runs of blank lines outside the quote may be squeezed
    assert re.sub(r"\s", "", html.unescape(MARK.sub(lambda m: m.group(1), out))) == re.sub(r"\s", "", text)
    assert "<" not in MARK.sub("", out)


def test_sources_list_articles_and_selected_citation_highlights_its_quote():
    text = "Intro <b>x</b>.\n\n \n\n\u00a0\n\n1275 <people> were taken hostage. End."
    start = text.index("1275")
    end = text.index(" End")
    c1 = citation(1, article_id="k", title="Khojaly <statement>", quote=text[start:end], start=start, end=end)
    c2 = citation(2, article_id="k", title="Khojaly <statement>", quote=text[:5], start=0, end=5)
    ans = Answer(text="x [1] y [2]", citations=[c1, c2], refused=False, passages=[], question="How <many>?")
    listing = ui.render_sources(ans, {"k": text}, turn=0)
    assert listing.count('class="qa-source"') == 1  # one card per article, both citations in it
    assert "Khojaly &lt;statement&gt;" in listing and "2024-02-28" in listing and "Azernews" in listing and ">en<" in listing
    assert "<mark" not in listing and "How &lt;many&gt;?" in listing
    chosen = ui.render_sources(ans, {"k": text}, turn=0, selected=1)
    assert html.unescape(MARK.search(chosen).group(1)) == c1.quote
    assert "x&lt;/b&gt;.\n\n<mark" in chosen  # the run of blank lines before the quote is squeezed
    assert "&lt;b&gt;x&lt;/b&gt;" in chosen and "<b>x</b>" not in chosen and "<people>" not in chosen
    assert 'class="qa-cite qa-selected" href="#cite-0-1"' in chosen


def test_uncited_passages_are_listed_with_scores():
    cited = passage(chunk_id="a1:0", start=0, end=100)
    other = passage(chunk_id="a2:3", article_id="a2", title="Other <t>", text="uncited <text>", start=0, end=50, score=0.0161, bm25_score=4.2)
    ans = Answer(text="x [1]", citations=[citation(start=10, end=20)], refused=False, passages=[cited, other])
    out = ui.render_passages(ans)
    assert "1 retrieved but not cited" in out and "Other &lt;t&gt;" in out and "uncited &lt;text&gt;" in out
    assert "fused 0.016 · dense 0.810 · bm25 4.200" in out


# --- filters, uploads, feedback ----------------------------------------------------------------


def test_filters_map_to_the_public_type():
    assert ui.to_filters(None, "", "", " ") is None
    assert ui.to_filters(["a", "b"], "es", "2020-01-01", "2021-12-31") == Filters(("a", "b"), "es", "2020-01-01", "2021-12-31")
    for bad in ("2021-13-01", "01/02/2021", "2021-1-1"):
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            ui.to_filters(None, None, bad, None)
    with pytest.raises(ValueError, match="empty"):
        ui.to_filters(None, None, "2022-01-01", "2021-01-01")


@pytest.mark.parametrize("name, safe", [
    ("../../x.txt", "x.txt"),
    ("..\\..\\evil.md", "evil.md"),
    ("/etc/cron.d/job.txt", "job.txt"),
    ("my report (1).TXT", "my_report_1.TXT"),
    ("noticia del año.md", "noticia_del_año.md"),
    ("x" * 300 + ".txt", "x" * 100 + ".txt"),
    ("...hidden.md", "hidden.md"),
    ("notes", None),
    (".txt", None),
    ("../../.bashrc", None),
    ("run.sh", None),
    ("archive.txt.exe", None),
])
def test_upload_names_are_basenames_in_a_safe_alphabet(name, safe):
    assert ui.safe_upload_name(name) == safe


def test_uploads_are_copied_only_inside_the_uploads_folder(tmp_path):
    src = tmp_path / "incoming"
    src.mkdir()
    (src / "news item.txt").write_text("An article.")
    (src / "tool.exe").write_text("binary")
    uploads = tmp_path / "data" / "uploads"
    saved, rejected = ui.save_uploads([str(src / "news item.txt"), str(src / "tool.exe")], uploads)
    assert saved == [uploads.resolve() / "news_item.txt"] and saved[0].read_text() == "An article."
    assert [r.path for r in rejected] == ["tool.exe"]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["news item.txt", "news_item.txt", "tool.exe"]


def test_chat_logins_come_from_qa_auth_and_a_users_file(tmp_path):
    users = tmp_path / "users"
    users.write_text("# who may chat\n\n  bob : pw:with:colons\ncy:x\n")
    assert ui.chat_logins(make_settings(tmp_path)) is None
    assert ui.chat_logins(make_settings(tmp_path, auth="ann:secret", auth_file=users)) == [("ann", "secret"), ("bob", " pw:with:colons"), ("cy", "x")]


@pytest.mark.parametrize("auth, lines, says", [
    ("ann", None, "QA_AUTH must be written user:password"),
    (":secret", None, "QA_AUTH must be written user:password"),
    (None, "ann:ok\nbob\n", "users line 2 must be written user:password"),
    (None, "ann:\n", "users line 1 must be written user:password"),
])
def test_a_malformed_login_is_named_without_its_password(tmp_path, auth, lines, says):
    users = tmp_path / "users"
    if lines is not None:
        users.write_text(lines)
    with pytest.raises(InvalidSetting, match=says) as err:
        ui.chat_logins(make_settings(tmp_path, auth=auth, auth_file=users if lines is not None else None))
    assert "secret" not in str(err.value)


def test_a_missing_users_file_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidSetting, match="the chat's users file .*nobody cannot be read"):
        ui.chat_logins(make_settings(tmp_path, auth_file=tmp_path / "nobody"))


def test_upload_handler_ingests_and_reports(fake_bot, tmp_path):
    h = ui.ChatHandlers(fake_bot)
    good = tmp_path / "lisbon_trams.md"
    good.write_text("# Lisbon buys trams\n\nThe Lisbon council approved 42 new electric trams on Monday.\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    report, cleared, choices = h.upload([str(good), str(empty), str(tmp_path / "x.pdf")], "")
    assert "added: Lisbon buys trams (lisbon_trams)" in report
    assert "rejected empty.txt: empty file" in report and "rejected x.pdf" in report
    assert str(tmp_path) not in report  # server paths are not shown
    assert cleared is None
    assert "lisbon_trams" in [value for _, value in choices["choices"]]
    assert "Lisbon buys trams" == next(a.title for a in fake_bot.articles() if a.id == "lisbon_trams")


def test_an_upload_named_like_an_indexed_article_from_elsewhere_is_rejected(fake_bot, tmp_path):
    """The file name is the article id: a seed's name would replace the seed. A re-upload updates the upload."""
    h = ui.ChatHandlers(fake_bot)
    seed = next(a for a in fake_bot.articles() if a.id == KHOJALY)
    clash = tmp_path / f"{KHOJALY}.txt"
    clash.write_text("A different text under the seed's name.\n")
    report, _, _ = h.upload([str(clash)], "")
    assert f"rejected {KHOJALY}.txt: an indexed article is already called" in report
    assert next(a for a in fake_bot.articles() if a.id == KHOJALY) == seed
    note = tmp_path / "note.txt"
    note.write_text("The Lisbon council approved 42 new electric trams on Monday.\n")
    assert "added: The Lisbon council approved 42 new electric trams on Monday (note)" in h.upload([str(note)], "")[0]
    note.write_text("The Lisbon council approved 43 new electric trams on Tuesday.\n")
    assert "updated: The Lisbon council approved 43 new electric trams on Tuesday (note)" in h.upload([str(note)], "")[0]


def test_pdf_docx_and_feed_uploads_and_a_url_are_ingested(settings, tmp_path):
    bot = Assistant(settings.model_copy(update={"fetch_allow_private": True}), embedder=FakeEmbedder(), auto_ingest=False)
    h = ui.ChatHandlers(bot)
    (tmp_path / "bridge.pdf").write_bytes(pdf_bytes("Porto bridge closes", ["The Luiz I bridge will close for 6 weeks."],
                                                    author="Douro Daily", created="2024-04-22T10:00:00"))
    (tmp_path / "library.docx").write_bytes(docx_bytes("Valencia library opens", ["It holds 120,000 books."],
                                                       author="Levante News", created="2024-05-11T08:00:00"))
    report, _, choices = h.upload([str(tmp_path / "bridge.pdf"), str(tmp_path / "library.docx")], "")
    assert "added: Porto bridge closes (bridge), Valencia library opens (library)" in report and {"bridge", "library"} <= {v for _, v in choices["choices"]}
    with FakeSite() as site:
        url = site.serve("/harbour", "text/html", news_page("Lisbon harbour reopens", [
            "The port of Lisbon reopened on Tuesday after a storm closed it for three days."], site="Coast Herald", date="2024-03-05", author="Ana"))
        report, cleared, _ = h.add_urls(f"  {url}  file:///etc/passwd ", "")
    assert "added: Lisbon harbour reopens (127.0.0.1-harbour-" in report and "rejected file:///etc/passwd: only http and https" in report and cleared == ""
    assert next(a for a in bot.articles() if a.path == url).source == "Coast Herald"
    refused, _, _ = ui.ChatHandlers(Assistant(settings, embedder=FakeEmbedder(), auto_ingest=False)).add_urls(url, "")
    assert "non-public address" in refused and f"rejected {url}" in refused


def test_a_story_merged_from_several_outlets_is_one_source_listing_them():
    c = citation(1, article_id="k", quote="q", outlets=("Azernews", "Azertac"))
    listing = ui.render_sources(Answer(text="x [1]", citations=[c], refused=False, passages=[]), {"k": "q"}, turn=0, selected=1)
    assert listing.count('class="qa-source"') == 1 and listing.count("Azernews, Azertac (the same story)") == 2
    report = ui.render_report(IngestReport(merged=[Merged("copy", "k", "Azertac", 0.9)]))
    assert "merged copy (Azertac) into k: the same story" in report and "merged 1" in report


def test_one_vote_per_answer_a_new_click_replaces_it(settings):
    bot = cited_bot(settings)
    h = ui.ChatHandlers(bot)
    session = last(h.respond(QUESTION, ui.Session(), "", None, "", "", ""))[5]
    answer = session.answers[0]
    assert h.feedback(session, "", gr.LikeData(None, {"index": 0, "value": "q", "liked": True})) == ""  # the user's own message
    assert "saved" in h.feedback(session, "", gr.LikeData(None, {"index": 1, "value": "a", "liked": True}))
    h.feedback(session, "", gr.LikeData(None, {"index": 1, "value": "a", "liked": False}))
    lines = [json.loads(line) for line in settings.feedback_path.read_text().splitlines()]
    assert [e["rating"] for e in lines] == ["down"]  # the dislike replaced the like
    assert lines[0]["answer_id"] == f"{session.chat_id}:0"
    assert lines[0]["question"] == QUESTION and lines[0]["answer"] == answer.text
    assert lines[0]["citations"][0]["quote"] == answer.citations[0].quote and lines[0]["citations"][0]["start"] == answer.citations[0].start
    assert "withdrawn" in h.feedback(session, "", gr.LikeData(None, {"index": 1, "value": "a", "liked": None}))
    assert settings.feedback_path.read_text() == ""
    assert "animation: qa-fade" in ui.CSS  # the thank-you notice fades


def test_a_rejected_upload_is_not_kept_and_its_report_replaces_the_last(fake_bot, tmp_path):
    h = ui.ChatHandlers(fake_bot)
    good = tmp_path / "trams.txt"
    good.write_text("The Lisbon council approved 42 new electric trams on Monday.\n")
    assert "added" in h.upload([str(good)], "")[0]
    bad = tmp_path / "blank.txt"
    bad.write_text("   \n")
    report = h.upload([str(bad)], "")[0]
    assert "rejected blank.txt" in report and "added:" not in report
    assert sorted(p.name for p in fake_bot.settings.uploads_dir.iterdir()) == ["trams.txt"]
    good.write_text("  \n")  # a bad new version of a good upload: the good one stays, file and article
    assert "rejected trams.txt" in h.upload([str(good)], "")[0]
    assert (fake_bot.settings.uploads_dir / "trams.txt").read_text().startswith("The Lisbon council")


def test_an_over_long_question_is_refused_with_a_notice_not_cut(fake_bot):
    h = ui.ChatHandlers(fake_bot)
    long = "How many people were taken hostage? " * 300
    messages, box, _, _, notice, session, *_ = last(h.respond(long, ui.Session(), "", None, "", "", ""))
    assert box == long and messages == [] and session.answers == []
    assert f"{len(long.strip()):,} characters" in notice and "nothing was sent" in notice
    es = last(h.respond("¿Cuántas personas fueron tomadas como rehenes? " * 300, ui.Session(), "", None, "", "", ""))[4]
    assert "caracteres" in es and "no se envió nada" in es


def test_a_spanish_question_gets_spanish_words(settings):
    bot = cited_bot(settings)
    h = ui.ChatHandlers(bot)
    out = last(h.respond("¿Cuántas personas fueron tomadas como rehenes en Jojalí?", ui.Session(), "", None, "", "", ""))
    sources, passages, labels = out[2], out[3], out[8:]
    assert "Fuentes" in sources and "Sources" not in sources
    assert "recuperados" in passages.lower() or "Se citaron todos" in passages or "Sin fuentes" in sources
    named = dict(zip(ui.LABELLED, labels))
    assert named["ask"]["value"] == "Preguntar" and named["passages_box"]["label"] == "Recuperados pero no citados"
    # chosen, the interface language holds whatever the question's language
    english = last(h.respond("¿Cuántas personas fueron tomadas como rehenes en Jojalí?", ui.Session(), "en", None, "", "", ""))
    assert "Sources" in english[2] and "Fuentes" not in english[2] and dict(zip(ui.LABELLED, english[8:]))["ask"]["value"] == "Ask"


def test_saved_chats_can_be_resumed_renamed_exported_and_deleted(settings):
    bot = cited_bot(settings)
    h = ui.ChatHandlers(bot)
    session = last(h.respond(QUESTION, ui.Session(), "", None, "", "", ""))[5]
    later = ui.ChatHandlers(bot, ui.ChatStore.for_settings(settings))  # as after a restart
    assert [value for _, value in later.chat_choices()] == [session.chat_id]
    messages, sources, _, _, resumed, title = later.open_chat(session.chat_id, ui.Session(), "")
    assert resumed.answers == session.answers and title == QUESTION and "qa-cite" in messages[1]["content"]
    follow = last(later.respond("And how many were children?", resumed, "", None, "", "", ""))[5]
    assert len(follow.answers) == 2 and follow.chat_id == session.chat_id
    later.rename_chat(follow, "Khojaly", "")
    assert later.chat_choices()[0][0].startswith("Khojaly")
    md = Path(later.export_chat(follow, "md")["value"]).read_text()
    assert md.startswith("# Khojaly") and "And how many were children?" in md and session.answers[0].citations[0].article_id in md
    data = json.loads(Path(later.export_chat(follow, "json")["value"]).read_text())
    assert len(data["turns"]) == 2 and data["turns"][0]["citations"][0]["quote"] == session.answers[0].citations[0].quote
    assert later.delete_chat(follow, "")[5] == ui.Session() and later.chat_choices() == []


def test_the_chat_api_takes_named_optional_parameters_and_uploaded_articles(fake_bot, tmp_path):
    h = ui.ChatHandlers(fake_bot)
    first = h.chat_api(QUESTION)
    assert first["citations"] and first["question"] == QUESTION
    note = tmp_path / "trams.txt"
    note.write_text("The Lisbon council approved 42 new electric trams on Monday.\n")
    h.upload([str(note)], "")
    only = h.chat_api("How many electric trams did the Lisbon council approve?", article_ids=["trams"])
    assert {p["article_id"] for p in only["passages"]} == {"trams"}
    history = Answer.from_dict(first).messages()
    assert h.chat_api("And how many were children?", history=history)["standalone_question"].endswith("(about Khojaly)")
    with pytest.raises(gr.Error, match="YYYY-MM-DD"):
        h.chat_api(QUESTION, date_from="2021-13-01")
    with pytest.raises(gr.Error, match="unknown article id 'nope'"):
        h.chat_api(QUESTION, article_ids=["nope"])


# --- the handlers end to end on the fast bot ---------------------------------------------------


def test_respond_streams_then_shows_linked_answer_and_sources(settings):
    bot = cited_bot(settings)
    h = ui.ChatHandlers(bot)
    steps = list(h.respond(QUESTION, ui.Session(), "", None, "", "", ""))
    assert len(steps) > 3  # pending, several deltas, final
    assert "qa-streaming" in steps[1][0][-1]["content"]
    messages, box, sources, passages, notice, session, chat_list, title, *labels = steps[-1]
    answer = session.answers[0]
    assert not answer.refused and box == "" and notice == "" and len(labels) == len(ui.LABELLED)
    assert chat_list["value"] == session.chat_id and title["value"] == QUESTION
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert 'href="#cite-0-1"' in messages[1]["content"]
    assert html.escape(answer.citations[0].title) in sources and "<mark" not in sources
    assert "retrieved but not cited" in passages or "Every retrieved passage was cited" in passages
    # clicking [1] shows the article with exactly the quote highlighted
    chosen = h.select_citation(session, "", gr.EventData(None, {"turn": 0, "n": 1}))
    c = answer.citations[0]
    assert html.unescape(re.sub(r"</?strong[^>]*>", "", MARK.search(chosen).group(1))) == c.quote == bot.article_text(c.article_id)[c.start : c.end]
    # a follow-up sees the history (with the citations): two turns, links numbered per turn
    messages2, *_, session2 = last(h.respond("And how many were killed?", session, "", None, "", "", ""))[:6]
    assert len(session2.answers) == 2 and len(messages2) == 4
    assert session2.history()[0]["content"] == QUESTION and session2.history()[1]["citations"]


def test_errors_become_notices_and_keep_the_question(fake_bot, monkeypatch):
    h = ui.ChatHandlers(fake_bot)
    out = last(h.respond("   ", ui.Session(), "", None, "", "", ""))
    messages, box, _, _, notice, session = out[:6]
    assert messages == [] and box == "   " and "question is empty" in notice and "qa-notice-error" in notice

    out = last(h.respond(QUESTION, ui.Session(), "", None, "", "2024-99-01", ""))
    assert "YYYY-MM-DD" in out[4] and out[1] == QUESTION

    def down(*a, **kw):
        raise StoreUnavailable("the Chroma server at http://127.0.0.1:9 is not answering")
        yield

    monkeypatch.setattr(fake_bot, "stream", down)
    messages, box, _, _, notice, session = last(h.respond(QUESTION, ui.Session(), "", None, "", "", ""))[:6]
    assert "store is unavailable" in notice and box == QUESTION and messages == [] and session.answers == []

    def bug(*a, **kw):
        raise RuntimeError("boom")
        yield

    monkeypatch.setattr(fake_bot, "stream", bug)
    assert "Something went wrong while answering (RuntimeError)" in last(h.respond(QUESTION, ui.Session(), "", None, "", "", ""))[4]


def test_filters_reach_retrieval(fake_bot):
    h = ui.ChatHandlers(fake_bot)
    session = last(h.respond(QUESTION, ui.Session(), "", ["002_80680643ca28e344"], "", "", ""))[5]
    assert {p.article_id for p in session.answers[0].passages} == {"002_80680643ca28e344"}


def test_app_is_built_with_the_queue_and_api(fake_bot):
    app = ui.build_app(fake_bot)
    assert isinstance(app, gr.Blocks)
    assert app._queue.default_concurrency_limit == fake_bot.settings.concurrency
    names = {d.api_name for d in app.fns.values() if d.api_visibility == "public"}
    assert names == {"chat", "ask"}
    answering = [d for d in app.fns.values() if d.name in ("respond", "chat_api", "ask_api")]
    assert len(answering) == 5 and {d.concurrency_id for d in answering} == {"answer"}


def test_run_falls_back_to_settings_and_loopback(monkeypatch, fake_bot):
    seen = {}
    monkeypatch.setenv("QA_PORT", "7999")
    monkeypatch.setattr(ui, "Assistant", lambda settings: fake_bot)
    monkeypatch.setattr(ui, "launch", lambda app, host, port, **kw: seen.update(host=host, port=port))
    assert ui.run(Namespace(host=None, port=None)) == 0
    assert seen == {"host": "127.0.0.1", "port": 7999}
    ui.run(Namespace(host="127.0.0.2", port=8123))
    assert seen == {"host": "127.0.0.2", "port": 8123}


class SlowBot(Assistant):
    """Holds questions containing 'slow' until released, to show one slow answer does not block others."""

    release = threading.Event()

    def stream(self, question, history=None, filters=None):
        if "slow" in question:
            self.release.wait(30)
        yield from super().stream(question, history, filters)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_one_slow_answer_does_not_block_another(settings):
    from gradio_client import Client

    bot = SlowBot(settings.model_copy(update={"answer_bar": 0.0, "concurrency": 2}), embedder=FakeEmbedder(), llm=FakeLLM())
    app = ui.build_app(bot)
    port = free_port()
    ui.launch(app, "127.0.0.1", port, block=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        slow = client.submit("slow: " + QUESTION, api_name="/ask")
        t0 = time.perf_counter()
        fast = client.predict(QUESTION, api_name="/ask")
        assert not slow.done() and fast["citations"] and time.perf_counter() - t0 < 20
        SlowBot.release.set()
        assert slow.result(timeout=30)["citations"]
    finally:
        SlowBot.release.set()
        app.close()


def test_the_answering_words_are_bold_in_the_quote_not_in_the_title():
    quote = "Las conversaciones trilaterales duraron casi 4 horas."
    c = citation(1, title="Las conversaciones trilaterales duraron casi 4 horas", source=None, quote=quote, start=0, end=len(quote),
                 answer_start=quote.index("4 horas"), answer_end=quote.index("4 horas") + 7)
    ans = Answer(text=f"Según el artículo “{c.title}”: {quote} [1]", citations=[c], refused=False, passages=[], lang="es",
                 sentences=[AnswerSentence(quote, (1,), True)])
    out = ui.render_answer(ans, 0)
    assert out.count('<strong class="qa-answer-span">') == 1
    assert "casi 4 horas”" in out and 'casi <strong class="qa-answer-span">4 horas</strong>.' in out
