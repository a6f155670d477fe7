"""Loading the benchmark club: the real importer (timed), then live data: members' replies through the
webhooks' domain function, and per-staff flags and reads through the GraphQL API."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from bench.client import BenchClient
from bench.generate import CLUB_SLUG, NEWSLETTER_SMARTLIST
from bench.scales import Scale
from inbox.actions import record_member_reply
from inbox.importer import import_document
from models import Club, Member, Smartlist, Staff, Thread
from models.engine import club_session, create_engine, session_factory
from resolvers.ids import encode_id

log = logging.getLogger("bench")
VIEWER = "s1"
PROGRESS_EVERY = 5.0
REPLIES = ["Bonjour, est-ce que le cours de demain est maintenu ?", "Merci, c'est parfait !",
           "Je serai en retard de 10 minutes.", "Can I bring a friend on Saturday?", "Ok 👍"]
FLAG = """mutation Flag($input: SetThreadFlagInput!) {
  %s(input: $input) { thread { id isFavorite isMuted isArchived } userErrors { code field message } } }"""
READ = """mutation Read($input: ThreadInput!) {
  markThreadRead(input: $input) { thread { id unreadCount } userErrors { code field message } } }"""


@dataclass
class Timed:
    count: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


@dataclass
class Fixture:
    """What the workloads need of the loaded club (thread ids are GraphQL ids)."""

    viewer: str
    other_staff: list[str]
    email_threads: list[str]
    long_threads: list[str]
    newsletter_thread: str
    replied_threads: list[str]
    unread_pairs: list[tuple[str, str]] = field(default_factory=list)
    name_words: list[str] = field(default_factory=list)
    phone_words: list[str] = field(default_factory=list)


def _progress() -> Callable[[str, int, int], None]:
    """The importer's progress, logged at the end of each stage and every few seconds within one."""
    last: dict[str, Any] = {"at": 0.0, "line": None}

    def report(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if (done == total or now - last["at"] >= PROGRESS_EVERY) and last["line"] != (stage, done):
            last.update(at=now, line=(stage, done))
            log.info("import: %s %d/%d", stage, done, total)

    return report


async def import_club(database_url: str, document: dict[str, Any]) -> float:
    """Seconds the project's importer takes to load the document (validation included)."""
    engine = create_engine(database_url, statement_timeout=3600)
    try:
        started = time.perf_counter()
        await import_document(session_factory(engine), document, progress=_progress())
        return time.perf_counter() - started
    finally:
        await engine.dispose()


async def add_live_replies(database_url: str, document: dict[str, Any], scale: Scale, rng: random.Random) -> Timed:
    """Members' replies arriving live (unread for every staff user): some in existing threads, a few from
    members without a thread yet (which creates it), a third of them twice."""
    members = {m["id"]: m for m in document["members"]}
    talking = [t["target"]["member"] for t in document["threads"] if "member" in t["target"]]
    silent = sorted(set(members) - set(talking))
    newcomers = scale.live_replies // 10
    chosen = rng.sample(talking, scale.live_replies - newcomers) + rng.sample(silent, min(newcomers, len(silent)))
    chosen += chosen[: len(chosen) // 3]
    engine = create_engine(database_url)
    factory = session_factory(engine)
    try:
        async with factory() as session:
            club_id = await session.scalar(select(Club.id).where(Club.slug == CLUB_SLUG))
            ids = dict((await session.execute(
                select(Member.external_id, Member.id).where(Member.club_id == club_id))).all())
        assert club_id is not None
        started = time.perf_counter()
        for number, external_id in enumerate(chosen):
            channel = "EMAIL" if members[external_id]["email"] else "SMS"
            async with club_session(factory, club_id) as session:
                await record_member_reply(session, club_id, ids[external_id], channel=channel,
                                          body=rng.choice(REPLIES), provider_message_id=f"bench-reply-{number}")
        return Timed(len(chosen), time.perf_counter() - started)
    finally:
        await engine.dispose()


def _search_words(rng: random.Random, members: Sequence[Any]) -> tuple[list[str], list[str]]:
    """Words staff would type: accented or folded names, a first and last name; phone fragments as
    written ("06 12 34") and bare last digits (which match many members)."""
    names, phones = [], []
    for index, member in enumerate(rng.sample(list(members), min(12, len(members)))):
        variants = [member.last_name, member.first_name.lower()[:4], f"{member.first_name} {member.last_name}"]
        names.append(variants[index % 3])
    with_phone = [m for m in members if m.phone and m.phone.startswith("+33")]
    for index, member in enumerate(rng.sample(with_phone, min(12, len(with_phone)))):
        national = "0" + member.phone[3:]
        phones.append(f"{national[:2]} {national[2:4]} {national[4:6]}" if index % 2 else national[-4:])
    return names, phones


async def collect_fixture(client: BenchClient, rng: random.Random) -> Fixture:
    """Ids and search words for the workloads, read from the loaded club."""
    async with client.sessions() as session:
        club_id = await session.scalar(select(Club.id).where(Club.slug == CLUB_SLUG))
        staff = sorted((await session.scalars(select(Staff.external_id).where(Staff.club_id == club_id))).all(),
                       key=lambda s: int(s[1:]))
        rows = (await session.execute(
            select(Thread.id, Thread.last_seq, Thread.history_seq, Member)
            .join(Member, Member.id == Thread.member_id)
            .where(Thread.club_id == club_id).order_by(Thread.id))).all()
        newsletter = await session.scalar(
            select(Thread.id).join(Smartlist, Smartlist.id == Thread.smartlist_id)
            .where(Smartlist.club_id == club_id, Smartlist.external_id == NEWSLETTER_SMARTLIST))
    assert newsletter is not None
    email_threads = [encode_id("Thread", t) for t, _, _, m in rows if m.email and m.accepts_email]
    long_threads = [encode_id("Thread", t) for t, last, _, _ in rows if last >= 30]
    replied = [encode_id("Thread", t) for t, last, history, _ in rows if last > history]
    others = [s for s in staff if s != VIEWER]
    pairs = [(s, t) for s in others for t in replied]
    rng.shuffle(pairs)
    names, phones = _search_words(rng, [m for _, _, _, m in rows])
    return Fixture(viewer=VIEWER, other_staff=others, email_threads=email_threads,
                   long_threads=long_threads or email_threads, newsletter_thread=encode_id("Thread", newsletter),
                   replied_threads=replied, unread_pairs=pairs, name_words=names, phone_words=phones)


async def set_flags(client: BenchClient, fixture: Fixture, scale: Scale, rng: random.Random) -> Timed:
    """Favorites, mutes and archives of every staff user (the viewer has the most), and the viewer
    reading a third of the threads with live replies, through the GraphQL API."""
    calls: list[tuple[str, str, dict[str, Any]]] = []
    member_threads = sorted(set(fixture.email_threads) | set(fixture.replied_threads))
    for staff in [fixture.viewer, *fixture.other_staff]:
        share = 1 if staff == fixture.viewer else 2
        wanted = [("setThreadFavorite", scale.favorites // share), ("setThreadMuted", scale.mutes // share),
                  ("setThreadArchived", scale.archives // share)]
        picked = rng.sample(member_threads, sum(n for _, n in wanted))
        for mutation, count in wanted:
            calls += [(staff, FLAG % mutation, {"input": {"threadId": t, "value": True}}) for t in picked[:count]]
            picked = picked[count:]
    reads = rng.sample(fixture.replied_threads, len(fixture.replied_threads) // 3)
    calls += [(fixture.viewer, READ, {"input": {"threadId": t}}) for t in reads]
    started = time.perf_counter()
    for staff, query, variables in calls:
        await client.call(query, variables, staff=staff)
    return Timed(len(calls), time.perf_counter() - started)
