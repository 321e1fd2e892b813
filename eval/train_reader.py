"""Train the reader (qa/answer/reader.py) on external QA data and report it on held-out articles.

    python eval/train_reader.py            # features, 5 article-grouped folds, report, shipped model
    python eval/train_reader.py --no-ship  # folds and report only

Data (none of it written here, none of it the gold set):
- SQuAD 2.0, 8 dev articles (../shared/benchmarks/squad2): 1,278 answerable and 1,527 unanswerable questions; the
  near-miss sentences of the unanswerable ones are hard negatives.
- The same SQuAD 2.0 articles machine-translated into Spanish sentence by sentence with Apertium, so that the reader
  also meets Spanish and cross-language unanswerable questions (labels carry over by sentence index).
- XQuAD (../shared/benchmarks/xquad): 1,190 answerable questions in English and Spanish over 240 paragraphs.

Each candidate is first read by the shipped cross-encoder (qa/models/cross_reader.onnx, trained on SQuAD 2.0's training
articles, TyDi QA and MLQA, none of these articles): its probability is one of the features the trees learn from.

Each question is asked in four directions (en->en, es->es, es->en, en->es) against the sentences of its article in
the paragraph language; the K sentences closest by e5 are the candidates, as retrieval would hand them over, and a
candidate is positive when it holds the answer span. Half the cross-language questions are read without a
translation (as with QA_TRANSLATE=false). Folds are grouped by article title, so no article is in a fold's
training and test data at once; the calibration and the decision bars are fitted on these held-out predictions.
Writes eval/reader.md and eval/reader.json, and (unless --no-ship) the shipped model in qa/models/ and the fold readers
in data/eval/reader_folds/ that `qa eval --squad2` uses.
"""

import argparse
import hashlib
import json
import pickle
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

from qa.index.embed import E5Embedder  # noqa: E402
from qa.answer.question import parse  # noqa: E402
from qa.answer.reader import (FEATURES, MODEL_DIR, QUESTION_FEATURES, NeuralReader, ReaderCandidate, features,  # noqa: E402
                              question_features)
from qa.core.settings import Settings  # noqa: E402
from qa.core.text import sentences as split_sentences, terms  # noqa: E402
from qa.ingest.translate import build_translator  # noqa: E402
from train_neural_reader import sha256  # noqa: E402

SHARED = ROOT.parent / "shared" / "benchmarks"
CACHE = ROOT / "data" / "eval" / "reader"
# The fold readers `qa eval --squad2` answers each article with (regenerated here, not committed).
FOLDS_DIR = ROOT / "data" / "eval" / "reader_folds"
OTHER = {"en": "es", "es": "en"}


@dataclass
class Paragraph:
    sentences: dict[str, list[str]]  # lang -> sentences (aligned by index when both come from one split)
    spans: dict[str, list[tuple[int, int]]]  # lang -> sentence offsets in that language's paragraph text
    translations: dict[str, list[str | None]] = field(default_factory=dict)  # lang -> each sentence in the other


@dataclass
class Item:
    dataset: str
    title: str
    paragraph: int  # index into the dataset's paragraphs
    text: dict[str, str]  # lang -> question
    answerable: bool
    gold: dict[str, set[int]]  # lang -> indices of the paragraph's sentences holding the answer
    near_miss: dict[str, set[int]]


def _sentence_of(spans: list[tuple[int, int]], offset: int) -> int | None:
    return next((i for i, (s, e) in enumerate(spans) if s <= offset < e), None)


def _split(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    spans = split_sentences(text)
    return [s.text for s in spans], [(s.start, s.end) for s in spans]


class CachedTranslator:
    """Apertium over every text of a data set in one run per direction (one run per paragraph takes minutes), cached."""

    def __init__(self, translator) -> None:
        self.translator = translator
        self.path = CACHE / "translations.json"
        self.done: dict[str, str] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def prepare(self, texts: list[str], source: str, target: str) -> None:
        todo = list(dict.fromkeys(t for t in texts if f"{source}>{target}:{t}" not in self.done))
        for i in range(0, len(todo), 2000):
            batch = todo[i : i + 2000]
            for t, out in zip(batch, self.translator.translate(batch, source, target)):
                self.done[f"{source}>{target}:{t}"] = out
        if todo:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.done))

    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        self.prepare(texts, source, target)
        return [self.done[f"{source}>{target}:{t}"] for t in texts]


