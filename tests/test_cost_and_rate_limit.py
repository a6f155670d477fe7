"""Query cost (the rule against the printed schema, the extension in a real strawberry schema) and the
leaky-bucket rate limiter (in memory, and in a real Redis when one is reachable)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
import redis
import strawberry
from redis.exceptions import RedisError
from strawberry.asgi import GraphQL

from inbox.ratelimit import MemoryRateLimiter, RateDecision, RedisRateLimiter, rate_limiter_from_url
from schema.cost import MAX_QUERY_COST, QueryCost, operation_cost
from schema.errors import ErrorPolicy
from tests.redis_server import RedisServer

# The printed schema, which the contract check keeps equal to the API contract (types, arguments, defaults).
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"
REDIS_URL = os.environ.get("INBOX_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
RUN_PREFIX = f"inbox:ratelimit:test-{uuid.uuid4().hex[:12]}:"

THREADS = """{ threads(category: MEMBER, first: %d) { edges { node {
  title lastMessage { body } messages(first: %d) { edges { node { body } } } } } } }"""


# --- the cost rule, against the printed schema ----------------------------------------------------


@pytest.fixture(scope="module")
def contract() -> graphql.GraphQLSchema:
    return graphql.build_schema(SCHEMA_FILE.read_text())


def cost(schema: graphql.GraphQLSchema, query: str, variables: dict[str, Any] | None = None,
         operation_name: str | None = None) -> int:
    return operation_cost(schema, graphql.parse(query), operation_name, variables)


def test_a_page_of_100_threads_with_100_messages_each_is_too_complex(contract: graphql.GraphQLSchema) -> None:
    # messages: 1 + 100 x 3; a thread node: 1 + title + lastMessage (2) + messages; threads: 1 + 100 x (edges 1 + node)
    assert cost(contract, THREADS % (100, 100)) == 1 + 100 * (1 + 1 + 1 + 2 + (1 + 100 * 3)) == 30601
    assert cost(contract, THREADS % (100, 100)) > MAX_QUERY_COST


def test_small_pages_are_cheap(contract: graphql.GraphQLSchema) -> None:
    assert cost(contract, THREADS % (10, 10)) == 361
    assert cost(contract, THREADS % (10, 100)) == 3061 < MAX_QUERY_COST


def test_nested_connections_multiply(contract: graphql.GraphQLSchema) -> None:
    query = "{ threads(category: MEMBER, first: 100) { edges { node { messages { edges { node { body } } } } } } }"
    assert cost(contract, query) == 1 + 100 * (1 + 1 + (1 + 20 * 3)) == 6301


def test_variables_are_honoured_with_their_operation_defaults(contract: graphql.GraphQLSchema) -> None:
    query = """query Threads($n: Int, $m: Int = 7) { threads(category: MEMBER, first: $n) {
      edges { node { messages(last: $m) { edges { node { body } } } } } } }"""
    per_thread = 1 + 1 + (1 + 7 * 3)
    assert cost(contract, query, {"n": 100}) == 1 + 100 * per_thread
    assert cost(contract, query, {"n": 10}) == 1 + 10 * per_thread
    assert cost(contract, query, {"n": 10, "m": 100}) == 1 + 10 * (1 + 1 + (1 + 100 * 3))
    assert cost(contract, query, {}) == 1 + 20 * per_thread  # $n not given: the schema's default


def test_schema_defaults_then_20_are_used(contract: graphql.GraphQLSchema) -> None:
    assert cost(contract, "{ members { edges { node { id } } } }") == 1 + 20 * 3
    sessions = """{ sessions(from: "2026-01-01T00:00:00+00:00", to: "2026-02-01T00:00:00+00:00") {
      edges { node { id } } } }"""
    assert cost(contract, sessions) == 1 + 50 * 3
    # Thread.messages has no default: 20.
    messages = '{ node(id: "x") { ... on Thread { messages { edges { node { id } } } } } }'
    assert cost(contract, messages) == 1 + 1 + 20 * 3
    # a list taking `first`, of scalars: nothing to multiply
    assert cost(contract, "{ memberTags(first: 100) }") == 1


def test_fragments_are_followed(contract: graphql.GraphQLSchema) -> None:
    inline = cost(contract, THREADS % (10, 10))
    named = """query { threads(category: MEMBER, first: 10) { edges { node { ...ThreadRow } } } }
      fragment ThreadRow on Thread { title lastMessage { ...Body } messages(first: 10) { edges { node { ...Body } } } }
      fragment Body on Message { body }"""
    spread_inline = """{ threads(category: MEMBER, first: 10) { edges { node {
      ... on Thread { title lastMessage { body } } ... { messages(first: 10) { edges { node { body } } } } } } } }"""
    assert cost(contract, named) == cost(contract, spread_inline) == inline


def test_reused_fragments_are_costed_without_walking_them_again(contract: graphql.GraphQLSchema) -> None:
    # Each fragment spreads the next twice: 2^40 club selections, costed instantly.
    fragments = "\n".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
    query = "{ ...F0 }\n" + fragments + "\nfragment F40 on Query { club { id } }"
    started = time.perf_counter()
    assert cost(contract, query) == 2**40 * 2
    assert time.perf_counter() - started < 1


def test_nodes_multiply_by_the_number_of_ids(contract: graphql.GraphQLSchema) -> None:
    assert cost(contract, '{ nodes(ids: ["a", "b", "c"]) { id } }') == 1 + 3
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Member { firstName lastName } } }"
    assert cost(contract, query, {"ids": ["x"] * 40}) == 1 + 40 * 3
    by_external = 'query($ids: [String!]!) { nodesByExternalId(category: MEMBER, externalIds: $ids) { id } }'
    assert cost(contract, by_external, {"ids": ["1", "2"]}) == 1 + 2


def test_page_sizes_out_of_range_are_clamped_for_costing(contract: graphql.GraphQLSchema) -> None:
    query = "query($n: Int) { members(first: $n) { edges { node { id } } } }"
    assert cost(contract, query, {"n": 100_000}) == cost(contract, query, {"n": 100}) == 1 + 100 * 3
    assert cost(contract, query, {"n": 0}) == cost(contract, query, {"n": -5}) == 1 + 1 * 3
    assert cost(contract, query, {"n": "many"}) == 1 + 20 * 3  # invalid: execution refuses it anyway
    assert cost(contract, "{ members(first: 5000) { edges { node { id } } } }") == 1 + 100 * 3


def test_typename_is_free_and_other_fields_cost_one(contract: graphql.GraphQLSchema) -> None:
    assert cost(contract, "{ __typename club { __typename id name } unreadCounts { __typename } }") == 3 + 1
    assert cost(contract, "{ rateLimit { cost limit remaining resetAt } }") == 5


def test_graphiql_introspection_stays_under_the_limit(contract: graphql.GraphQLSchema) -> None:
    assert cost(contract, graphql.get_introspection_query()) < 500
    everything = graphql.get_introspection_query(
        descriptions=True, specified_by_url=True, directive_is_repeatable=True, schema_description=True,
        input_value_deprecation=True, one_of=True,
    )
    assert 0 < cost(contract, everything) < 500


def test_recursive_introspection_is_priced_out(contract: graphql.GraphQLSchema) -> None:
    twice = '{ __type(name: "Query") { fields { type { ofType { fields { name } } } } } }'
    thrice = """{ __type(name: "Query") { fields { type { ofType {
      fields { type { ofType { fields { name } } } } } } } } }"""
    assert cost(contract, twice) < 200
    assert cost(contract, thrice) > MAX_QUERY_COST


def test_operations_are_chosen_by_name_and_invalid_documents_do_not_crash(contract: graphql.GraphQLSchema) -> None:
    document = "query A { club { id } } query B { members(first: 2) { edges { node { id } } } }"
    assert cost(contract, document, operation_name="A") == 2
    assert cost(contract, document, operation_name="B") == 1 + 2 * 3
    assert cost(contract, document) == 0  # ambiguous: execution refuses it
    assert cost(contract, "fragment A on Query { ...B } fragment B on Query { ...A } { ...A }") == 0
    assert cost(contract, "{ nope { deeper { still } } club { unknown } }") == 3 + 2


def test_mutations_and_subscriptions_are_costed(contract: graphql.GraphQLSchema) -> None:
    mutation = 'mutation { markThreadRead(input: { threadId: "t" }) { thread { id } userErrors { code } } }'
    assert cost(contract, mutation) == 1 + 2 + 2
    assert cost(contract, 'subscription { messageAdded(threadId: "t") { id body } }') == 3


# --- the extension, in a real strawberry schema ---------------------------------------------------

calls: dict[str, int] = {"items": 0, "ticks": 0}


@strawberry.type
class Item:
    id: int


@strawberry.type
class ItemEdge:
    node: Item


@strawberry.type
class ItemConnection:
    edges: list[ItemEdge]


@strawberry.type
class Query:
    @strawberry.field
    def items(self, first: int = 10) -> ItemConnection:
        calls["items"] += 1
        return ItemConnection(edges=[ItemEdge(node=Item(id=i)) for i in range(first)])


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self, first: int = 10) -> AsyncIterator[ItemConnection]:
        calls["ticks"] += 1
        yield ItemConnection(edges=[])


@dataclass
class Ctx:
    rate_limiter: Any = None
    rate_limit_key: str | None = None
    query_cost: int = 0
    rate_limit: RateDecision | None = None


LIMIT = 100
CHEAP = "{ items(first: 10) { edges { node { id } } } }"  # 1 + 10 x 3 = 31
TOO_COSTLY = "{ items(first: 50) { edges { node { id } } } }"  # 151


@pytest.fixture
def limited_schema() -> strawberry.Schema:
    calls.update(items=0, ticks=0)
    return strawberry.Schema(
        query=Query, subscription=Subscription, extensions=[lambda: QueryCost(max_cost=LIMIT), ErrorPolicy]
    )


def code_of(result: Any) -> str:
    assert result.errors, result
    return result.errors[0].extensions["code"]


async def test_a_costly_query_is_refused_before_any_resolver(limited_schema: strawberry.Schema) -> None:
    context = Ctx(rate_limiter=MemoryRateLimiter(capacity=1000), rate_limit_key="staff:1")
    result = await limited_schema.execute(TOO_COSTLY, context_value=context)
    assert code_of(result) == "QUERY_TOO_COMPLEX"
    assert "151" in result.errors[0].message and str(LIMIT) in result.errors[0].message
    assert result.data is None and calls["items"] == 0
    assert result.extensions == {"cost": 151} and context.query_cost == 151
    assert context.rate_limit is None  # refused before charging
    assert (await context.rate_limiter.peek("staff:1")).remaining == 1000


async def test_a_rate_limited_query_is_refused_before_any_resolver(limited_schema: strawberry.Schema) -> None:
    context = Ctx(rate_limiter=MemoryRateLimiter(capacity=40, window_seconds=60), rate_limit_key="staff:1")
    first = await limited_schema.execute(CHEAP, context_value=context)
    assert first.errors is None and calls["items"] == 1
    assert context.rate_limit is not None and context.rate_limit.remaining == 9
    second = await limited_schema.execute(CHEAP, context_value=context)
    assert code_of(second) == "RATE_LIMITED"
    assert second.errors[0].extensions["retryAfter"] >= 1
    assert second.data is None and calls["items"] == 1
    assert context.rate_limit.allowed is False and second.extensions == {"cost": 31}


async def test_a_served_query_reports_its_cost(limited_schema: strawberry.Schema) -> None:
    context = Ctx(rate_limiter=MemoryRateLimiter(capacity=1000), rate_limit_key="key:7")
    result = await limited_schema.execute(CHEAP, context_value=context)
    assert result.errors is None and result.data["items"]["edges"][9]["node"]["id"] == 9
    assert result.extensions == {"cost": 31} and context.query_cost == 31
    assert context.rate_limit is not None and context.rate_limit.allowed and context.rate_limit.remaining == 969


async def test_without_a_limiter_or_key_nothing_is_charged(limited_schema: strawberry.Schema) -> None:
    limiter = MemoryRateLimiter(capacity=10)
    for context in (Ctx(), Ctx(rate_limiter=limiter), Ctx(rate_limit_key="staff:1"), None):
        result = await limited_schema.execute(CHEAP, context_value=context)
        assert result.errors is None and result.extensions == {"cost": 31}
    assert (await limiter.peek("staff:1")).remaining == 10


async def test_even_a_free_query_costs_a_point_of_rate_limit(limited_schema: strawberry.Schema) -> None:
    context = Ctx(rate_limiter=MemoryRateLimiter(capacity=1000, window_seconds=3600), rate_limit_key="staff:1")
    result = await limited_schema.execute("{ __typename }", context_value=context)
    assert result.extensions == {"cost": 0} and context.rate_limit.remaining == 999


async def test_invalid_documents_are_neither_costed_nor_charged(limited_schema: strawberry.Schema) -> None:
    context = Ctx(rate_limiter=MemoryRateLimiter(capacity=10), rate_limit_key="staff:1")
    result = await limited_schema.execute("{ items(first: 10) { nope } }", context_value=context)
    assert result.errors and result.extensions == {"cost": 0}
    assert context.rate_limit is None and calls["items"] == 0


async def test_the_default_limit_is_5000() -> None:
    schema = strawberry.Schema(query=Query, extensions=[QueryCost])
    result = await schema.execute("{ a: items(first: 100) { edges { node { id } } } "
                                  "b: items(first: 100) { edges { node { id } } } }")
    assert result.errors is None and result.extensions == {"cost": 602}
    aliases = " ".join(f"a{i}: items(first: 100) {{ edges {{ node {{ id }} }} }}" for i in range(17))
    result = await schema.execute("{ " + aliases + " }")
    assert code_of(result) == "QUERY_TOO_COMPLEX" and result.extensions == {"cost": 17 * 301}


async def test_streamed_queries_are_refused_too(limited_schema: strawberry.Schema) -> None:
    # Queries over a WebSocket run through Schema.stream.
    results = [result async for result in await limited_schema.stream(TOO_COSTLY, context_value=Ctx())]
    assert [code_of(result) for result in results] == ["QUERY_TOO_COMPLEX"] and calls["items"] == 0


async def test_abuse_subscribing_is_charged_the_subscriptions_cost_at_subscribe_time(
    limited_schema: strawberry.Schema,
) -> None:
    limiter = MemoryRateLimiter(capacity=10)
    context = Ctx(rate_limiter=limiter, rate_limit_key="staff:1")
    cheap = "subscription { ticks(first: 2) { edges { node { id } } } }"
    results = [r async for r in await limited_schema.subscribe(cheap, context_value=context)]
    assert [r.errors for r in results] == [None] and context.query_cost == 1 + 2 * 3 and calls["ticks"] == 1
    costly = "subscription { ticks(first: 50) { edges { node { id } } } }"
    results = [r async for r in await limited_schema.subscribe(costly, context_value=context)]
    assert [code_of(r) for r in results] == ["QUERY_TOO_COMPLEX"] and calls["ticks"] == 1
    assert (await limiter.peek("staff:1")).remaining == 10 - 7  # the cheap one only: a refused one is free
    results = [r async for r in await limited_schema.subscribe(cheap, context_value=context)]
    assert [code_of(r) for r in results] == ["RATE_LIMITED"] and calls["ticks"] == 1


# --- the limiter, in memory and in Redis ----------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The test Redis, or a skip when none is reachable (a failure when INBOX_TEST_REDIS_URL names one)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except (RedisError, OSError) as error:
        client.close()
        if os.environ.get("INBOX_TEST_REDIS_URL"):
            raise
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {error!r}")
    yield REDIS_URL
    for key in client.scan_iter(match=RUN_PREFIX + "*"):
        client.delete(key)
    client.close()


@pytest.fixture(params=["memory", "redis"])
async def make_limiter(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., Any]]:
    """Builds limiters of one kind; Redis ones get a prefix of their own, so tests never share buckets."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    made: list[MemoryRateLimiter | RedisRateLimiter] = []

    def make(**options: Any) -> MemoryRateLimiter | RedisRateLimiter:
        if url:
            options.setdefault("prefix", f"{RUN_PREFIX}{uuid.uuid4().hex[:8]}:")
        made.append(rate_limiter_from_url(url, **options))
        return made[-1]

    yield make
    for limiter in made:
        await limiter.aclose()


