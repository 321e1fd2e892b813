"""Trial: does grouping the texts of an ingest into fewer, larger model calls embed them faster?

    PYTHONPATH=. python benchmarks/trials/embed_batching.py /tmp/compare-work/compare/articles

Embeds the chunks and sentences of the articles in a folder (`qa bench compare` leaves its corpus in
WORK/compare/articles) with the real e5 model in five ways, twice each, and prints the seconds. Measured on
2026-12-03 (AMD EPYC, 2 cores, the compare corpus: 125 chunks, 325 sentences): every way of grouping was within
5 % of the others (19.9-21.2 s for chunks and sentences, 10.3-10.8 s for the chunks alone), so ingest's gap to the
plain pipeline is not in how the texts are batched.
"""

import glob
import sys
import time
from pathlib import Path

from qa.ingest.articles import parse_file
from qa.index.embed import E5Embedder
from qa.ingest.chunking import chunk_article, sentences_of
from qa.core.settings import Settings


def main(folder: str) -> None:
    settings = Settings()
    items = []
    for path in sorted(glob.glob(f"{folder}/*")):
        article = parse_file(Path(path), settings.max_file_bytes)
        chunks = chunk_article(article, settings.chunk_tokens, settings.chunk_overlap)
        items.append(([c.text for c in chunks], [s.text for s in sentences_of(article, chunks)]))
    model = E5Embedder(settings.embed_model, settings.embed_threads)
    model.embed_passages(["warm up"] * 4)
    every_chunk = [t for c, _ in items for t in c]
    ways = {
        "per article, chunks then sentences": lambda: [(model.embed_passages(c), model.embed_passages(x)) for c, x in items],
        "per article, one call": lambda: [model.embed_passages(c + x) for c, x in items],
        "all chunks, then all sentences": lambda: (model.embed_passages(every_chunk), model.embed_passages([t for _, x in items for t in x])),
        "chunks only, per article": lambda: [model.embed_passages(c) for c, _ in items],
        "chunks only, batches of 32 (llama-index's)": lambda: [model.embed_passages(every_chunk[i : i + 32]) for i in range(0, len(every_chunk), 32)],
    }
    for _ in range(2):
        for name, way in ways.items():
            t0 = time.perf_counter()
            way()
            print(f"{name}: {time.perf_counter() - t0:.2f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
