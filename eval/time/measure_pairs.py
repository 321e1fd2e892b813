"""Disagreement on eval/time/pairs.jsonl and the seeds' ceasefire date (issue 42).

Each pair's question is asked over the store of eval/time/articles, filtered to the pair's two articles. A pair that
differs is found when the answer cites both articles, says the sources differ and the disagreement step's trace says
"differ"; a pair that agrees is a false alarm when the answer says they differ. The ceasefire question is asked of the
seeds, unfiltered. Usage: python eval/time/measure_pairs.py [--data-dir FOLDER] (a temporary store by default).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from qa import Assistant, Settings
from qa.core import prompts
from qa.core.types import Answer, Filters

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parents[1] / "seeds"
CEASEFIRE = "When was the trilateral statement on Karabakh signed?"


def says_differ(ans: Answer) -> bool:
    return any(prompts.load(f"conflict.{lang}").render() in ans.text for lang in ("en", "es"))


def verdict(ans: Answer) -> str:
    return next((f"{t.verdict}: {t.detail}" for t in ans.trace if t.step == "disagreement"), ans.refused_by or "no step")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, help="store folder, kept between runs (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data_dir or Path(tmp)
        bot = Assistant(Settings(data_dir=folder / "pairs", collection="pairs", chroma_url=None), auto_ingest=False)
        bot.ingest([HERE / "articles"])
        found = alarms = differ = agree = 0
        for line in (HERE / "pairs.jsonl").read_text(encoding="utf-8").splitlines():
            pair = json.loads(line)
            ans = bot.ask(pair["question"], filters=Filters(article_ids=tuple(pair["articles"])))
            shown = says_differ(ans) and {c.article_id for c in ans.citations} == set(pair["articles"])
            if pair["kind"] == "differ":
                differ += 1
                found += shown
            else:
                agree += 1
                alarms += says_differ(ans)
            mark = "FOUND" if shown and pair["kind"] == "differ" else "ALARM" if says_differ(ans) and pair["kind"] == "agree" else "-"
            print(f"{pair['id']} {pair['kind']:6} {mark:5} {ans.grade:8} {verdict(ans)}")
        seeds = Assistant(Settings(data_dir=folder / "seeds", collection="seeds", chroma_url=None, seeds_dir=SEEDS))
        ans = seeds.ask(CEASEFIRE)
        ceasefire = says_differ(ans) and len({c.article_id for c in ans.citations}) == 2
        print(f"\nceasefire: {'FOUND' if ceasefire else 'missed'} ({verdict(ans)})\n{ans.text}\n")
        print(f"differing pairs found: {found} of {differ}; false alarms: {alarms} of {agree}; ceasefire "
              f"{'found' if ceasefire else 'missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