async def test_allows_up_to_capacity_then_refuses_without_charging(make_limiter: Callable[..., Any]) -> None:
    limiter = make_limiter(capacity=10, window_seconds=10)  # leaks 1 point/s
    first = await limiter.charge("staff:1", 4)
    assert first.allowed and first.limit == 10 and first.remaining == 6 and first.retry_after == 0
    assert (await limiter.charge("staff:1", 4)).remaining == 2
    refused = await limiter.charge("staff:1", 3)
    assert not refused.allowed and refused.retry_after >= 1 and refused.remaining == 2
    now = datetime.now(UTC)
    assert refused.reset_at.tzinfo is not None
    assert now + timedelta(seconds=7) < refused.reset_at < now + timedelta(seconds=8.1)
    assert (await limiter.charge("staff:1", 2)).allowed  # the refusal charged nothing
    assert (await limiter.charge("staff:2", 10)).allowed  # buckets are per key


async def test_a_cost_above_capacity_is_always_refused(make_limiter: Callable[..., Any]) -> None:
    limiter = make_limiter(capacity=10, window_seconds=1)
    refused = await limiter.charge("staff:1", 11)
    assert not refused.allowed and refused.retry_after >= 1 and refused.remaining == 10


async def test_the_bucket_leaks_over_time(make_limiter: Callable[..., Any]) -> None:
    limiter = make_limiter(capacity=10, window_seconds=1)  # leaks 10 points/s
    assert (await limiter.charge("staff:1", 10)).allowed
    assert not (await limiter.charge("staff:1", 3)).allowed
    await asyncio.sleep(0.4)
    assert (await limiter.charge("staff:1", 3)).allowed
    await asyncio.sleep(1.1)
    assert (await limiter.peek("staff:1")).remaining == 10


