"""The evaluation's scores as pure functions (no I/O, no model), so each can be tested on hand-made cases.

Deliberately independent of `qa.answer.verify` and `qa.core.text`: a grounding check that shared the verifier's
code would share its blind spots.
"""

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

# --- SQuAD v1.1 answer scores (the official normalisation: lower case, no punctuation, no English articles) ---

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def squad_scores(prediction: str, golds: Sequence[str]) -> tuple[float, float]:
    """(EM, F1) against the best-matching gold answer, as the official script does."""
    if not golds:
        raise ValueError("a SQuAD question needs at least one gold answer")
    return max(exact_match(prediction, g) for g in golds), max(f1(prediction, g) for g in golds)


def contains_answer(prediction: str, golds: Sequence[str]) -> bool:
    """Whether a sentence-long answer holds a gold span (EM cannot credit a correct sentence)."""
    pred = f" {normalize_answer(prediction)} "
    return any(normalize_answer(g) and f" {normalize_answer(g)} " in pred for g in golds)


# --- retrieval, at article level --------------------------------------------------------------------------


def article_ranking(passage_articles: Iterable[str]) -> list[str]:
    """Distinct articles in the order their first passage was ranked."""
    return list(dict.fromkeys(passage_articles))


def first_relevant_rank(ranked: Sequence[str], relevant: Collection[str]) -> int | None:
    """1-based rank of the first relevant item; None when none was retrieved."""
    return next((i for i, item in enumerate(ranked, 1) if item in relevant), None)


def hit_at(rank: int | None, k: int) -> bool:
    return rank is not None and rank <= k


def reciprocal_rank(rank: int | None) -> float:
    return 1.0 / rank if rank else 0.0


# --- facts in an answer -----------------------------------------------------------------------------------

_THOUSANDS = re.compile(r"(?<=\d)[,.](?=\d{3}(?!\d))")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "«": '"', "»": '"'})


