import pytest

from qa.core import prompts
from qa.core.errors import PromptError


@pytest.mark.parametrize("name", sorted(prompts.VARIABLES))
def test_every_prompt_loads_with_its_variables(name):
    p = prompts.load(name)
    assert prompts.placeholders(p.template) == prompts.VARIABLES[name]


def test_mismatched_variables_fail_at_load(tmp_path):
    (tmp_path / "answer.txt").write_text("Question: {question} {unknown}")
    with pytest.raises(PromptError, match="unknown"):
        prompts.load("answer", tmp_path)


def test_unknown_and_missing_prompts(tmp_path):
    with pytest.raises(PromptError, match="unknown prompt"):
        prompts.load("nope")
    with pytest.raises(PromptError, match="cannot be read"):
        prompts.load("condense", tmp_path)
