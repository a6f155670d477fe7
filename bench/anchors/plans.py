"""How much a run measures at each scale (the data itself is bench/scales.py's)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.scales import SCALES, Scale

# The broadcast goal is about a 10,000-member smartlist; the tiny scale keeps its own small one.
BROADCAST_MEMBERS = 10_000


@dataclass(frozen=True)
class Plan:
    scale: Scale
    rounds: int
    # Sequential requests behind each p50 of a round; seconds of each requests-per-second measure.
    requests: int
    seconds: float
    # Messages sent to measure send -> receive (pooled over the run, for the p99).
    live_sends: int
    # Idle subscribers (memory per connection), which then receive the fan-out; the larger fan-out.
    subscribers: int
    fanout_large: int
    fanouts: int
    broadcasts: int
    # Requests per p50 figure before the rounds; seconds a new crowd settles, then sits idle.
    warmup: int = 30
    settle_seconds: float = 3.0
    idle_seconds: float = 10.0
    # No new subscriber is opened after this many seconds of opening (each crowd).
    open_seconds: float = 150.0
    postgraphile: bool = True


PLANS = {
    "tiny": Plan(SCALES["tiny"], rounds=3, requests=10, seconds=1.0, live_sends=30, subscribers=200,
                 fanout_large=500, fanouts=2, broadcasts=2),
    "default": Plan(replace(SCALES["default"], broadcast_members=BROADCAST_MEMBERS), rounds=6, requests=30,
                    seconds=3.0, live_sends=120, subscribers=1_000, fanout_large=5_000, fanouts=3, broadcasts=3),
}
# For the test suite: the tiny club, one short round, a handful of subscribers, no Node.
SMOKE = replace(PLANS["tiny"], rounds=1, requests=3, seconds=0.3, live_sends=5, subscribers=10, fanout_large=0,
                fanouts=1, broadcasts=1, warmup=3, settle_seconds=0.5, idle_seconds=1.0, open_seconds=20.0,
                postgraphile=False)