async def test_peek_charges_nothing(make_limiter: Callable[..., Any]) -> None:
    limiter = make_limiter(capacity=10, window_seconds=60)
    fresh = await limiter.peek("staff:1")
    assert fresh.allowed and fresh.remaining == 10 and fresh.retry_after == 0
    await limiter.charge("staff:1", 10)
    full = await limiter.peek("staff:1")
    assert not full.allowed and full.remaining == 0 and full.retry_after >= 1
    assert (await limiter.peek("staff:1")).remaining == 0


async def test_concurrent_charges_never_overspend(make_limiter: Callable[..., Any]) -> None:
    limiter = make_limiter(capacity=10, window_seconds=3600)
    decisions = await asyncio.gather(*(limiter.charge("staff:1", 1) for _ in range(50)))
    assert sum(decision.allowed for decision in decisions) == 10


async def test_redis_buckets_are_shared_prefixed_and_expire(redis_url: str) -> None:
    prefix = f"{RUN_PREFIX}{uuid.uuid4().hex[:8]}:"
    one = rate_limiter_from_url(redis_url, capacity=10, window_seconds=5, prefix=prefix)
    other = rate_limiter_from_url(redis_url, capacity=10, window_seconds=5, prefix=prefix)
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        assert isinstance(one, RedisRateLimiter)
        await one.charge("staff:1", 6)
        assert (await other.charge("staff:1", 6)).allowed is False  # another process sees the same bucket
        assert prefix.startswith("inbox:ratelimit:")
        assert 0 < await client.pttl(prefix + "staff:1") <= 6 * 500 + 1000  # drained after 3 s, plus a margin
    finally:
        for closable in (one, other):
            await closable.aclose()
        await client.aclose()


