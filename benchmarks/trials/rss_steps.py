"""Trial (issue 18): where a query process's memory goes, step by step, on a store built by `qa bench scale`.

A fresh process opens the store and prints its resident memory (VmRSS) after each first use: the model, the
snapshot (manifest and lexical index), Chroma's chunk collection, a read of a few chunks' sentences, the rival
sentence search and one ask. Chroma's local client loads a collection whole at its first access of any kind, which
is why a query reads sentences from the lexical generation's table (qa/index/sentence_table.py) and leaves Chroma's
sentence collection closed.

    qa bench scale --sizes 100000 --work /tmp/scale-work
    PYTHONPATH=. python benchmarks/trials/rss_steps.py /tmp/scale-work/scale/data
"""

import sys

from benchmarks.common import rss_mb, worker_settings
from qa.assistant import Assistant

QUESTION = "When was the treaty signed?"


def main(data_dir: str) -> int:
    print(f"| step | RSS (MB) |\n|---|---:|\n| imports | {rss_mb():.0f} |")
    bot = Assistant(worker_settings({"data_dir": data_dir, "collection": "scale"}), auto_ingest=False)
    print(f"| store opened | {rss_mb():.0f} |")
    qvec = bot.embedder.embed_queries([QUESTION])[0]
    print(f"| model used | {rss_mb():.0f} |")
    bot.retriever.snapshot()
    print(f"| snapshot: manifest and lexical index | {rss_mb():.0f} |")
    hits = bot.store.dense_search(qvec, 100, None)
    print(f"| chunk collection: first dense search | {rss_mb():.0f} |")
    bot.retriever.sentences_for([cid for cid, _ in hits[:5]])
    print(f"| sentence table: first read of 5 chunks' sentences | {rss_mb():.0f} |")
    bot.retriever.sentence_passages(qvec, None, bot.settings.rival_k)
    print(f"| rival search: the sentences of the rival_chunks nearest chunks | {rss_mb():.0f} |")
    bot.ask(QUESTION)
    print(f"| one ask | {rss_mb():.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
