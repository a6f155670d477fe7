"""`inbox serve` in a process of its own, on the test run's database (and Redis, in the second pass)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.factories import TEST_SECRET
from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def inbox_serve(database_url: str, log: Path, **env: str) -> Iterator[str]:
    """Start the server, wait until it is ready, yield its address (host:port), stop it."""
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": database_url, "INBOX_SECRET_KEY": TEST_SECRET, **env}
    if os.environ.get("INBOX_TEST_REDIS_URL"):
        environment["REDIS_URL"] = os.environ["INBOX_TEST_REDIS_URL"]
    process = subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()", "serve", "--port",
                                str(port), "--no-dispatcher"], env=environment, cwd=ROOT, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=15)
