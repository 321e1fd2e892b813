"""'What happened after X' on eval/time/after.jsonl (issue 42): a store of the seeds and eval/time/articles, each question
asked of Assistant.ask as the chat asks it.

X dated: the answer opens with X's hand date and cites one of the sentences that date it. An expected event is listed
when a line quotes one of its sentences and cites that sentence's article; order: each pair of listed events with
different hand dates comes in their order; no line may be dated on or before X's hand date; lines verified: the
verifier's verdicts on every line drafted. A refusal question is right when the answer refuses and its trace says why
(not found, undated).
Usage: python eval/time/measure_after.py [--data-dir FOLDER] (a temporary store by default).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from qa import Answer, Assistant, Settings
from qa.core.text import fold
from qa.ingest.dates import first_day, last_day

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parents[1] / "seeds"


def lines_of(answer: Answer) -> list[tuple[str, str, set[str]]]:
    """The answer's event lines: (ISO date, text, articles cited)."""
    cited = {c.n: c.article_id for c in answer.citations}
    out = []
    for line in answer.text.splitlines()[1:]:
        day, _, text = line.removeprefix("- ").partition(": ")
        out.append((day, text, {cited[n] for n in cited if f"[{n}]" in text}))
    return out


def found(sources: list[dict], text: str, articles: set[str]) -> bool:
    return any(fold(s["sentence"]) in fold(text) and s["article"] in articles for s in sources)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, help="store folder, kept between runs (default: a temporary one)")
    args = parser.parse_args()
    n = {k: 0 for k in ("dated", "anchored", "events", "listed", "pairs", "ordered", "lines", "early", "drafted", "verified",
                        "refusals", "refused")}
    with tempfile.TemporaryDirectory() as tmp:
        bot = Assistant(Settings(data_dir=(args.data_dir or Path(tmp)) / "timeline", collection="timeline", chroma_url=None,
                                 seeds_dir=SEEDS))
        if not any(a.id.startswith("t_") for a in bot.articles()):
            bot.ingest([HERE / "articles"])
        for row in (HERE / "after.jsonl").read_text(encoding="utf-8").splitlines():
            q = json.loads(row)
            answer = bot.ask(q["question"])
            step = answer.trace[0]
            print(f"{q['id']} {q['question']}\n  {step.step}: {step.verdict} ({step.detail})")
            if q.get("refuse"):
                n["refusals"] += 1
                right = answer.refused and step.verdict == q["refuse"]
                n["refused"] += right
                print(f"  {'+' if right else '-'} refused: {answer.refused}; {answer.text}\n")
                continue
            n["dated"] += 1
            head = answer.text.splitlines()[0]
            head_cites = {c.article_id for c in answer.citations if f"[{c.n}]" in head}
            anchored = step.verdict == f"after {q['anchor_date']}" and found(q["anchor"], " ".join(
                c.quote for c in answer.citations if f"[{c.n}]" in head), head_cites)
            n["anchored"] += anchored
            print(f"  {'+' if anchored else '-'} {head}")
            lines = lines_of(answer)
            at = []
            for event in q["events"]:
                i = next((i for i, (_, text, cited) in enumerate(lines) if found(event["sources"], text, cited)), None)
                at.append((event["date"], i))
                n["events"] += 1
                n["listed"] += i is not None
                print(f"  {'+' if i is not None else '-'} {event['date']:10} {event['what']}")
            listed = [(first_day(d.split("/")[0]), i) for d, i in at if i is not None]
            pairs = [(a, b) for a in listed for b in listed if a[0] < b[0]]
            n["pairs"] += len(pairs)
            n["ordered"] += sum(a[1] < b[1] for a, b in pairs)
            early = [day for day, _, _ in lines if first_day(day) <= last_day(q["anchor_date"])]
            n["lines"] += len(lines)
            n["early"] += len(early)
            n["drafted"] += len(answer.sentences)
            n["verified"] += sum(bool(s.supported) for s in answer.sentences)
            print(f"  {len(lines)} lines, {len(early)} on or before X's date\n")
    print(f"X dated and cited: {n['anchored']} of {n['dated']}; events listed: {n['listed']} of {n['events']} "
          f"({n['listed'] / max(1, n['events']):.3f}); in order: {n['ordered']} of {n['pairs']} pairs; lines on or before "
          f"X's date: {n['early']} of {n['lines']}; lines verified: {n['verified']} of {n['drafted']}; refusals right "
          f"(refused, the trace naming why): {n['refused']} of {n['refusals']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
