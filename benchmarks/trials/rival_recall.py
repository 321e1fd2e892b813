"""Trial (issue 18): how much of the exact rival search the chunk-bounded one finds, on a store built by `qa bench scale`.

The rival search (Retriever.sentence_passages) used to ask Chroma's sentence collection for the rival_k sentences
nearest the question over the whole store; it now ranks the sentences of the rival_chunks chunks nearest the
question, so a query never opens that collection. This measures, per question, the share of the exact top rival_k
(brute force over every sentence vector in the lexical generation's table) that the bounded search returns, for
several rival_chunks. Questions are XQuAD's (both languages, round-robin over articles), which the scale store's
base articles hold; none of them was used to choose rival_chunks.

    qa bench scale --sizes 1000 --work /tmp/scale-work
    PYTHONPATH=. python benchmarks/trials/rival_recall.py /tmp/scale-work/scale/data 200
"""

import sys

import numpy as np

from benchmarks.common import pick_questions, worker_settings, xquad_articles
from qa.assistant import Assistant

CHUNKS = (10, 20, 50, 100, 200)


def main(data_dir: str, n: int) -> int:
    bot = Assistant(worker_settings({"data_dir": data_dir, "collection": "scale"}), auto_ingest=False)
    k = bot.settings.rival_k
    snap = bot.retriever.snapshot()
    table = snap.bm25.sentences
    questions = pick_questions(xquad_articles(), n)
    qvecs = bot.embedder.embed_queries(questions)
    recall: dict[int, list[float]] = {c: [] for c in CHUNKS}
    for qvec in qvecs:
        scores = table.vectors @ qvec
        floor = np.sort(scores)[-k]  # the exact top k's lowest score: ties with it count as found
        for c in CHUNKS:
            near = [cid for cid, _ in bot.store.dense_search(qvec, c, None)]
            found = bot.retriever.sentences_for(near)
            got = np.sort(np.stack([v for _, v in found]) @ qvec)[::-1][:k] if found else np.zeros(0)
            recall[c].append(min(1.0, float((got >= floor - 1e-6).sum()) / k))
    print(f"{len(questions)} XQuAD questions, {snap.bm25.n} chunks, {table.rows} sentences, rival_k {k}\n")
    print("| rival_chunks | share of the exact top rival_k found: mean | questions with all found |\n|---:|---:|---:|")
    for c in CHUNKS:
        r = np.array(recall[c])
        print(f"| {c} | {r.mean():.3f} | {(r >= 1.0).mean():.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200))
