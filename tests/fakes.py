"""The test doubles, in one place: a text-dependent embedder and an LLM that cites its sources."""

import hashlib
import re
from collections.abc import Iterator

import numpy as np

from qa.text import fold, words


class FakeEmbedder:
    """Hashed bag of folded words: similar texts get similar vectors, and nothing is loaded."""

    name = "fake"
    dim = 256

    def __init__(self) -> None:
        self.passages_embedded = 0

    def _embed(self, texts) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in words(fold(t)):
                h = int(hashlib.md5(w.encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0 if (h >> 20) & 1 else -1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
        return out

    def embed_passages(self, texts) -> np.ndarray:
        self.passages_embedded += len(texts)
        return self._embed(list(texts))

    def embed_queries(self, texts) -> np.ndarray:
        return self._embed(list(texts))


class FakeLLM:
    """Answers with the first sentence of source [1], cited; or a scripted reply when given one."""

    name = "fake-llm"

    def __init__(self, reply: str | None = None, condensed: str | None = None) -> None:
        self.reply = reply
        self.condensed = condensed
        self.prompts: list[str] = []

    def stream(self, prompt: str, max_tokens: int | None = None) -> Iterator[str]:
        self.prompts.append(prompt)
        if prompt.startswith("Rewrite the last question"):
            text = self.condensed or prompt.rsplit("Last question:", 1)[1].split("\n")[0].strip()
        elif self.reply is not None:
            text = self.reply
        else:
            m = re.search(r"^\[1\] [^:]*: (.+?[.!?])(\s|$)", prompt, re.M)
            text = f"{m.group(1)} [1]" if m else "NOT_IN_SOURCES"
        for piece in re.findall(r"\S+\s*", text):
            yield piece

    def complete(self, prompt: str, max_tokens: int | None = None) -> str:
        return "".join(self.stream(prompt, max_tokens))


class FakeTranslator:
    """Marks each text as translated, or fails like a broken translator when told to."""

    name = "FakeMT"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[tuple[str, str, int]] = []

    def translate(self, texts, source, target):
        from qa.errors import TranslationFailed

        self.calls.append((source, target, len(texts)))
        if self.fail:
            raise TranslationFailed("fake translator down")
        return [f"<{target}> {t}" for t in texts]


class FakeReader:
    """Takes the similarity for the probability that a sentence answers: plain, monotone, and nothing loaded; a
    sentence holding one of `prefer` is certain (to steer a test to one sentence whatever the fake embedder thinks)."""

    name = "fake-reader"

    def __init__(self, *prefer: str) -> None:
        self.calls = 0
        self.prefer = prefer

    def read(self, question, candidates, idf):
        from qa.reader import Reading

        self.calls += 1
        p = np.clip(np.array([1.0 if any(w in c.text for w in self.prefer) else c.similarity for c in candidates],
                             dtype=np.float64), 0.0, 1.0)
        return Reading(p, float(p.max()) if len(p) else 0.0)
