"""How big a benchmark run is: the generated club and the number of requests per workload."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    members: int
    member_threads: int
    messages: int
    smartlists: int
    smartlist_threads: int
    sessions: int
    session_threads: int
    staff: int
    # Members tagged "newsletter": the smartlist the broadcast workload sends to.
    broadcast_members: int
    # Member threads that receive live replies (unread for every staff user), and flags per staff user.
    live_replies: int
    favorites: int
    mutes: int
    archives: int
    # Requests per workload: sequential, then concurrent; broadcasts are heavier, so fewer.
    requests: int
    concurrent_requests: int
    broadcast_requests: int
    # A phase stops early after this many seconds, so a slow spot cannot make a run unbounded.
    phase_seconds: float


SCALES = {
    "tiny": Scale(
        name="tiny", members=400, member_threads=120, messages=2_000, smartlists=5, smartlist_threads=3,
        sessions=30, session_threads=5, staff=4, broadcast_members=200, live_replies=30, favorites=4, mutes=5,
        archives=6, requests=10, concurrent_requests=20, broadcast_requests=2, phase_seconds=5.0,
    ),
    "small": Scale(
        name="small", members=2_000, member_threads=500, messages=10_000, smartlists=20, smartlist_threads=8,
        sessions=150, session_threads=20, staff=4, broadcast_members=1_000, live_replies=100, favorites=8, mutes=15,
        archives=20, requests=20, concurrent_requests=40, broadcast_requests=4, phase_seconds=10.0,
    ),
    "default": Scale(
        name="default", members=20_000, member_threads=5_000, messages=100_000, smartlists=60, smartlist_threads=20,
        sessions=1_500, session_threads=150, staff=10, broadcast_members=1_500, live_replies=300, favorites=15,
        mutes=40, archives=60, requests=50, concurrent_requests=160, broadcast_requests=8, phase_seconds=30.0,
    ),
    "large": Scale(
        name="large", members=100_000, member_threads=25_000, messages=1_000_000, smartlists=150,
        smartlist_threads=40, sessions=4_000, session_threads=400, staff=25, broadcast_members=2_500,
        live_replies=500, favorites=20, mutes=60, archives=100, requests=50, concurrent_requests=160,
        broadcast_requests=8, phase_seconds=30.0,
    ),
}
