"""Benchmarks of the qa package (driven by `qa bench`), kept out of the package: speed, size and sturdiness,
measured against a plain llama-index pipeline on the same store.

Modes:
  compare  cold start, ingest throughput and peak memory, per-stage query latency and first token,
           ours and the llama-index baseline in the same run, with ratios
  scale    ingest time, store size, retrieval latency and memory at ~1k, 10k and 100k chunks
  load     concurrent chat users against `qa chat` on 127.0.0.1
  lexical  the lexical index alone on synthetic chunks, up to 1M (build, load, score, RSS)
  quality  retrieval hit@1/hit@5/MRR with chunk vectors pooled from sentences vs embedded (gold, XQuAD, SQuAD 2.0)

Each measurement runs in a fresh subprocess (`python -m benchmarks.cli --worker NAME CONFIG`) so that a
cold start and a peak RSS (ru_maxrss) belong to one system and one phase only.
Results go to benchmarks/results/<mode>[-server].json and .md (and scale*.png).
"""
