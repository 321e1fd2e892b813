"""Follow-ups: each rule's table, the resolution, the model rewrite's check, and real conversations end to end."""

import shutil

import pytest

from qa import Assistant
from qa.answer.conversation import RULES, is_follow_up, past_turns, resolve, rewrite_keeps
from qa.answer.question import parse
from qa.core.settings import PROJECT_ROOT, Settings
from tests.conftest import KHOJALY, SEEDS, make_settings
from tests.fakes import FakeLLM

SETTINGS = Settings(chroma_url=None)
RULE = {r.name: r for r in RULES}
HOSTAGES = "How many people were taken hostage in Khojaly?"
PANELS = "How many solar panels does the Valdoria floating farm have?"
SHIP = "¿Cuántos científicos viajan en el buque Alborán?"


@pytest.mark.parametrize("rule, question, previous, verdict", [
    ("back-reference", "How much did it cost to build?", PANELS, True),
    ("back-reference", "Who financed them?", PANELS, True),
    ("back-reference", "¿Cuál es su presupuesto?", SHIP, True),
    ("back-reference", "¿Dónde está el barco?", SHIP, None),  # "está" is a verb, not the pronoun "esta"
    ("back-reference", "What did el Kremlin say?", HOSTAGES, None),  # only Spanish reads "él", and only with its accent
    ("back-reference", "How many solar panels does the farm have?", HOSTAGES, None),
    ("new-subject", "How long did the trilateral talks in Moscow last?", HOSTAGES, False),
    ("new-subject", "How many were killed in Khojaly?", HOSTAGES, None),
    ("new-subject", "And how many were children?", HOSTAGES, None),
    ("continuation", "And how many were children?", HOSTAGES, True),
    ("continuation", "¿Y cuántas eran mujeres?", SHIP, True),
    ("continuation", "What about the wounded?", HOSTAGES, True),
    ("continuation", "Andorra is where?", HOSTAGES, None),  # a lead word only as a whole word
    ("elided-subject", "How many were women?", HOSTAGES, True),
    ("elided-subject", "¿Cuándo volverá?", SHIP, True),
    ("elided-subject", "How many people were killed in the attack on the town?", HOSTAGES, None),
])
def test_rule_table(rule, question, previous, verdict):
    assert RULE[rule].decide(parse(question), parse(previous), SETTINGS) is verdict


@pytest.mark.parametrize("question, previous, follow, by", [
    ("How much did it cost to build?", PANELS, True, "back-reference"),
    ("How long did the trilateral talks in Moscow last?", PANELS, False, "new-subject"),
    ("¿Y cuándo volverá?", SHIP, True, "continuation"),
    ("How many women were killed?", HOSTAGES, True, "elided-subject"),
    ("What share of Azerbaijan's territory was occupied by the armed forces?", HOSTAGES, False, "new-subject"),
    ("What did the statement of the congress call for?", HOSTAGES, False, "self-contained"),
])
def test_the_first_rule_that_decides_wins(question, previous, follow, by):
    assert is_follow_up(parse(question), parse(previous), SETTINGS) == (follow, by)


def turn(question, answer="…", cited=(), standalone=None):
    user = {"role": "user", "content": question} | ({"standalone": standalone} if standalone else {})
    return [user, {"role": "assistant", "content": answer, "citations": [{"article_id": a} for a in cited]}]


@pytest.mark.parametrize("question, history, standalone", [
    ("And how many were children?", turn(HOSTAGES), "How many were children? (about Khojaly)"),
    ("How much did it cost to build?", turn(PANELS), "How much did it cost to build? (about Valdoria)"),
    ("¿Y cuántas eran mujeres?", turn(SHIP), "¿Cuántas eran mujeres? (sobre Alborán)"),
    # A chain keeps the subject: the previous turn's resolved question carries it.
    ("Who financed it?", turn(PANELS) + turn("How much did it cost?", standalone="How much did it cost? (about Valdoria)"),
     "Who financed it? (about Valdoria)"),
    # No names: the previous question's own words are the subject.
    ("And when?", turn("How many people were killed in the flood?"), "When? (about people killed flood)"),
    ("How long did the trilateral talks in Moscow last?", turn(PANELS), "How long did the trilateral talks in Moscow last?"),
    ("How many people were taken hostage in Khojaly?", [], "How many people were taken hostage in Khojaly?"),
])
def test_resolve(question, history, standalone):
    assert resolve(question, history, SETTINGS).standalone == standalone


