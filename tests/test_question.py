"""What a question asks for, read from the per-language word files."""

import pytest

from qa.answer.question import ASKS, about_collection, after_anchor, language_words, parse, split_question, timeline_topic


@pytest.mark.parametrize("question, lang, asks", [
    ("How many people were taken hostage in Khojaly?", "en", "count"),
    ("How much did the Valdoria solar farm cost to build?", "en", "amount"),
    ("How long did construction take?", "en", "duration"),
    ("Who financed the solar farm?", "en", "person"),
    ("When did the killings take place?", "en", "time"),
    ("In what country is Normandy located?", "en", "place"),
    ("Why did the fighting escalate?", "en", "reason"),
    ("How did Human Rights Watch describe it?", "en", "manner"),
    ("What is the capital of France?", "en", "entity"),
    ("Tell me about the talks.", "en", "open"),
    ("What happened in Khojaly?", "en", "open"),
    ("¿Qué pasó en Port Ellery?", "es", "open"),
    ("Summarize the talks.", "en", "other"),
    ("¿Cuántos hogares abastecerá la planta solar?", "es", "count"),
    ("¿Cuánto costó la planta?", "es", "amount"),
    ("¿Cuánto tiempo duró la reunión?", "es", "duration"),
    ("¿Quién firmó la declaración?", "es", "person"),
    ("¿Cuándo se firmó la declaración?", "es", "time"),
    ("¿Dónde se reunieron?", "es", "place"),
    ("¿Por qué se declaró la huelga?", "es", "reason"),
    ("¿Qué dijo el portavoz?", "es", "entity"),
])
def test_what_a_question_asks_for(question, lang, asks):
    q = parse(question)
    assert (q.lang, q.asks) == (lang, asks)


@pytest.mark.parametrize("question, whole", [
    ("What is this about?", True),
    ("what are these articles about", True),
    ("¿De qué tratan los artículos?", True),
    ("¿De qué trata esto?", True),
    ("What is this about in Khojaly?", False),
    ("What is the ceasefire about?", False),
    ("What happened?", False),
])
def test_a_question_about_the_whole_collection(question, whole):
    assert about_collection(question) is whole


def test_names_and_terms_are_read_once():
    q = parse("How many people were taken hostage in Khojaly, Khojaly?")
    assert q.names == {"khojaly"} and q.terms == ("people", "taken", "hostage", "khojaly")


def test_every_language_file_covers_every_answer_type():
    for lang in ("en", "es"):
        words = language_words(lang)
        assert set(words.asks) == set(ASKS) - {"other"}
        assert {"negations", "currency", "percent", "duration", "numbers", "weekdays", "causal"} <= set(words.sentence)


def test_two_questions_in_one_are_split_but_a_prefixed_follow_up_is_not():
    assert split_question("How many died in the war, and how many were taken hostage?") == [
        "How many died in the war?", "how many were taken hostage?"]
    assert split_question("¿Cuántos rehenes hubo y cuándo ocurrió?") == ["¿Cuántos rehenes hubo?", "¿cuándo ocurrió?"]
    prefixed = "How many were taken hostage in Khojaly? And when did that happen?"
    assert split_question(prefixed) == [prefixed]
    assert split_question("What did Putin say and what did Aliyev answer?") == ["What did Putin say?", "what did Aliyev answer?"]



@pytest.mark.parametrize("question, topic", [
    ("Give me a timeline of the Khojaly events", "the Khojaly events"),
    ("Timeline for the Riverton flood?", "the Riverton flood"),
    ("¿Me das la cronología de la huelga de autobuses?", "la huelga de autobuses"),
    ("Cronología del conflicto", "conflicto"),
    ("Línea de tiempo de la huelga", "la huelga"),
    ("When did the flood begin?", None),
    ("Timeline of", None),  # nothing to make it of: an ordinary question
    ("Give me a timeline of it", None),  # only the conversation says what "it" is: read as a follow-up
])
def test_what_a_question_asks_the_timeline_of(question, topic):
    assert timeline_topic(question) == topic


@pytest.mark.parametrize("question, anchor", [
    ("What happened after the Moscow talks?", "the Moscow talks"),
    ("What has happened since the ceasefire?", "the ceasefire"),
    ("¿Qué pasó después de la reunión de Moscú?", "la reunión de Moscú"),
    ("¿Qué ha pasado desde que empezó la huelga?", "empezó la huelga"),  # the longest lead at one place
    ("¿Qué ocurrió después del temporal?", "temporal"),
    ("What happened in Khojaly?", None),
    ("What happened after?", None),  # nothing to follow: an ordinary question
    ("What happened after that?", None),  # "that" is the conversation's: read as a follow-up
    ("¿Qué pasó después de eso?", None),
])
def test_what_a_question_asks_what_happened_after(question, anchor):
    assert after_anchor(question) == anchor
