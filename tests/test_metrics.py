"""The evaluation's scores on hand-made cases whose right value is worked out by hand."""

import pytest

from qa_eval import metrics as m


def score(**kw) -> m.QuestionScore:
    base = dict(answerable=True, refused=False, rank=1, citation_precision=1.0, citation_recall=1.0, fact_recall=1.0,
                sentences=1, supported=1, shown=1, strict_ok=1, quotes=1, quotes_exact=1, latency=1.0)
    return m.QuestionScore(**(base | kw))


# --- SQuAD -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("The  Quick, brown fox!", "quick brown fox"),
    ("An apple a day", "apple day"),
    ("Theatre", "theatre"),  # 'the' only as a whole word
    ("El Niño, ¿no?", "el niño ¿no"),  # official SQuAD: English articles and ASCII punctuation only
])
def test_squad_normalisation(text, expected):
    assert m.normalize_answer(text) == expected


def test_exact_match_and_f1():
    assert m.exact_match("the Denver Broncos", "Denver Broncos!") == 1.0
    assert m.exact_match("Denver Broncos won", "Denver Broncos") == 0.0
    # 2 shared tokens: precision 2/3, recall 1 -> F1 0.8
    assert m.f1("Denver Broncos won", "Denver Broncos") == pytest.approx(0.8)
    # repeated tokens are counted with multiplicity: 'y y' shared -> P = R = 2/3
    assert m.f1("x y y", "y y z") == pytest.approx(2 / 3)
    assert m.f1("nothing shared", "308") == 0.0
    assert m.f1("", "308") == 0.0


def test_squad_scores_take_the_best_gold():
    assert m.squad_scores("308", ["308 points", "308"]) == (1.0, 1.0)
    em, f1 = m.squad_scores("gave up 308 points", ["308", "three hundred"])
    assert em == 0.0 and f1 == pytest.approx(2 * (1 / 4) * 1 / (1 / 4 + 1))
    with pytest.raises(ValueError):
        m.squad_scores("x", [])


def test_contains_answer_is_whole_words():
    assert m.contains_answer("The defense gave up just 308 points.", ["308"])
    assert not m.contains_answer("It gave up 1308 points.", ["308"])
    assert m.contains_answer("Won by the Denver Broncos.", ["Denver Broncos", "Broncos"])
    assert not m.contains_answer("anything", ["the"])  # a gold that normalises to nothing never matches


# --- retrieval ---------------------------------------------------------------------------------------------


def test_ranking_and_rank_metrics():
    ranked = m.article_ranking(["a", "a", "b", "a", "c"])
    assert ranked == ["a", "b", "c"]
    assert m.first_relevant_rank(ranked, {"c", "x"}) == 3
    assert m.first_relevant_rank(ranked, {"x"}) is None
    assert (m.hit_at(3, 1), m.hit_at(3, 5), m.hit_at(None, 5)) == (False, True, False)
    assert (m.reciprocal_rank(4), m.reciprocal_rank(None)) == (0.25, 0.0)


def test_mrr_and_hits_over_questions():
    got = m.summarize([score(rank=1), score(rank=2), score(rank=None), score(answerable=False, refused=True, rank=None)])
    assert got["mrr"] == pytest.approx((1 + 0.5 + 0) / 3)  # the unanswerable question is not counted
    assert got["hit_at_1"] == pytest.approx(1 / 3)
    assert got["hit_at_5"] == pytest.approx(2 / 3)


# --- facts and citations -------------------------------------------------------------------------------


def test_facts_match_variants_whole_words_accents_and_separators():
    assert m.fact_found("1,275 people were taken hostage", ["1275"])
    assert m.fact_found("1275 people", ["1.275"])
    assert m.fact_found("sabotage in the Dashkesán direction", ["Dashkesan"])
    assert m.fact_found("Armenia’s PM", ["Armenia's PM"])
    assert not m.fact_found("In 1949 it began", ["49"])
    assert not m.fact_found("anything", ["", " "])
    assert m.fact_recall("Putin and Aliyev met", [["Putin"], ["Aliyev"], ["Pashinyan", "Pashinian"]]) == pytest.approx(2 / 3)
    assert m.fact_recall("text", []) is None


def test_citation_precision_and_recall():
    assert m.citation_precision({"A", "B"}, {"A"}) == 0.5
    assert m.citation_recall({"A"}, {"A", "B"}) == 0.5
    assert m.citation_precision(["A", "A"], {"A"}) == 1.0
    assert m.citation_precision(set(), {"A"}) is None
    assert m.citation_recall({"A"}, set()) is None


