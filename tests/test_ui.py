"""The chat's logic without a browser: escaping, highlight offsets, filters, uploads, feedback, concurrency."""

import html
import json
import re
import threading
import time
from argparse import Namespace
from dataclasses import replace

import gradio as gr
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa import Answer, Assistant, Citation, Filters
from qa.apps import handlers, inputs, render, theme, ui, uploads
from qa.apps.chats import ChatStore, ChatSummary
from qa.core.errors import InvalidSetting, StoreUnavailable, TranslationFailed
from pathlib import Path

from qa.core.types import AnswerSentence, IngestProgress, IngestReport, Merged, Passage, TraceStep
from qa_eval.servers import free_port
from tests.conftest import KHOJALY, cited_bot, make_settings
from tests.fakes import FakeEmbedder, FakeLLM, FakeReader, FakeSite, docx_bytes, news_page, pdf_bytes

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
    out = render.render_answer(ans, turn=3)
    assert "<script>" not in out and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; left" in out
    assert out.count('href="#cite-3-1"') == 1
    assert "[7]" in out and "#cite-3-7" not in out


def test_refusal_is_styled_as_refusal_in_its_language():
    es = render.render_answer(Answer(text="Los artículos <no> contienen", citations=[], refused=True, passages=[], lang="es"), 0)
    assert 'class="qa-refusal"' in es and "reformular" in es and "&lt;no&gt;" in es
    assert "qa-cite" not in es and "qa-notice-error" not in es


def test_sentences_removed_by_the_verifier_are_shown_struck_with_reason():
    ans = Answer(text="Kept claim [1].", citations=[citation()], refused=False, passages=[], sentences=[
        AnswerSentence("Kept claim.", (1,), True),
        AnswerSentence("9000 <b>soldiers</b> came.", (1,), False, 0.1, "'9000' is not in the cited passage"),
    ])
    out = render.render_answer(ans, 0)
    assert 'class="qa-removed"' in out
    assert "<s>9000 &lt;b&gt;soldiers&lt;/b&gt; came.</s>" in out and "&#x27;9000&#x27; is not in the cited passage" in out
    assert "Kept claim" in out.split("qa-removed")[0]


def test_an_answer_whose_sources_differ_is_marked():
    differ = [TraceStep("disagreement", "differ", "date: 2020-11-10 vs 2020-11-09 (002@1797)"),
              TraceStep("note", "conflict", "said: the answer cites more than one article")]
    ans = Answer(text="A [1]. B [2]. Note: the articles differ.", citations=[citation()], refused=False, passages=[], trace=differ)
    assert '<div class="qa-differ">⚖ The sources differ on this' in render.render_answer(ans, 0)
    agree = replace(ans, trace=[TraceStep("disagreement", "agree", "date: 1 compared")], lang="es")
    assert "qa-differ" not in render.render_answer(agree, 0)
    unsaid = replace(ans, trace=differ[:1])  # the step found a rival, but the answer did not quote both: no mark
    assert "qa-differ" not in render.render_answer(unsaid, 0)
    assert "Las fuentes difieren" in render.render_answer(replace(ans, lang="es"), 0)


def test_a_quote_s_machine_translation_is_set_apart():
    ans = Answer(text="Según EFE: 1275 people were taken hostage. [1] (Traducción automática de Apertium: 1275 personas <b>rehenes</b>.)",
                 citations=[citation()], refused=False, passages=[], lang="es", sentences=[
                     AnswerSentence("1275 people were taken hostage.", (1,), True, translation="1275 personas <b>rehenes</b>.")])
    out = render.render_answer(ans, 0)
    assert '<span class="qa-translation" lang="es">1275 personas &lt;b&gt;rehenes&lt;/b&gt;.</span>' in out
    assert "1275 people were taken hostage." in out.split("qa-translation")[0]