def load_squad2(translator) -> tuple[list[Paragraph], list[Item]]:
    data = json.loads((SHARED / "squad2" / "squad2-dev-8.json").read_text())
    paragraphs, items = [], []
    translator.prepare([s for a in data["data"] for p in a["paragraphs"] for s in _split(p["context"])[0]]
                       + [q["question"].strip() for a in data["data"] for p in a["paragraphs"] for q in p["qas"]], "en", "es")
    for article in data["data"]:
        for p in article["paragraphs"]:
            sents, spans = _split(p["context"])
            es = translator.translate(sents, "en", "es")
            par = Paragraph({"en": sents, "es": es}, {"en": spans, "es": []}, {"en": es, "es": sents})
            paragraphs.append(par)
            qs = [q["question"].strip() for q in p["qas"]]
            qs_es = translator.translate(qs, "en", "es")
            for q, q_es in zip(p["qas"], qs_es):
                def at(answers):
                    return {i for a in answers if (i := _sentence_of(spans, a["answer_start"])) is not None}
                gold = at(q["answers"]) if not q["is_impossible"] else set()
                near = at(q.get("plausible_answers", []))
                items.append(Item("squad2", article["title"], len(paragraphs) - 1, {"en": q["question"].strip(), "es": q_es},
                                  not q["is_impossible"], {"en": gold, "es": gold}, {"en": near, "es": near}))
    return paragraphs, items


def load_xquad(translator) -> tuple[list[Paragraph], list[Item]]:
    data = {lang: json.loads((SHARED / "xquad" / f"xquad.{lang}.json").read_text()) for lang in ("en", "es")}
    paragraphs, items = [], []
    for lang in ("en", "es"):
        translator.prepare([s for a in data[lang]["data"] for p in a["paragraphs"] for s in _split(p["context"])[0]], lang, OTHER[lang])
    for a_en, a_es in zip(data["en"]["data"], data["es"]["data"]):
        for p_en, p_es in zip(a_en["paragraphs"], a_es["paragraphs"]):
            split = {"en": _split(p_en["context"]), "es": _split(p_es["context"])}
            sents = {lang: s for lang, (s, _) in split.items()}
            par = Paragraph(sents, {lang: sp for lang, (_, sp) in split.items()},
                            {lang: translator.translate(sents[lang], lang, OTHER[lang]) for lang in sents})
            paragraphs.append(par)
            for q_en, q_es in zip(p_en["qas"], p_es["qas"]):
                gold = {"en": {i for a in q_en["answers"] if (i := _sentence_of(par.spans["en"], a["answer_start"])) is not None},
                        "es": {i for a in q_es["answers"] if (i := _sentence_of(par.spans["es"], a["answer_start"])) is not None}}
                items.append(Item("xquad", a_en["title"], len(paragraphs) - 1, {"en": q_en["question"], "es": q_es["question"]},
                                  True, gold, {"en": set(), "es": set()}))
    return paragraphs, items


class IDF:
    """Inverse document frequency over a dataset's paragraphs, per language (as the store's BM25 gives it at run time)."""

    def __init__(self, docs: list[str]) -> None:
        df: dict[str, int] = {}
        for d in docs:
            for t in set(terms(d)):
                df[t] = df.get(t, 0) + 1
        self.n, self.df = len(docs), df

    def __call__(self, term: str) -> float:
        return float(np.log(1 + (self.n - self.df.get(term, 0) + 0.5) / (self.df.get(term, 0) + 0.5)))


