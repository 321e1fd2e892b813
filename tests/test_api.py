"""The public API contract of DESIGN.md, on the embedded default (real model)."""

import json
import subprocess
import sys

import pytest

from qa import Answer, Assistant, Citation
from qa.errors import InvalidQuestion
from tests.conftest import KHOJALY, SPANISH

pytestmark = pytest.mark.model


def test_khojaly_hostages(real_bot):
    ans = real_bot.ask("How many people were taken hostage in Khojaly?", history=None)
    assert isinstance(ans, Answer) and not ans.refused
    assert "1275" in ans.text
    assert ans.citations and all(isinstance(c, Citation) for c in ans.citations)
    assert {c.article_id for c in ans.citations} == {KHOJALY}
    assert [c.n for c in ans.citations] == list(range(1, len(ans.citations) + 1))
    for c in ans.citations:
        assert f"[{c.n}]" in ans.text and c.supported is True
        assert real_bot.article_text(c.article_id)[c.start : c.end] == c.quote
        assert (c.title, c.date, c.source, c.lang) == (c.title, "2024-02-28", "Azernews", "en")
    assert ans.passages and ans.timings.total > 0


def test_spanish_question_answered_in_spanish_from_english_article(real_bot):
    ans = real_bot.ask("¿Cuántas personas fueron tomadas como rehenes en Khojaly?")
    assert not ans.refused and "1275" in ans.text and ans.lang == "es"
    assert ans.text.startswith("Según") and {c.article_id for c in ans.citations} == {KHOJALY}


def test_english_question_about_spanish_article(real_bot):
    ans = real_bot.ask("How long did the trilateral talks in the Kremlin last?")
    assert not ans.refused and ("4 horas" in ans.text or "cuatro horas" in ans.text)
    assert {c.article_id for c in ans.citations} == {SPANISH}


def test_conflicting_dates_cite_both_articles(real_bot):
    ans = real_bot.ask("When was the 2020 ceasefire statement signed?")
    cited = {c.article_id for c in ans.citations}
    assert {"000_fbefe321117536a3", SPANISH} <= cited
    assert "differ" in ans.text


def test_a_question_asking_no_date_or_count_gets_no_conflict_note(real_bot):
    """The two reports differ on the statement's date, which "what role" does not ask about."""
    ans = real_bot.ask("What role did Russia play in ending the 2020 war between Armenia and Azerbaijan?")
    assert not ans.refused and "differ" not in ans.text and len({c.article_id for c in ans.citations}) == 1


@pytest.mark.parametrize("question", [
    "On what date was the trilateral statement on Karabakh signed?",
    "¿En qué fecha se firmó la declaración trilateral sobre el alto el fuego en Karabaj?",
])
def test_the_other_report_is_found_beyond_the_answer_passages(real_bot, question):
    """The Spanish 9 November report ranks low for the English question; the sentence search finds it."""
    ans = real_bot.ask(question)
    assert {c.article_id for c in ans.citations} == {"000_fbefe321117536a3", SPANISH}
    assert "9 de noviembre" in ans.text and ("November 10" in ans.text or "10 de noviembre" in ans.text)
    assert "differ" in ans.text or "difieren" in ans.text
    assert all(c.supported and ans.text.count(f"[{c.n}]") for c in ans.citations)


def test_unanswerable_is_refused_without_citations(real_bot):
    for q in ("Who won the 2022 football World Cup?", "¿Cuál es la capital de Francia?"):
        ans = real_bot.ask(q)
        assert ans.refused and ans.citations == []
    assert real_bot.ask("¿Cuál es la capital de Francia?").text.startswith("Los artículos")


def test_follow_up_uses_history(real_bot):
    history = [
        {"role": "user", "content": "What happened in Khojaly according to the Peruvian Congress statement?"},
        {"role": "assistant", "content": "..."},
    ]
    ans = real_bot.ask("And how many were taken hostage?", history=history)
    assert "1275" in ans.text and "Khojaly" in ans.standalone_question