@given(st.text(max_size=200) | st.text("<>&\"' ab\n", max_size=60), st.integers(-5, 205), st.integers(-5, 205))
def test_highlight_marks_exactly_the_span_and_keeps_the_rest_as_text(text, a, b):
    start, end = min(a, b), max(a, b)
    out = render.highlight(text, start, end)
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
    listing = render.render_sources(ans, {"k": text}, turn=0)
    assert listing.count('class="qa-source"') == 1  # one card per article, both citations in it
    assert "Khojaly &lt;statement&gt;" in listing and "2024-02-28" in listing and "Azernews" in listing and ">en<" in listing
    assert "<mark" not in listing and "How &lt;many&gt;?" in listing
    chosen = render.render_sources(ans, {"k": text}, turn=0, selected=1)
    assert html.unescape(MARK.search(chosen).group(1)) == c1.quote
    assert "x&lt;/b&gt;.\n\n<mark" in chosen  # the run of blank lines before the quote is squeezed
    assert "&lt;b&gt;x&lt;/b&gt;" in chosen and "<b>x</b>" not in chosen and "<people>" not in chosen
    assert 'class="qa-cite qa-selected" href="#cite-0-1"' in chosen


def test_uncited_passages_are_listed_with_scores():
    cited = passage(chunk_id="a1:0", start=0, end=100)
    other = passage(chunk_id="a2:3", article_id="a2", title="Other <t>", text="uncited <text>", start=0, end=50, score=0.0161, bm25_score=4.2)
    ans = Answer(text="x [1]", citations=[citation(start=10, end=20)], refused=False, passages=[cited, other])
    out = render.render_passages(ans)
    assert "1 retrieved but not cited" in out and "Other &lt;t&gt;" in out and "uncited &lt;text&gt;" in out
    assert "fused 0.016 · dense 0.810 · bm25 4.200" in out


# --- filters, uploads, feedback ----------------------------------------------------------------


def test_filters_map_to_the_public_type():
    assert inputs.to_filters(None, "", "", " ") is None
    assert inputs.to_filters(["a", "b"], "es", "2020-01-01", "2021-12-31") == Filters(("a", "b"), "es", "2020-01-01", "2021-12-31")
    for bad in ("2021-13-01", "01/02/2021", "2021-1-1"):
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            inputs.to_filters(None, None, bad, None)
    with pytest.raises(ValueError, match="empty"):
        inputs.to_filters(None, None, "2022-01-01", "2021-01-01")


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
    assert uploads.safe_upload_name(name) == safe


def test_uploads_are_copied_only_inside_the_uploads_folder(tmp_path):
    src = tmp_path / "incoming"
    src.mkdir()
    (src / "news item.txt").write_text("An article.")
    (src / "tool.exe").write_text("binary")
    folder = tmp_path / "data" / "uploads"
    saved, rejected = uploads.save_uploads([str(src / "news item.txt"), str(src / "tool.exe")], folder)
    assert saved == [folder.resolve() / "news_item.txt"] and saved[0].read_text() == "An article."
    assert [r.path for r in rejected] == ["tool.exe"]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["news item.txt", "news_item.txt", "tool.exe"]


def test_chat_logins_come_from_qa_auth_and_a_users_file(tmp_path):
    users = tmp_path / "users"
    users.write_text("# who may chat\n\n  bob : pw:with:colons\ncy:x\n")
    assert inputs.chat_logins(make_settings(tmp_path)) is None
    assert inputs.chat_logins(make_settings(tmp_path, auth="ann:secret", auth_file=users)) == [("ann", "secret"), ("bob", " pw:with:colons"), ("cy", "x")]


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
        inputs.chat_logins(make_settings(tmp_path, auth=auth, auth_file=users if lines is not None else None))
    assert "secret" not in str(err.value)


def test_a_missing_users_file_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidSetting, match="the chat's users file .*nobody cannot be read"):
        inputs.chat_logins(make_settings(tmp_path, auth_file=tmp_path / "nobody"))


def test_upload_handler_ingests_and_reports(fake_bot, tmp_path):
    h = handlers.ChatHandlers(fake_bot)
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
    h = handlers.ChatHandlers(fake_bot)
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
    h = handlers.ChatHandlers(bot)
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
    refused, _, _ = handlers.ChatHandlers(Assistant(settings, embedder=FakeEmbedder(), auto_ingest=False)).add_urls(url, "")
    assert "non-public address" in refused and f"rejected {url}" in refused