# The Redis limiter's local view: counted in script runs (the command statistics of a Redis of their own,
# which no other test or run shares), never timed.
SLOW_LEAK = 10**7  # window seconds: the buckets below leak well under a point during a test


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
async def redis_limiters(private_redis: str) -> AsyncIterator[Callable[..., RedisRateLimiter]]:
    """Redis limiters sharing one bucket prefix, like the processes of a fleet."""
    prefix = f"{RUN_PREFIX}{uuid.uuid4().hex[:8]}:"
    made: list[RedisRateLimiter] = []

    def make(**options: Any) -> RedisRateLimiter:
        limiter = rate_limiter_from_url(private_redis, prefix=prefix, **options)
        assert isinstance(limiter, RedisRateLimiter)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.aclose()


@pytest.fixture
async def redis_client(private_redis: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(private_redis)
    yield client
    await client.aclose()


async def script_runs(client: redis.asyncio.Redis) -> int:
    stats = await client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("eval", "evalsha"))


async def redis_level(client: redis.asyncio.Redis, limiter: RedisRateLimiter, key: str) -> float:
    return float(await client.hget(limiter._prefix + key, "level") or 0)


async def test_redis_charges_far_from_the_limit_make_no_round_trip(
    redis_limiters: Callable[..., RedisRateLimiter], redis_client: redis.asyncio.Redis,
) -> None:
    limiter = redis_limiters(capacity=100_000, window_seconds=SLOW_LEAK, sync_seconds=3600)
    assert (await limiter.charge("staff:1", 1)).remaining == 99_999  # a key's first charge is Redis's word
    before = await script_runs(redis_client)
    decisions = [await limiter.charge("staff:1", 1) for _ in range(500)]
    assert await script_runs(redis_client) == before
    assert all(decision.allowed for decision in decisions)
    assert decisions[-1].limit == 100_000 and decisions[-1].remaining == 99_499 and decisions[-1].retry_after == 0
    assert await redis_level(redis_client, limiter, "staff:1") < 2
    await limiter.aclose()  # sends what it owes
    assert await script_runs(redis_client) == before + 1
    assert 500 < await redis_level(redis_client, limiter, "staff:1") <= 501