def embed_cached(embedder, kind: str, texts: list[str]) -> np.ndarray:
    key = hashlib.sha256(("\n".join(texts) + kind + embedder.name).encode()).hexdigest()[:16]
    path = CACHE / f"{kind}-{key}.npy"
    if path.exists():
        return np.load(path)
    vecs = (embedder.embed_queries if kind == "query" else embedder.embed_passages)(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


class NeuralScores:
    """The cross-encoder's probability for each (question, sentence) as it reads them, cached per model file: scoring
    the table's 190k candidates takes half an hour on 2 cores. With `translated`, it reads as with a translator (a
    Spanish question and sentence through their English), otherwise as written."""

    def __init__(self, model: Path, translator) -> None:
        self.readers = {True: NeuralReader(model.parent, threads=2, translator=translator),
                        False: NeuralReader(model.parent, threads=2)}
        self.path = CACHE / f"neural-{sha256(model)[:16]}.pkl"
        self.done: dict[tuple[str, str, str], float] = pickle.loads(self.path.read_bytes()) if self.path.exists() else {}
        self.added = 0

    def __call__(self, question, candidates: list[ReaderCandidate], translated: bool) -> np.ndarray:
        reader = self.readers[translated]
        asked = reader.question_as_read(question)
        keys = [(asked, *reader.as_read(c)) for c in candidates]
        todo = [c for c, key in zip(candidates, keys) if key not in self.done]
        if todo:
            p = reader.read(question, todo).p
            self.done.update({(asked, *reader.as_read(c)): float(v) for c, v in zip(todo, p)})
            self.added += len(todo)
            if self.added >= 20000:
                self.save()
        return np.array([self.done[key] for key in keys], dtype=np.float32)

    def save(self) -> None:
        if self.added:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(pickle.dumps(self.done))
            self.added = 0


def cached_table(datasets, embedder, translator, neural: NeuralScores, k: int) -> "Table":
    """The feature table, rebuilt only when the code that makes it or the cross-encoder changes (it takes minutes)."""
    code = "".join((ROOT / f).read_text() for f in ("qa/answer/reader.py", "qa/answer/question.py", "qa/lang/en.toml", "qa/lang/es.toml", "qa/core/text.py", "qa/answer/verify.py"))
    source = Path(__file__).read_text()
    build_code = source[source.index("def build(") : source.index("def cross_pairs(")]
    key = hashlib.sha256((code + str(k) + build_code + neural.path.name).encode()).hexdigest()[:16]
    path = CACHE / f"table-{key}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    table = build(datasets, embedder, translator, neural, k)
    neural.save()
    path.write_bytes(pickle.dumps(table))
    return table


@dataclass
class Table:
    rows: np.ndarray
    labels: np.ndarray
    qid: np.ndarray  # one id per (item, direction)
    groups: np.ndarray  # article title
    meta: list[dict]  # per question: dataset, direction, answerable, translated
    pairs: list[tuple[str, str]]  # per row: the question and the sentence in English (Apertium for Spanish), for eval/cross_encoder.py
    near_miss: np.ndarray  # per row: the sentence holds an unanswerable question's plausible (wrong) answer


def build(datasets: dict[str, tuple[list[Paragraph], list[Item]]], embedder, translator, neural: NeuralScores, k: int) -> Table:
    rows, labels, qid, groups, meta, pairs, near = [], [], [], [], [], [], []
    for name, (paragraphs, items) in datasets.items():
        titles = {it.paragraph: it.title for it in items}
        q_english = dict(zip((it.text["es"] for it in items), translator.translate([it.text["es"] for it in items], "es", "en")))
        for lang in ("en", "es"):
            flat = [(pi, si, s) for pi, p in enumerate(paragraphs) for si, s in enumerate(p.sentences[lang])]
            svec = embed_cached(embedder, "passage", [s for _, _, s in flat])
            idf = {ql: IDF([" ".join(p.sentences[ql]) for p in paragraphs]) for ql in ("en", "es")}
            qvec = {ql: embed_cached(embedder, "query", [it.text[ql] for it in items]) for ql in ("en", "es")}
            by_title: dict[str, list[int]] = {}
            for j, (pi, _, _) in enumerate(flat):
                by_title.setdefault(titles[pi], []).append(j)
            for ql in ("en", "es"):
                cross = ql != lang
                for n, it in enumerate(items):
                    pool = np.array(by_title[it.title])
                    sims = svec[pool] @ qvec[ql][n]
                    top = pool[np.argsort(-sims)[:k]]
                    # Half the cross-language questions are read as without a translator: no reading of the sentence.
                    translated = n % 2 == 0
                    q = parse(it.text[ql])
                    q_en = it.text["en"] if ql == "en" else q_english[it.text["es"]]
                    cands, labs = [], []
                    for j in top:
                        pi, si, text = flat[j]
                        par = paragraphs[pi]
                        reading_of = (lambda x: par.sentences[lang][x]) if not cross else (lambda x: par.translations[lang][x])
                        reading = reading_of(si) if translated or not cross else None
                        context = " ".join(reading_of(x) for x in range(max(0, si - 1), min(len(par.sentences[lang]), si + 2))) if reading else None
                        english = text if lang == "en" else par.translations["es"][si]
                        # As stored at ingest: the sentence before it, and both translated only with a translator.
                        before = par.sentences[lang][si - 1] if si else ""
                        translation = par.translations[lang][si] if translated else None
                        before_translation = par.translations[lang][si - 1] if translated and si else None
                        cands.append(ReaderCandidate(text, lang, float(svec[j] @ qvec[ql][n]), si, reading, context,
                                                     before, translation, before_translation))
                        labs.append(int(it.answerable and pi == it.paragraph and si in it.gold[lang]))
                        pairs.append((q_en, english))
                        near.append(int(pi == it.paragraph and si in it.near_miss[lang]))
                    rows.append(features(q, cands, idf[ql], neural(q, cands, translated)))
                    labels.extend(labs)
                    qid.extend([len(meta)] * len(cands))
                    groups.extend([it.title] * len(cands))
                    meta.append({"dataset": name, "direction": f"{ql}-{lang}", "answerable": it.answerable,
                                 "gold_in_candidates": bool(it.answerable and any(labs)), "translated": translated or not cross,
                                 "title": it.title})
    return Table(np.concatenate(rows), np.array(labels), np.array(qid), np.array(groups), meta, pairs, np.array(near))


def cross_pairs(table: Table) -> tuple[list[tuple[str, str]], list[int], list[str]]:  # used by eval/cross_encoder.py
    """Pairs the cross-encoder learns from: per question (English questions, and XQuAD's Spanish ones through their
    Apertium translation), each sentence holding the answer, each near miss of an unanswerable question, and the two
    closest other sentences; with their article titles."""
    pairs, labels, titles, seen = [], [], [], set()
    order = np.argsort(table.qid, kind="stable")
    qids, starts = np.unique(table.qid[order], return_index=True)
    bounds = list(starts) + [len(order)]
    sim = table.rows[:, FEATURES.index("similarity")]
    for n, q in enumerate(qids):
        m = table.meta[q]
        if m["direction"] not in ("en-en", "es-es") or (m["dataset"] == "squad2" and m["direction"] == "es-es"):
            continue
        idx = [i for i in order[bounds[n] : bounds[n + 1]] if None not in table.pairs[i]]
        others = sorted((i for i in idx if not table.labels[i] and not table.near_miss[i]), key=lambda i: -sim[i])[:2]
        for i in [i for i in idx if table.labels[i] or table.near_miss[i]] + others:
            if table.pairs[i] not in seen:
                seen.add(table.pairs[i])
                pairs.append(table.pairs[i])
                labels.append(int(table.labels[i]))
                titles.append(table.groups[i])
    return pairs, labels, titles


PARAMS = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 40, "feature_fraction": 0.8,
          "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "verbose": -1, "seed": 7, "num_threads": 2}
ROUNDS = 400
SENTENCE_BAR = 0.5  # as QA_SENTENCE_BAR


def train(rows: np.ndarray, labels: np.ndarray, names: tuple[str, ...] = FEATURES, categorical: list[str] = ["asks"]):
    import lightgbm

    data = lightgbm.Dataset(rows, labels, feature_name=list(names), categorical_feature=categorical, free_raw_data=False)
    return lightgbm.train(PARAMS, data, num_boost_round=ROUNDS)


def fold_of_title(table: Table, n: int) -> dict[str, int]:
    """Article title -> fold, so both stages hold out the same articles."""
    from sklearn.model_selection import GroupKFold

    out = {}
    for k, (_, te) in enumerate(GroupKFold(n_splits=n).split(table.rows, table.labels, table.groups)):
        out.update({t: k for t in set(table.groups[te])})
    return out


def cross_fit(rows: np.ndarray, labels: np.ndarray, fold: np.ndarray, n: int, categorical: list[str], names: tuple[str, ...]):
    """Out-of-fold raw scores and each fold's model."""
    oof = np.zeros(len(labels))
    models = []
    for k in range(n):
        te = fold == k
        model = train(rows[~te], labels[~te], names, categorical)
        oof[te] = model.predict(rows[te])
        models.append(model)
    return oof, models


@dataclass
class QuestionTable:
    rows: np.ndarray
    labels: np.ndarray  # the question is answerable and its most probable candidate holds the answer
    fold: np.ndarray


def question_table(table: Table, p: np.ndarray, fold_of: dict[str, int]) -> QuestionTable:
    order = np.argsort(table.qid, kind="stable")
    qids, starts = np.unique(table.qid[order], return_index=True)
    bounds = list(starts) + [len(order)]
    rows, labels, fold = [], [], []
    for n, _ in enumerate(qids):
        idx = order[bounds[n] : bounds[n + 1]]
        rows.append(question_features(table.rows[idx], p[idx]))
        labels.append(int(table.labels[idx[np.argmax(p[idx])]]))
        fold.append(fold_of[table.groups[idx[0]]])
    return QuestionTable(np.concatenate(rows), np.array(labels), np.array(fold))


def save(folder: Path, boosters: dict, curves: dict, bar: float, meta: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, booster in boosters.items():
        booster.save_model(str(folder / f"{name}.lgb.txt"))
    (folder / "reader.json").write_text(json.dumps({
        "name": "lightgbm-reader", "features": list(FEATURES), "question_features": list(QUESTION_FEATURES),
        "calibration": {k: {"x": x, "y": y} for k, (x, y) in curves.items()},
        "answer_bar": bar, "trained_on": "SQuAD 2.0 dev-8 (+ Apertium es), XQuAD en/es", **meta,
    }, indent=1) + "\n")


def isotonic(raw: np.ndarray, labels: np.ndarray, points: int = 64) -> tuple[list[float], list[float]]:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, labels)
    xs = np.unique(np.quantile(raw, np.linspace(0, 1, points)))
    return xs.tolist(), iso.predict(xs).tolist()


def auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores)) if 0 < labels.sum() < len(labels) else None


