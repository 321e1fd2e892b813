import numpy as np

from qa.answer.verify import Verifier, names, strict_check, strip_markers
from tests.fakes import FakeEmbedder

SOURCE = "As a result of unprecedented events, 613 people were killed. 1275 people were taken hostage in Khojaly on February 26, 1992."


def test_strict_check_accepts_supported_claims():
    assert strict_check("According to the statement, 1,275 people were taken hostage in Khojaly [1].", SOURCE) is None


def test_strict_check_catches_invented_numbers_dates_and_names():
    assert "1300" in strict_check("1300 people were taken hostage [1].", SOURCE)
    assert "march" in strict_check("It happened on 26 March 1992 [1].", SOURCE)
    assert "baku" in strict_check("The hostages were taken to Baku [1].", SOURCE)


def test_cross_language_names_and_months_match():
    es = "El 9 de noviembre de 2020, Putin, Aliyev y Pashinyan firmaron en Moscú una declaración."
    assert strict_check("On 9 November 2020 Putin and Aliyev signed a statement in Moscow [1].", es) is None


def test_markers_are_not_numbers():
    assert strip_markers("Text [1][2] more [3].") == "Text more."
    assert strict_check("613 people were killed [2].", SOURCE) is None


def test_names_skip_function_words_and_months():
    assert names("According to Azernews, the Peruvian Congress met in February.") == {"azernews", "peruvian", "congress"}


def test_verifier_semantic_support():
    v = Verifier(FakeEmbedder(), min_similarity=0.5)
    exact = v.check("613 people were killed [1].", [SOURCE])
    assert exact.supported and exact.support == 1.0
    unrelated = v.check("they grow bananas quickly in warm weather [1].", [SOURCE], np.array(FakeEmbedder().embed_passages([SOURCE])))
    assert not unrelated.supported and "meaning" in unrelated.reason
    assert not v.check("613 people were killed.", []).supported


TOLL = ("As a result of unprecedented events, 613 people were killed, including 106 women, 63 children, and 70 old people. "
          "1275 people were taken hostage, and the fate of 150 people remains unknown. It happened on February 26, 1992.")


def test_a_count_moved_to_another_thing_is_caught():
    reason = strict_check("As a result, 106 people were killed, including 150 women.", TOLL)
    assert reason is not None and "106 people" in reason and "150 women" in reason


def test_counts_kept_with_their_things_dates_and_translations_pass():
    assert strict_check("613 people were killed, including 106 women.", TOLL) is None
    assert strict_check("It happened on February 26, 1992.", TOLL) is None
    assert strict_check("1275 personas fueron tomadas como rehenes.", TOLL) is None


def test_a_count_that_looks_like_a_year_is_still_a_count():
    """Dates are told apart by their place ('in 2000', 'May 3, 2000'), not by the digits: '2000 guests' is a count."""
    source = "The embassy received 2000 guests in 2019."
    assert strict_check("The embassy received 2000 guests in 2019.", source) is None
    reason = strict_check("The embassy received 2000 diplomats.", "The embassy received 2000 guests and 40 diplomats.")
    assert reason is not None and "2000 diplomats" in reason
