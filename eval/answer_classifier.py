"""Could a model learned from XQuAD stand in for entailment? A measurement, not a component.

No usable entailment model ships in a registry package (eval/nli_candidates.py), so this asks whether a
logistic regression over what we already have (e5 vectors, word overlap, question type against what the
sentence holds) can tell the sentence that answers an XQuAD question from the other sentences of its paragraph, well enough to refuse the
near misses that the composer answers today. The gate figure is the one that matters: of the questions whose
closest sentence (by e5) is not the answer, how many would the model refuse while keeping 95 % of those whose
closest sentence is. Five folds by Wikipedia article, all four language directions. A second table asks the
same of a rule: how often the answer sentence lacks a restricting word of its question ("the first president").
A third asks whether e5 reading the question and the sentence together (one text, a frozen cross-encoding)
adds what the separate vectors miss; it is trained and scored on the two closest sentences of each
question-direction only, the population the gate sees.

Run: python eval/answer_classifier.py  (embeds XQuAD's 2,354 sentences, then 9,400 question-sentence texts:
about 11 minutes on 2 cores; writes eval/answer_classifier.md)
"""

import json
import os
import platform
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from qa.index.embed import E5Embedder
from qa.core.text import is_year, numbers, sentences, terms

ROOT = Path(__file__).resolve().parent.parent
XQUAD = ROOT.parent / "shared" / "benchmarks" / "xquad"
LANGS = ("en", "es")
FOLDS = 5
KEEP = 0.95
RESTRICTING = ("first", "primer", "primera", "last", "último", "última", "main", "principal", "after", "después", "antes",
               "most", "más", "mayor")
QUESTION_TYPES = {
    "who": r"\b(who|whom|whose|qui[eé]n(es)?)\b",
    "when": r"\b(when|cu[aá]ndo|what year|qu[eé] año)\b",
    "how many": r"\b(how (many|much)|cu[aá]nt[oa]s?)\b",
    "where": r"\b(where|d[oó]nde)\b",
    "why": r"\b(why|por qu[eé])\b",
}


def _capitalised(text: str) -> set[str]:
    return set(re.findall(r"\b[A-ZÁÉÍÓÚÑ][\wáéíóúñ]+", text))


def hand_features(question: str, sentence: str, sim: float) -> list[float]:
    """Closeness, word share, and each question type crossed with what the sentence holds (a number, a year, a new name)."""
    asked = set(terms(question))
    share = len(asked & set(terms(sentence))) / max(1, len(asked))
    nums = numbers(sentence)
    holds = [bool(nums), any(is_year(n) for n in nums), bool(_capitalised(sentence) - _capitalised(question))]
    kinds = [bool(re.search(p, question, re.I)) for p in QUESTION_TYPES.values()]
    return [sim, share, *map(float, holds), *map(float, kinds), *(float(k and h) for k in kinds for h in holds)]


