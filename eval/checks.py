"""What each named check earns: the external sets run with every check on, then with each one off.

    python eval/checks.py [--sample 600]

A check stays only where turning it off costs on data nobody tuned for: SQuAD 2.0 (article-held-out fold readers,
a spread sample of its questions), XQuAD (sampled, all four directions) and the fresh articles (eval/fresh, written
before any run). The gold set is shown last, as a test only. Writes eval/checks.md and eval/checks.json.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from qa.answer.checks import CHECKS  # noqa: E402


def run(argv: list[str], out: Path, reuse: bool) -> dict:
    if reuse and (out / "report.json").exists():
        return json.loads((out / "report.json").read_text())
    subprocess.run([sys.executable, "-m", "qa.apps.cli", "eval", "--quiet", "--out", str(out), *argv], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return json.loads((out / "report.json").read_text())


def figures(kind: str, data: dict) -> dict[str, float | None]:
    if kind == "squad2":
        row = data["metrics"]["all"]
        return {"answerable right": row["answerable_right"], "unanswerable refused": row["unanswerable_refused"], "precision": row["precision"]}
    if kind == "xquad":
        rows = data["metrics"]
        return {"contains gold (mean of 4)": sum(r["contains"] for r in rows.values()) / len(rows)}
    g = data["metrics"]["overall"]
    return {"fact recall": g["fact_recall"], "refusal accuracy": g["refusal_accuracy"], "wrong refusals": g["wrong_refusals"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=600, help="SQuAD 2.0 questions (spread over the file)")
    parser.add_argument("--xquad-sample", type=int, default=50, help="XQuAD questions per direction")
    parser.add_argument("--reuse", action="store_true", help="reuse the reports an earlier, interrupted run left in data/eval/checks")
    args = parser.parse_args()
    tmp = ROOT / "data" / "eval" / "checks"
    sets = {
        "squad2": ["--squad2", "--sample", str(args.sample)],
        "xquad": ["--xquad", "--sample", str(args.xquad_sample)],
        "fresh": ["--dataset", "eval/fresh/questions.jsonl"],
        "gold (test only)": [],
    }
    table: dict[str, dict[str, dict]] = {}
    for setting in ["all checks on", *CHECKS]:
        off = [] if setting == "all checks on" else ["--disable-check", setting]
        for name, argv in sets.items():
            kind = name.split()[0]
            data = run(argv + off, tmp / setting / kind, args.reuse)
            table.setdefault(setting, {})[name] = figures(kind, data)
            print(setting, name, table[setting][name], flush=True)
    (ROOT / "eval" / "checks.json").write_text(json.dumps(table, indent=1) + "\n")
    lines = ["# What each named check earns", "",
             f"`python eval/checks.py --sample {args.sample} --xquad-sample {args.xquad_sample}`: each external set with every check on, "
             "then with one check off (`qa eval --disable-check NAME`). SQuAD 2.0 is answered by article-held-out fold readers.", ""]
    for name in sets:
        keys = list(table["all checks on"][name])
        lines += [f"## {name}", "", "| setting | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
        for setting, row in table.items():
            lines.append(f"| {setting if setting == 'all checks on' else setting + ' off'} | "
                         + " | ".join("–" if row[name][k] is None else f"{row[name][k]:.3f}" for k in keys) + " |")
        lines.append("")
    (ROOT / "eval" / "checks.md").write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
