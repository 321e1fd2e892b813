"""Measure near-duplicate detection (qa/ingest/dedup.py): which shingle size and Jaccard bar tell a syndicated copy or a light
edit of a story from a different story on the same subject.

Stories: the five seed articles, and SQuAD 2.0's dev articles cut into stories of three paragraphs (so a story's
hardest negatives are the other stories of its Wikipedia article: same subject, names and words). Copies are made
from each story the way outlets change wire copy: their own header and credit line, a trimmed end, a rewritten lede,
words changed. Negatives are every pair of different stories of the same source article, every pair of seeds, and
follow-ups: a story's first half then another story of its subject, as an outlet's next report repeats its background.
A follow-up must not be merged: its new half would not be indexed.

    python eval/dedup.py            # writes eval/dedup.md
"""

import itertools
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from qa.ingest.dedup import Signatures, shingles  # noqa: E402
from qa.core.settings import Settings  # noqa: E402
from qa.core.text import sentences  # noqa: E402

SQUAD = ROOT.parent / "shared" / "benchmarks" / "squad2" / "squad2-dev-8.json"
SEEDS = ROOT / "seeds"
HEADERS = ["LISBON (Reuters) -", "By Agence France-Presse", "MADRID, 5 March (EFE) —", "Staff and wire reports"]
CREDITS = ["Reporting by Ana Silva; Editing by John Stonestreet", "(AFP)", "© EFE 2024. All rights reserved.",
           "This story was published from a wire agency feed without modifications to the text."]


def stories() -> list[tuple[str, str]]:
    """(group, text): seeds are one group; each SQuAD article's three-paragraph stories another."""
    out = [("seeds", p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))]
    for article in json.loads(SQUAD.read_text(encoding="utf-8"))["data"]:
        paras = [p["context"] for p in article["paragraphs"]]
        out += [(article["title"], "\n\n".join(paras[i : i + 3])) for i in range(0, len(paras) - 2, 3)]
    return out


def copies(text: str, rng: random.Random) -> dict[str, str]:
    """The copies an outlet makes of a wire story."""
    sents = [s.text for s in sentences(text)]
    vocab = text.split()

    def changed(share: float) -> str:
        ws = text.split()
        for i in rng.sample(range(len(ws)), int(len(ws) * share)):
            ws[i] = rng.choice(vocab)
        return " ".join(ws)

    header, credit = rng.choice(HEADERS), rng.choice(CREDITS)
    return {
        "wire copy (own header and credit)": f"{header} {text}\n\n{credit}",
        "trimmed to 70%": f"{header} " + " ".join(sents[: max(1, int(len(sents) * 0.7))]),
        "rewritten lede": "An outlet's own opening sentence sets the scene for its readers today. " + " ".join(sents[1:]),
        "5% of words changed": changed(0.05),
        "10% of words changed": changed(0.10),
        "20% of words changed": changed(0.20),
    }


def main() -> None:
    rng = random.Random(19)
    base = Settings()
    all_stories = stories()
    kinds: dict[str, list[tuple[str, str]]] = {}
    for _, text in all_stories:
        for kind, copy in copies(text, rng).items():
            kinds.setdefault(kind, []).append((text, copy))
    negatives = [(a, b) for (ga, a), (gb, b) in itertools.combinations(all_stories, 2) if ga == gb]
    follow_ups = [(a, a[: len(a) // 2] + "\n\n" + b) for a, b in negatives[:: max(1, len(negatives) // 200)]]
    lines = ["# Near-duplicate detection: shingle size and Jaccard bar", "",
             f"`python eval/dedup.py`: {len(all_stories)} stories (5 seeds, SQuAD 2.0 dev articles cut into stories of 3 "
             f"paragraphs), {sum(map(len, kinds.values()))} copies, {len(negatives)} pairs of different stories on the "
             "same subject (the same Wikipedia article, or two seeds). MinHash estimate with "
             f"{base.minhash_permutations} permutations; a pair is merged when the estimate reaches the bar.", ""]
    best = None
    for k in (1, 2, 3, 4, 5):
        sig = Signatures(base.model_copy(update={"shingle_words": k}))
        est = {}
        for kind, pairs in kinds.items():
            est[kind] = [sig.of(a).jaccard(sig.of(b)) for a, b in pairs]
        neg = [sig.of(a).jaccard(sig.of(b)) for a, b in negatives]
        follow = sorted(sig.of(a).jaccard(sig.of(b)) for a, b in follow_ups)
        exact_neg = max(len(shingles(a, k) & shingles(b, k)) / len(shingles(a, k) | shingles(b, k)) for a, b in negatives)
        lines += [f"## {k}-word shingles", "",
                  f"Different stories: highest estimate {max(neg):.3f} (exact Jaccard {exact_neg:.3f}), "
                  f"99th percentile {sorted(neg)[int(len(neg) * 0.99)]:.3f}.", "",
                  "| copy | lowest | median | merged at bar 0.3 | 0.4 | 0.5 | 0.6 |", "|---|---|---|---|---|---|---|"]
        for kind, values in est.items():
            values = sorted(values)
            cells = " | ".join(f"{sum(v >= bar for v in values) / len(values):.3f}" for bar in (0.3, 0.4, 0.5, 0.6))
            lines.append(f"| {kind} | {values[0]:.3f} | {values[len(values) // 2]:.3f} | {cells} |")
        false = " | ".join(f"{sum(v >= bar for v in neg)}" for bar in (0.3, 0.4, 0.5, 0.6))
        merged_follow = " | ".join(f"{sum(v >= bar for v in follow) / len(follow):.3f}" for bar in (0.3, 0.4, 0.5, 0.6))
        lines += [f"| *different stories merged (pairs)* | | | {false} |",
                  f"| *follow-ups merged (share of {len(follow)}; should be 0)* | {follow[0]:.3f} | {follow[len(follow) // 2]:.3f} "
                  f"| {merged_follow} |", ""]
        light = [v for kind, values in est.items() if kind != "20% of words changed" for v in values]
        margin = min(light) - max(neg)
        if best is None or margin > best[1]:
            best = (k, margin, max(neg), min(light))
    k, margin, neg_max, light_min = best
    lines += ["## Choice", "",
              f"{k}-word shingles leave the widest gap between the lowest copy (5-10% of words changed, trimmed, "
              f"rewritten lede, wire copy: {light_min:.3f}) and the highest different story ({neg_max:.3f}). "
              "A follow-up that repeats half of an earlier report scores about 1/3 and must stay its own article, so the bar "
              "sits above the follow-ups and below the light copies. "
              f"Settings now: `QA_SHINGLE_WORDS={base.shingle_words}`, `QA_DUPLICATE_JACCARD={base.duplicate_jaccard}`.", ""]
    out = ROOT / "eval" / "dedup.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