def question_outcomes(table: Table, p: np.ndarray, confidence: np.ndarray) -> list[dict]:
    """Per question: the reader's confidence and whether its most probable candidate is a gold sentence."""
    out = []
    order = np.argsort(table.qid, kind="stable")
    qids, starts = np.unique(table.qid[order], return_index=True)
    bounds = list(starts) + [len(order)]
    for n, q in enumerate(qids):
        idx = order[bounds[n] : bounds[n + 1]]
        best = idx[np.argmax(p[idx])]
        m = table.meta[q]
        out.append({**{k: m[k] for k in ("dataset", "direction", "answerable", "translated", "gold_in_candidates")},
                    "p": float(confidence[n]), "p_sentence": float(p[best]), "right_sentence": bool(table.labels[best])})
    return out


def rates(outcomes: list[dict], bar: float) -> dict[str, float | None]:
    ans = [o for o in outcomes if o["answerable"]]
    una = [o for o in outcomes if not o["answerable"]]
    answered = [o for o in outcomes if o["p"] >= bar]
    right = [o for o in ans if o["p"] >= bar and o["right_sentence"]]
    partial = [o for o in outcomes if o["p"] < bar and o["p_sentence"] >= SENTENCE_BAR]
    return {
        "partial": len(partial) / len(outcomes) if outcomes else None,
        "answerable_right": len(right) / len(ans) if ans else None,
        "unanswerable_refused": sum(o["p"] < bar for o in una) / len(una) if una else None,
        "precision": len(right) / len(answered) if answered else None,
        "questions": len(outcomes),
    }


