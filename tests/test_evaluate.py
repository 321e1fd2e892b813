"""The evaluator end to end on a tiny gold file with the hashing embedder, the gold file's own sanity, and the CI gate."""

import argparse
import contextlib
import io
import json
from collections import Counter
from pathlib import Path

import pytest

from qa import Assistant

from qa_eval import evaluate, metrics, report
from qa_eval.paths import paths
from qa.ingest.articles import parse_file
from qa.apps.cli import build_parser
from qa.core.errors import QAError
from qa.core.types import Answer, AnswerSentence, Citation
from tests.conftest import KHOJALY, SEEDS, SPANISH, make_settings
from tests.fakes import FakeEmbedder

GOLD = paths().eval_dir / "questions.jsonl"
TINY = [
    {"id": "hostages", "question": "How many people were taken hostage in Khojaly?", "lang": "en", "type": "number",
     "answerable": True, "sources": [KHOJALY], "facts": [["1275", "1,275"]]},
    {"id": "hostages-fu", "question": "And how many of them were children?", "lang": "en", "type": "followup",
     "follow_up_of": "hostages", "answerable": True, "sources": [KHOJALY], "facts": [["63"]]},
    {"id": "population", "question": "What is the population of Khojaly today?", "lang": "en", "type": "unanswerable",
     "answerable": False, "sources": [], "facts": []},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def eval_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    evaluate.configure(parser)
    return parser.parse_args(["--quiet", *argv])


class Recorder:
    """The assistant, with every ask's history kept, to see what a follow-up was given."""

    def __init__(self, bot: Assistant) -> None:
        self._bot = bot
        self.histories: dict[str, list | None] = {}

    def ask(self, question, history=None, filters=None):
        self.histories[question] = history
        return self._bot.ask(question, history=history, filters=filters)

    def __getattr__(self, name):
        return getattr(self._bot, name)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One evaluation of the 3-question file; answer_bar 0 makes the bot answer everything (so it answers the unanswerable)."""
    tmp = tmp_path_factory.mktemp("eval")
    dataset = write_jsonl(tmp / "q.jsonl", TINY)
    thresholds = tmp / "thresholds.toml"
    thresholds.write_text("[gold.min.overall]\nfact_recall = 1.01\nhit_at_5 = 0.0\n[gold.max.overall]\nlatency_p95 = 600\n")
    bot = Recorder(Assistant(make_settings(tmp / "data", answer_bar=0.0), embedder=FakeEmbedder()))
    out = tmp / "out"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = evaluate.execute(eval_args("--dataset", str(dataset), "--out", str(out), "--check", "--thresholds", str(thresholds)), bot)
    return code, out, bot, err.getvalue()


def test_report_files_are_written(tiny_run):
    _, out, _, _ = tiny_run
    data = json.loads((out / "report.json").read_text())
    assert [q["id"] for q in data["questions"]] == ["hostages", "hostages-fu", "population"]
    assert set(metrics.METRICS) <= set(data["metrics"]["overall"])
    assert {"overall", "lang.en", "type.number", "type.followup", "type.unanswerable"} <= set(data["metrics"])
    assert data["metrics"]["type.unanswerable"]["hit_at_1"] is None  # retrieval is scored on answerable questions only
    unanswerable = data["questions"][2]
    assert unanswerable["failed"] == (not unanswerable["refused"])
    assert data["metrics"]["overall"]["refusal_accuracy"] == float(unanswerable["refused"])
    assert (out / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text()
    assert "## Headline" in md and "## By question type" in md
    marks = [line[2] for line in md.splitlines() if line.startswith(("| ✗", "| ✓"))]
    assert len(marks) == 3 and marks == sorted(marks, key=lambda c: c == "✓")  # failures first
    assert marks.count("✗") == sum(q["failed"] for q in data["questions"])


def test_follow_up_is_asked_with_the_previous_turn(tiny_run):
    _, out, bot, _ = tiny_run
    first = json.loads((out / "report.json").read_text())["questions"][0]
    assert bot.histories[TINY[0]["question"]] is None
    user, assistant = bot.histories[TINY[1]["question"]]
    assert (user["role"], user["content"]) == ("user", TINY[0]["question"])
    assert (assistant["role"], assistant["content"]) == ("assistant", first["answer"])
    assert [c["article_id"] for c in assistant["citations"]] == first["cited_articles"]  # the focus of the follow-up


def test_check_fails_on_a_threshold_above_the_achieved_value(tiny_run, capsys):
    code, out, _, err = tiny_run
    assert code == 1 and "check failed: overall.fact_recall" in err and "hit_at_5" not in err
    values = {f"{g}.{k}": v for g, d in json.loads((out / "report.json").read_text())["metrics"].items() for k, v in d.items()}
    achieved, p50 = values["overall.hit_at_5"], values["lang.en.latency_p50"]
    at_value = out / "ok.toml"
    at_value.write_text(f"[gold.min.overall]\nhit_at_5 = {achieved}\n[gold.max.lang.en]\nlatency_p50 = {p50}\n")
    assert report.check(values, at_value, "gold") == 0
    above = out / "bad.toml"
    above.write_text(f"[gold.min.overall]\nhit_at_5 = {achieved + 0.01}\n[gold.max.lang.en]\nlatency_p50 = {p50 / 2}\n")
    assert report.check(values, above, "gold") == 1
    err = capsys.readouterr().err
    assert "overall.hit_at_5" in err and "lang.en.latency_p50" in err


def test_check_without_the_section_is_an_error(tmp_path):
    (tmp_path / "t.toml").write_text("[xquad.min]\n")
    with pytest.raises(QAError, match=r"\[gold\]"):
        report.check({}, tmp_path / "t.toml", "gold")
    with pytest.raises(QAError, match="no thresholds file"):
        report.check({}, tmp_path / "missing.toml", "gold")


@pytest.mark.parametrize("change, message", [
    ({"id": "hostages"}, "duplicate id"),
    ({"follow_up_of": "later"}, "must name an earlier question"),
    ({"facts": []}, "needs sources and non-empty fact groups"),
    ({"lang": "fr"}, "lang must be"),
    ({"type": "trivia"}, "unknown type"),
])
def test_bad_gold_lines_are_reported_with_their_line(tmp_path, change, message):
    rows = [TINY[0], TINY[0] | {"id": "other"} | change]
    with pytest.raises(QAError, match=rf":2: .*{message}"):
        evaluate.load_questions(write_jsonl(tmp_path / "q.jsonl", rows))


def test_cli_wires_the_eval_options():
    args = build_parser().parse_args(["eval", "--check", "--xquad", "--sample", "5", "--out", "x"])
    assert (args.check, args.xquad, args.sample, args.full, args.out) == (True, True, 5, False, Path("x"))


# --- the gold set itself ----------------------------------------------------------------------------------


def test_gold_set_covers_what_the_issue_asks():
    qs = evaluate.load_questions(GOLD)
    assert len(qs) >= 70
    assert {p.stem for p in SEEDS.glob("*.txt")} <= {s for q in qs for s in q.sources}
    assert Counter(q.lang for q in qs).keys() == {"en", "es"}
    assert sum(not q.answerable for q in qs) >= 15
    assert {"false_premise", "unanswerable", "followup", "multi", "conflict", "crosslingual", "number", "date"} <= {q.type for q in qs}
    cross = [q for q in qs if q.type == "crosslingual"]
    assert any(q.lang == "en" and SPANISH in q.sources for q in cross) and any(q.lang == "es" and SPANISH not in q.sources for q in cross)
    assert any(len(q.sources) >= 2 for q in qs if q.type == "multi")
    ceasefire = [q for q in qs if q.type == "conflict"]
    assert ceasefire and all(len(q.facts) == 2 for q in ceasefire)


def test_every_gold_fact_is_in_one_of_its_source_articles():
    """A fact no source states would blame the bot for the gold file's mistake."""
    texts = {p.stem: parse_file(p, 10_000_000).text for p in SEEDS.glob("*.txt")}
    for q in evaluate.load_questions(GOLD):
        for group in q.facts:
            assert any(metrics.fact_found(texts[s], group) for s in q.sources), (q.id, group)


@pytest.mark.model
def test_gold_set_meets_the_committed_thresholds(real_bot, tmp_path):
    """The CI gate: `qa eval --check` on the embedded default."""
    assert evaluate.execute(eval_args("--check", "--out", str(tmp_path)), real_bot) == 0


def test_a_fact_only_in_the_attribution_title_is_not_found():
    q = evaluate.GoldQuestion(id="who", question="Who took part in the talks?", lang="en", type="fact", answerable=True,
                              sources=("002",), facts=(("Aliyev",),), follow_up_of=None, note=None)
    quote = "The talks were held behind closed doors."
    cite = Citation(n=1, article_id="002", title="Talks between Putin, Aliyev and Pashinyan", date=None, source=None, lang="en",
                    quote=quote, start=0, end=len(quote), supported=True)
    answer = Answer(text=f"According to “Talks between Putin, Aliyev and Pashinyan”: {quote} [1]", citations=[cite], refused=False,
                    passages=[], sentences=[AnswerSentence(quote, (1,), True)])
    record = evaluate.score(q, answer, lambda _: quote)
    assert record.missing_facts == ["Aliyev"] and record.score.fact_recall == 0.0
    said = Answer(text=f"{quote} Aliyev attended. [1]", citations=[cite], refused=False, passages=[],
                  sentences=[AnswerSentence("Aliyev attended.", (1,), True)])
    assert evaluate.score(q, said, lambda _: quote).score.fact_recall == 1.0


def test_without_an_evaluation_folder_qa_eval_says_what_to_set(monkeypatch, capsys):
    """An installed wheel has no eval/ beside it: the command names the setting instead of failing on a missing file."""
    from qa.apps.cli import main

    monkeypatch.setenv("QA_EVAL_DIR", "")
    assert main(["eval"]) == 2
    assert "QA_EVAL_DIR" in capsys.readouterr().err
