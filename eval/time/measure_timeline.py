"""Timelines on eval/time/topics.jsonl (issue 42): a store of the seeds and eval/time/articles, one timeline per topic.

A hand-listed event is listed when a line quotes one of its sentences and cites that sentence's article; it is merged
when that line cites every article that reports it. Order: each pair of listed events with different hand dates comes
in their order. Lines verified: the verifier's verdicts on every line drafted (unsupported ones are not shown).
Usage: python eval/time/measure_timeline.py [--data-dir FOLDER] (a temporary store by default).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from qa import Assistant, Settings
from qa.core.text import fold
from qa.core.types import Timeline

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parents[1] / "seeds"


def line_of(timeline: Timeline, source: dict) -> int | None:
    """The line quoting this source sentence and citing its article."""
    for i, event in enumerate(timeline.events):
        if fold(source["sentence"]) in fold(event.text) and source["article"] in cited_on(timeline, i):
            return i
    return None


def cited_on(timeline: Timeline, i: int) -> set[str]:
    """The articles line i cites."""
    cited = {c.n: c.article_id for c in timeline.citations}
    return {cited[n] for n in timeline.events[i].citations}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, help="store folder, kept between runs (default: a temporary one)")
    args = parser.parse_args()
    totals = dict(events=0, listed=0, pairs=0, ordered=0, shared=0, merged=0, lines=0, verified=0, drafted=0, hand_lines=0)
    with tempfile.TemporaryDirectory() as tmp:
        bot = Assistant(Settings(data_dir=(args.data_dir or Path(tmp)) / "timeline", collection="timeline", chroma_url=None,
                                 seeds_dir=SEEDS))
        if not any(a.id.startswith("t_") for a in bot.articles()):
            bot.ingest([HERE / "articles"])
        for line in (HERE / "topics.jsonl").read_text(encoding="utf-8").splitlines():
            topic = json.loads(line)
            t = bot.timeline(topic["topic"], lang=topic["lang"])
            at = []
            for event in topic["events"]:
                lines = [line_of(t, s) for s in event["sources"]]
                found = [i for i in lines if i is not None]
                at.append((event["date"], min(found) if found else None))
                totals["events"] += 1
                totals["listed"] += bool(found)
                if len(event["sources"]) > 1:
                    totals["shared"] += 1
                    totals["merged"] += any({s["article"] for s in event["sources"]} <= cited_on(t, i) for i in found)
                print(f"  {'+' if found else '-'} {event['date']:10} {event['what']}" + (f" (line {found[0] + 1})" if found else ""))
            listed = [(d, i) for d, i in at if i is not None]
            pairs = [(a, b) for a in listed for b in listed if a[0] < b[0]]
            totals["pairs"] += len(pairs)
            totals["ordered"] += sum(a[1] < b[1] for a, b in pairs)
            totals["lines"] += len(t.events)
            totals["hand_lines"] += len({i for _, i in listed})
            totals["drafted"] += len(t.sentences)
            totals["verified"] += sum(bool(s.supported) for s in t.sentences)
            print(f"{topic['id']}: {sum(i is not None for _, i in at)} of {len(at)} events listed, {len(t.events)} lines "
                  f"({t.trace[0].detail})\n")
    n = totals
    print(f"events listed: {n['listed']} of {n['events']} ({n['listed'] / n['events']:.3f}); in order: {n['ordered']} of "
          f"{n['pairs']} pairs; lines verified: {n['verified']} of {n['drafted']} ({n['verified'] / max(1, n['drafted']):.3f}); "
          f"merged: {n['merged']} of {n['shared']} events two outlets report; lines that are hand-listed events: "
          f"{n['hand_lines']} of {n['lines']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
