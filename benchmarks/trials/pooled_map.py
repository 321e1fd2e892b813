"""Trial (issue 18): can a linear map learned on external data bring pooled chunk vectors closer to embedded ones?

Pooled chunk vectors (QA_CHUNK_VECTORS=sentences) make ingest read the text once (1.02x the plain llama-index ingest)
but lose 0.5-3 points of retrieval hit@5. This reads both vector sets of the chunks `qa bench quality` stored (its
--work folder), fits W by ridge regression towards the identity (min |PW - E|^2 + lam |W - I|^2) on one data set and
reports the mean cosine between mapped pooled and embedded vectors on another: article-disjoint by construction.

    qa bench quality --questions 200 --work /tmp/quality-work
    PYTHONPATH=. python benchmarks/trials/pooled_map.py /tmp/quality-work

Given a second folder COPY (a copy of the work folder), each pooled store's chunk vectors are replaced by the mapped ones, the
map fitted on the other data set (gold's on XQuAD) with lam 1, so that `qa bench quality --work COPY` measures retrieval with them
(its ingest finds the articles unchanged and keeps the vectors): its "pooled" column is then the mapped one.
"""

import glob
import os
import sys

import chromadb
import numpy as np


def chunk_collection(folder: str):
    client = chromadb.PersistentClient(path=os.path.dirname(glob.glob(f"{folder}/**/chroma.sqlite3", recursive=True)[0]))
    return client.get_collection(next(c.name for c in client.list_collections() if c.name.endswith("-chunks")))


def chunk_vectors(folder: str) -> dict[str, np.ndarray]:
    got = chunk_collection(folder).get(include=["embeddings"])
    return dict(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32)))


def fitted(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    eye = np.eye(x.shape[1], dtype=np.float32)
    return np.linalg.solve(x.T @ x + lam * eye, x.T @ y + lam * eye)


def mean_cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))).mean())


def main(work: str, apply: str | None = None, lam: float = 1.0) -> int:
    data = {}
    for ds in ("squad2", "xquad", "gold"):
        e, p = chunk_vectors(f"{work}/quality/{ds}-embedded"), chunk_vectors(f"{work}/quality/{ds}-sentences")
        ids = sorted(set(e) & set(p))
        data[ds] = (np.stack([p[i] for i in ids]), np.stack([e[i] for i in ids]))
    lams = (0.1, 1.0, 3.0, 10.0, 30.0)
    print("| fit on | judged on | chunks fit / judged | pooled | " + " | ".join(f"mapped, lam {x:g}" for x in lams) + " |")
    print("|---|---|---:|---:|" + "---:|" * len(lams))
    for train, test in (("xquad", "squad2"), ("squad2", "xquad"), ("xquad", "gold")):
        (x, y), (xt, yt) = data[train], data[test]
        mapped = [mean_cos(xt @ fitted(x, y, lam), yt) for lam in lams]
        print(f"| {train} | {test} | {len(x)} / {len(xt)} | {mean_cos(xt, yt):.4f} | " + " | ".join(f"{m:.4f}" for m in mapped) + " |")
    if apply:
        for target, source in (("xquad", "squad2"), ("squad2", "xquad"), ("gold", "xquad")):
            collection = chunk_collection(f"{apply}/quality/{target}-sentences")
            got = collection.get(include=["embeddings"])
            vecs = np.asarray(got["embeddings"], dtype=np.float32) @ fitted(*data[source], lam)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            collection.update(ids=got["ids"], embeddings=vecs.tolist())
            print(f"{target}: {len(got['ids'])} pooled chunk vectors mapped (fitted on {source}, lam {lam:g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/quality-work", *sys.argv[2:3]))