def report(table: Table, p: np.ndarray, confidence: np.ndarray, bar: float, seconds: float) -> dict:
    outcomes = question_outcomes(table, p, confidence)
    sim = table.rows[:, FEATURES.index("similarity")]
    by: dict[str, dict] = {}
    for ds in ("squad2", "xquad"):
        for direction in ("en-en", "es-es", "es-en", "en-es", "all"):
            sel = [o for o in outcomes if o["dataset"] == ds and (direction == "all" or o["direction"] == direction)]
            rows = np.array([table.meta[q]["dataset"] == ds and (direction == "all" or table.meta[q]["direction"] == direction) for q in table.qid])
            qa = np.array([o["p"] for o in sel])
            lab = np.array([o["answerable"] for o in sel])
            qsim = np.array([max_sim for max_sim in _question_max(table, sim, ds, direction)])
            qsent = np.array([o["p_sentence"] for o in sel])
            by[f"{ds} {direction}"] = {
                "sentence_auc": auc(p[rows], table.labels[rows]), "sentence_auc_e5": auc(sim[rows], table.labels[rows]),
                "answerable_auc": auc(qa, lab), "answerable_auc_sentence": auc(qsent, lab), "answerable_auc_e5": auc(qsim, lab),
                "gold_in_candidates": float(np.mean([o["gold_in_candidates"] for o in sel if o["answerable"]])) if lab.any() else None,
                **rates(sel, bar),
            }
    curve = [{"bar": b, **rates([o for o in outcomes if o["dataset"] == "squad2"], b),
              "xquad_right": rates([o for o in outcomes if o["dataset"] == "xquad"], b)["answerable_right"]}
             for b in np.round(np.arange(0.05, 0.96, 0.05), 2)]
    return {"by": by, "squad2_curve": curve, "bar": bar, "seconds": round(seconds, 1)}


