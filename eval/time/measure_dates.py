"""Event dates against the hand labels of eval/time/dates.jsonl (issue 42): python eval/time/measure_dates.py

Each labelled piece is found in its article's sentences as ingest cuts them, dated as ingest dates it, and compared
with the label at the label's precision (a range label takes any day or week inside it). Misses are listed."""

import json
import sys
from datetime import date
from pathlib import Path

from qa.ingest.articles import parse_file
from qa.ingest.dates import EventDater, first_day
from qa.core.text import sentences

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def article_path(article_id: str) -> Path:
    seed = ROOT / "seeds" / f"{article_id}.txt"
    return seed if seed.exists() else HERE / "articles" / f"{article_id}.txt"


def right(label: str, got: str | None) -> bool:
    if "/" not in label:
        return (got or "undated") == label
    lo, hi = (date.fromisoformat(x) for x in label.split("/"))
    return got is not None and ("-W" in got or got.count("-") == 2) and lo <= first_day(got) <= hi  # a day or a week


def main() -> int:
    dater = EventDater()
    rows = [json.loads(line) for line in (HERE / "dates.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    hits = 0
    for r in rows:
        article = parse_file(article_path(r["article"]), 10**7)
        sentence = next(s.text for s in sentences(article.text) if r["sentence"] in s.text)
        got = dater(sentence, article.lang, article.date)
        ok = right(r["event_date"], got.value if got else None)
        hits += ok
        if not ok:
            print(f"miss {r['article']}: label {r['event_date']}, got {got.value if got else 'undated'}"
                  f"{f' from {got.expression!r}' if got else ''}: {sentence[:100]}")
    dated = [r for r in rows if r["event_date"] != "undated"]
    print(f"{hits} of {len(rows)} right ({hits / len(rows):.3f}); {len(dated)} dated, {len(rows) - len(dated)} undated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
