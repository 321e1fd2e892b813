"""Citation handling with the generative path (fake LLM) and the extractive composer (fake embedder)."""

from dataclasses import replace

import numpy as np
import pytest

from qa import Assistant
from qa.answer.compose import Composer, Drafted
from qa.answer.generate import generated_sentences
from qa.answer.evidence import Evidence
from qa.answer.reader import ReaderCandidate
from qa.core.types import Passage, Sentence
from tests.conftest import KHOJALY
from tests.fakes import FakeEmbedder, FakeLLM, FakeReader


def bot_with(settings, reply=None, **kw):
    bot = Assistant(settings.model_copy(update={"answer_bar": 0.0, **kw}), embedder=FakeEmbedder(),
                    llm=FakeLLM(reply), reader=FakeReader())
    bot.articles()  # seed the store before the tests look at raw retrieval
    return bot

def drafted(*deltas: str) -> list[Drafted]:
    return [e for e in generated_sentences(deltas) if not isinstance(e, str)]


def test_generated_sentences_and_their_markers():
    assert drafted("The first claim holds [2]. The second one too [1][3]. [4] It [5].") == [
        Drafted("The first claim holds.", (2,)), Drafted("The second one too.", (1, 3, 4, 5))]
    copied = drafted("[1] Azernews (2024-02-28) (2024-02-28): 1275 people were taken hostage [1].")
    assert copied == [Drafted("1275 people were taken hostage.", (1, 1))]
    assert drafted("NOT_IN_SOURCES") == [] and drafted("NOT_IN", "_SOURCES") == []


def test_a_generated_sentence_is_taken_once_the_next_one_begins():
    """Not before: more words, or a marker split off into a "sentence" of its own, may still join it."""
    deltas = ["The first ", "claim holds [2].", " The second", " one too [1].", " It [5].", " [3]"]
    assert list(generated_sentences(deltas)) == [
        "The first ", "claim holds [2].", " The second", " one too [1].", Drafted("The first claim holds.", (2,)),
        " It [5].", " [3]", Drafted("The second one too.", (1, 5, 3))]
    # NOT_IN_SOURCES ends the draft: what was complete before it stands, nothing after it is taken
    assert drafted("The first claim holds [2]. ", "The second one too [1]. ", "NOT_IN_SOURCES. Nothing else is here [3].") == [
        Drafted("The first claim holds.", (2,))]


def test_invented_markers_dropped_and_renumbered_in_order_of_first_use(settings):
    bot = bot_with(settings)
    passages = bot.retriever.retrieve("How many people were taken hostage in Khojaly?")
    hostage = next(i for i, p in enumerate(passages, 1) if "1275" in p.text)
    bot.llm.reply = f"1275 people were taken hostage [{hostage}][{hostage}][99]. Nothing else was reported there [0]."
    ans = bot.ask("How many people were taken hostage in Khojaly?")
    assert not ans.refused
    assert [c.n for c in ans.citations] == [1]
    assert ans.citations[0].article_id == KHOJALY and "1275" in ans.citations[0].quote
    assert "[99]" not in ans.text and "[1]" in ans.text and "[0]" not in ans.text
    article = bot.article_text(KHOJALY)
    c = ans.citations[0]
    assert article[c.start : c.end] == c.quote
    # the marker-less sentence cites nothing and is dropped by the verifier
    dropped = [s for s in ans.sentences if not s.supported]
    assert [s.text for s in dropped] == ["Nothing else was reported there."] and dropped[0].reason.startswith("cites nothing")


def test_unsupported_generated_claim_is_removed(settings):
    bot = bot_with(settings)
    passages = bot.retriever.retrieve("How many people were taken hostage in Khojaly?")
    n = next(i for i, p in enumerate(passages, 1) if "1275" in p.text)
    bot.llm.reply = f"1275 people were taken hostage [{n}]. 9000 soldiers from Bolivia were there [{n}]."
    ans = bot.ask("How many people were taken hostage in Khojaly?")
    assert "9000" not in ans.text and "1275" in ans.text
    bad = [s for s in ans.sentences if not s.supported]
    assert len(bad) == 1 and "9000" in bad[0].reason


def test_unmarked_sentence_is_cited_by_the_passage_that_verifies_it(settings):
    bot = bot_with(settings, reply="1275 people were taken hostage.")
    ans = bot.ask("How many people were taken hostage in Khojaly?")
    assert not ans.refused and ans.text.endswith("[1]")
    assert ans.citations[0].article_id == KHOJALY and "1275" in ans.citations[0].quote


def test_all_claims_unsupported_means_refusal(settings):
    bot = bot_with(settings, reply="Bolivia sent 9000 soldiers to Lima [1].")
    ans = bot.ask("How many people were taken hostage in Khojaly?")
    assert ans.refused and ans.citations == [] and ans.text.startswith("The articles do not mention")


