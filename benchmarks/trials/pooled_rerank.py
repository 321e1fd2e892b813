"""Trial: retrieval with the dense hits (the dense_k the fusion reads) re-scored by a mix of the chunk cosine and the
chunk's best sentence cosine (settings.sentence_weight), for pooled (QA_CHUNK_VECTORS=sentences) or embedded chunk
vectors.

    PYTHONPATH=. python benchmarks/trials/pooled_rerank.py /tmp/quality-work --way sentences --sample 200 [--weights ...]
        [--lexical off on] [--translated 0 0.25 ...] [--held-out 200]

Reads the stores `qa bench quality --work DIR` left (DIR/quality/<set>-<way>), which hold every paragraph of each
set, draws probes as it does (seed 0; --sample 200 gives its questions), and reports hit@1/hit@5/MRR of
`Retriever.retrieve` for each weight w (score = (1 - w) * chunk + w * best sentence; w = 0 is no re-scoring). The
weight was chosen on XQuAD and judged on SQuAD 2.0 and the gold set (benchmarks/results/trial-pooled-rerank.md).
--lexical runs each weight without and with BM25 candidates scored by their chunk vectors (settings.score_lexical_hits,
benchmarks/results/trial-lexical-dense.md). --translated runs each at these shares of another language's lexical
credit taken from BM25 over its stored translations (settings.translated_weight; 0 is none,
benchmarks/results/trial-translated-lexical.md). --held-out N leaves out the N-question sample that chose a value
and measures every other question.
"""

import argparse
import itertools
import json
from collections import defaultdict
from pathlib import Path

from benchmarks.common import XQUAD_DIR
from benchmarks.quality import gold_probes, squad2_probes, xquad_probes
from qa_eval import metrics
from qa.core.settings import PROJECT_ROOT, Settings

def main(work: Path, way: str, sample: int, weights: list[float], lexical: list[str], translated: list[float], held_out: int) -> None:
    from qa.assistant import Assistant
    from qa.index.embed import E5Embedder
    from qa_eval.squad2 import DEFAULT_FILE

    q = work / "quality"
    sets = {
        "gold": (gold_probes(PROJECT_ROOT / "eval" / "questions.jsonl"), Settings().seeds_dir),
        "xquad": (xquad_probes(XQUAD_DIR, q / "articles" / "xquad", sample, 0), q / "articles" / "xquad"),
        "squad2": (squad2_probes(DEFAULT_FILE, q / "articles" / "squad2", sample, 0), q / "articles" / "squad2"),
    }
    if held_out:
        chosen = set(xquad_probes(XQUAD_DIR, q / "articles" / "xquad", held_out, 0)) | set(squad2_probes(DEFAULT_FILE, q / "articles" / "squad2", held_out, 0))
        sets = {name: ([p for p in probes if p not in chosen], articles) for name, (probes, articles) in sets.items()}
    embedder = E5Embedder()
    out: dict = {}
    for name, (probes, articles) in sets.items():
        settings = Settings(data_dir=q / f"{name}-{way}", collection=f"quality-{name}", chroma_url=None,
                            chunk_vectors=way, seeds_dir=articles)
        qvecs = embedder.embed_queries([p.question for p in probes])
        for w, lex, tr in itertools.product(weights, lexical, translated):
            update = {"sentence_weight": w, "score_lexical_hits": lex == "on", "translated_weight": tr}
            bot = Assistant(settings.model_copy(update=update), embedder=embedder, auto_ingest=False)
            ranks: dict[str, list] = defaultdict(list)
            for p, v in zip(probes, qvecs):
                ranks[p.group].append(p.rank(bot.retriever.retrieve(p.question, p.filters, qvec=v)))
            for group, r in ranks.items():
                row = {"n": len(r), "hit_at_1": metrics.mean(float(metrics.hit_at(x, 1)) for x in r),
                       "hit_at_5": metrics.mean(float(metrics.hit_at(x, 5)) for x in r), "mrr": metrics.mean(metrics.reciprocal_rank(x) for x in r)}
                out.setdefault(group, {})[f"{w} lexical {lex} translated {tr}"] = row
                print(f"{way} {group:14s} n={len(r)} w={w:.2f} lexical {lex:3s} translated {tr:.2f} hit@1 {row['hit_at_1']:.3f} hit@5 {row['hit_at_5']:.3f} "
                      f"mrr {row['mrr']:.3f}", flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="pooled_rerank")
    parser.add_argument("work", type=Path)
    parser.add_argument("--way", choices=("embedded", "sentences"), default="sentences")
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--lexical", choices=("off", "on"), nargs="+", default=["off"],
                        help="BM25 candidates scored by their chunk vectors (settings.score_lexical_hits)")
    parser.add_argument("--translated", type=float, nargs="+", default=[Settings().translated_weight],
                        help="shares of another language's lexical credit from BM25 over its translations (settings.translated_weight)")
    parser.add_argument("--held-out", type=int, default=0, help="leave out the questions of this sample size (the choice set)")
    a = parser.parse_args()
    main(a.work, a.way, a.sample, a.weights, a.lexical, a.translated, a.held_out)