def _question_max(table: Table, sim: np.ndarray, ds: str, direction: str) -> list[float]:
    best: dict[int, float] = {}
    for i, q in enumerate(table.qid):
        m = table.meta[q]
        if m["dataset"] == ds and (direction == "all" or m["direction"] == direction):
            best[q] = max(best.get(q, -1.0), float(sim[i]))
    return [best[q] for q in sorted(best)]


def choose_bar(outcomes: list[dict]) -> float:
    """The answer bar: the most right answers plus refusals over the external sets, each rate counted once: SQuAD 2.0's
    answerable questions answered right, its unanswerable ones refused, and XQuAD's (natural, all answerable)
    questions answered right, on held-out articles. (SQuAD 2.0 alone, half adversarial near misses, chose 0.56, which
    refused most plain questions: XQuAD contains-gold 0.40-0.46.)"""
    squad = [o for o in outcomes if o["dataset"] == "squad2"]
    xquad = [o for o in outcomes if o["dataset"] == "xquad"]
    bars = np.round(np.arange(0.05, 0.96, 0.01), 2)

    def value(b):
        r, x = rates(squad, b), rates(xquad, b)
        return r["answerable_right"] + r["unanswerable_refused"] + x["answerable_right"]
    return float(max(bars, key=value))


def markdown(rep: dict, meta: dict) -> str:
    lines = ["# The reader on held-out articles", "",
             f"`python eval/train_reader.py` on {meta['machine']}, {meta['date']}; {meta['folds']} folds grouped by article title "
             f"({meta['rows']:,} candidate sentences, {meta['questions']:,} question-directions, {meta['seconds']:.0f} s). "
             "Every figure is out of fold: the article was in no training data of the model that scored it. "
             "SQuAD 2.0 es is the Apertium translation of the same articles.", "",
             f"Answer bar (calibrated confidence) {rep['bar']:.2f}: the most right answers plus refusals over SQuAD 2.0 and XQuAD. "
             "`right` = the best candidate holds the answer and its confidence passes the bar; `partial` = under the bar, "
             "but the best sentence's own probability is at least 0.5 (QA_SENTENCE_BAR).", "",
             "AUCs: sentence = a candidate holds the answer (reader p vs e5 cosine); answerable = the question has an answer "
             "(reader confidence vs best sentence p vs best e5 cosine).", "",
             "| set | sentence AUC | e5 | answerable AUC | best p | e5 | gold among candidates | answerable right | unanswerable refused | precision | questions |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    f = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    for name, r in rep["by"].items():
        lines.append(f"| {name} | {f(r['sentence_auc'])} | {f(r['sentence_auc_e5'])} | {f(r['answerable_auc'])} | "
                     f"{f(r['answerable_auc_sentence'])} | {f(r['answerable_auc_e5'])} | "
                     f"{f(r['gold_in_candidates'])} | {f(r['answerable_right'])} | {f(r['unanswerable_refused'])} | {f(r['precision'])} | {r['questions']} |")
    lines += ["", "By answer bar (all directions):", "",
              "| bar | SQuAD 2.0 answerable right | unanswerable not answered | precision | partial | XQuAD right |", "|---|---|---|---|---|---|"]
    for c in rep["squad2_curve"]:
        lines.append(f"| {c['bar']:.2f} | {f(c['answerable_right'])} | {f(c['unanswerable_refused'])} | {f(c['precision'])} | "
                     f"{f(c['partial'])} | {f(c['xquad_right'])} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--candidates", type=int, default=12, help="sentences per question, closest by e5 in its article")
    parser.add_argument("--no-ship", action="store_true", help="do not write the shipped model")
    args = parser.parse_args()
    t0 = time.time()
    apertium = build_translator(Settings(translate=True, translate_timeout=600))
    if apertium is None:
        raise SystemExit("Apertium is needed to train the reader (apt-get install -y apertium apertium-en-es)")
    translator = CachedTranslator(apertium)
    embedder = E5Embedder(threads=2)
    datasets = {"squad2": load_squad2(translator), "xquad": load_xquad(translator)}
    print("data loaded", round(time.time() - t0), "s", flush=True)
    neural = NeuralScores(MODEL_DIR / "cross_reader.onnx", translator)
    table = cached_table(datasets, embedder, translator, neural, args.candidates)
    print("features", table.rows.shape, round(time.time() - t0), "s", flush=True)
    fold_of = fold_of_title(table, args.folds)
    row_fold = np.array([fold_of[g] for g in table.groups])
    raw, sentence_models = cross_fit(table.rows, table.labels, row_fold, args.folds, ["asks"], FEATURES)
    curves = {"sentence": isotonic(raw, table.labels)}
    p = np.interp(raw, *curves["sentence"])
    qt = question_table(table, p, fold_of)
    qraw, question_models = cross_fit(qt.rows, qt.labels, qt.fold, args.folds, ["asks"], QUESTION_FEATURES)
    curves["question"] = isotonic(qraw, qt.labels)
    confidence = np.interp(qraw, *curves["question"])
    outcomes = question_outcomes(table, p, confidence)
    bar = choose_bar(outcomes)
    seconds = time.time() - t0
    rep = report(table, p, confidence, bar, seconds)
    meta = {"machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}",
            "date": time.strftime("%Y-%m-%d"), "folds": args.folds, "rows": len(table.labels), "questions": len(table.meta),
            "seconds": seconds, "candidates": args.candidates, "params": PARAMS, "rounds": ROUNDS}
    (ROOT / "eval" / "reader.json").write_text(json.dumps({"meta": meta, **rep}, indent=1) + "\n")
    (ROOT / "eval" / "reader.md").write_text(markdown(rep, meta))
    print(markdown(rep, meta))
    if not args.no_ship:
        # The fold models serve `qa eval --squad2`, which answers each article with a reader that never saw it.
        for k in range(args.folds):
            held_out = sorted(t for t, f in fold_of.items() if f == k)
            folder = FOLDS_DIR / f"fold{k}"
            save(folder, {"sentence": sentence_models[k], "question": question_models[k]}, curves, bar,
                 {"meta": meta, "held_out": held_out})
        final = {"sentence": train(table.rows, table.labels), "question": train(qt.rows, qt.labels, QUESTION_FEATURES)}
        save(MODEL_DIR, final, curves, bar, {"meta": meta})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
