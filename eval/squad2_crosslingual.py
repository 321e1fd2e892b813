"""Spanish questions on English articles, from SQuAD 2.0 dev-8 and its Spanish translation (issue 38's cross-lingual
target). The two files share neither question ids nor titles, and the Spanish one dropped some questions, so each
Spanish question is matched to the English question it translates: within the same article (the files keep the
article order), the pair must be each other's closest by e5 query vector and agree on being answerable. The English
file is then written again with each matched question's text in Spanish (ids, paragraphs and gold answers English),
for `qa eval --squad2 --squad2-file` to ask against the English store.

    python eval/squad2_crosslingual.py            # writes data/eval/squad2-es-on-en.json and prints the matching
    qa eval --squad2 --squad2-file data/eval/squad2-es-on-en.json --data-dir data/eval/squad2
"""

import argparse
import json
from pathlib import Path

import numpy as np

from qa import Settings
from qa.index.embed import make_embedder
from qa_eval.paths import paths


def questions(article: dict) -> list[dict]:
    return [q for p in article["paragraphs"] for q in p["qas"]]


def match(en: list[dict], es: list[dict], vectors) -> tuple[dict[str, str], list[float]]:
    """English question id -> Spanish text, for mutual nearest pairs that agree on answerability; their cosines."""
    a = vectors([q["question"] for q in en])
    b = vectors([q["question"] for q in es])
    sim = b @ a.T
    best_en, best_es = sim.argmax(1), sim.argmax(0)
    out, cos = {}, []
    for j, i in enumerate(best_en):
        if best_es[i] == j and bool(en[i].get("is_impossible")) == bool(es[j].get("is_impossible")):
            out[en[i]["id"]] = es[j]["question"]
            cos.append(float(sim[j, i]))
    return out, cos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--english", type=Path, default=paths().squad2_file)
    parser.add_argument("--spanish", type=Path, default=paths().benchmarks_dir / "squad2" / "squad2-es-dev-8.json")
    parser.add_argument("--out", type=Path, default=paths().stores / "squad2-es-on-en.json")
    args = parser.parse_args()
    en = json.loads(args.english.read_text(encoding="utf-8"))
    es = json.loads(args.spanish.read_text(encoding="utf-8"))
    if len(en["data"]) != len(es["data"]):
        raise SystemExit("the files do not hold the same articles")
    embedder = make_embedder(Settings())
    kept_all, cosines = 0, []
    for a, b in zip(en["data"], es["data"]):
        text_of, cos = match(questions(a), questions(b), embedder.embed_queries)
        cosines += cos
        for p in a["paragraphs"]:
            p["qas"] = [q | {"question": text_of[q["id"]]} for q in p["qas"] if q["id"] in text_of]
        kept = len(text_of)
        kept_all += kept
        print(f"{a['title']} / {b['title']}: {kept} of {len(questions(b))} Spanish questions matched")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(en, ensure_ascii=False), encoding="utf-8")
    unanswerable = sum(q.get("is_impossible", False) for a in en["data"] for p in a["paragraphs"] for q in p["qas"])
    print(f"{kept_all} of {sum(len(questions(b)) for b in es['data'])} Spanish questions matched ({unanswerable} unanswerable); "
          f"cosine with the English question p5 {np.percentile(cosines, 5):.3f}, median {np.median(cosines):.3f}; wrote {args.out}")


if __name__ == "__main__":
    main()
