"""The report: markdown tables (load, workloads, the SQL of the threads page) and query plans."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.load import Timed
from bench.scales import Scale
from bench.sqlcapture import Statement
from bench.workloads import Phase, Result

RESULTS = Path(__file__).resolve().parent / "results"
STATEMENT_TEXT = 1500


@dataclass
class Report:
    database: str
    server: str
    scale: Scale
    seed: int
    concurrency: int
    code: str
    analyzed: bool
    started: datetime
    rows: dict[str, int]
    load: list[tuple[str, Timed]]
    results: list[Result]
    seconds: float


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _rate(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _phase(phase: Phase) -> list[str]:
    if not phase.latencies:
        return ["–"] * 4
    return [_ms(phase.percentile(0.5)), _ms(phase.percentile(0.95)), _ms(phase.percentile(1.0)),
            f"{_rate(phase.rate)} ({len(phase.latencies)})"]


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    """A markdown table; the first `left` columns align left, the others (numbers) right."""
    aligns = ["---"] * left + ["---:"] * (len(header) - left)
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(aligns) + " |",
            *("| " + " | ".join(row) + " |" for row in rows)]


def _load(report: Report) -> list[str]:
    rows = [[step, f"{timed.count:,}", f"{timed.seconds:.1f}", _rate(timed.rate)] for step, timed in report.load]
    return ["## Loading", "", *_table(["step", "rows / calls", "seconds", "per second"], rows), "",
            "Rows of the document: " + ", ".join(f"{count:,} {kind}" for kind, count in report.rows.items()) + "."]


def _workloads(report: Report) -> list[str]:
    c = f"c{report.concurrency}"
    header = ["workload", "SQL stmts", "SQL ms", "cost", "p50 ms", "p95 ms", "max ms", "req/s (n)",
              f"{c} p50", f"{c} p95", f"{c} max", f"{c} req/s (n)"]
    rows = [[r.name, str(len(r.statements)), _ms(r.sql_seconds), str(r.cost), *_phase(r.sequential),
             *_phase(r.concurrent)] for r in report.results]
    notes = [f"- {r.name}: {r.note}" for r in report.results if r.note]
    notes += [f"- **{r.name}: {r.error}**" for r in report.results if r.error]
    return ["## Workloads", "", *_table(header, rows), "", *notes]


def _statements(result: Result) -> list[str]:
    rows = [[str(n), s.verb, _ms(s.seconds), f"`{s.short()}`"] for n, s in enumerate(result.statements, 1)]
    return [f"## SQL of one request: {result.name}", "",
            f"{len(result.statements)} statements, {_ms(result.sql_seconds)} ms in the database.", "",
            *_table(["#", "verb", "ms", "statement"], rows, left=4)]


def _verbs(statements: list[Statement]) -> str:
    counts = Counter(s.verb for s in statements)
    return ", ".join(f"{verb} {count}" for verb, count in counts.most_common())


def _sql_mix(report: Report) -> list[str]:
    rows = [[r.name, str(len(r.statements)), _verbs(r.statements)] for r in report.results]
    return ["## SQL statements per request", "",
            "Every statement one request sends (BEGIN included: on SQLite it is a round trip of its own).", "",
            *_table(["workload", "statements", "by kind"], rows, left=3)]


def _plans(report: Report) -> list[str]:
    kind = "EXPLAIN (ANALYZE, BUFFERS)" if report.database == "postgresql" else "EXPLAIN QUERY PLAN"
    lines = ["## Query plans", "", f"{kind} of the slowest statements of one request of each workload, "
             "run again with the same parameters."]
    for result in report.results:
        for plan in result.plans:
            text = " ".join(plan.statement.sql.split())
            if len(text) > STATEMENT_TEXT:
                text = text[:STATEMENT_TEXT] + " …"
            lines += ["", f"### {result.name} ({_ms(plan.statement.seconds)} ms)", "", "```sql", text,
                      f"-- parameters: {plan.statement.parameters!r}", "```", "", "```", *plan.lines, "```"]
    return lines


def render(report: Report) -> str:
    s = report.scale
    lines = [
        f"# Inbox GraphQL benchmark: {report.database}, scale {s.name}",
        "",
        f"{report.started:%Y-%m-%d %H:%M} UTC, code {report.code}, {report.server}, seed {report.seed}, "
        f"run took {report.seconds:.0f} s. Planner statistics: "
        f"{'ANALYZE after loading' if report.analyzed else 'none (the app never runs ANALYZE)'}.",
        f"Club: {s.members:,} members, {s.member_threads:,} member threads, {s.messages:,} imported messages, "
        f"{s.staff} staff users, a {s.broadcast_members:,}-member newsletter smartlist. "
        f"Concurrent phases use {report.concurrency} callers.",
        "",
        *_load(report),
        "",
        *_workloads(report),
        "",
        *_sql_mix(report),
        "",
        *_statements(report.results[0]),
        "",
        *_plans(report),
    ]
    return "\n".join(lines) + "\n"


def write(report: Report, text: str) -> Path:
    """bench/results/<date>-<db>.md, with the scale's name unless it is the default one, and "-analyze"
    for SQLite with planner statistics."""
    suffix = "" if report.scale.name == "default" else f"-{report.scale.name}"
    if report.database == "sqlite" and report.analyzed:
        suffix += "-analyze"
    path = RESULTS / f"{report.started:%Y-%m-%d}-{report.database}{suffix}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
