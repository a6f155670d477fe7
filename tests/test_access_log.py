"""`inbox serve` writes uvicorn's line per request in development, not in production unless
INBOX_ACCESS_LOG=1 asks (docs/operations.md): the line is a measurable share of a small request."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.serve_process import inbox_serve


@pytest.mark.parametrize(("env", "logged"), [
    ({"INBOX_ENV": "development"}, True),
    ({"INBOX_ENV": "production"}, False),
    ({"INBOX_ENV": "production", "INBOX_ACCESS_LOG": "1"}, True),
    ({"INBOX_ENV": "development", "INBOX_ACCESS_LOG": "0"}, False),
])
def test_request_lines_are_logged_as_the_environment_says(
    database_url: str, tmp_path: Path, env: dict[str, str], logged: bool
) -> None:
    log = tmp_path / "serve.log"
    with inbox_serve(database_url, log, **env) as address:
        assert httpx.get(f"http://{address}/healthz?probe=access-log").status_code == 200
    assert ("/healthz?probe=access-log" in log.read_text()) is logged, log.read_text()
