"""Machine translation of article sentences into the other language (English <-> Spanish), made at ingest: shown after
a quote so an answer reads in the question's language, and used to match the question's words across languages.

Apertium (Debian package apertium-en-es) is a rule-based translator that runs offline on the CPU in a fraction of a
second; no translation model ships inside a PyPI package (argostranslate, bergamot and the NLLB wrappers download
theirs at run time). The verified original always stays in the citation: a translation only renders it.
"""

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from qa.core.errors import TranslationFailed
from qa.core.settings import Settings
from qa.core.types import Sentence

_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")  # "tomadas rehén ," after a word Apertium does not know
OTHER = {"en": "es", "es": "en"}
_PAIRS = {("en", "es"): "eng-spa", ("es", "en"): "spa-eng"}


class Translator(Protocol):
    name: str

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]: ...


class ApertiumTranslator:
    """One `apertium` run per call (an article at ingest): texts go in one per line and come back one per line."""

    name = "Apertium"

    def __init__(self, executable: str, timeout: float) -> None:
        self.executable = executable
        self.timeout = timeout

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        pair = _PAIRS.get((source, target))
        if pair is None:
            raise TranslationFailed(f"no Apertium pair for {source} -> {target}")
        lines = [" ".join(t.split()) for t in texts]  # a sentence's own line breaks would shift the rest
        try:
            # -u: an unknown word (most names) is passed through as written, without Apertium's "*" mark.
            done = subprocess.run([self.executable, "-u", pair], input="\n".join(lines) + "\n", capture_output=True,
                                  text=True, timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TranslationFailed(f"apertium {pair}: {exc}") from exc
        out = done.stdout.rstrip("\n").split("\n")
        if done.returncode != 0 or len(out) != len(lines):
            raise TranslationFailed(f"apertium {pair} exited {done.returncode}: {done.stderr.strip()[:200]}")
        return [_SPACE_BEFORE_PUNCT.sub(r"\1", o).strip() for o in out]


def translated(sentences: list[Sentence], lang: str, translator: Translator | None) -> list[Sentence]:
    """The sentences with their translation into the other language; as they are when it cannot be made (the
    article is then matched across languages by its vectors and names only, as without a translator)."""
    target = OTHER.get(lang)
    if translator is None or target is None or not sentences:
        return sentences
    try:
        out = translator.translate([s.text for s in sentences], lang, target)
    except TranslationFailed:
        return sentences
    return [replace(s, translation=t) for s, t in zip(sentences, out)]


def build_translator(settings: Settings) -> Translator | None:
    """Apertium when translation is on and its program is installed; otherwise sentences stay untranslated. A missing
    English-Spanish pair shows only when a run fails (TranslationFailed), which also leaves them untranslated."""
    if not settings.translate:
        return None
    executable = shutil.which("apertium")
    if executable is None:
        return None
    return ApertiumTranslator(executable, settings.translate_timeout)