def test_the_focus_is_what_the_previous_answer_cited():
    r = resolve("And how many were children?", turn(HOSTAGES, cited=(KHOJALY, KHOJALY)), SETTINGS)
    assert r.follow_up and r.focus == (KHOJALY,) and r.previous == HOSTAGES and r.decided_by == "continuation"
    assert resolve("How long did the talks in Moscow last?", turn(HOSTAGES, cited=(KHOJALY,)), SETTINGS).focus == ()


def test_past_turns_pairs_questions_with_answers():
    history = [{"role": "user", "content": "Q1"}, {"role": "user", "content": "Q2", "standalone": "Q2 resolved"},
               {"role": "assistant", "content": "A2", "citations": [{"article_id": "x"}]}, {"role": "assistant", "content": "stray"}]
    assert [(t.question, t.answer, t.article_ids) for t in past_turns(history)] == [("Q1", "", ()), ("Q2 resolved", "A2", ("x",))]


@pytest.mark.parametrize("rewrite, kept", [
    ("How many of the people taken hostage in Khojaly were children?", True),
    ("How many children were taken hostage in Khojaly?", True),
    ("How many people were taken hostage in Khojaly?", False),  # lost the question's own word "children"
    ("How many children were taken hostage in Shusha?", False),  # names a place nobody mentioned
])
def test_a_model_rewrite_is_checked(rewrite, kept):
    q = parse("And how many were children?")
    assert rewrite_keeps(q, rewrite, past_turns(turn(HOSTAGES, "1275 people were taken hostage.")), SETTINGS) is kept
    r = resolve("And how many were children?", turn(HOSTAGES, "1275 people were taken hostage."), SETTINGS, FakeLLM(condensed=rewrite))
    assert r.standalone == (rewrite if kept else "How many were children? (about Khojaly)")
    assert r.decided_by == "continuation; model rewrite" + ("" if kept else " rejected")


# --- real conversations, real models -------------------------------------------------------------


@pytest.fixture(scope="module")
def talk_bot(tmp_path_factory) -> Assistant:
    folder = tmp_path_factory.mktemp("talk")
    articles = folder / "articles"
    articles.mkdir()
    for f in [*SEEDS.glob("*.txt"), *(PROJECT_ROOT / "tests" / "data" / "conversation").glob("*.md")]:
        shutil.copy(f, articles / f.name)
    bot = Assistant(make_settings(folder / "data").model_copy(update={"seeds_dir": articles}))
    bot.articles()
    return bot


def converse(bot: Assistant, questions: list[str]):
    history, answers = [], []
    for q in questions:
        answers.append(bot.ask(q, history=history))
        history += answers[-1].messages()
    return answers


@pytest.mark.parametrize("questions, expected, article", [
    ([HOSTAGES, "And how many were children?"], "63 children", KHOJALY),
    ([PANELS, "How much did it cost to build?"], "74 million dollars", "valdoria_solar_en"),
    ([PANELS, "How much did it cost to build?", "How many homes can it power?"], "38,000 homes", "valdoria_solar_en"),
    ([SHIP, "¿Y cuántas eran mujeres?"], "27 mujeres", "buque_oceanografico_es"),
    ([SHIP, "¿Y cuántas eran mujeres?", "¿Y cuándo volverá?"], "marzo de 2027", "buque_oceanografico_es"),
    ([HOSTAGES, "¿Y cuántos eran niños?"], "63 children", KHOJALY),
])
def test_follow_ups_answer_from_the_conversation(talk_bot, questions, expected, article):
    *_, last = converse(talk_bot, questions)
    assert last.grade != "refused" and expected in last.citations[0].quote and last.citations[0].article_id == article
    assert last.trace[0].step == "conversation" and last.trace[0].verdict == "follow-up"
    assert last.standalone_question != last.question


def test_a_new_topic_drops_the_old_one(talk_bot):
    first, second = converse(talk_bot, [PANELS, "How long did the trilateral talks in Moscow last?"])
    assert second.standalone_question == second.question and second.trace[0].verdict == "stands alone"
    assert second.citations and all(c.article_id != "valdoria_solar_en" for c in second.citations)
