"""The anchors benchmark (bench/anchors) runs end to end in its smoke mode: a tiny club, both `inbox serve`
processes, a private Redis, real HTTP and WebSockets. Timing goals are never asserted here, only that
every figure was measured (a harness that silently measures nothing would mislead the reports)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.databases import server_url

ROOT = Path(__file__).resolve().parent.parent
GOAL_ROWS = ["threads page p50 vs its own SQL", "`{ viewer { id } }` floor p50", "SQL statements per threads page",
             "SQL statements per sendMessage to one member", "message history page (last 30) p50",
             "unreadCounts p50", "members(search:) p50", "send → receive on another process, p99",
             "idle subscriptions", "fan-out: one message to", "broadcast: sendMessage to a"]


@pytest.mark.timeout(180)
def test_anchors_smoke_run_measures_every_figure() -> None:
    database = server_url()
    if database is None:
        pytest.skip("the anchors benchmark runs on PostgreSQL (the suite's second pass)")
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server to start a private Redis")
    result = subprocess.run([sys.executable, "-m", "bench.anchors", "--smoke", "--database", database],
                            cwd=ROOT, capture_output=True, text=True, timeout=170,
                            env={k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")})
    assert result.returncode == 0, result.stderr[-3000:]
    report = result.stdout
    assert "failed" not in report.split("## Goals")[0], report[:2000]
    goal_lines = [line for line in report.splitlines() if line.startswith("| ") and "| target |" not in line]
    for row in GOAL_ROWS:
        matching = [line for line in goal_lines if line.startswith(f"| {row}")]
        assert matching, f"no goal row {row!r} in:\n{report[:3000]}"
        assert "| — | — | — |" not in matching[0], matching[0]
