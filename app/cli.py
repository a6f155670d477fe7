"""The `inbox` command line. User mistakes are one line on stderr and a non-zero exit."""

from __future__ import annotations

import asyncio
import errno
import gc
import json
import logging
import socket
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.http_protocol import JoinedWritesHttpProtocol
from app.websocket_protocol import LeanWebSocketProtocol
from inbox.database import database_problem, engine_from_settings
from inbox.errors import DomainError
from inbox.settings import Settings, get_settings
from models.engine import session_factory

T = TypeVar("T")

# Plain help (rich_markup_mode=None): typer's rich help writes a type such as <bool> after every flag.
cli = typer.Typer(help="Inbox GraphQL: the staff inbox of fitness and sports clubs.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
api_key_cli = typer.Typer(help="Partner API keys (read-only access for dashboards).", no_args_is_help=True,
                          rich_markup_mode=None)
cli.add_typer(api_key_cli, name="api-key")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"inbox {package_version('inbox-graphql')}")
        raise typer.Exit()


@cli.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit")
    ] = False,
) -> None:
    """Inbox GraphQL: the staff inbox of fitness and sports clubs."""


def fail(message: str) -> NoReturn:
    """Report a user mistake as one line on stderr and exit 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def log_to_stderr() -> None:
    """The project's own log lines (deliveries, webhooks) at INFO on stderr, beside uvicorn's."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    logger = logging.getLogger("inbox")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)


def load_settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(str(first.get("msg", exc)).removeprefix("Value error, "))