def test_model_saying_not_in_sources_is_a_refusal_in_spanish(settings):
    bot = bot_with(settings, reply="NOT_IN_SOURCES")
    ans = bot.ask("¿Quién ganó el mundial de fútbol?")
    assert ans.refused and ans.text.startswith("Los artículos")


def test_stream_yields_deltas_then_answer(settings):
    bot = bot_with(settings)
    events = list(bot.stream("How many people were taken hostage in Khojaly?"))
    assert all(isinstance(e, str) for e in events[:-1]) and len(events) > 2
    assert events[-1].__class__.__name__ == "Answer"


def test_without_drafts_only_verified_sentences_are_streamed_each_as_soon_as_it_is_checked(settings):
    question = "How many people were taken hostage in Khojaly?"
    bot = bot_with(settings)
    n = next(i for i, p in enumerate(bot.retriever.retrieve(question), 1) if "1275" in p.text)
    bot.llm.reply = (f"1275 people were taken hostage [{n}]. 9000 soldiers from Bolivia were there [{n}]. "
                     f"The fate of 150 people remains unknown [{n}].")
    *drafts, answer = bot.stream(question)
    assert "9000" in "".join(drafts) and "9000" not in answer.text  # drafts: the model's words, checked in the Answer
    written: list[str] = []
    model_stream = bot.llm.stream
    bot.llm.stream = lambda prompt, max_tokens=None: (written.append(d) or d for d in model_stream(prompt, max_tokens))
    events = bot.stream(question, drafts=False)
    first = next(events)
    assert first == "1275 people were taken hostage. [1]" and "fate" not in "".join(written)  # sent before the model finished
    *rest, verified = events
    assert [first, *rest] == [first, " The fate of 150 people remains unknown. [1]"]
    assert first + "".join(rest) == verified.text == answer.text and verified.citations == answer.citations
    assert 0 < verified.timings.first_token < verified.timings.total


def _passage(text: str, lang: str = "en") -> Passage:
    return Passage("a#0", "a", "Talks in Moscow", None, None, lang, text, 0, len(text), 1.0)


def _sentence_in(p: Passage, text: str) -> Sentence:
    start = p.text.index(text)
    return Sentence("s", p.article_id, p.chunk_id, text, start, start + len(text))


def test_a_repeated_sentence_is_said_once(settings):
    said = "1275 people were taken hostage, and the fate of 150 people remains unknown."
    ans = bot_with(settings, reply=f"{said} {said}").ask("Were 1275 people taken hostage and does the fate of 150 people remain unknown?")
    assert not ans.refused and ans.text.count(said) == 1


def test_a_quote_that_opens_with_a_pronoun_comes_with_the_sentence_that_says_who(settings):
    """Quoted alone, "He also denounced attacks on ambulances" does not say whose claim it is (the Ministry of Health's)."""
    p = _passage("The Ministry of Health reported three civilians injured. He also denounced attacks on ambulances. "
                 "He called them a violation of the law. In addition, he asked for an inquiry. Blinken called Aliyev.")
    sents = [(replace(s, id=f"a@{s.start}"), np.zeros(2)) for s in
             (_sentence_in(p, t) for t in ("The Ministry of Health reported three civilians injured.", "He also denounced attacks on ambulances.",
                                           "He called them a violation of the law.", "In addition, he asked for an inquiry.", "Blinken called Aliyev."))]
    composer = Composer(settings, FakeEmbedder(), None, FakeReader(), [])

    def quoted(*chosen: int) -> list[str]:
        cands = [Evidence(sents[i][0], sents[i][1], 1, ReaderCandidate(sents[i][0].text, "en", 0.9, 0, None, None), 0.9) for i in chosen]
        return [s.body for s in composer.extract("en", [p], cands, sents).sentences]

    assert quoted(1) == ["The Ministry of Health reported three civilians injured.", "He also denounced attacks on ambulances."]
    # Past the sentences that also open with a pronoun, to the nearest that does not; said once when both need it.
    assert quoted(3, 1) == ["The Ministry of Health reported three civilians injured.", "He also denounced attacks on ambulances.",
                            "In addition, he asked for an inquiry."]
    assert quoted(4) == ["Blinken called Aliyev."]