def fit(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """L2-regularised logistic regression by Newton steps (a few hundred features: the Hessian is small)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(25):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) + reg * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(reg) + 1e-6 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    ranks = np.empty(len(scores))
    ranks[np.argsort(scores)] = np.arange(1, len(scores) + 1)
    pos = labels == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def load(embedder: E5Embedder):
    """Every (question, sentence of the question's paragraph) pair in the four directions, labelled by the answer's offset."""
    data = {lang: json.loads((XQUAD / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"] for lang in LANGS}
    paras, asked = {}, {}
    for lang in LANGS:
        for a, doc in enumerate(data[lang]):
            for i, p in enumerate(doc["paragraphs"]):
                paras[(lang, a, i)] = sentences(p["context"])
                for q in p["qas"]:
                    asked[(lang, q["id"])] = (a, i, q["question"], q["answers"][0]["answer_start"])
    texts = sorted({s.text for spans in paras.values() for s in spans})
    svec = dict(zip(texts, embedder.embed_passages(texts)))
    qtexts = sorted({q for _, _, q, _ in asked.values()})
    qvec = dict(zip(qtexts, embedder.embed_queries(qtexts)))
    pairs = []  # (direction, qid, article, question, sentence, label)
    for (q_lang, qid), (a, _, question, _) in asked.items():
        for s_lang in LANGS:
            _, i, _, start = asked[(s_lang, qid)]
            for s in paras[(s_lang, a, i)]:
                pairs.append((f"{q_lang}-{s_lang}", qid, a, question, s.text, float(s.start <= start < s.end)))
    return pairs, svec, qvec


def cross_validated(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each pair scored by the model fitted on the other folds' articles."""
    x = (x - x.mean(0)) / (x.std(0) + 1e-9)
    pred = np.zeros(len(y))
    for k in range(FOLDS):
        test = folds == k
        w = fit(x[~test], y[~test], l2=10.0)
        pred[test] = np.hstack([x[test], np.ones((test.sum(), 1))]) @ w
    return pred


def gate(scores: np.ndarray, right: np.ndarray) -> tuple[float, float]:
    """Gate AUC, and the share of wrong closest sentences under the bar that keeps KEEP of the right ones."""
    bar = np.quantile(scores[right], 1 - KEEP)
    return auc(scores, right.astype(float)), float(np.mean(scores[~right] < bar))


def joint_rows(embedder: E5Embedder, pairs: list, sims: np.ndarray, hand: np.ndarray, product: np.ndarray, groups: dict,
               best: set[int]) -> list[str]:
    """The frozen cross-encoding: e5 over "question sentence" as one text, for the two closest sentences per question
    (`best` holds the closest one's pair index)."""
    idx = np.array([n for members in groups.values() for n in sorted(members, key=lambda n: -sims[n])[:2]])
    joint = embedder.embed_queries([f"{pairs[n][3]} {pairs[n][4]}" for n in idx])
    y = np.array([pairs[n][5] for n in idx])
    folds = np.array([pairs[n][2] % FOLDS for n in idx])
    closest = np.array([n in best for n in idx])
    sets = {"e5 similarity alone": sims[idx][:, None], "+ word share, question type x number / year / new name": hand[idx],
            "+ joint vector (384 weights)": np.hstack([hand[idx], joint]),
            "+ joint and product vectors (768 weights)": np.hstack([hand[idx], joint, product[idx]])}
    lines = ["", f"Frozen cross-encoding, {len(idx)} pairs (the two closest sentences of each question-direction):", "",
             "| features | pair AUC | gate AUC | wrong closest refused at 95 % kept |", "|---|---:|---:|---:|"]
    for name, x in sets.items():
        pred = cross_validated(x, y, folds)
        gate_auc, refused = gate(pred[closest], y[closest] == 1)
        lines.append(f"| {name} | {auc(pred, y):.3f} | {gate_auc:.3f} | {refused:.3f} |")
    return lines


def main() -> None:
    embedder = E5Embedder()
    pairs, svec, qvec = load(embedder)
    y = np.array([p[5] for p in pairs])
    folds = np.array([p[2] % FOLDS for p in pairs])
    sims = np.array([float(qvec[p[3]] @ svec[p[4]]) for p in pairs])
    hand = np.array([hand_features(p[3], p[4], s) for p, s in zip(pairs, sims)])
    product = np.array([qvec[p[3]] * svec[p[4]] for p in pairs])
    sets = {
        "e5 similarity alone": sims[:, None],
        "+ word share, question type x number / year / new name": hand,
        "+ e5 product vector (384 weights)": np.hstack([product, hand]),
    }
    groups = defaultdict(list)
    for n, p in enumerate(pairs):
        groups[(p[0], p[1])].append(n)
    closest = {g: max(idx, key=lambda n: sims[n]) for g, idx in groups.items()}
    rows = []
    for name, x in sets.items():
        pred = cross_validated(x, y, folds)
        top1 = defaultdict(list)
        for (direction, _), idx in groups.items():
            top1[direction].append(y[max(idx, key=lambda n: pred[n])])
        gate_auc, refused = gate(np.array([pred[n] for n in closest.values()]), np.array([y[n] for n in closest.values()]) == 1)
        rows.append((name, auc(pred, y), {d: float(np.mean(v)) for d, v in sorted(top1.items())}, gate_auc, refused))
    directions = sorted(rows[0][2])
    lines = [
        "# Answer-sentence classifier on XQuAD (`python eval/answer_classifier.py`)",
        "",
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; logistic regression, L2 10, five folds by article; "
        f"{len(pairs)} question-sentence pairs, {len(groups)} question-directions; the closest sentence by e5 is the "
        f"answer for {np.mean([y[n] for n in closest.values()]):.3f} of them.",
        "",
        "| features | pair AUC | " + " | ".join(f"top-1 {d}" for d in directions)
        + " | gate AUC (closest sentence right?) | wrong closest refused at 95 % kept |",
        "|---|---:|" + "---:|" * len(directions) + "---:|---:|",
    ]
    for name, pair_auc, top1, gate_auc, refused in rows:
        lines.append(f"| {name} | {pair_auc:.3f} | " + " | ".join(f"{top1[d]:.3f}" for d in directions)
                     + f" | {gate_auc:.3f} | {refused:.3f} |")
    lines += ["", "| restricting word in the question (same language) | questions | answer sentence lacks it |", "|---|---:|---:|"]
    asked = Counter()
    lacking = Counter()
    for direction, _, _, question, sentence, label in pairs:
        if label and direction in ("en-en", "es-es"):
            said = set(re.findall(r"\w+", sentence.lower()))
            for word in set(re.findall(r"\w+", question.lower())) & set(RESTRICTING):
                asked[word] += 1
                lacking[word] += word not in said
    lines += [f"| {w} | {asked[w]} | {lacking[w]} |" for w in RESTRICTING if asked[w]]
    lines += joint_rows(embedder, pairs, sims, hand, product, groups, set(closest.values()))
    out = ROOT / "eval" / "answer_classifier.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
