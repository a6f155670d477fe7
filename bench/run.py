"""Run the benchmark: `.venv/bin/python -m bench.run [--scale small|default|large] [--database URL] [--write]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.client import running_app
from bench.database import analyze, backend, check_server_url, fresh_database, server_version
from bench.generate import CLUB_SLUG, document_rows, generate_document
from bench.load import Timed, add_live_replies, collect_fixture, import_club, set_flags
from bench.report import Report, render, write
from bench.scales import SCALES
from bench.workloads import build_workloads, deep_cursor, run_workload

log = logging.getLogger("bench")
REPOSITORY = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="default",
                        help="small: a quick smoke run; default: 20k members, 100k messages; large: 100k / 1M")
    parser.add_argument("--database", default=None, metavar="URL",
                        help="a local PostgreSQL server, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres "
                             "(a fresh inbox_bench_* database is created there and dropped); default: a temporary "
                             "SQLite file")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated club (default 1)")
    parser.add_argument("--concurrency", type=int, default=8, help="callers in the concurrent phases (default 8)")
    parser.add_argument("--analyze", action="store_true",
                        help="run ANALYZE on SQLite too after loading (PostgreSQL always gets it); the app never "
                             "does, so the default measures SQLite without planner statistics")
    parser.add_argument("--write", action="store_true", help="also write the report to bench/results/")
    return parser.parse_args(argv)


def code_version() -> str:
    """The commit measured, and whether the working tree had changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPOSITORY, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPOSITORY,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit} + uncommitted changes" if dirty else commit


async def run(args: argparse.Namespace) -> Report:
    scale = SCALES[args.scale]
    started_at, started = datetime.now(UTC), time.perf_counter()
    anchor = started_at.replace(hour=0, minute=0, second=0, microsecond=0)
    rng = random.Random(args.seed)

    clock = time.perf_counter()
    document = generate_document(scale, seed=args.seed, anchor=anchor)
    rows = document_rows(document)
    total_rows = sum(rows.values())
    load = [("generate the document (bench.generate)", Timed(total_rows, time.perf_counter() - clock))]
    log.info("generated %s rows", f"{total_rows:,}")

    async with fresh_database(args.database) as url:
        server = await server_version(url)
        load.append(("import (inbox.importer.import_document)", Timed(total_rows, await import_club(url, document))))
        log.info("imported in %.1f s", load[-1][1].seconds)
        load.append(("live replies (inbox.actions.record_member_reply)",
                     await add_live_replies(url, document, scale, rng)))
        del document
        async with running_app(url, CLUB_SLUG) as client:
            fixture = await collect_fixture(client, rng)
            load.append(("flags and reads (GraphQL mutations)", await set_flags(client, fixture, scale, rng)))
            await analyze(url, sqlite=args.analyze)
            deep = await deep_cursor(client, fixture.viewer)
            results = [await run_workload(client, workload, args.concurrency, scale.phase_seconds)
                       for workload in build_workloads(fixture, scale, deep)]
    return Report(database=backend(url), server=server, scale=scale, seed=args.seed, concurrency=args.concurrency,
                  code=code_version(), analyzed=backend(url) != "sqlite" or args.analyze, started=started_at,
                  rows=rows, load=load, results=results, seconds=time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(relativeCreated)8.0f ms  %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    try:
        check_server_url(args.database or "sqlite+aiosqlite://")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(run(args))
    except KeyboardInterrupt:  # the database was removed on the way out
        print("interrupted", file=sys.stderr)
        return 130
    text = render(report)
    print(text)
    if args.write:
        log.info("written to %s", write(report, text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
