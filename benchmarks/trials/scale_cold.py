"""Trial: the query phase of `qa bench scale` on a grown store, with the page cache emptied first and then warm.

    qa bench scale --sizes 100000 --work /tmp/sw          # grows the store (or reuse one)
    PYTHONPATH=. python benchmarks/trials/scale_cold.py /tmp/sw benchmarks/results/scale-100k-cold.json

Issue 18's targets at 100k chunks (first query ≤ 1 s, retrieve p95 ≤ 100 ms, RSS ≤ 600 MB) were measured right after
the store was built, its files in the page cache. A restarted server may find them on disk only. Emptying the page
cache (`/proc/sys/vm/drop_caches`) needs root; the trial refuses to run without it rather than report a warm run as
cold. Each run is a fresh process (`scale_query`, the same worker as `qa bench scale`), first cold, then warm.
"""

import json
import os
import sys
from pathlib import Path

from benchmarks.common import loadavg, machine, pick_questions, spawn, xquad_articles
from benchmarks.scale import scale_config


def _drop_page_cache() -> None:
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def main(work: str, out: str) -> None:
    cfg = {**scale_config(Path(work) / "scale", None, 100), "questions": pick_questions(xquad_articles(), 30)}
    runs = []
    for cache in ("cold", "warm"):
        if cache == "cold":
            _drop_page_cache()
        query = spawn("scale_query", cfg)
        runs.append({"page_cache": cache, "loadavg": loadavg(), **query})
        lat = query["latency"]["retrieve"]
        print(f"{cache}: first query {query['snapshot_seconds']:.2f} + {query['first_retrieve_seconds']:.2f} s, "
              f"retrieve p50/p95 {lat['p50'] * 1000:.0f}/{lat['p95'] * 1000:.0f} ms, peak RSS {query['peak_rss_mb']:.0f} MB", flush=True)
    result = {"command": " ".join(["python", *sys.argv]), "machine": machine(), "runs": runs}
    Path(out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