def test_a_story_merged_from_several_outlets_is_one_source_listing_them():
    c = citation(1, article_id="k", quote="q", outlets=("Azernews", "Azertac"))
    listing = render.render_sources(Answer(text="x [1]", citations=[c], refused=False, passages=[]), {"k": "q"}, turn=0, selected=1)
    assert listing.count('class="qa-source"') == 1 and listing.count("Azernews, Azertac (the same story)") == 2
    report = render.render_report(IngestReport(merged=[Merged("copy", "k", "Azertac", 0.9)]))
    assert "merged copy (Azertac) into k: the same story" in report and "merged 1" in report


def test_one_vote_per_answer_a_new_click_replaces_it(settings):
    bot = cited_bot(settings)
    h = handlers.ChatHandlers(bot)
    session = last(h.respond(QUESTION, handlers.Session(), "", None, "", "", ""))[5]
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
    assert "animation: qa-fade" in theme.CSS  # the thank-you notice fades


def test_a_rejected_upload_is_not_kept_and_its_report_replaces_the_last(fake_bot, tmp_path):
    h = handlers.ChatHandlers(fake_bot)
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
    h = handlers.ChatHandlers(fake_bot)
    long = "How many people were taken hostage? " * 300
    messages, box, _, _, notice, session, *_ = last(h.respond(long, handlers.Session(), "", None, "", "", ""))
    assert box == long and messages == [] and session.answers == []
    assert f"{len(long.strip()):,} characters" in notice and "nothing was sent" in notice
    es = last(h.respond("¿Cuántas personas fueron tomadas como rehenes? " * 300, handlers.Session(), "", None, "", "", ""))[4]
    assert "caracteres" in es and "no se envió nada" in es


def test_a_spanish_question_gets_spanish_words(settings):
    bot = cited_bot(settings)
    h = handlers.ChatHandlers(bot)
    out = last(h.respond("¿Cuántas personas fueron tomadas como rehenes en Jojalí?", handlers.Session(), "", None, "", "", ""))
    sources, passages, labels = out[2], out[3], out[8:]
    assert "Fuentes" in sources and "Sources" not in sources
    assert "recuperados" in passages.lower() or "Se citaron todos" in passages or "Sin fuentes" in sources
    named = dict(zip(handlers.LABELLED, labels))
    assert named["ask"]["value"] == "Preguntar" and named["passages_box"]["label"] == "Recuperados pero no citados"
    # chosen, the interface language holds whatever the question's language
    english = last(h.respond("¿Cuántas personas fueron tomadas como rehenes en Jojalí?", handlers.Session(), "en", None, "", "", ""))
    assert "Sources" in english[2] and "Fuentes" not in english[2] and dict(zip(handlers.LABELLED, english[8:]))["ask"]["value"] == "Ask"


def test_saved_chats_can_be_resumed_renamed_exported_and_deleted(settings):
    bot = cited_bot(settings)
    h = handlers.ChatHandlers(bot)
    session = last(h.respond(QUESTION, handlers.Session(), "", None, "", "", ""))[5]
    later = handlers.ChatHandlers(bot, ChatStore.for_settings(settings))  # as after a restart
    assert [value for _, value in later.chat_choices()] == [session.chat_id]
    messages, sources, _, _, resumed, title = later.open_chat(session.chat_id, handlers.Session(), "")
    assert resumed.answers == session.answers and title == QUESTION and "qa-cite" in messages[1]["content"]
    follow = last(later.respond("And how many were children?", resumed, "", None, "", "", ""))[5]
    assert len(follow.answers) == 2 and follow.chat_id == session.chat_id
    later.rename_chat(follow, "Khojaly", "")
    assert later.chat_choices()[0][0].startswith("Khojaly")
    md_button, json_button, remembered = later.chat_files(follow)
    md, data = Path(md_button["value"]), Path(json_button["value"])
    assert (md.name, data.name, remembered) == ("Khojaly.md", "Khojaly.json", session.chat_id) and md_button["interactive"]
    assert md.read_text().startswith("# Khojaly") and "And how many were children?" in md.read_text()
    assert session.answers[0].citations[0].article_id in md.read_text()
    turns = json.loads(data.read_text())["turns"]
    assert len(turns) == 2 and turns[0]["citations"][0]["quote"] == session.answers[0].citations[0].quote
    later.rename_chat(follow, "Khojaly: who counted?", "")  # named after the chat, in words a file system takes
    renamed = Path(later.chat_files(follow)[0]["value"])
    assert renamed.name == "Khojaly who counted.md" and sorted(p.name for p in renamed.parent.iterdir()) == [
        "Khojaly who counted.json", "Khojaly who counted.md"]
    assert later.delete_chat(follow, "")[5] == handlers.Session() and later.chat_choices() == []
    assert not renamed.parent.exists()  # a deleted chat leaves no export behind


