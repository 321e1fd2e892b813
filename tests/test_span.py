"""The answering words inside a quoted sentence."""

import pytest

from qa.answer.question import parse
from qa.answer.span import answer_span


@pytest.mark.parametrize("question, sentence, words", [
    ("How many people were taken hostage in Khojaly?", "1275 people were taken hostage, and the fate of 150 people remains unknown.", "1275"),
    ("The fate of how many people remains unknown?", "1275 people were taken hostage, and the fate of 150 people remains unknown.", "150"),
    ("How much did the solar farm cost to build?", "Construction took 19 months and cost 74 million dollars.", "74 million dollars"),
    ("How long did construction take?", "Construction took 19 months and cost 74 million dollars.", "19 months"),
    ("¿Cuántos hogares abastecerá la planta?", "La planta abastecerá a unos 38.000 hogares.", "38.000"),
    ("When did the killings take place?", "The Khojaly killings took place on February 26, 1992, in the town.", "February 26, 1992"),
    ("¿Cuándo se firmó?", "Se firmó el 10 de noviembre de 2020 en Moscú.", "10 de noviembre de 2020"),
    ("Who financed the farm?", "It was financed by a loan from the Inter-American Development Bank.", "Inter-American Development Bank"),
    ("In what country is Normandy located?", "The Normans gave their name to Normandy, a region in France.", "France"),
])
def test_the_span_of_the_asked_type(question, sentence, words):
    span = answer_span(parse(question), sentence)
    assert span is not None and sentence[span.start:span.end] == words


@pytest.mark.parametrize("question, sentence", [
    ("Why did the fighting escalate?", "The escalation followed a blockage in the talks."),
    ("How many people were taken hostage?", "Many people were taken hostage."),
    ("Who signed it?", "it was signed in the city."),
])
def test_no_span_when_none_of_the_type_is_there_or_none_is_asked(question, sentence):
    assert answer_span(parse(question), sentence) is None
