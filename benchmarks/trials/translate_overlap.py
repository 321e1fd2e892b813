"""Trial: would Apertium in a thread, while the model embeds, shorten an ingest on two cores?

    PYTHONPATH=. python benchmarks/trials/translate_overlap.py WORK/compare/articles [repeats]

Embeds the folder's sentences 64 a call (as ingest does), translates them (the first 200 as English, the rest as
Spanish: two Apertium runs, as an ingest of both languages makes), and times the two one after the other, then
together (translation in a thread). Measured on 2026-12-03 (AMD EPYC, 2 cores, shared, the compare corpus, 330
sentences), four repeats: one after the other 9.37 / 10.18 / 9.61 / 8.50 s, together 9.24 / 12.06 / 8.95 / 8.50 s.
Three more at 437a409: 9.81 / 11.53 / 10.68 s against 10.05 / 11.34 / 9.45 s. Once it was 1.9 s slower, as the
model's threads lost a core to Apertium's processes; the gain is within the shared machine's noise, so ingest does not
do it.
"""

import sys
import threading
import time
from pathlib import Path

from qa.index.embed import E5Embedder
from qa.core.settings import Settings
from qa.core.text import sentences
from qa.ingest.translate import build_translator


def main(folder: str, repeats: int) -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(Path(folder).glob("*.txt"))]
    sents = [t[s.start : s.end] for t in texts for s in sentences(t)]
    translator = build_translator(Settings())
    if translator is None:
        raise SystemExit("Apertium is not installed")
    model = E5Embedder()
    model.embed_passages(["warm up"])
    step = Settings().embed_batch

    def translate() -> None:
        translator.translate(sents[:200], "en", "es")
        translator.translate(sents[200:], "es", "en")

    def embed() -> None:
        for i in range(0, len(sents), step):
            model.embed_passages(sents[i : i + step])

    print(f"{len(sents)} sentences")
    for _ in range(repeats):
        t0 = time.perf_counter()
        embed()
        t1 = time.perf_counter()
        translate()
        t2 = time.perf_counter()
        worker = threading.Thread(target=translate)
        worker.start()
        embed()
        worker.join()
        t3 = time.perf_counter()
        print(f"embed {t1 - t0:.2f} s, translate {t2 - t1:.2f} s: one after the other {t2 - t0:.2f} s, together {t3 - t2:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 4)