def test_a_new_chat_offers_no_export_of_the_last_one(settings):
    h = handlers.ChatHandlers(cited_bot(settings))
    session = last(h.respond(QUESTION, handlers.Session(), "", None, "", "", ""))[5]
    assert h.chat_files(session)[0]["interactive"]
    cleared = h.new_chat("")[5]
    assert h.chat_files(cleared) == ({"__type__": "update", "value": None, "interactive": False},) * 2 + (None,)


def test_two_chats_with_the_same_question_are_told_apart(settings):
    h = handlers.ChatHandlers(cited_bot(settings))
    older = last(h.respond(QUESTION, handlers.Session(), "", None, "", "", ""))[5]
    newer = last(h.respond(QUESTION, handlers.Session(), "", None, "", "", ""))[5]
    labels = {chat_id: label for label, chat_id in h.chat_choices()}
    assert list(labels) == [newer.chat_id, older.chat_id] and len(set(labels.values())) == 2
    when = inputs.local_time(h.chats.get(newer.chat_id).updated)
    assert labels[newer.chat_id] == f"{QUESTION} · {when} · questions: 1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", when)
    es = dict((v, k) for k, v in h.chat_choices("es"))[newer.chat_id]
    assert re.search(r"· \d\d/\d\d/\d{4} \d\d:\d\d · preguntas: 1", es)


    class SameMinute:
        """Two chats with the same title last used in the same minute."""

        def list(self):
            stamp = "2026-12-07T17:48:38.984344+00:00"
            return [ChatSummary(i, QUESTION, stamp, stamp, 1) for i in ("newer", "older")]

    alike = [label for label, _ in handlers.ChatHandlers(h.assistant, SameMinute()).chat_choices()]
    assert alike[1] == alike[0] + " (2)"


def test_a_page_load_lists_the_chats_saved_since_and_reopens_this_browser_s_chat(settings):
    h = handlers.ChatHandlers(cited_bot(settings))
    empty = h.page_load(None, False, "")
    assert empty[4] == handlers.Session() and empty[5]["choices"] == [] and empty[7]["choices"]  # the articles to filter by
    session = last(handlers.ChatHandlers(h.assistant).respond(QUESTION, handlers.Session(), "", None, "", "", ""))[5]  # another tab
    remembered = h.chat_files(session)[2]
    messages, sources, _, notice, opened, chat_list, title, *_ = h.page_load(remembered, False, "")
    assert opened.answers == session.answers and chat_list["value"] == session.chat_id and title == QUESTION
    assert [chat_id for _, chat_id in chat_list["choices"]] == [session.chat_id] and "qa-cite" in messages[1]["content"]
    assert "qa-source" in sources and notice == ""
    h.delete_chat(session, "")
    gone = h.page_load(remembered, False, "")
    assert gone[4] == handlers.Session() and gone[5]["choices"] == [] and gone[5]["value"] is None


class BrokenPair:
    """Apertium present without its English-Spanish pair: only a translation shows it."""

    name = "Apertium"

    def translate(self, texts, source, target):
        raise TranslationFailed("apertium eng-spa exited 1: no such pair")