# --- strict grounding ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("1,275 people", {"1275"}),
    ("6.500 muertos", {"6500"}),
    ("2,5 km and 2.50 km", {"2.5"}),
    ("09-06-2021", {"9", "6", "2021"}),
    ("on Nov. 10, 2020.", {"10", "2020"}),
    ("November 26th, the 32nd", {"26", "32"}),
    ("13.09.2022", {"13", "9", "2022"}),
    ("no digits here", set()),
])
def test_numbers_in(text, expected):
    assert m.numbers_in(text) == expected


def test_strict_check_needs_every_number_in_the_cited_text():
    cited = ["1,275 people were taken hostage, and the fate of 150 people remains unknown."]
    assert m.strict_grounded("1275 people were taken hostage.", cited)
    assert m.unsupported_numbers("1276 people were taken hostage by 150 men.", cited) == {"1276"}
    assert not m.strict_grounded("1276 people were taken hostage.", cited)
    assert m.strict_grounded("The meeting was on November 26th.", ["On November 26, they met."])
    assert m.strict_grounded("A sentence without numbers.", cited)
    assert not m.strict_grounded("A sentence without numbers.", [])  # cites nothing
    # numbers may come from any of the sentence's citations
    assert m.strict_grounded("613 killed and 1275 hostages.", ["613 people were killed", "1275 were taken hostage"])


# --- aggregates ---------------------------------------------------------------------------------------


def test_percentile_interpolates_like_numpy():
    assert m.percentile([4, 1, 3, 2], 50) == 2.5
    assert m.percentile(list(range(1, 21)), 95) == pytest.approx(19.05)
    assert m.percentile([7.0], 95) == 7.0
    assert m.percentile([], 50) is None


def test_paperqa_accuracy_and_precision():
    scores = [
        score(), score(), score(),  # answered with every fact: correct
        score(fact_recall=0.5),  # answered, a fact missing: wrong
        score(refused=True, fact_recall=0.0),  # wrong refusal: 'unsure'
        score(answerable=False, refused=True, fact_recall=None),  # correct refusal
        score(answerable=False, refused=False, fact_recall=None),  # answered the unanswerable: wrong
    ]
    accuracy, precision = m.paperqa(scores)
    assert accuracy == pytest.approx(4 / 7)  # 3 correct answers + 1 correct refusal
    assert precision == pytest.approx(3 / 5)  # 5 answered, 3 of them right
    got = m.summarize(scores)
    assert got["refusal_accuracy"] == 0.5
    assert got["wrong_refusals"] == pytest.approx(1 / 5)
    # a refusal counts 0 for fact recall even if its text happened to contain a fact
    assert got["fact_recall"] == pytest.approx((1 + 1 + 1 + 0.5 + 0) / 5)
    assert m.paperqa([]) == (None, None)


def test_grounding_ratios_are_pooled_over_sentences():
    got = m.summarize([score(sentences=3, supported=2, shown=2, strict_ok=1), score(sentences=1, supported=1, shown=1, strict_ok=1),
                       score(refused=True, sentences=0, supported=0, shown=0, strict_ok=0, quotes=2, quotes_exact=1)])
    assert got["grounding_verifier"] == pytest.approx(3 / 4)
    assert got["grounding_strict"] == pytest.approx(2 / 3)
    assert got["quote_offsets"] == pytest.approx(3 / 4)
    assert set(m.METRICS) <= set(got)


def test_citation_metrics_only_on_answered_answerable_questions():
    got = m.summarize([score(citation_precision=0.5, citation_recall=1.0), score(refused=True, citation_precision=None, citation_recall=None),
                       score(answerable=False, citation_precision=None, citation_recall=None)])
    assert (got["citation_precision"], got["citation_recall"]) == (0.5, 1.0)


# --- thresholds --------------------------------------------------------------------------------------


def test_thresholds():
    table = {"overall": {"mrr": 0.5, "latency_p95": 3}, "lang": {"es": {"mrr": 0.4}}}
    assert m.flatten(table) == {"overall.mrr": 0.5, "overall.latency_p95": 3.0, "lang.es.mrr": 0.4}
    values = {"a": 0.5, "b": 2.0, "c": None, "d": 0.9}
    failures = m.failed_thresholds(values, {"a": 0.6, "c": 0.1, "d": 0.9, "missing": 0.1}, {"b": 1.5, "d": 1.0})
    assert [(f.metric, f.kind) for f in failures] == [("a", "min"), ("c", "min"), ("missing", "min"), ("b", "max")]
    assert str(failures[0]) == "a = 0.5 < 0.6 (min)"
    assert "no value" in str(failures[1])
    assert m.failed_thresholds(values, {"a": 0.5}, {"b": 2.0}) == []