@pytest.mark.parametrize("follow_up", ["And when did that happen?", "¿Y cuándo ocurrió?"])
def test_a_follow_up_asks_its_own_kind_of_answer(real_bot, follow_up):
    """Prefixed with a 'how many' question, a 'when' follow-up still wants a date, and only the follow-up is answered."""
    history = [{"role": "user", "content": "How many people were taken hostage in Khojaly?"}, {"role": "assistant", "content": "1275."}]
    ans = real_bot.ask(follow_up, history=history)
    assert "1992" in ans.text and "1275" not in ans.text
    assert {c.article_id for c in ans.citations} == {KHOJALY}


@pytest.mark.parametrize("question", [
    "Why was Azerbaijan expelled from the Non-Aligned Movement?",
    "Why did the Peruvian Congress condemn Azerbaijan in its statement on Khojaly?",
    "¿Por qué se retiró Rusia como mediadora del alto el fuego de Nagorno-Karabaj?",
])
def test_a_why_question_with_a_false_premise_is_refused(real_bot, question):
    ans = real_bot.ask(question)
    assert ans.refused and ans.citations == []


@pytest.mark.parametrize("question, expected", [
    ("Why did the fighting escalate, according to the AFP analyst Tatoul Hakobyan?", "blockage in the peace talks"),
    ("¿Por qué agradeció Putin a sus colegas?", "mediador"),
    ("¿Por qué llamó Antony Blinken al presidente de Azerbaiyán, Ilham Aliyev?", "end to hostilities"),
])
def test_a_why_question_whose_premise_holds_is_answered(real_bot, question, expected):
    ans = real_bot.ask(question)
    assert not ans.refused and expected in ans.text


def test_a_follow_up_is_answered_for_what_it_asks(real_bot):
    history = [{"role": "user", "content": "What share of Azerbaijan's territory did the Armenian Armed Forces occupy, according to Trend?"},
               {"role": "assistant", "content": "20 percent."}]
    ans = real_bot.ask("When did that conflict begin?", history=history)
    assert "1988" in ans.text and {c.article_id for c in ans.citations} == {"000_fbefe321117536a3"}


def test_a_follow_up_naming_someone_new_is_about_them(real_bot):
    """The condensed question still holds the previous one on Blinken; the Secretary-General is whom this one asks about."""
    history = [{"role": "user", "content": "Whom did Antony Blinken call to demand an end to hostilities towards Armenia?"},
               {"role": "assistant", "content": "Ilham Aliyev."}]
    ans = real_bot.ask("And what did the UN Secretary-General ask of both countries?", history=history)
    assert "maximum containment" in ans.text and "Blinken" not in ans.text


def test_a_when_question_answered_only_by_an_earlier_or_unrelated_year_is_refused(real_bot):
    assert real_bot.ask("When will Armenia and Azerbaijan sign a peace agreement?").refused
    assert real_bot.ask("When did Ricardo Sanchez Serra visit the liberated territories?").refused


def test_stream_then_answer(real_bot):
    events = list(real_bot.stream("How many people were taken hostage in Khojaly?"))
    assert isinstance(events[-1], Answer)
    assert "".join(e for e in events[:-1]).strip() == events[-1].text


def test_bad_questions(real_bot):
    for q in ("", "   \n", "\x00\x07"):
        with pytest.raises(InvalidQuestion):
            real_bot.ask(q)
    with pytest.raises(InvalidQuestion, match="too long"):
        real_bot.ask("x" * 100_000)


def test_cli_ask_json(tmp_path):
    env_data = tmp_path / "data"
    out = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ask", "--json", "How many people were taken hostage in Khojaly?"],
        capture_output=True, text=True, timeout=300, env={**__import__("os").environ, "QA_DATA_DIR": str(env_data)},
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert "1275" in data["text"] and data["citations"][0]["article_id"] == KHOJALY
    assert {"text", "citations", "refused", "passages", "timings"} <= data.keys()
    empty = subprocess.run([sys.executable, "-m", "qa.cli", "ask", " "], capture_output=True, text=True, timeout=300,
                           env={**__import__("os").environ, "QA_DATA_DIR": str(env_data)})
    assert empty.returncode == 2 and "empty" in empty.stderr


def test_assistant_default_constructor_seeds(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "d"))
    assert len(Assistant().articles()) == 5
