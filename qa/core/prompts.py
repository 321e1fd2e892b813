"""Prompts live in prompts/<name>.txt; each is loaded by name and its placeholders checked against what the code fills."""

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from qa.core.errors import PromptError
from qa.core.settings import shipped

PROMPTS_DIR = shipped("prompts")

# name -> the variables the code passes; a file using others (or missing one) is an error at load.
VARIABLES: dict[str, frozenset[str]] = {
    "answer": frozenset({"question", "sources", "language"}),
    "condense": frozenset({"history", "question"}),
    "refusal.en": frozenset(),
    "refusal.es": frozenset(),
    "overview.en": frozenset({"count"}),
    "overview.es": frozenset({"count"}),
    "attribution.en": frozenset({"source"}),
    "attribution.es": frozenset({"source"}),
    "attribution_article.en": frozenset({"title"}),
    "attribution_article.es": frozenset({"title"}),
    "crosslingual.en": frozenset(),
    "crosslingual.es": frozenset(),
    "translated.en": frozenset({"translator", "text"}),
    "translated.es": frozenset({"translator", "text"}),
    "conflict.en": frozenset(),
    "conflict.es": frozenset(),
    "partial.en": frozenset(),
    "partial.es": frozenset(),
    "timeline.en": frozenset({"topic", "count"}),
    "timeline.es": frozenset({"topic", "count"}),
    "timeline_none.en": frozenset(),
    "timeline_none.es": frozenset(),
    "after.en": frozenset({"anchor", "date", "marks", "count"}),
    "after.es": frozenset({"anchor", "date", "marks", "count"}),
    "after_none.en": frozenset({"anchor", "date", "marks"}),
    "after_none.es": frozenset({"anchor", "date", "marks"}),
    "after_undated.en": frozenset({"anchor"}),
    "after_unverified.en": frozenset({"anchor"}),
    "after_unverified.es": frozenset({"anchor"}),
    "after_undated.es": frozenset({"anchor"}),
    "after_unknown.en": frozenset({"anchor"}),
    "after_unknown.es": frozenset({"anchor"}),
    "asof.en": frozenset({"date", "source"}),
    "asof.es": frozenset({"date", "source"}),
    "revised.en": frozenset(),
    "revised.es": frozenset(),
}


@dataclass(frozen=True)
class Prompt:
    name: str
    template: str

    def render(self, **values: str) -> str:
        missing = VARIABLES[self.name] - values.keys()
        if missing:
            raise PromptError(f"prompt {self.name!r} needs {sorted(missing)}")
        return self.template.format(**values) if VARIABLES[self.name] else self.template


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


@lru_cache(maxsize=None)
def load(name: str, directory: Path = PROMPTS_DIR) -> Prompt:
    if name not in VARIABLES:
        raise PromptError(f"unknown prompt {name!r}; known: {sorted(VARIABLES)}")
    path = directory / f"{name}.txt"
    try:
        template = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise PromptError(f"prompt file {path} cannot be read: {exc}") from exc
    try:
        found = placeholders(template)
    except ValueError as exc:
        raise PromptError(f"prompt {name!r} has a malformed placeholder: {exc}") from exc
    if found != VARIABLES[name]:
        raise PromptError(f"prompt {name!r} uses {sorted(found)} but the code provides {sorted(VARIABLES[name])}")
    return Prompt(name, template)
