"""`qa bench load`: concurrent chat users against `qa chat` on 127.0.0.1."""

import argparse
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import SEED_QUESTIONS, machine, pct

from qa_eval.servers import free_port, start_chat, stop_process, wait_http
from qa.core.errors import QAError
from qa.core.settings import Settings


@dataclass(frozen=True)
class Outcome:
    ok: bool
    seconds: float
    first_event: float | None
    error: str | None


def chat_once(client, question: str) -> Outcome:
    """One `/chat` call over Gradio's HTTP API, streamed: ok when it completes without an error notice."""
    t0 = time.perf_counter()
    first = None
    try:
        resp = client.post("/gradio_api/call/chat", json={"data": [question, None, None, None, None, None]})
        resp.raise_for_status()
        event_id = resp.json()["event_id"]
        event, data = None, ""
        with client.stream("GET", f"/gradio_api/call/chat/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                    if first is None:
                        first = time.perf_counter() - t0
                elif line.startswith("data:"):
                    data = line[5:].strip()
                    if event in ("complete", "error"):
                        break
    except Exception as exc:  # a load test counts failures instead of stopping at the first
        return Outcome(False, time.perf_counter() - t0, first, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - t0
    if event != "complete":
        return Outcome(False, seconds, first, f"event {event}: {data[:200]}")
    if "qa-notice-error" in data:
        return Outcome(False, seconds, first, "error notice: " + re.sub(r"<[^>]+>", "", data.split("qa-notice-error", 1)[1])[:200])
    return Outcome(True, seconds, first, None)


def run_load(url: str, users: int, seconds: float, max_requests: int, questions: list[str]) -> dict[str, Any]:
    """`users` threads ask in a loop until the time or the request budget runs out; every request is accounted for."""
    import httpx

    if not url.startswith(("http://127.0.0.1", "http://localhost")):
        raise QAError("the load test only targets 127.0.0.1")
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    started = 0
    outcomes: list[Outcome] = []

    def take() -> int | None:
        nonlocal started
        with lock:
            if started >= max_requests or time.monotonic() >= deadline:
                return None
            started += 1
            return started

    def user(i: int) -> None:
        with httpx.Client(base_url=url, timeout=httpx.Timeout(120.0)) as client:
            while (n := take()) is not None:
                out = chat_once(client, questions[(i + n) % len(questions)])
                with lock:
                    outcomes.append(out)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 150)
    elapsed = time.perf_counter() - t0
    ok = [o for o in outcomes if o.ok]
    errors = [o for o in outcomes if not o.ok]
    return {
        "users": users, "seconds": round(elapsed, 2), "requests": started, "completed": len(outcomes), "lost": started - len(outcomes),
        "ok": len(ok), "errors": len(errors), "error_samples": sorted({o.error or "" for o in errors})[:5],
        "throughput_rps": round(len(ok) / elapsed, 2), "latency": pct([o.seconds for o in ok]),
        "first_event": pct([o.first_event for o in ok]), "max_latency": round(max((o.seconds for o in ok), default=0.0), 3),
    }


def run_load_mode(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    questions = SEED_QUESTIONS + ["¿Qué valora Moscú en sus relaciones con Azerbaiyán y Armenia?"]
    proc = None
    url = args.url
    if not url:
        port = free_port()
        data = Path(args.work) / "load" / "data"
        data.mkdir(parents=True, exist_ok=True)
        url = f"http://127.0.0.1:{port}"
        env = {"QA_CHROMA_URL": args.chroma_url} if args.chroma_url else {}
        log(f"starting qa chat on {url} (indexes the seeds on first start)")
        t0 = time.perf_counter()
        proc = start_chat(data, port, env)
    try:
        if proc is not None:
            wait_http(url, proc, 600)
            log(f"chat ready after {time.perf_counter() - t0:.1f} s")
        result = run_load(url, args.users, args.seconds, args.max_requests, questions)
    finally:
        if proc is not None:
            stop_process(proc)
    return {"mode": "load", "command": args.command_line, "machine": machine(), "url": url, "questions": questions, **result}


def load_markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    return "\n".join([
        "# Load: concurrent chat users against `qa chat`",
        "",
        f"Command: `{r['command']}`  ",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; shared, load average {m['loadavg']}; commit {m['commit']}; {m['when']}.",
        "",
        f"{r['users']} users, each looping over {len(r['questions'])} questions through the streaming `/chat` endpoint of Gradio's "
        f"HTTP API (real e5 model, extractive composer, app concurrency limit {Settings().concurrency}).",
        "",
        "| users | seconds | requests | completed | lost | ok | errors | answers/s | latency p50 / p95 / max (s) | first event p50 / p95 (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        f"| {r['users']} | {r['seconds']} | {r['requests']} | {r['completed']} | {r['lost']} | {r['ok']} | {r['errors']} | {r['throughput_rps']} "
        f"| {r['latency']['p50']} / {r['latency']['p95']} / {r['max_latency']} | {r['first_event']['p50']} / {r['first_event']['p95']} |",
        "",
        f"Errors: {', '.join(r['error_samples']) or 'none'}.",
        "",
    ])