async def test_redis_pending_charges_reach_redis_within_the_sync_interval(
    redis_limiters: Callable[..., RedisRateLimiter], redis_client: redis.asyncio.Redis,
) -> None:
    limiter = redis_limiters(capacity=100_000, window_seconds=SLOW_LEAK, sync_seconds=0.1)
    await limiter.charge("staff:1", 1)
    for _ in range(10):
        await limiter.charge("staff:1", 1)
    assert await redis_level(redis_client, limiter, "staff:1") < 2
    await asyncio.sleep(0.5)
    assert 10 < await redis_level(redis_client, limiter, "staff:1") <= 11
    before = await script_runs(redis_client)
    await asyncio.sleep(0.5)
    assert await script_runs(redis_client) == before  # nothing owed: the sweep sends nothing


async def test_redis_owing_half_the_local_share_syncs_at_once(
    redis_limiters: Callable[..., RedisRateLimiter], redis_client: redis.asyncio.Redis,
) -> None:
    limiter = redis_limiters(capacity=10_000, window_seconds=SLOW_LEAK, sync_seconds=3600)  # owes at most 200
    await limiter.charge("staff:1", 1)
    before = await script_runs(redis_client)
    for _ in range(100):
        await limiter.charge("staff:1", 1)
    await asyncio.sleep(0.5)
    assert await script_runs(redis_client) == before + 1
    assert 100 < await redis_level(redis_client, limiter, "staff:1") <= 101


