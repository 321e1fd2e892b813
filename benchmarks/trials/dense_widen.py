"""Trial: retrieve on a `qa bench scale` store with dense_widen 10 and 100, counting the questions that needed a
filtered (per-language) Chroma search and comparing the passages. Retrieve times exclude the query embedding.

    PYTHONPATH=. python benchmarks/trials/dense_widen.py /tmp/scale-work/scale/data

Run on 2026-12-02 at 100,006 chunks (idle 2-core machine): widen 10 p50/p95 159-210 / 296-328 ms, 32 of 60 questions
with a filtered search; widen 100: 16-20 / 21-22 ms, 1 of 60; 51 of 60 the same passages, the other 9 differ by
approximate-search ties, mostly the en and es copies of the same XQuAD article trading places.
"""

import re
import sys
import time

import numpy as np
from benchmarks.common import pick_questions, xquad_articles, worker_settings
from qa.assistant import Assistant
cfg = {"data_dir": sys.argv[1] if len(sys.argv) > 1 else "/tmp/scale-work/scale/data", "collection": "scale"}
qs = pick_questions(xquad_articles(), 60)
out = {}
for widen in (10, 100):
    s = worker_settings(cfg).model_copy(update={"dense_widths": [3, widen]})
    bot = Assistant(s, auto_ingest=False)
    calls = []
    orig = bot.store.dense_search
    bot.store.dense_search = lambda q, k, w, orig=orig: calls.append(w) or orig(q, k, w)
    vecs = bot.embedder.embed_queries(qs)
    bot.retriever.retrieve(qs[0], qvec=vecs[0])
    res, ts, filt = [], [], []
    for q, v in zip(qs, vecs):
        calls.clear()
        t0 = time.perf_counter(); ps = bot.retriever.retrieve(q, qvec=v); ts.append(time.perf_counter() - t0)
        res.append([p.chunk_id for p in ps]); filt.append(sum(1 for w in calls if w))
    out[widen] = res
    print(widen, f"p50 {np.median(ts)*1000:.0f} p95 {np.percentile(ts,95)*1000:.0f} ms; questions with a filtered search {sum(1 for f in filt if f)}/{len(qs)}", flush=True)
same = sum(a == b for a, b in zip(out[10], out[100]))
sameset = sum(set(a) == set(b) for a, b in zip(out[10], out[100]))
print(f"same passages in order {same}/{len(qs)}, same set {sameset}/{len(qs)}")
base = lambda cid: re.sub(r"-v\d+#.*", "", cid).split("#")[0]
for a, b in zip(out[10], out[100]):
    if a != b:
        print(sorted(map(base, a)) == sorted(map(base, b)), len(set(a) ^ set(b)), [base(x) for x in set(a) ^ set(b)][:6])
