"""Near-duplicate stories (a wire story syndicated by several outlets, a light edit): MinHash signatures of word
shingles, looked up in a locality-sensitive-hashing index (datasketch), confirmed by their estimated Jaccard similarity.
"""

import base64
from dataclasses import dataclass

import numpy as np

from qa.core.settings import Settings
from qa.core.text import fold, words


_SCHEME = "affine32"  # datasketch's hashing scheme, named so stored signatures stay comparable across its versions


@dataclass(frozen=True)
class Match:
    article_id: str
    similarity: float  # estimated Jaccard similarity of the two texts' shingles


def shingles(text: str, k: int) -> set[bytes]:
    """The text's runs of k folded words (accents, case and punctuation do not tell copies apart)."""
    ws = words(fold(text))
    return {" ".join(ws[i : i + k]).encode("utf-8") for i in range(max(len(ws) - k + 1, 1))} if ws else set()


class Signatures:
    """MinHash signatures as the settings shape them, and their compact text form for the store's manifest."""

    def __init__(self, settings: Settings) -> None:
        self.k = settings.shingle_words
        self.num_perm = settings.minhash_permutations

    def of(self, text: str):
        from datasketch import MinHash

        m = MinHash(num_perm=self.num_perm, scheme=_SCHEME)
        m.update_batch(list(shingles(text, self.k)))
        return m

    @staticmethod
    def encode(signature) -> str:
        return base64.b64encode(signature.hashvalues.astype("<u8").tobytes()).decode("ascii")

    def decode(self, encoded: str):
        """The signature, or None when there is none or it was made with other settings (it is then made again)."""
        from datasketch import MinHash

        if not encoded:
            return None
        values = np.frombuffer(base64.b64decode(encoded), dtype="<u8")
        return MinHash(hashvalues=values, scheme=_SCHEME) if len(values) == self.num_perm else None


class Stories:
    """The stored stories, to find the one a new article repeats."""

    def __init__(self, settings: Settings) -> None:
        from datasketch import MinHashLSH

        self.threshold = settings.duplicate_jaccard
        self.lsh = MinHashLSH(threshold=self.threshold, num_perm=settings.minhash_permutations)
        self.signatures: dict = {}

    def __contains__(self, article_id: str) -> bool:
        return article_id in self.signatures

    def add(self, article_id: str, signature) -> None:
        if article_id in self.signatures:
            self.lsh.remove(article_id)
        self.lsh.insert(article_id, signature)
        self.signatures[article_id] = signature

    def find(self, signature, exclude: str | None = None) -> Match | None:
        """The most similar stored story at or above the threshold (LSH finds candidates; the estimate decides)."""
        scored = [Match(c, float(signature.jaccard(self.signatures[c]))) for c in self.lsh.query(signature) if c != exclude]
        best = max(scored, key=lambda m: (m.similarity, m.article_id), default=None)
        return best if best is not None and best.similarity >= self.threshold else None
