"""Trial (issue 39): would Snowball stemming (PyStemmer) or a maintained stopword list (stopwords-iso, stop-words) find better
passages by BM25 than the terms it had (folded words, our stopword lists, an s/es plural strip)?

    pip install PyStemmer stopwordsiso stop-words
    PYTHONPATH=. python benchmarks/trials/lexical_stemming.py [--out benchmarks/results/trial-lexical-stemming.md]

BM25 alone (bm25s, Lucene's form, the settings' k1 and b), each paragraph one document, each question against all the
paragraphs of its set in its own language: XQuAD en and es (240 paragraphs, 1,190 questions each; XQuAD is not used to
tune lexical search), SQuAD 2.0 dev-8 English and its Spanish translation (answerable questions only). Right when the
question's own paragraph ranks first (hit@1) or in the first five (hit@5). The language of each side is known here; in
the product a question's comes from detect_lang. Dense search and the reader are left out: the hybrid figures
(`qa bench quality`) move less than BM25's alone.
"""

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
import stopwordsiso
from stop_words import get_stop_words

from qa.core.settings import Settings
from qa.core.text import STOPWORDS, fold, words
from qa_eval.paths import paths

_OTHER_THAN = frozenset("vice ex non anti pseudo".split())
_STEMMERS = {"en": Stemmer.Stemmer("english"), "es": Stemmer.Stemmer("spanish")}
_ISO = frozenset(fold(w) for lang in ("en", "es") for w in stopwordsiso.stopwords(lang))  # 1,298 English, 732 Spanish
_STOP_WORDS = frozenset(fold(w) for lang in ("en", "es") for w in get_stop_words(lang))  # the stop-words package: 1,333 / 652


def _words(text: str) -> list[str]:
    """The word split of qa.core.text.terms: hyphenated words also as their parts."""
    out = []
    for w in words(text.lower()):
        out.append(w)
        if "-" in w and w.split("-")[0] not in _OTHER_THAN:
            out += re.split(r"[-’']", w)
    return out


def _plural(w: str) -> str:
    """The plural strip qa.core.text.terms had before Snowball."""
    if len(w) > 4 and w.endswith("es") and not w.endswith("ies"):
        return w[:-2]
    return w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w


def tokenizer(stem: str, stop: frozenset[str] | None) -> Callable[[str, str], list[str]]:
    """stem: "plural" (today's strip), "lang" (Snowball in the text's language) or "both" (the folded word through
    Snowball English, then Spanish, whatever its language); `stop` replaces today's stopwords."""
    def run(text: str, lang: str) -> list[str]:
        out = []
        for w in _words(text):
            f = fold(w)
            if f in (stop if stop is not None else STOPWORDS) or len(f) < 2 and not f.isdigit():
                continue
            out.append(_plural(f) if stem == "plural" else fold(_STEMMERS[lang].stemWord(w)) if stem == "lang"
                       else _STEMMERS["es"].stemWord(_STEMMERS["en"].stemWord(f)))
        return out
    return run


def sets() -> dict[str, tuple[list[str], list[tuple[str, int]], str]]:
    """Each set: its paragraphs, its questions with their paragraph's index, and its language."""
    out = {}
    xquad = paths().xquad_dir
    for lang in ("en", "es"):
        data = json.loads((xquad / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
        paras = [p for doc in data for p in doc["paragraphs"]]
        out[f"xquad {lang}"] = ([p["context"] for p in paras], [(q["question"], i) for i, p in enumerate(paras) for q in p["qas"]], lang)
    squad = paths().benchmarks_dir / "squad2"
    for name, lang in (("squad2-dev-8.json", "en"), ("squad2-es-dev-8.json", "es")):
        data = json.loads((squad / name).read_text(encoding="utf-8"))["data"]
        paras = [p for a in data for p in a["paragraphs"]]
        out[f"squad2 dev-8 {lang}"] = ([p["context"] for p in paras],
                                       [(q["question"], i) for i, p in enumerate(paras) for q in p["qas"] if not q.get("is_impossible")], lang)
    return out


def ranks(tok: Callable[[str, str], list[str]], paras: list[str], questions: list[tuple[str, int]], lang: str) -> np.ndarray:
    """The rank (0 = first) of each question's own paragraph."""
    s = Settings()
    bm25 = bm25s.BM25(k1=s.bm25_k1, b=s.bm25_b, method="lucene")
    bm25.index([tok(p, lang) for p in paras], show_progress=False)
    out = []
    for q, gold in questions:
        qt = [t for t in tok(q, lang) if t in bm25.vocab_dict]
        scores = bm25.get_scores(qt) if qt else np.zeros(len(paras))
        out.append(int((scores > scores[gold]).sum()))
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/trial-lexical-stemming.md"))
    args = parser.parse_args()
    tokenizers = {"before (plural strip, our stopwords)": tokenizer("plural", None),
                  "Snowball in the text's language, our stopwords": tokenizer("lang", None),
                  "Snowball English then Spanish, any language, our stopwords": tokenizer("both", None),
                  "plural strip, stopwords-iso": tokenizer("plural", _ISO), "Snowball, stopwords-iso": tokenizer("lang", _ISO),
                  "Snowball, stop-words": tokenizer("lang", _STOP_WORDS)}
    lines = ["| set | questions | " + " | ".join(f"{name}: hit@1 / hit@5" for name in tokenizers) + " |",
             "|---|---:|" + "---:|" * len(tokenizers)]
    for set_name, (paras, questions, lang) in sets().items():
        cells = []
        for tok in tokenizers.values():
            r = ranks(tok, paras, questions, lang)
            cells.append(f"{(r == 0).mean():.3f} / {(r < 5).mean():.3f}")
        lines.append(f"| {set_name} | {len(questions)} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    args.out.write_text("# Trial: Snowball stemming and stopwords-iso in BM25 alone\n\n"
                        "Command: `PYTHONPATH=. python benchmarks/trials/lexical_stemming.py`. Each paragraph a document, each question "
                        "against its set's paragraphs in its own language; see the script's docstring.\n\n" + table + "\n")


if __name__ == "__main__":
    main()