def test_two_articles_dating_one_event_differently_are_both_quoted_with_the_note(settings):
    """The Spanish article dates the trilateral statement 9 November, the English one November 10: the rival search
    across the store finds the other report, and the answer says they differ. (The fake embedder does not cross
    languages, so the search reads every chunk's sentences here.)"""
    wide = settings.model_copy(update={"rival_k": 500, "rival_chunks": 1000, "reader_candidates": 100})
    bot = Assistant(wide, embedder=FakeEmbedder(), reader=FakeReader("November 10, 2020", "9 de noviembre de 2020"))
    ans = bot.ask("When was the trilateral statement on Karabakh signed?")
    assert {c.article_id for c in ans.citations} == {"000_fbefe321117536a3", "002_80680643ca28e344"}
    assert "differ" in ans.text and all(c.supported for c in ans.citations)
    assert any(t.step == "decide" and t.verdict == "answer" for t in ans.trace)
    step = next(t for t in ans.trace if t.step == "disagreement")
    assert step.verdict == "differ" and step.detail.startswith("date: 2020-11-10 vs 2020-11-09")
    assert any(t.step == "note" and t.verdict == "conflict" for t in ans.trace)  # what the chat marks


def test_a_question_for_neither_a_date_nor_a_count_is_not_searched_for_another_report(settings):
    bot = Assistant(settings, embedder=FakeEmbedder(), reader=FakeReader("November 10, 2020", "9 de noviembre de 2020"))
    ans = bot.ask("What did the trilateral statement on Karabakh do?")
    assert "differ" not in ans.text and len({c.article_id for c in ans.citations}) == 1
    assert [t.verdict for t in ans.trace if t.step == "disagreement"] == ["not asked"]


def test_under_the_answer_bar_a_likely_sentence_is_a_partial_answer_and_an_unlikely_one_a_refusal(settings):
    sure = Assistant(settings.model_copy(update={"answer_bar": 1.01}), embedder=FakeEmbedder(), reader=FakeReader("1275"))
    ans = sure.ask("How many people were taken hostage in Khojaly?")
    assert ans.grade == "partial" and not ans.refused and ans.text.startswith("I found related passages, but none of them says exactly this")
    assert "1275" in ans.text and ans.refused_by is None
    unsure = Assistant(settings.model_copy(update={"answer_bar": 1.01, "partial_bar": 1.01}), embedder=FakeEmbedder(),
                       reader=FakeReader("1275"))
    ans = unsure.ask("How many people were taken hostage in Khojaly?")
    assert ans.grade == "refused" and ans.refused and ans.refused_by == "reader" and ans.citations == []
    assert ans.text.startswith("The articles do not mention this")


@pytest.mark.parametrize("question, lead", [
    ("What is this about?", "The articles cover 5 stories"),
    ("¿De qué tratan los artículos?", "Los artículos tratan 5 noticias"),
])
def test_a_question_about_the_whole_collection_gets_an_overview_citing_each_article(settings, question, lead):
    bot = Assistant(settings, embedder=FakeEmbedder(), reader=FakeReader())
    ans = bot.ask(question)
    assert ans.grade == "answer" and ans.text.startswith(lead) and len(ans.citations) == 5
    assert [t.step for t in ans.trace] == ["overview"]
    for c in ans.citations:
        text = bot.article_text(c.article_id)
        assert text[c.start:c.end] == c.quote and f"[{c.n}]" in ans.text and "ATTENTION EDITORS" not in c.quote


def test_an_open_question_is_answered_with_up_to_open_sentences(settings):
    bot = Assistant(settings.model_copy(update={"answer_bar": 0.0, "sentence_bar": 0.0, "duplicate_similarity": 1.01}),
                    embedder=FakeEmbedder(), reader=FakeReader())
    open_q = bot.ask("What happened in Khojaly?")
    fact_q = bot.ask("Who commanded the attack on Khojaly?")
    assert len(open_q.sentences) == bot.settings.open_sentences
    assert len(fact_q.sentences) <= bot.settings.max_sentences


def test_a_check_that_refuses_is_named(settings):
    bot = Assistant(settings.model_copy(update={"answer_bar": 0.0}), embedder=FakeEmbedder(), reader=FakeReader())
    ans = bot.ask("What did Erdogan say about Khojaly?")
    assert ans.refused and ans.refused_by == "unknown-names"
    assert any(t.step == "unknown-names" and t.verdict == "refuse" and "erdogan" in t.detail for t in ans.trace)
    off = Assistant(settings.model_copy(update={"answer_bar": 0.0, "disabled_checks": ["unknown-names"]}), embedder=FakeEmbedder(),
                    reader=FakeReader(), store=bot.store, auto_ingest=False)
    assert off.ask("What did Erdogan say about Khojaly?").refused_by != "unknown-names"


@pytest.mark.parametrize("sentence, opens", [
    ("He also denounced attacks on ambulances.", True),
    ("In addition, he asked for an inquiry.", True),
    ("Él dijo que la reunión fue útil.", True),
    ("El 9 de noviembre de 2020, el presidente firmó.", False),  # the article "El", not the pronoun "Él"
    ("The Ministry of Health reported three civilians injured.", False),
    ("Therefore the talks ended.", False),
])
def test_a_sentence_opening_with_a_pronoun(sentence, opens):
    from qa.answer.compose import _opens_with_pronoun

    assert _opens_with_pronoun(sentence) is opens