def run_with_database(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(sessionmaker)` on the configured database, turning known failures into one line."""

    async def main() -> T:
        engine = engine_from_settings(settings)
        try:
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        fail(str(exc))
    except Exception as exc:
        if (problem := database_problem(exc, settings.database_url)) is None:
            raise
        fail(problem)


@cli.command()
def migrate() -> None:
    """Create or upgrade the database schema at DATABASE_URL."""
    from models.migrate import upgrade

    settings = load_settings()
    try:
        done = upgrade(settings.database_url)
    except Exception as exc:
        if (problem := database_problem(exc, settings.database_url)) is None:
            raise
        fail(problem)
    typer.echo(done.describe(), err=True)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    transient=False, disable=not sys.stderr.isatty(), console=None)


def _import(settings: Settings, document: Any, label: str) -> None:
    from inbox.importer import ImportErrors, import_document

    with _progress() as progress:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        try:
            summary = run_with_database(
                settings, lambda factory: import_document(factory, document, progress=report)
            )
        except ImportErrors as exc:
            progress.stop()
            for problem in exc.problems:
                typer.echo(f"error: {label}: {problem.path}: {problem.message}", err=True)
            typer.echo(f"{len(exc.problems)} problem(s); nothing was written", err=True)
            raise typer.Exit(1) from None
    typer.echo(summary.describe())


@cli.command(name="import")
def import_file(file: Annotated[Path, typer.Argument(help="A club's JSON document")]) -> None:
    """Load or update a club's data from a JSON file (idempotent)."""
    settings = load_settings()
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{file}: no such file")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{file}: cannot read: {exc}")
    except json.JSONDecodeError as exc:
        fail(f"{file}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")
    _import(settings, document, str(file))


@cli.command()
def demo() -> None:
    """Load the built-in demo club, and a few replies of the day so it has unread threads (idempotent)."""
    from inbox.demo import add_fresh_replies, demo_document

    settings = load_settings()
    _import(settings, demo_document(), "demo")
    added = run_with_database(settings, add_fresh_replies)
    typer.echo(f"  fresh replies: {added} added")


@cli.command()
def token(
    email: Annotated[str, typer.Argument(help="The staff user's email")],
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds")] = 12 * 3600,
    club: Annotated[str | None, typer.Option(help="Club slug, when the email is in several clubs")] = None,
) -> None:
    """Print a bearer token for a staff user."""
    from inbox.staff import token_for_staff_email

    settings = load_settings()
    if ttl <= 0:
        fail("--ttl must be a positive number of seconds")
    secret = settings.signing_key()

    async def work(factory: Any) -> str:
        async with factory() as session:
            return await token_for_staff_email(session, secret, email, club_slug=club, ttl=timedelta(seconds=ttl))

    typer.echo(run_with_database(settings, work))


@api_key_cli.command("create")
def api_key_create(
    club_slug: Annotated[str, typer.Argument(help="The club's slug")],
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. the dashboard's name")],
) -> None:
    """Print a new partner API key (shown once; stored hashed)."""
    from inbox.staff import create_api_key

    settings = load_settings()

    async def work(factory: Any) -> str:
        async with factory() as session:
            return await create_api_key(session, club_slug, name)

    typer.echo(run_with_database(settings, work))


# A WebSocket costs little while idle: no compression (a deflate context per connection), uvicorn's
# sans-I/O implementation (timers instead of three tasks per connection) without the handshake kept,
# 64 KiB frames at most, and a keep-alive ping every 45 s instead of uvicorn's 20 s: still under the
# 60 s idle timeout of common proxies, and idle connections cost less than half the CPU (pings were
# 2.1 of the 2.4% of a core that 2,000 idle connections took; 9.1% at 10,000, bench/).
WEBSOCKET_PING_SECONDS = 45.0
WEBSOCKET_SETTINGS: dict[str, Any] = {"ws": LeanWebSocketProtocol, "ws_per_message_deflate": False,
                                      "ws_max_size": 64 * 1024, "ws_ping_interval": WEBSOCKET_PING_SECONDS}


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    no_dispatcher: Annotated[
        bool, typer.Option("--no-dispatcher", help="Do not send deliveries in this process")
    ] = False,
) -> None:
    """Serve HTTP and WebSocket (GraphQL at /graphql)."""
    import uvicorn

    from app.factory import create_app

    settings = load_settings()
    log_to_stderr()
    _check_schema(settings)
    listening = _listen(host, port)
    typer.echo(f"Inbox GraphQL on http://{host}:{port}/graphql ({settings.env})", err=True)
    config = uvicorn.Config(
        create_app(settings, run_dispatcher=not no_dispatcher),
        host=host, port=port, timeout_graceful_shutdown=10, log_level="info", proxy_headers=True,
        access_log=settings.logs_requests, http=JoinedWritesHttpProtocol,
        **WEBSOCKET_SETTINGS,
    )
    tune_collector()
    uvicorn.Server(config).run(sockets=[listening])


# Allocations between two collections of the youngest generation (CPython's default: 700).
YOUNG_COLLECTION_EVERY = 20_000


def tune_collector() -> None:
    """Fewer, larger young collections, and what startup built (modules, the schema) never traversed
    again: one message to a thousand subscribers cost the process 71 ms of CPU with the default
    threshold and 43 ms with this one (bench.anchors' fan-out, tiny scale)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])


def _check_schema(settings: Settings) -> None:
    """A database without schema, or one that does not exist, is a mistake: say so and stop. One that is
    down is an outage: serve anyway (/readyz answers 503 until it is back)."""
    from models.migrate import current_revision

    try:
        revision = current_revision(settings.database_url)
    except Exception as exc:
        problem = database_problem(exc, settings.database_url)
        if problem is None:
            raise
        if problem.startswith("cannot reach"):
            logging.getLogger("inbox.app").warning("%s; serving anyway, /readyz answers 503 until it is back", problem)
            return
        fail(problem)
    if revision is None:
        fail("the database has no schema yet: run `inbox migrate` first")


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything says "serving" (a busy port is one line and exit 1)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listening = socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fail(f"port {port} on {host} is already in use: stop the other server or pass --port")
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    listening.set_inheritable(True)
    return listening


@cli.command()
def dispatch(
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then exit")] = False,
) -> None:
    """Run the delivery dispatcher alone (for deployments that separate it from `serve`)."""
    import signal

    from app.runtime import running

    settings = load_settings()

    async def work(factory: Any) -> int:
        async with running(settings, factory, with_dispatcher=True) as runtime:
            dispatcher = runtime.dispatcher
            assert dispatcher is not None
            if once:
                return await dispatcher.drain()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, dispatcher.stop)
            await dispatcher.run()
            return 0

    log_to_stderr()
    if not once:
        typer.echo("delivery dispatcher running (Ctrl-C to stop)", err=True)
    handled = run_with_database(settings, work)
    if once:
        typer.echo(f"{handled} deliveries handled")


@cli.command()
def unmatched(
    club: Annotated[str | None, typer.Option(help="Only this club's (its slug)")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 50,
) -> None:
    """List inbound messages that matched no member: time, club, channel, sender, recipient, reason."""
    from inbox.inbound import list_unmatched

    settings = load_settings()
    if limit <= 0:
        fail("--limit must be a positive number")

    async def work(factory: Any) -> list[Any]:
        async with factory() as session:
            return await list_unmatched(session, club_slug=club, limit=limit)

    rows = run_with_database(settings, work)
    if not rows:
        typer.echo("no unmatched inbound messages", err=True)
        return
    typer.echo("received\tclub\tchannel\tsender\trecipient\treason")
    for row, slug in rows:
        typer.echo("\t".join([row.received_at.isoformat(timespec="seconds"), slug or "-", row.channel, row.sender,
                              row.recipient, row.reason]))


@cli.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL SDL (what schema.graphql holds)."""
    from schema import print_schema_sdl

    typer.echo(print_schema_sdl(), nl=False)


def main() -> None:
    cli()
