"""Recency on eval/time/latest.jsonl (issue 42): each 'latest' question asked of the whole store of eval/time/articles.

Right when the answer opens with the newer article's figure, said as of that article's date ("As of 3 February 2023,
according to ...: ... 19 ..."); the older figure shown after it, with its date, is counted apart.
Usage: python eval/time/measure_latest.py [--data-dir FOLDER] (a temporary store by default).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from qa import Assistant, Settings
from qa.answer.recency import spoken_date
from qa.core.text import numbers

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, help="store folder, kept between runs (default: a temporary one)")
    args = parser.parse_args()
    right = both = total = 0
    with tempfile.TemporaryDirectory() as tmp:
        bot = Assistant(Settings(data_dir=(args.data_dir or Path(tmp)) / "pairs", collection="pairs", chroma_url=None),
                        auto_ingest=False)
        bot.ingest([HERE / "articles"])
        for line in (HERE / "latest.jsonl").read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            ans = bot.ask(q["question"])
            first = ans.text.split("[1]")[0]
            said = spoken_date(q["as_of"], ans.lang)
            ok = not ans.refused and said in first and numbers(q["expected"]) <= numbers(first) and \
                ans.citations[0].article_id == q["newer"]
            shown = ok and any(c.article_id == q["older"] for c in ans.citations) and numbers(q["older_value"]) <= numbers(ans.text)
            total += 1
            right += ok
            both += shown
            step = next((f"{t.verdict}: {t.detail}" for t in ans.trace if t.step == "recency"), ans.refused_by)
            print(f"{q['id']} {'RIGHT' if ok else 'wrong'} {'+older' if shown else '':6} {ans.grade:8} {step}")
    print(f"newer figure given, as of its date: {right} of {total}; the older figure shown too, with its date: {both}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