def test_quotes_going_untranslated_are_told_once_in_the_page(settings):
    bot = cited_bot(settings)
    bot.translator = None
    h = handlers.ChatHandlers(bot)
    first = h.page_load(None, False, "")
    assert "sudo apt-get install -y apertium apertium-en-es" in first[3] and "qa-notice-warning" in first[3] and first[-1] is True
    assert h.page_load(None, True, "")[3] == ""  # told once in this browser
    assert "apertium-en-es" in h.page_load(None, False, "es")[3] and "sin traducir" in h.page_load(None, False, "es")[3]


@pytest.mark.parametrize("translate, translator, missing", [(True, None, True), (True, BrokenPair(), True), (False, None, False)])
def test_a_missing_translator_or_pair_is_found(settings, translate, translator, missing):
    bot = cited_bot(settings.model_copy(update={"translate": translate}))
    bot.translator = translator
    assert inputs.translation_missing(bot) is missing


def test_a_title_cut_at_ingest_is_whole_in_the_opened_article():
    text = ("The Peruvian Congress adopted a statement on the anniversary of the Khojaly genocide and called to support the "
            "existing mine problem in Azerbaijan, Azernews reports.\n\nOn the occasion of the 32nd anniversary ...")
    cut = "The Peruvian Congress adopted a statement on the anniversary of the Khojaly genocide and called to support the…"
    whole = text.split("\n")[0].rstrip(".")  # as titles are stored
    assert render.full_title(cut, text) == whole and render.full_title("Lisbon orders electric trams", text) == "Lisbon orders electric trams"
    assert render.full_title(cut, None) == cut and render.full_title("A sentence that ends. Then…", "A sentence that ends. Then more. And") == (
        "A sentence that ends. Then more")
    c = citation(1, title=cut, quote="On the occasion", start=text.index("On the"), end=text.index("On the") + 15)
    shown = render.render_sources(Answer(text="x [1]", citations=[c], refused=False, passages=[]), {"a1": text}, 0, selected=1)
    assert f"[1] {whole}</div>" in shown and shown.count(cut) == 1  # the card keeps the short title, the article the whole one


def test_the_chat_api_takes_named_optional_parameters_and_uploaded_articles(fake_bot, tmp_path):
    h = handlers.ChatHandlers(fake_bot)
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
    h = handlers.ChatHandlers(bot)
    steps = list(h.respond(QUESTION, handlers.Session(), "", None, "", "", ""))
    assert len(steps) > 3  # pending, several deltas, final
    assert "qa-streaming" in steps[1][0][-1]["content"]
    messages, box, sources, passages, notice, session, chat_list, title, *labels = steps[-1]
    answer = session.answers[0]
    assert not answer.refused and box == "" and notice == "" and len(labels) == len(handlers.LABELLED)
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
    h = handlers.ChatHandlers(fake_bot)
    out = last(h.respond("   ", handlers.Session(), "", None, "", "", ""))
    messages, box, _, _, notice, session = out[:6]
    assert messages == [] and box == "   " and "question is empty" in notice and "qa-notice-error" in notice

    out = last(h.respond(QUESTION, handlers.Session(), "", None, "", "2024-99-01", ""))
    assert "YYYY-MM-DD" in out[4] and out[1] == QUESTION

    def down(*a, **kw):
        raise StoreUnavailable("the Chroma server at http://127.0.0.1:9 is not answering")
        yield

    monkeypatch.setattr(fake_bot, "stream", down)
    messages, box, _, _, notice, session = last(h.respond(QUESTION, handlers.Session(), "", None, "", "", ""))[:6]
    assert "store is unavailable" in notice and box == QUESTION and messages == [] and session.answers == []

    def bug(*a, **kw):
        raise RuntimeError("boom")
        yield

    monkeypatch.setattr(fake_bot, "stream", bug)
    assert "Something went wrong while answering (RuntimeError)" in last(h.respond(QUESTION, handlers.Session(), "", None, "", "", ""))[4]


