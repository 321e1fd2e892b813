"""Trial: where an ingest's wall time goes, by wrapping the functions that do each part.

    PYTHONPATH=. python benchmarks/trials/ingest_parts.py WORK/compare/articles [sentences|embedded]

Ingests the folder into a fresh store under /tmp/ingest-parts with the real model and Apertium (when installed), the
splitter built and nltk imported first (the baseline of `qa bench compare` pays those too), and prints each part's
seconds; indented parts are inside put_articles. Measured on 2026-12-03 (AMD EPYC, 2 cores, the compare corpus, pooled
chunk vectors). Article by article (8877752): 13.6 s in all, 11.1 s in the model, Apertium 1.0 s, Chroma's sentence
records 0.53 s, its chunk records 0.35 s, the manifest entries 0.24 s, chunking 0.05 s. Written in batches
(5a9c236): 12.2 s in all, 10.6 s in the model, Apertium 1.0 s, sentence records 0.22 s, chunk records 0.14 s,
manifest entries 0.04 s.
"""

import functools
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

from llama_index.vector_stores.chroma import ChromaVectorStore

import qa.index.indexer as indexer
import qa.index.store as store
from qa import Assistant
from qa.ingest.chunking import splitter
from qa.core.settings import Settings

SECONDS: dict[str, float] = defaultdict(float)


def timed(owner: object, name: str, label: str) -> None:
    inner = getattr(owner, name)

    @functools.wraps(inner)
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            SECONDS[label] += time.perf_counter() - t0

    setattr(owner, name, wrapper)


def main(folder: str, way: str) -> None:
    data = Path("/tmp/ingest-parts")
    shutil.rmtree(data, ignore_errors=True)
    settings = Settings(data_dir=data, collection="parts", chroma_url=None, merge_duplicates=False, chunk_vectors=way)
    bot = Assistant(settings, auto_ingest=False)
    bot.embedder.embed_passages(["warm up"] * 4)
    splitter(settings.chunk_tokens, settings.chunk_overlap)
    import nltk  # noqa: F401  the splitter's sentence tokenizer imports it at its first long text (about 1.4 s)
    timed(bot.embedder, "embed_passages", "model")
    timed(indexer, "chunk_article", "chunking")
    timed(indexer, "sentences_of", "sentences")
    timed(indexer.Pending, "_run", "Apertium and put_translations")
    timed(store.Store, "put_articles", "put_articles (with the model)")
    timed(store.Store, "_commit", "  manifest entry")
    timed(ChromaVectorStore, "add", "  Chroma chunk records")
    timed(bot.store.sentences, "add", "  Chroma sentence records")
    t0 = time.perf_counter()
    report = bot.ingest([folder])
    print(report.summary(), f"· {time.perf_counter() - t0:.2f} s in all")
    for label, seconds in sorted(SECONDS.items(), key=lambda kv: -kv[1]):
        print(f"{label:36s} {seconds:6.2f} s")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "sentences")
