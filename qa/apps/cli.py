"""Command line: `qa ingest | ask | timeline | chat | serve | eval | bench`. Errors become messages and exit codes here only."""

import argparse
import json
import sys
from dataclasses import asdict

from qa.core.errors import InvalidSetting, QAError
from qa.core.text import LANGS


def _filters(args: argparse.Namespace):
    from qa.core.types import Filters

    return Filters(
        article_ids=tuple(args.article) if args.article else None,
        lang=args.lang,
        date_from=args.date_from,
        date_to=args.date_to,
    )


def cmd_ingest(args: argparse.Namespace) -> int:
    from qa.assistant import Assistant
    from qa.core.settings import Settings

    settings = Settings()
    bot = Assistant(settings, auto_ingest=False)
    from qa.apps.uploads import progress_printer

    report = bot.ingest(args.paths or [settings.seeds_dir], progress=None if args.quiet else progress_printer(settings.progress_seconds))
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(report.summary())
        for m in report.merged:
            print(f"  merged {m.id} ({m.source or 'outlet unknown'}) into {m.into}: the same story (similarity {m.similarity:.2f})")
        for r in report.rejected:
            print(f"  rejected {r.path}: {r.reason}")
    if not report.rejected:
        return 0
    # What was accepted is stored; the exit code still says that something was not.
    print(f"error: {len(report.rejected)} of the inputs rejected", file=sys.stderr)
    return 2


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.assistant import Assistant

    bot = Assistant()
    answer = bot.ask(args.question, filters=_filters(args))
    if args.json:
        print(json.dumps(asdict(answer), ensure_ascii=False, indent=2))
        return 0
    print(answer.text)
    for c in answer.citations:
        span = f" · answer chars {c.answer_start}-{c.answer_end}" if c.answer_start is not None else ""
        outlets = ", ".join(c.outlets) if len(c.outlets) > 1 else c.source or "—"
        print(f"[{c.n}] {c.article_id} · {c.title} · {outlets} · {c.date or 'undated'} · chars {c.start}-{c.end}{span}")
    confidence = f"{answer.confidence:.2f}" if answer.confidence is not None else "–"
    print(f"grade {answer.grade} · confidence {confidence}" + (f" · refused by {answer.refused_by}" if answer.refused_by else ""))
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    from qa.assistant import Assistant

    timeline = Assistant().timeline(args.topic, start=args.date_from, end=args.date_to, lang=args.lang)
    if args.json:
        print(json.dumps(timeline.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(timeline.text)
    for c in timeline.citations:
        print(f"[{c.n}] {c.article_id} · {c.title} · {c.source or '—'} · {c.date or 'undated'} · chars {c.start}-{c.end}")
    return 0


def _delegate(module: str):
    """Sub-commands that live in their own modules (chat UI, API server, evaluation)."""

    def run(args: argparse.Namespace) -> int:
        import importlib

        return importlib.import_module(module).run(args)

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Grounded question answering over news articles.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="add, update or remove articles (default: the seeds folder)")
    p.add_argument("paths", nargs="*", help="files (.txt .md .html .pdf .docx .rss .xml), folders of them, or http(s) URLs of pages, documents or feeds")
    p.add_argument("--json", action="store_true", help="print the ingest report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", help="answer one question with citations")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the whole Answer as JSON")
    p.add_argument("--article", action="append", help="restrict to this article id (repeatable)")
    p.add_argument("--lang", choices=LANGS, help="restrict to articles in this language")
    p.add_argument("--date-from", help="earliest article date, YYYY-MM-DD")
    p.add_argument("--date-to", help="latest article date, YYYY-MM-DD")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("timeline", help="the events the articles date about a topic, oldest first, each cited")
    p.add_argument("topic")
    p.add_argument("--from", dest="date_from", help="earliest event date, YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", help="latest event date, YYYY-MM-DD")
    p.add_argument("--lang", choices=LANGS, help="the language to answer in (default: the topic's)")
    p.add_argument("--json", action="store_true", help="print the whole Timeline as JSON")
    p.set_defaults(func=cmd_timeline)

    p = sub.add_parser("chat", help="start the Gradio chat on 127.0.0.1")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(func=_delegate("qa.apps.ui"))

    p = sub.add_parser("serve", help="start the REST and OpenAI-compatible API (and the chat at /chat/) on 127.0.0.1")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None, help="default 8000 (QA_SERVE_PORT)")
    p.set_defaults(func=_delegate("qa.apps.serve"))

    p = sub.add_parser("eval", help="run the grounding evaluation")
    from qa_eval.evaluate import configure

    configure(p)
    p.set_defaults(func=_delegate("qa_eval.evaluate"))

    p = sub.add_parser("bench", help="run the benchmarks (from a source checkout: benchmarks/)")
    bench = _benchmarks()
    if bench is None:
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=_no_benchmarks)
    else:
        bench.configure(p)
        p.set_defaults(func=bench.run)
    return parser


def _benchmarks():
    """The benchmark code lives beside the package in a source checkout, not in it: importable only from there."""
    from qa.core.settings import PROJECT_ROOT

    if not (PROJECT_ROOT / "benchmarks" / "cli.py").is_file():
        return None
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    import benchmarks.cli

    return benchmarks.cli


def _no_benchmarks(args: argparse.Namespace) -> int:
    from qa.core.settings import PROJECT_ROOT

    raise InvalidSetting(f"`qa bench` runs from a source checkout: there is no benchmarks/ folder in {PROJECT_ROOT}; "
                         "clone the repository, `pip install -e \".[bench]\"` and run it there")


def main(argv: list[str] | None = None) -> int:
    from qa.core import offline as _offline  # noqa: F401

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
