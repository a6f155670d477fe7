"""The anchors report: the issue's Goal table (each figure beside its anchor, the ratio and the target),
every figure with its spread over rounds, the SQL behind each workload; as markdown and as JSON."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.anchors.run import FANOUT_TIMEOUT, Results
from bench.anchors.timing import percentile

RESULTS = Path(__file__).resolve().parent.parent / "results"
IDLE_GOAL_SUBSCRIBERS = 10_000
IDLE_GOAL_BYTES = 25_000


@dataclass(frozen=True)
class Goal:
    figure: str
    ours: str
    anchor: str
    ratio: float | None
    target: str
    met: bool | None
    note: str = ""


def _paired(results: Results, ours: str, anchor: str) -> float | None:
    """The median over rounds of ours / anchor, each pair measured in the same round."""
    a, b = results.figures.get(ours), results.figures.get(anchor)
    if a is None or b is None:
        return None
    ratios = [x / y for x, y in zip(a.rounds, b.rounds, strict=False) if y]
    return statistics.median(ratios) if ratios else None


def _value(results: Results, key: str) -> float | None:
    figure = results.figures.get(key)
    return figure.value if figure else None


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"
    if unit == "req/s":
        return f"{value:.0f} req/s"
    return f"{value:,.0f} {unit}".strip()


def _at_most(ratio: float | None, limit: float) -> bool | None:
    return None if ratio is None else ratio <= limit


def _ratio_goal(results: Results, figure: str, ours: str, anchor: str, anchor_label: str, limit: float,
                *, higher_is_better: bool = False) -> Goal:
    unit = results.figures[ours].unit if ours in results.figures else "ms"
    ratio = _paired(results, ours, anchor)
    met = None if ratio is None else (ratio >= limit if higher_is_better else ratio <= limit)
    return Goal(figure, _fmt(_value(results, ours), unit), f"{anchor_label} {_fmt(_value(results, anchor), unit)}",
                ratio, f"{'≥' if higher_is_better else '≤'} {limit:g}x", met)


def _count_goal(results: Results, figure: str, name: str, limit: int) -> Goal:
    captured = results.statements.get(name)
    count = captured.count if captured else None
    return Goal(figure, "—" if count is None else str(count), "—", None, f"≤ {limit}",
                None if count is None else count <= limit)


def _live_goals(results: Results) -> list[Goal]:
    goals = []
    live = results.facts.get("live")
    single_p50 = None
    if live and live["received"]:
        received, mutation = live["received"], live["mutation"]
        single_p50 = percentile(received, 0.5)
        p99, mutation_p50 = percentile(received, 0.99), percentile(mutation, 0.5)
        goals.append(Goal(
            "send → receive on another process, p99", f"{p99:.1f} ms (p50 {single_p50:.1f})",
            f"the mutation's HTTP round trip p50 {mutation_p50:.1f} ms (p99 {percentile(mutation, 0.99):.1f})",
            p99 / mutation_p50 if mutation_p50 else None, "≤ 1.2x", _at_most(p99 / mutation_p50, 1.2),
            f"{len(received)} messages; {live['missed']} never arrived"))
    idle = results.facts.get("idle")
    if idle and idle["bytes_per_connection"] is not None:
        per = idle["bytes_per_connection"]
        enough = idle["subscribers"] >= IDLE_GOAL_SUBSCRIBERS
        goals.append(Goal(
            f"idle subscriptions ({idle['subscribers']:,} WebSockets, one threadUpdated each, one process)",
            f"{per / 1000:.1f} KB each", f"{idle['idle_cpu_share'] * 100:.1f}% of a core while idle", None,
            f"≤ {IDLE_GOAL_BYTES // 1000} KB each at {IDLE_GOAL_SUBSCRIBERS:,}",
            (per <= IDLE_GOAL_BYTES and idle["subscribers"] == idle["asked"]) if enough else None,
            "" if enough else f"measured at {idle['subscribers']:,}: run with --subscribers 10000 for the goal's size"
            + (f"; {idle['asked'] - idle['subscribers']:,} of {idle['asked']:,} not opened"
               if idle["subscribers"] < idle["asked"] else "")))
    fanouts = results.facts.get("fanout") or []
    if fanouts:
        lasts = [f["last_ms"] for f in fanouts if f["last_ms"] is not None]
        last = statistics.median(lasts) if lasts else None
        everyone = all(f["received"] == f["asked"] for f in fanouts)
        ratio = last / single_p50 if last is not None and single_p50 else None
        goals.append(Goal(
            f"fan-out: one message to {fanouts[0]['asked']:,} subscribers of one club, the last receives it",
            _fmt(last, "ms"), f"one subscriber's send → receive p50 {_fmt(single_p50, 'ms')}", ratio,
            "≤ 3x, all receive", None if ratio is None else ratio <= 3 and everyone,
            f"received by {', '.join(str(f['received']) for f in fanouts)} of {fanouts[0]['asked']:,}"))
    large = results.facts.get("fanout_large")
    if large:
        failed = large["asked"] - large["received"]
        goals.append(Goal(
            f"fan-out to {large['asked']:,} subscribers: none fails", f"{failed:,} failed",
            f"{large['received']:,} received, last after {_fmt(large['last_ms'], 'ms')}", None, "0 fail",
            failed == 0, _failure_breakdown(large)))
    return goals


def _failure_breakdown(fanout: dict[str, Any]) -> str:
    """Why subscribers asked for did not receive the message."""
    missed = fanout["subscribers"] - fanout["failed"] - fanout["received"]
    parts = [f"{fanout['asked'] - fanout['opened']:,} not connected ({fanout['refused']:,} refused, "
             f"{fanout['not_opened_in_time']:,} not opened in time)" if fanout["asked"] > fanout["opened"] else "",
             f"{fanout['ended_before']:,} ended before the message" if fanout["ended_before"] else "",
             f"{fanout['failed']:,} ended on it" if fanout["failed"] else "",
             f"{missed:,} had nothing after {FANOUT_TIMEOUT:.0f} s" if missed > 0 else ""]
    return "; ".join(p for p in parts if p)


def goals(results: Results) -> list[Goal]:
    pg = "PostGraphile"
    rows = [
        _ratio_goal(results, "threads page (MEMBER, 50) p50, 1 client", "threads.inbox.p50",
                    "threads.postgraphile.p50", pg, 1.0),
        _ratio_goal(results, "threads page requests/s, 8 clients, one process", "threads.inbox.rate",
                    "threads.postgraphile.rate", pg, 1.0, higher_is_better=True),
        _ratio_goal(results, "threads page p50 vs its own SQL", "threads.inbox.p50", "threads.sql.p50",
                    "its SQL through asyncpg", 2.0),
        _ratio_goal(results, "`{ viewer { id } }` floor p50", "viewer.p50", "healthz.p50", "/healthz", 2.0),
        _count_goal(results, "SQL statements per threads page", "threads", 2),
        _count_goal(results, "SQL statements per sendMessage to one member", "send", 6),
        _ratio_goal(results, "message history page (last 30) p50", "history.inbox.p50", "history.sql.p50",
                    "its SQL", 2.0),
        _ratio_goal(results, "unreadCounts p50", "unread.inbox.p50", "unread.sql.p50", "its SQL", 2.0),
        _ratio_goal(results, "members(search:) p50", "members.inbox.p50", "members.sql.p50", "its SQL", 2.0),
        *_live_goals(results),
    ]
    if "broadcast.inbox" in results.figures:
        deliveries = results.facts.get("broadcast_deliveries", 0)
        rows.append(_ratio_goal(results, f"broadcast: sendMessage to a {deliveries:,}-member smartlist",
                                "broadcast.inbox", "broadcast.sql", "one set-based INSERT of its rows", 1.5))
    return rows


def _met(value: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "—"}[value]


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def render(results: Results, code: str) -> str:
    plan, scale = results.plan, results.plan.scale
    lines = [
        f"# Inbox GraphQL against its anchors: scale {scale.name}",
        "",
        f"{results.started:%Y-%m-%d %H:%M} UTC, code {code}, {results.database}, run took {results.seconds:.0f} s.",
        f"Club: {scale.members:,} members, {scale.member_threads:,} member threads, {scale.messages:,} imported "
        f"messages, {scale.staff} staff users, a {scale.broadcast_members:,}-member newsletter smartlist.",
        f"Medians of {plan.rounds} interleaved rounds; each p50 over {plan.requests} sequential requests, each "
        f"requests/s over {plan.seconds:g} s of 8 concurrent clients. Over real HTTP (httpx, keep-alive, "
        "loopback) to `inbox serve --no-dispatcher` (uvicorn, one process, INBOX_ENV=production, Redis)"
        + (" and to PostGraphile v5 (Node 22) on the same database" if results.facts.get("postgraphile") else "")
        + ". A ratio is the median of the per-round ratios. "
        "How each figure is taken, and what differs in PostGraphile's page: bench/README.md.",
        *[f"\n> {note}" for note in results.notes],
        "",
        "## Goals",
        "",
        "| figure | this project | anchor | ratio | target | |",
        "| --- | ---: | --- | ---: | --- | --- |",
    ]
    for goal in goals(results):
        note = f" ({goal.note})" if goal.note else ""
        lines.append(f"| {goal.figure}{note} | {goal.ours} | {goal.anchor} | {_ratio(goal.ratio)} | {goal.target} "
                     f"| {_met(goal.met)} |")
    lines += ["", "## Every figure", "", "| figure | median | min – max over rounds | rounds |",
              "| --- | ---: | ---: | ---: |"]
    for figure in results.figures.values():
        low, high = figure.spread or (None, None)
        lines.append(f"| {figure.label} ({figure.unit}) | {_fmt(figure.value, figure.unit)} | "
                     f"{_fmt(low, figure.unit)} – {_fmt(high, figure.unit)} | {len(figure.rounds)} |")
    lines += _live_lines(results)
    lines += ["", "## SQL behind each workload", "",
              "Statements one warm request sends, recorded by SQLAlchemy's cursor events on the server's own code "
              "(the app built in the harness process, as the server builds it): BEGIN, ROLLBACK and pool "
              "pre-pings are not statements here. The SQL anchors replay exactly these, with their parameters, "
              "one after another on one asyncpg connection.", ""]
    for name, captured in results.statements.items():
        lines.append(f"- **{name}**: {captured.count} statements")
        lines += [f"  {i}. `{s.short(140)}`" for i, s in enumerate(captured.statements, 1)]
    return "\n".join(lines) + "\n"


def _live_lines(results: Results) -> list[str]:
    lines = ["", "## Real time", ""]
    live = results.facts.get("live")
    if live:
        r, m = live["received"], live["mutation"]
        lines.append(f"- send → receive (mutation on one process, subscriber on the other, {len(r)} messages): "
                     f"p50 {percentile(r, 0.5):.1f} ms, p99 {percentile(r, 0.99):.1f} ms; the mutation's own HTTP "
                     f"round trip p50 {percentile(m, 0.5):.1f} ms, p99 {percentile(m, 0.99):.1f} ms; "
                     f"{live['missed']} never arrived.")
    idle = results.facts.get("idle")
    if idle:
        lines.append(f"- idle: {idle['subscribers']:,} of {idle['asked']:,} subscribers opened in "
                     f"{idle['open_seconds']:.1f} s ({idle['refused']} refused, {idle['not_opened_in_time']} not "
                     "opened in time); server RSS "
                     f"{idle['rss_before'] / 2**20:.0f} → {idle['rss_after'] / 2**20:.0f} MiB; "
                     f"{idle['idle_cpu_share'] * 100:.1f}% of a core over {results.plan.idle_seconds:g} idle seconds; "
                     f"{idle['failed_while_idle']} subscriptions ended while idle."
                     + (f" Refusals: {idle['refusals']}" if idle["refusals"] else ""))
    for fanout in results.facts.get("fanout") or []:
        lines.append(f"- fan-out to {fanout['asked']:,} ({fanout['subscribers']:,} still subscribed): "
                     f"{fanout['received']:,} received, first after {_fmt(fanout['first_ms'], 'ms')}, last after "
                     f"{_fmt(fanout['last_ms'], 'ms')} (mutation {fanout['mutation_ms']:.1f} ms); {fanout['failed']} "
                     "subscriptions ended on it" + (f": {fanout['failures']}" if fanout["failures"] else "") + ".")
    large = results.facts.get("fanout_large")
    if large:
        lines.append(f"- fan-out to {large['asked']:,}: {large['received']:,} received, last after "
                     f"{_fmt(large['last_ms'], 'ms')}; {_failure_breakdown(large) or 'no failure'}"
                     + (f"; ended: {large['failures']}" if large["failures"] else "")
                     + (f"; refusals: {large['refusals']}" if large["refusals"] else "") + ".")
    return lines if len(lines) > 3 else []


def as_json(results: Results, code: str) -> dict[str, Any]:
    return {
        "started": results.started.isoformat(), "code": code, "database": results.database,
        "scale": results.plan.scale.name, "rounds": results.plan.rounds, "seconds": results.seconds,
        "goals": [goal.__dict__ for goal in goals(results)],
        "figures": {k: {"label": f.label, "unit": f.unit, "median": f.value, "rounds": f.rounds}
                    for k, f in results.figures.items()},
        "statements": {k: [s.short(400) for s in c.statements] for k, c in results.statements.items()},
        "facts": results.facts, "notes": results.notes,
    }


def write(results: Results, code: str, text: str) -> Path:
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if results.plan.scale.name == "default" else f"-{results.plan.scale.name}"
    path = RESULTS / f"{results.started:%Y-%m-%d}-anchors{suffix}.md"
    path.write_text(text)
    path.with_suffix(".json").write_text(json.dumps(as_json(results, code), indent=1, default=str) + "\n")
    return path
