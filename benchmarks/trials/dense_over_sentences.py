"""Trial, not shipped: `qa bench quality` with the dense search done over sentence vectors, a chunk scored by its best
sentence, for the pooled way (QA_CHUNK_VECTORS=sentences). Its "pooled" column is then this way.

    python -m benchmarks.trials.dense_over_sentences --questions 200 --out /tmp/quality-maxsent

Sentences carry no language or date, so a filter is turned into the ids of the articles it allows. Measured on
2026-12-02 (benchmarks/results/quality-dense-over-sentences.md): hit@5 against chunks embedded on their own was
within a point on the gold set and XQuAD and 2.5 points lower on SQuAD 2.0, so it did not become the default.
"""

import argparse
import sys

from benchmarks import cli
from qa.index import store as st

_chunk_search = st.Store.dense_search


def _allowed(self: st.Store, where: dict) -> dict:
    conds = where.get("$and", [where])
    ids = [a for a, s in self.manifest().items()
           if all(("lang" not in c or s.lang == c["lang"]["$eq"]) and ("article_id" not in c or a in c["article_id"]["$in"]) for c in conds)]
    return {"article_id": {"$in": ids}}


def dense_search(self: st.Store, query_vec, k: int, where: dict | None):
    if self.settings.chunk_vectors != "sentences":
        return _chunk_search(self, query_vec, k, where)
    got = self.sentences.query(query_embeddings=[query_vec.tolist()], n_results=k * 4, where=_allowed(self, where) if where else None,
                               include=["metadatas", "distances"])
    best: dict[str, float] = {}
    for m, d in zip(got["metadatas"][0], got["distances"][0]):
        best.setdefault(m["chunk_id"], 1 - d)
    return [(cid, best[cid]) for cid in list(best)[:k]]


if __name__ == "__main__":
    st.Store.dense_search = dense_search
    parser = argparse.ArgumentParser(prog="dense_over_sentences")
    cli.configure(parser)
    args = parser.parse_args(["quality", *sys.argv[1:]])
    sys.argv = ["qa", "bench", "quality", *sys.argv[1:]]
    raise SystemExit(cli.run(args))
