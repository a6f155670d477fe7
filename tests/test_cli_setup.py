"""Setup mistakes at the command line are one line on stderr and exit 1, never a traceback.

Each test runs the real `inbox` console script in a process of its own, in an empty working directory.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from inbox.settings import Settings
from models.migrate import downgrade, upgrade
from tests.databases import create_database, drop_database, server_url
from tests.redis_server import free_port

INBOX = Path(sys.executable).parent / "inbox"
VERSIONS = Path(__file__).resolve().parent.parent / "models" / "migrations" / "versions"
HEAD = max(path.name.split("_")[0] for path in VERSIONS.glob("0*.py"))


def inbox(*args: str, cwd: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(INBOX), *args], cwd=cwd, env={**os.environ, "INBOX_ENV": "development", **env},
                          capture_output=True, text=True, timeout=timeout, check=False)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed command (and nothing on stdout)."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


@pytest.fixture
def postgres_server() -> str:
    server = server_url()
    if server is None:
        pytest.skip("needs a PostgreSQL server: runs in the second pass of ./dev test")
    return server


@pytest.fixture
def empty_postgres_database(postgres_server: str) -> Iterator[str]:
    """A new PostgreSQL database without schema, as `createdb` leaves it; dropped afterwards."""
    name = f"inbox_cli_{uuid.uuid4().hex[:10]}"
    asyncio.run(create_database(postgres_server, name))
    try:
        yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(drop_database(postgres_server, name))


# --- DATABASE_URL mistakes ------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["migrate"], ["token", "lea@riverside.example"], ["serve"]])
def test_a_url_that_does_not_parse_is_one_line(tmp_path: Path, command: list[str]) -> None:
    line = one_line_error(inbox(*command, cwd=tmp_path, DATABASE_URL="not a url"))
    assert line.startswith("error: DATABASE_URL does not parse")


def test_a_port_that_is_not_a_number_does_not_parse(tmp_path: Path) -> None:
    line = one_line_error(inbox("migrate", cwd=tmp_path, DATABASE_URL="postgresql://postgres@db:fivefour/inbox"))
    assert line.startswith("error: DATABASE_URL does not parse")


@pytest.mark.parametrize("url", ["mysql://root@127.0.0.1/inbox", "mongodb://127.0.0.1/inbox"])
def test_an_unsupported_scheme_is_one_line(tmp_path: Path, url: str) -> None:
    line = one_line_error(inbox("migrate", cwd=tmp_path, DATABASE_URL=url))
    assert line.startswith("error: DATABASE_URL uses an unsupported scheme")
    assert url.split(":")[0] in line


@pytest.mark.parametrize(("given", "read"), [
    ("postgres://u:p@db:5433/inbox", "postgresql+asyncpg://u:p@db:5433/inbox"),
    ("postgresql://u@db/inbox", "postgresql+asyncpg://u@db/inbox"),
    ("postgresql+asyncpg://u@db/inbox", "postgresql+asyncpg://u@db/inbox"),
    ("sqlite:///./inbox.db", "sqlite+aiosqlite:///./inbox.db"),
])
def test_postgres_and_postgresql_urls_are_read_through_asyncpg(given: str, read: str) -> None:
    assert Settings(DATABASE_URL=given).database_url == read


def test_a_database_that_does_not_exist_is_one_line(tmp_path: Path, postgres_server: str) -> None:
    name = f"inbox_missing_{uuid.uuid4().hex[:8]}"
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    for command in (["migrate"], ["token", "lea@riverside.example"], ["serve"]):
        line = one_line_error(inbox(*command, cwd=tmp_path, DATABASE_URL=url))
        assert f'database "{name}" does not exist' in line
        assert "createdb" in line


def test_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/inbox"
    line = one_line_error(inbox("migrate", cwd=tmp_path, DATABASE_URL=url, INBOX_DB_CONNECT_TIMEOUT="2"))
    assert line.startswith("error: cannot reach the database at postgresql+asyncpg://postgres@127.0.0.1:")


def test_a_database_without_schema_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    for command in (["token", "lea@riverside.example"], ["serve"]):
        line = one_line_error(inbox(*command, cwd=tmp_path, DATABASE_URL=url))
        assert line == "error: the database has no schema yet: run `inbox migrate` first"


# --- migrate says what it did ---------------------------------------------------------------------


def test_migrate_says_created_then_up_to_date_then_upgraded(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    first = inbox("migrate", cwd=tmp_path, DATABASE_URL=url)
    assert (first.returncode, first.stderr.strip()) == (0, f"created the schema (revision {HEAD})")
    again = inbox("migrate", cwd=tmp_path, DATABASE_URL=url)
    assert (again.returncode, again.stderr.strip()) == (0, f"already up to date (revision {HEAD})")
    downgrade(url, "0001")
    upgraded = inbox("migrate", cwd=tmp_path, DATABASE_URL=url)
    assert (upgraded.returncode, upgraded.stderr.strip()) == (0, f"upgraded from 0001 to {HEAD}")


def test_migrate_creates_the_schema_of_a_postgres_url(tmp_path: Path, empty_postgres_database: str) -> None:
    url = make_url(empty_postgres_database).set(drivername="postgres").render_as_string(hide_password=False)
    assert url.startswith("postgres://")
    result = inbox("migrate", cwd=tmp_path, DATABASE_URL=url)
    assert (result.returncode, result.stderr.strip()) == (0, f"created the schema (revision {HEAD})")


# --- version and help -----------------------------------------------------------------------------


def test_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    result = inbox("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, f"inbox {version('inbox-graphql')}")


@pytest.mark.parametrize("command", [[], ["serve"], ["dispatch"], ["api-key", "create"]])
def test_help_shows_no_type_after_flags(tmp_path: Path, command: list[str]) -> None:
    result = inbox(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "--help" in result.stdout
    assert "<bool>" not in result.stdout


# --- serve ----------------------------------------------------------------------------------------


def test_serve_on_a_busy_port_is_one_line_and_never_says_serving(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    upgrade(url)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_line_error(inbox("serve", "--port", str(port), cwd=tmp_path, DATABASE_URL=url))
    assert line == f"error: port {port} on 127.0.0.1 is already in use: stop the other server or pass --port"


def test_serve_with_the_database_down_logs_one_line_per_outage(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/inbox"
    env = {**os.environ, "DATABASE_URL": url, "INBOX_DISPATCH_POLL_INTERVAL": "0.05", "INBOX_DB_CONNECT_TIMEOUT": "1"}
    process = subprocess.Popen([str(INBOX), "serve", "--port", str(free_port())], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    started, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline and not any("Application startup complete" in line for line in started):
        started.append(process.stdout.readline())
    time.sleep(3)  # the dispatcher retries with doubling delays from 0.05 s: five tries or more
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=30)
    output = "".join(started) + rest
    assert "Application startup complete" in output
    assert "Traceback" not in output
    assert output.count("dispatcher: database unavailable") == 1, output
    assert output.count("cannot reach the database") == 1, output