async def test_redis_two_processes_near_the_limit_never_overspend_together(
    redis_limiters: Callable[..., RedisRateLimiter],
) -> None:
    one, other = (redis_limiters(capacity=1_000, window_seconds=SLOW_LEAK) for _ in range(2))
    assert (await one.charge("staff:1", 850)).allowed
    assert (await other.charge("staff:1", 1)).remaining == 149  # sees the other process's charge

    async def spend(limiter: RedisRateLimiter) -> int:
        return sum([(await limiter.charge("staff:1", 1)).allowed for _ in range(200)])

    assert sum(await asyncio.gather(spend(one), spend(other))) == 149


async def test_redis_far_from_the_limit_a_fleet_overshoots_at_most_the_others_local_share(
    redis_limiters: Callable[..., RedisRateLimiter], redis_client: redis.asyncio.Redis,
) -> None:
    one, other = (redis_limiters(capacity=10_000, window_seconds=SLOW_LEAK) for _ in range(2))

    async def spend(limiter: RedisRateLimiter) -> int:
        allowed = 0
        for _ in range(1_200):
            decision = await limiter.charge("staff:1", 10)
            allowed += 10 * decision.allowed
            await asyncio.sleep(0)  # the other process gets a turn after each charge
        return allowed

    spent = sum(await asyncio.gather(spend(one), spend(other)))
    assert 10_000 - 20 <= spent <= 10_000 + 200  # 2% of capacity per other process, at most
    for limiter in (one, other):
        await limiter.aclose()
    assert spent - 1 < await redis_level(redis_client, one, "staff:1") <= spent


