"""The answer drafted by a model: its prompt, and its streamed text read back into sentences, each with the passage
numbers it cites, for the verifier (qa/answer/compose.py's Finishing) to keep or drop."""

import re
from collections.abc import Iterable, Iterator

from qa.answer.compose import Drafted, attribution
from qa.answer.llm import LLM
from qa.answer.question import language_words
from qa.answer.verify import MARKER, strip_markers
from qa.core import prompts
from qa.core.text import sentences as split_sentences, without_directives, words
from qa.core.types import Passage

# The "Source (date):" header the prompt puts before each passage, which small models copy into their answer.
_SOURCE_HEADER = re.compile(r"^(?:“[^”]*”|\"[^\"]*\"|[^:()\n]{1,80}?)\s*(?:\((?:\d{4}-\d\d-\d\d|undated)\)\s*)+:\s*")


def generation_prompt(question: str, lang: str, passages: list[Passage]) -> str:
    """The model's prompt: the numbered passages, each headed by its outlet and date, and the question."""
    sources = "\n\n".join(
        f"[{i}] {attribution(p)} ({p.date or 'undated'}): {' '.join(without_directives(p.text).split())}" for i, p in enumerate(passages, 1)
    )
    return prompts.load("answer").render(question=question, sources=sources, language=language_words(lang).name)


def generated_sentences(deltas: Iterable[str]) -> Iterator[str | Drafted]:
    """A model's text deltas as they come, each followed by the sentences it completes with the passage numbers they
    cite. A sentence is complete once the next one of three or more words begins: until then more words, or markers
    split off into a "sentence" of their own, may still join it. NOT_IN_SOURCES ends the draft: a sentence complete
    before it stands (it may have been sent already); nothing after it is taken."""
    pending, declined = "", False
    for delta in deltas:
        yield delta
        pending += delta
        declined = declined or "NOT_IN_SOURCES" in pending
        found = [] if declined else _read_generated(pending)
        if len(found) > 1:
            yield from (sentence for sentence, _ in found[:-1])
            pending = pending[found[-1][1]:]
    if not declined:
        yield from (sentence for sentence, _ in _read_generated(pending))


def _read_generated(text: str) -> list[tuple[Drafted, int]]:
    """The sentences of a model's text, each with the passage numbers it cites and where it starts in `text`."""
    out: list[tuple[Drafted, int]] = []
    for span in split_sentences(text):
        marks = tuple(int(m) for m in MARKER.findall(span.text))
        body = _SOURCE_HEADER.sub("", strip_markers(span.text)).strip()
        if len(words(body)) < 3:  # "It", a bare header or marker: no claim to keep
            if out and marks:  # markers split off into their own "sentence" belong to the previous one
                prev, at = out[-1]
                out[-1] = (prev._replace(marks=prev.marks + marks), at)
            continue
        out.append((Drafted(body, marks), span.start))
    return out


def stream_generated(llm: LLM, question: str, lang: str, passages: list[Passage]) -> Iterator[str | Drafted]:
    """The model's answer as it writes it: its text deltas and, as each is complete, its sentences (to verify)."""
    return generated_sentences(llm.stream(generation_prompt(question, lang, passages)))
