"""`.venv/bin/python -m bench.instructions [--scale tiny|default]`: the instructions one request of each
read workload costs the server, counted by callgrind (valgrind).

A count is the same on every run whatever else the machine does, so a change of 1% shows; wall-clock
figures on these machines move 15-40% between minutes. The app runs in-process as `inbox serve` builds
it (production settings, no Redis), called through a bare ASGI driver, so no client library is counted;
only the measured requests run instrumented (`--instr-atstart=no`, then `callgrind_control -i on`).
The count includes asyncpg's decoding and everything in the process; it does not include PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.anchors import documents as docs
from bench.anchors.plans import PLANS
from bench.database import check_server_url, fresh_database

DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
WORKLOADS = {"viewer": docs.VIEWER, "threads": docs.THREADS_PAGE, "history": docs.HISTORY,
             "unread": docs.UNREAD_COUNTS, "members": docs.MEMBERS_SEARCH}
WARMUP = 30


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--scale", choices=sorted(PLANS), default="default")
    parser.add_argument("--database", default=DEFAULT_DATABASE, metavar="URL",
                        help="a local PostgreSQL server (a fresh inbox_bench_* database is created and dropped)")
    parser.add_argument("--requests", type=int, default=20, help="measured requests per workload (default 20)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, of: " + ", ".join(WORKLOADS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", nargs=3, metavar=("WORKLOAD", "URL", "FIXTURE"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- the measured process ----------------------------------------------------------------------------

async def _serve_requests(workload: str, url: str, fixture: dict[str, Any], requests: int) -> None:
    """Warm up, then let the parent turn instrumentation on around `requests` requests."""
    from bench.anchors.run import _token
    from bench.client import running_app
    from bench.generate import CLUB_SLUG

    body = orjson.dumps({"query": WORKLOADS[workload], "variables": fixture["variables"].get(workload, {})})
    headers = [(b"host", b"bench"), (b"content-type", b"application/json"), (b"accept", b"application/json"),
               (b"authorization", f"Bearer {_token(fixture['viewer'])}".encode()),
               (b"content-length", str(len(body)).encode())]
    async with running_app(url, CLUB_SLUG) as client:
        app = client.app

        async def call() -> None:
            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                     "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
                     "root_path": "", "headers": headers, "client": ("127.0.0.1", 1),
                     "server": ("127.0.0.1", 80), "state": {}}
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)
            await app(scope, receive, send)
            answer = orjson.loads(sent[1]["body"])
            if sent[0]["status"] != 200 or answer.get("errors"):
                raise RuntimeError(f"{workload}: {sent[0]['status']} {str(answer)[:300]}")

        for _ in range(WARMUP):
            await call()
        print("READY", flush=True)
        await _wait_for(f"go-{os.getpid()}")
        for _ in range(requests):
            await call()
        print("DONE", flush=True)
        await _wait_for(f"end-{os.getpid()}")


async def _wait_for(name: str) -> None:
    marker = Path(tempfile.gettempdir()) / f"bench-instructions-{name}"
    while not marker.exists():
        await asyncio.sleep(0.05)
    marker.unlink()


# --- the parent ---------------------------------------------------------------------------------------

def _count(workload: str, url: str, fixture_file: str, requests: int) -> float:
    """Instructions per request of one workload, in a child process run under callgrind."""
    out = Path(tempfile.mkdtemp(prefix="bench_callgrind_"))
    env = {**os.environ, "INBOX_ENV": "production", "PYTHONHASHSEED": "0"}
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}/cg.%p",
               sys.executable, "-m", "bench.instructions", "--requests", str(requests),
               "--child", workload, url, fixture_file]
    errors = (out / "stderr").open("w+")
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=errors, text=True)
    assert child.stdout is not None
    for line in child.stdout:
        signal = line.strip()
        if signal in ("READY", "DONE"):
            subprocess.run(["callgrind_control", "-i", "on" if signal == "READY" else "off", str(child.pid)],
                           check=True, capture_output=True)
            if signal == "DONE":
                subprocess.run(["callgrind_control", "-d", str(child.pid)], check=True, capture_output=True)
            step = "go" if signal == "READY" else "end"
            (Path(tempfile.gettempdir()) / f"bench-instructions-{step}-{child.pid}").touch()
    failed = child.wait() != 0
    errors.seek(0)
    report = errors.read()[-2000:]
    errors.close()
    totals = [int(line.split()[1]) for dump in out.glob("cg.*") for line in dump.read_text().splitlines()
              if line.startswith(("summary:", "totals:"))]
    shutil.rmtree(out, ignore_errors=True)
    if failed or not totals:
        raise RuntimeError(f"{workload}: the measured process failed:\n{report}")
    return max(totals) / requests


async def _measure(args: argparse.Namespace) -> None:
    from bench.anchors.run import Results, load

    plan = PLANS[args.scale]
    workloads = [name for name in args.workloads.split(",") if name]
    unknown = set(workloads) - WORKLOADS.keys()
    if unknown:
        raise SystemExit(f"unknown workloads: {', '.join(sorted(unknown))}")
    async with fresh_database(args.database) as url:
        started = time.perf_counter()
        loaded = await load(url, plan, args.seed, Results(plan, datetime.now(UTC)))
        print(f"club loaded in {time.perf_counter() - started:.0f} s ({args.scale} scale)", file=sys.stderr)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fixture:
            json.dump({"viewer": loaded.fixture.viewer, "variables": loaded.variables}, fixture)
        try:
            print(f"| workload ({args.scale} scale, {args.requests} requests) | instructions per request |")
            print("| --- | ---: |")
            for workload in workloads:
                count = await asyncio.to_thread(_count, workload, url, fixture.name, args.requests)
                print(f"| {workload} | {count / 1e6:.2f} M |", flush=True)
        finally:
            os.unlink(fixture.name)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        workload, url, fixture_file = args.child
        fixture = json.loads(Path(fixture_file).read_text())
        asyncio.run(_serve_requests(workload, url, fixture, args.requests))
        return
    check_server_url(args.database)
    asyncio.run(_measure(args))


if __name__ == "__main__":
    main()