def test_filters_reach_retrieval(fake_bot):
    h = handlers.ChatHandlers(fake_bot)
    session = last(h.respond(QUESTION, handlers.Session(), "", ["002_80680643ca28e344"], "", "", ""))[5]
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
    fake_bot.articles()  # not a first start
    monkeypatch.setenv("QA_PORT", "7999")
    monkeypatch.setattr(ui, "Assistant", lambda settings: fake_bot)
    monkeypatch.setattr(ui, "launch", lambda app, host, port, settings: seen.update(host=host, port=port))
    assert ui.run(Namespace(host=None, port=None)) == 0
    assert seen == {"host": "127.0.0.1", "port": 7999}
    ui.run(Namespace(host="127.0.0.2", port=8123))
    assert seen == {"host": "127.0.0.2", "port": 8123}


def test_a_first_start_says_in_the_terminal_what_it_indexes_and_what_is_missing(monkeypatch, fake_bot, capsys):
    built = {}
    fake_bot.translator = None
    monkeypatch.setenv("QA_DATA_DIR", str(fake_bot.settings.data_dir))
    monkeypatch.setattr(ui, "Assistant", lambda settings: fake_bot)
    monkeypatch.setattr(ui, "build_app", lambda assistant, first_index=None: built.update(first=first_index))
    monkeypatch.setattr(ui, "launch", lambda app, host, port, settings: built.update(served=ui.chat_options(settings)))
    ui.run(Namespace(host=None, port=None))
    assert built["first"].done.wait(60) and built["first"].error is None
    err = capsys.readouterr().err
    assert f"First start: indexing the articles in {fake_bot.settings.seeds_dir}" in err
    assert "5/5 files · " in err and "Indexed: added 5" in err and "apt-get install -y apertium apertium-en-es" in err
    ui.run(Namespace(host=None, port=None))
    assert built["first"] is None and "First start" not in capsys.readouterr().err  # the store has its articles
    assert built["served"]["allowed_paths"] == [str(fake_bot.settings.exports_dir)]  # Gradio serves the exports from any data folder


def test_a_first_start_indexes_in_the_background_and_a_question_waits_for_it(settings):
    bot = Assistant(settings.model_copy(update={"answer_bar": 0.0}), embedder=FakeEmbedder(), llm=FakeLLM(), reader=FakeReader())
    assert uploads.FirstIndex.needed(bot)
    hold = threading.Event()
    ingest = bot.ingest
    bot.ingest = lambda paths, progress=None: hold.wait(30) and ingest(paths, progress)  # indexing until the test lets go
    first = uploads.FirstIndex(bot).start()
    h = handlers.ChatHandlers(bot, first_index=first)
    load = h.page_load(None, False, "")
    assert "First start: indexing the articles" in load[8] and "<progress>" in load[8] and load[9].active
    assert load[7]["choices"] == []  # nothing reads the store while it is written
    first.progress = IngestProgress(2, 5, 11, 0.4)
    assert "2 de 5 leídos" in h.indexing_tick("es")[0]
    steps = h.respond(QUESTION, handlers.Session(), "", None, "", "", "")
    shown = next(steps)[0]
    assert shown[0]["content"] == render.render_question(QUESTION) and "qa-streaming" in shown[1]["content"]
    hold.set()
    answered = last(steps)
    assert answered[5].answers[0].citations and first.done.is_set()
    notice, timer, articles = h.indexing_tick("")
    assert "Ready: 5 articles indexed" in notice and not timer.active and len(articles["choices"]) == 5
    assert not uploads.FirstIndex.needed(bot) and h.page_load(None, False, "")[8] == ""


class SlowBot(Assistant):
    """Holds questions containing 'slow' until released, to show one slow answer does not block others."""

    release = threading.Event()

    def stream(self, question, history=None, filters=None):
        if "slow" in question:
            self.release.wait(30)
        yield from super().stream(question, history, filters)


def test_one_slow_answer_does_not_block_another(settings):
    from gradio_client import Client

    bot = SlowBot(settings.model_copy(update={"answer_bar": 0.0, "concurrency": 2}), embedder=FakeEmbedder(), llm=FakeLLM())
    app = ui.build_app(bot)
    port = free_port()
    ui.launch(app, "127.0.0.1", port, bot.settings, block=False)
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
    out = render.render_answer(ans, 0)
    assert out.count('<strong class="qa-answer-span">') == 1
    assert "casi 4 horas”" in out and 'casi <strong class="qa-answer-span">4 horas</strong>.' in out