def fold_text(text: str) -> str:
    """Case, accents, quote styles and thousands separators removed, so '1,275' matches '1275'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_QUOTES))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_THOUSANDS.sub("", plain).split())


def fact_found(answer: str, variants: Iterable[str]) -> bool:
    """Any variant present as whole words ('49' is not found in '1949')."""
    hay = fold_text(answer)
    return any(re.search(rf"(?<!\w){re.escape(fold_text(v))}(?!\w)", hay) for v in variants if v.strip())


def fact_recall(answer: str, facts: Sequence[Sequence[str]]) -> float | None:
    """Share of fact groups found; None when the question lists no facts."""
    if not facts:
        return None
    return sum(fact_found(answer, group) for group in facts) / len(facts)


# --- citations ----------------------------------------------------------------------------------------------


def citation_precision(cited: Collection[str], sources: Collection[str]) -> float | None:
    """Share of cited articles that hold the answer; None when nothing is cited."""
    cited = set(cited)
    return len(cited & set(sources)) / len(cited) if cited else None


def citation_recall(cited: Collection[str], sources: Collection[str]) -> float | None:
    """Share of the articles holding the answer that are cited; None when no article holds it."""
    sources = set(sources)
    return len(sources & set(cited)) / len(sources) if sources else None


# --- the strict grounding check -------------------------------------------------------------------------

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def numbers_in(text: str) -> set[str]:
    """Numbers in canonical form: '1,275' / '1.275' → '1275', '09' → '9', '2,5' → '2.5', '26th' → '26'."""
    out = set()
    for raw in _NUMBER.findall(text):
        if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", raw):
            out.add(str(int(re.sub(r"[.,]", "", raw))))
            continue
        whole, _, frac = raw.replace(",", ".").partition(".")
        if "." in frac:  # dotted dates or versions: each part is its own number
            out.update(str(int(part)) for part in raw.replace(",", ".").split("."))
            continue
        out.add(f"{int(whole)}.{frac.rstrip('0')}".rstrip(".") if frac else str(int(whole)))
    return out


def unsupported_numbers(sentence: str, cited_texts: Sequence[str]) -> set[str]:
    """Numbers of the sentence that none of its cited texts contains."""
    found = set().union(*(numbers_in(t) for t in cited_texts)) if cited_texts else set()
    return numbers_in(sentence) - found


def strict_grounded(sentence: str, cited_texts: Sequence[str]) -> bool:
    """A shown sentence passes when it cites something and every number in it appears in what it cites."""
    return bool(cited_texts) and not unsupported_numbers(sentence, cited_texts)


# --- per-question score and aggregates -------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionScore:
    """What one question contributes to the aggregates (None = does not apply to this question)."""

    answerable: bool
    refused: bool
    rank: int | None
    citation_precision: float | None
    citation_recall: float | None
    fact_recall: float | None
    sentences: int  # drafted answer sentences the verifier judged
    supported: int  # of those, the ones it kept
    shown: int  # sentences in the final answer
    strict_ok: int  # of those, the ones passing the strict check
    quotes: int  # citations
    quotes_exact: int  # of those, the ones whose quote is the article text at their offsets
    latency: float
    grade: str = ""  # "answer" | "partial" | "refused"; empty means graded by `refused` alone

    @property
    def answered(self) -> bool:
        """Answered outright: a partial answer says the articles do not state exactly this, so it is a hedge on an
        answerable question (not a right answer) and honest on an unanswerable one."""
        return self.grade == "answer" if self.grade else not self.refused

    @property
    def hedged(self) -> bool:
        return self.grade == "partial"

    @property
    def correct(self) -> bool:
        """An answerable question answered with every fact, or an unanswerable one refused."""
        if self.answerable:
            return self.answered and self.fact_recall == 1.0
        return not self.answered


METRICS = (
    "hit_at_1", "hit_at_5", "mrr", "citation_precision", "citation_recall", "fact_recall",
    "grounding_verifier", "grounding_strict", "quote_offsets", "refusal_accuracy", "wrong_refusals", "hedges",
    "accuracy", "precision", "latency_p50", "latency_p95",
)


def mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def paperqa(scores: Sequence[QuestionScore]) -> tuple[float | None, float | None]:
    """PaperQA2's accuracy (correct / all) and precision (correct / answered), refusals being 'unsure'.

    A refused unanswerable question counts as correct for accuracy; precision looks only at answered
    questions, where answering an unanswerable one is a wrong answer.
    """
    correct = sum(s.correct for s in scores)
    answered = [s for s in scores if s.answered]
    return ratio(correct, len(scores)), ratio(sum(s.correct for s in answered), len(answered))


def summarize(scores: Sequence[QuestionScore]) -> dict[str, float | None]:
    """Every metric in METRICS over a group of questions (retrieval, facts and citations on answerable ones)."""
    answerable = [s for s in scores if s.answerable]
    unanswerable = [s for s in scores if not s.answerable]
    answered = [s for s in answerable if s.answered]
    accuracy, precision = paperqa(scores)
    latencies = [s.latency for s in scores]
    return {
        "n": float(len(scores)),
        "hit_at_1": mean(float(hit_at(s.rank, 1)) for s in answerable),
        "hit_at_5": mean(float(hit_at(s.rank, 5)) for s in answerable),
        "mrr": mean(reciprocal_rank(s.rank) for s in answerable),
        "citation_precision": mean(s.citation_precision for s in answered),
        "citation_recall": mean(s.citation_recall for s in answered),
        "fact_recall": mean(s.fact_recall if s.answered else 0.0 for s in answerable),
        "grounding_verifier": ratio(sum(s.supported for s in scores), sum(s.sentences for s in scores)),
        "grounding_strict": ratio(sum(s.strict_ok for s in scores), sum(s.shown for s in scores)),
        "quote_offsets": ratio(sum(s.quotes_exact for s in scores), sum(s.quotes for s in scores)),
        "refusal_accuracy": mean(float(not s.answered) for s in unanswerable),
        "wrong_refusals": mean(float(s.refused) for s in answerable),
        "hedges": mean(float(s.hedged) for s in answerable),
        "accuracy": accuracy,
        "precision": precision,
        "latency_p50": percentile(latencies, 50),
        "latency_p95": percentile(latencies, 95),
    }


# --- thresholds ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdFailure:
    metric: str
    value: float | None
    bound: float
    kind: str  # "min" or "max"

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.metric}: no value (threshold {self.kind} {self.bound:g})"
        op = "<" if self.kind == "min" else ">"
        return f"{self.metric} = {self.value:.4g} {op} {self.bound:g} ({self.kind})"


def flatten(table: Mapping, prefix: str = "") -> dict[str, float]:
    """Nested TOML tables to dotted names: {'overall': {'mrr': 0.9}} → {'overall.mrr': 0.9}."""
    out: dict[str, float] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = float(value)
    return out


def failed_thresholds(values: Mapping[str, float | None], minimum: Mapping[str, float], maximum: Mapping[str, float]) -> list[ThresholdFailure]:
    """Metrics below their minimum or above their maximum; a metric with no value fails (it was not measured)."""
    failures = []
    for kind, bounds in (("min", minimum), ("max", maximum)):
        for name, bound in bounds.items():
            value = values.get(name)
            if value is None or (value < bound if kind == "min" else value > bound):
                failures.append(ThresholdFailure(name, value, bound, kind))
    return failures