async def test_redis_one_process_mixing_local_and_exact_charges_never_overspends(
    redis_limiters: Callable[..., RedisRateLimiter], caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = redis_limiters(capacity=1_000, window_seconds=SLOW_LEAK)
    await limiter.charge("staff:1", 1)
    with caplog.at_level(logging.WARNING, logger="inbox.ratelimit"):  # more charges than connections: they wait
        decisions = await asyncio.gather(*(limiter.charge("staff:1", 7) for _ in range(200)))
    assert not caplog.records
    assert sum(decision.allowed for decision in decisions) == 999 // 7
    refused = next(decision for decision in decisions if not decision.allowed)
    assert refused.retry_after >= 1 and refused.remaining < 7


async def test_redis_drained_keys_are_forgotten(redis_limiters: Callable[..., RedisRateLimiter]) -> None:
    limiter = redis_limiters(capacity=10_000, window_seconds=0.1, sync_seconds=0.05)  # drains in 0.1 s
    for key in ("staff:1", "staff:2", "staff:3"):
        await limiter.charge(key, 50)
        await limiter.charge(key, 50)  # decided locally, then sent
    await asyncio.sleep(0.5)
    assert limiter._views == {}


async def test_an_unreachable_redis_allows_and_adds_no_latency(caplog: pytest.LogCaptureFixture) -> None:
    limiter = rate_limiter_from_url("redis://127.0.0.1:1/0", capacity=10)
    try:
        with caplog.at_level(logging.WARNING, logger="inbox.ratelimit"):
            started = time.perf_counter()
            decisions = [await limiter.charge("staff:1", 8) for _ in range(5)]
            peeked = await limiter.peek("staff:1")
        assert all(decision.allowed for decision in decisions) and peeked.allowed
        assert decisions[0].limit == 10 and decisions[0].retry_after == 0
        assert time.perf_counter() - started < 2
        assert len([r for r in caplog.records if "Redis unavailable" in r.message]) == 1
    finally:
        await limiter.aclose()


def test_the_url_chooses_the_store() -> None:
    assert isinstance(rate_limiter_from_url(None), MemoryRateLimiter)
    assert isinstance(rate_limiter_from_url(""), MemoryRateLimiter)


async def test_over_http_the_codes_and_the_cost_reach_the_client(limited_schema: strawberry.Schema) -> None:
    limiter = MemoryRateLimiter(capacity=40)

    class App(GraphQL):
        async def get_context(self, request: Any, response: Any) -> Ctx:
            return Ctx(rate_limiter=limiter, rate_limit_key="staff:1")

    transport = httpx.ASGITransport(app=App(limited_schema))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        served, limited, costly = [
            (await client.post("/graphql", json={"query": query})).json() for query in (CHEAP, CHEAP, TOO_COSTLY)
        ]
    assert served["extensions"] == {"cost": 31} and "errors" not in served
    assert limited["errors"][0]["extensions"]["code"] == "RATE_LIMITED" and limited["extensions"] == {"cost": 31}
    assert limited["errors"][0]["extensions"]["retryAfter"] >= 1
    assert costly["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX" and costly["extensions"] == {"cost": 151}
    assert calls["items"] == 1
