"""`qa bench` itself: options, the mode runner, and the worker entry point (`python -m benchmarks.cli --worker`)."""

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import OUT_DIR, RESULT, WORK_DIR

from qa_eval.servers import free_port, start_chroma, stop_process, wait_http
from benchmarks.compare import compare_markdown, run_compare, w_cold_baseline, w_cold_ours, w_ingest_baseline, w_ingest_ours, w_queries
from benchmarks.lexical import lexical_markdown, run_lexical, w_lexical_build, w_lexical_query
from benchmarks.load import load_markdown, run_load_mode
from benchmarks.quality import quality_markdown, run_quality
from benchmarks.scale import run_scale, scale_markdown, scale_plot, w_scale_ingest, w_scale_query


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mode", nargs="?", choices=["compare", "scale", "load", "quality", "lexical"], default="compare")
    parser.add_argument("--chroma-url", help="run against a Chroma server (`chroma run`) instead of a local store")
    parser.add_argument("--chroma-server", action="store_true", help="start `chroma run` on a free 127.0.0.1 port for this run and use it")
    parser.add_argument("--out", default=str(OUT_DIR), help="where the JSON, Markdown and PNG results go")
    parser.add_argument("--work", default=str(WORK_DIR), help="scratch folder for stores and generated articles")
    parser.add_argument("--articles", type=int, default=6, help="compare: XQuAD articles per language added to the seeds")
    parser.add_argument("--questions", type=int, default=30, help="questions per measurement (quality: per XQuAD direction and for SQuAD 2.0)")
    parser.add_argument("--repeats", type=int, default=3, help="compare: cold starts per system")
    parser.add_argument("--ingest-repeats", type=int, default=3, help="compare: ingests per system, in pairs taking turns at going first")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000], help="scale, lexical: store sizes in chunks")
    parser.add_argument("--batch", type=int, default=100, help="scale: articles per ingest call")
    parser.add_argument("--merge", nargs="+", help="scale: fold in the size points of earlier scale JSON results")
    parser.add_argument("--url", help="load: a running chat (default: start `qa chat` on a free 127.0.0.1 port)")
    parser.add_argument("--users", type=int, default=20, help="load: concurrent users")
    parser.add_argument("--seconds", type=float, default=60.0, help="load: how long")
    parser.add_argument("--max-requests", type=int, default=5000, help="load: most requests in all")


def run(args: argparse.Namespace) -> int:
    # Settings given in the environment change what is measured, so they are part of the command.
    env = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("QA_"))
    args.command_line = " ".join(x for x in (env, "qa bench", " ".join(sys.argv[2:])) if x)
    server = None
    args.server_path = None
    if args.chroma_server:
        port = free_port()
        args.server_path = Path(args.work) / f"chroma-server-{args.mode}"
        shutil.rmtree(args.server_path, ignore_errors=True)
        server = start_chroma(args.server_path, port)
        args.chroma_url = f"http://127.0.0.1:{port}"
        wait_http(f"{args.chroma_url}/api/v2/heartbeat", server, 60)
    try:
        return _run(args)
    finally:
        if server is not None:
            stop_process(server)


def _run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = "-server" if args.chroma_url else ""
    name = f"{args.mode}{suffix}"
    if args.mode == "compare":
        result = run_compare(args)
    elif args.mode == "scale":
        result = run_scale(args)
        for earlier in args.merge or []:
            old = json.loads(Path(earlier).read_text(encoding="utf-8"))
            kept = [p for p in old["points"] if p["target"] not in args.sizes]  # this run re-measured the others
            result["points"] = sorted(result["points"] + kept, key=lambda p: p["query"]["chunks"])
            result["batches"] += [b for b in old.get("batches", []) if b not in result["batches"]]
            result["command"] += f"  (merged with `{old['command']}`)"
    elif args.mode == "quality":
        result = run_quality(args)
    elif args.mode == "lexical":
        result = run_lexical(args)
    else:
        result = run_load_mode(args)
    # The JSON first: the measurements survive a failure in the report below.
    (out / f"{name}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.mode == "compare":
        text = compare_markdown(result)
    elif args.mode == "scale":
        scale_plot(result, out / f"{name}.png")
        text = scale_markdown(result, f"{name}.png")
    elif args.mode == "quality":
        text = quality_markdown(result)
    elif args.mode == "lexical":
        text = lexical_markdown(result)
    else:
        text = load_markdown(result)
    (out / f"{name}.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ingest_ours": w_ingest_ours,
    "ingest_baseline": w_ingest_baseline,
    "cold_ours": w_cold_ours,
    "cold_baseline": w_cold_baseline,
    "queries": w_queries,
    "scale_ingest": w_scale_ingest,
    "scale_query": w_scale_query,
    "lexical_build": w_lexical_build,
    "lexical_query": w_lexical_query,
}


def _worker_main(argv: list[str]) -> None:
    name, cfg = argv[1], json.loads(argv[2])
    print(RESULT + json.dumps(WORKERS[name](cfg)), flush=True)


if __name__ == "__main__":
    _worker_main(sys.argv[1:])

