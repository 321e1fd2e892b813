"""The public API contract of DESIGN.md, on the embedded default (real model)."""

import json
import subprocess
import sys

import pytest

from qa import Answer, Assistant, Citation
from qa.core.errors import InvalidQuestion
from tests.conftest import KHOJALY

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
    # graded, with the reader's confidence, the answering words marked and every step in the trace
    assert ans.grade == "answer" and ans.confidence is not None and ans.confidence >= real_bot.settings.answer_bar
    c = ans.citations[0]
    assert real_bot.article_text(c.article_id)[c.answer_start : c.answer_end] == "1275"
    assert [t.step for t in ans.trace][:4] == ["conversation", "question", "evidence", "reader"] and ans.trace[-1].step == "verify"
    assert ans.refused_by is None


def test_spanish_question_answered_in_spanish_from_english_article(real_bot):
    """Answered outright or, under the answer bar, as a partial answer: in Spanish either way, quoting the count."""
    ans = real_bot.ask("¿Cuántas personas fueron tomadas como rehenes en Khojaly?")
    assert not ans.refused and ans.grade in ("answer", "partial") and "1275" in ans.text and ans.lang == "es"
    assert ans.text.startswith(("Según", "Los artículos no dicen exactamente esto")) and {c.article_id for c in ans.citations} == {KHOJALY}


def test_a_question_asking_no_date_or_count_gets_no_conflict_note(real_bot):
    """The two reports differ on the statement's date, which "what role" does not ask about."""
    ans = real_bot.ask("What role did Russia play in ending the 2020 war between Armenia and Azerbaijan?")
    assert not ans.refused and "differ" not in ans.text and len({c.article_id for c in ans.citations}) == 1


def test_unanswerable_is_refused_without_citations(real_bot):
    for q in ("Who won the 2022 football World Cup?", "¿Cuál es la capital de Francia?"):
        ans = real_bot.ask(q)
        assert ans.refused and ans.citations == [] and ans.grade == "refused" and ans.refused_by is not None
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
        [sys.executable, "-m", "qa.apps.cli", "ask", "--json", "How many people were taken hostage in Khojaly?"],
        capture_output=True, text=True, timeout=300, env={**__import__("os").environ, "QA_DATA_DIR": str(env_data)},
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert "1275" in data["text"] and data["citations"][0]["article_id"] == KHOJALY
    assert {"text", "citations", "refused", "passages", "timings"} <= data.keys()
    empty = subprocess.run([sys.executable, "-m", "qa.apps.cli", "ask", " "], capture_output=True, text=True, timeout=300,
                           env={**__import__("os").environ, "QA_DATA_DIR": str(env_data)})
    assert empty.returncode == 2 and "empty" in empty.stderr


def test_assistant_default_constructor_seeds(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "d"))
    assert len(Assistant().articles()) == 5


def test_cli_ingest_exits_2_when_an_input_is_rejected(tmp_path, monkeypatch, capsys):
    from qa.apps.cli import main

    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QA_TRANSLATE", "false")
    (tmp_path / "page.png").write_bytes(b"\x89PNG")
    (tmp_path / "note.txt").write_text("The Lisbon council approved 42 new electric trams on Monday.\n")
    assert main(["ingest", str(tmp_path / "page.png"), "http://127.0.0.1:9/story"]) == 2
    out = capsys.readouterr().out
    assert "rejected 2" in out and "unsupported file type '.png'" in out and "non-public address" in out
    assert main(["ingest", str(tmp_path / "page.png"), str(tmp_path / "note.txt")]) == 2  # the rest is still stored
    out, err = capsys.readouterr()
    assert "added 1" in out and "rejected 1" in out and "1 of the inputs rejected" in err
    assert main(["ingest", str(tmp_path / "note.txt")]) == 0


@pytest.mark.parametrize("argv, message", [
    (["--date-from", "2025-13-01"], "date_from '2025-13-01' is written YYYY-MM-DD but no such day exists"),
    (["--date-from", "2025-02-30"], "date_from '2025-02-30' is written YYYY-MM-DD but no such day exists"),
    (["--date-from", "30/02/2025"], "date_from '30/02/2025' is not a date: use YYYY-MM-DD"),
    (["--article", "nope"], "unknown article id 'nope'; the articles are: 000_"),
])
def test_cli_ask_exits_2_on_bad_filters(real_bot, monkeypatch, capsys, argv, message):
    from qa.apps.cli import main

    monkeypatch.setenv("QA_DATA_DIR", str(real_bot.settings.data_dir))  # the store the real bot already indexed
    assert main(["ask", *argv, "How many people were taken hostage in Khojaly?"]) == 2
    err = capsys.readouterr().err
    assert message in err and (argv[0] != "--article" or KHOJALY in err)


def test_cli_timeline(real_bot, monkeypatch, capsys):
    from qa.apps.cli import main

    monkeypatch.setenv("QA_DATA_DIR", str(real_bot.settings.data_dir))
    assert main(["timeline", "the Khojaly genocide", "--lang", "en", "--to", "2020-01-01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Timeline of the Khojaly genocide:") and "- 1992-02-26: " in out and f"[1] {KHOJALY}" in out
    assert "- 2013: " in out and "- 2023: " not in out  # after --to
    assert main(["timeline", "the Khojaly genocide", "--from", "1992"]) == 2
    assert "not a date" in capsys.readouterr().err
