"""`.venv/bin/python -m bench.anchors [--scale tiny|default] [--write]`: the inbox beside its anchors."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import replace

from bench.anchors.plans import PLANS, SMOKE
from bench.anchors.report import render, write
from bench.anchors.run import run
from bench.database import check_server_url
from bench.run import code_version

DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.anchors", description=__doc__)
    parser.add_argument("--scale", choices=sorted(PLANS), default="default",
                        help="tiny: a smoke run of a few minutes; default: 20k members, 5k threads, 100k messages")
    parser.add_argument("--smoke", action="store_true",
                        help="the tiny club, one short round, no PostGraphile, 10 subscribers (under a minute)")
    parser.add_argument("--database", default=DEFAULT_DATABASE, metavar="URL",
                        help="a local PostgreSQL server (a fresh inbox_bench_* database is created and dropped)")
    parser.add_argument("--redis", default=None, metavar="URL",
                        help="Redis shared by the two inbox processes (default: a private redis-server)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 6; tiny 3)")
    parser.add_argument("--subscribers", type=int,
                        help="idle subscribers, then the fan-out's (default 1,000; the goal's is 10,000)")
    parser.add_argument("--fanout-large", type=int, help="subscribers of the larger fan-out (default 5,000; 0: skip)")
    parser.add_argument("--no-postgraphile", action="store_true", help="leave PostGraphile out (no Node needed)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated club (default 1)")
    parser.add_argument("--write", action="store_true",
                        help="also write bench/results/<date>-anchors[-<scale>].md and .json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(relativeCreated)8.0f ms  %(message)s", stream=sys.stderr)
    logging.getLogger("bench").setLevel(logging.INFO)
    try:
        check_server_url(args.database)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    plan = SMOKE if args.smoke else PLANS[args.scale]
    overrides = {"rounds": args.rounds, "subscribers": args.subscribers, "fanout_large": args.fanout_large}
    plan = replace(plan, **{k: v for k, v in overrides.items() if v is not None})
    if args.no_postgraphile:
        plan = replace(plan, postgraphile=False)
    try:
        results = asyncio.run(run(plan, database=args.database, redis=args.redis, seed=args.seed))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    code = code_version()
    text = render(results, code)
    print(text)
    if args.write:
        logging.getLogger("bench").info("written to %s", write(results, code, text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
