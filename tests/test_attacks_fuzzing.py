"""Attack: fuzzing (security-and-reliability.md, "fuzzing"): schemathesis, in GraphQL mode, generates
operations over every query and mutation of the schema and sends them with a staff token to a real
`inbox serve`; none may answer 5xx, nor `INTERNAL_SERVER_ERROR`, nor an error without a code.

Bounded: INBOX_FUZZ_EXAMPLES operations per root field (25 by default: a minute or two per database).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck

from tests.factories import ClubFixture
from tests.serve_process import inbox_serve

SCHEMA = Path(__file__).resolve().parent.parent / "schema.graphql"
EXAMPLES = int(os.environ.get("INBOX_FUZZ_EXAMPLES", "25"))


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[str]:
    with inbox_serve(database_url, tmp_path / "serve.log") as address:
        yield f"http://{address}"


def problems(status: int, text: str) -> list[str]:
    """What is wrong with one answer (nothing for a coded error or data)."""
    if status >= 500:
        return [f"HTTP {status}: {text[:300]}"]
    try:
        body: Any = json.loads(text)
    except ValueError:
        return [f"HTTP {status}, not JSON: {text[:300]}"]
    found = []
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if not code:
            found.append(f"an error without a code: {error}")
        elif code == "INTERNAL_SERVER_ERROR":
            found.append(f"INTERNAL_SERVER_ERROR: {error}")
    return found


@pytest.mark.timeout(900)
def test_fuzzing_a_bounded_schemathesis_run_finds_no_5xx_no_internal_error_and_no_uncoded_error(
    server: str, club: ClubFixture
) -> None:
    schema = schemathesis.graphql.from_path(str(SCHEMA))
    headers = {"Authorization": f"Bearer {club.token(ttl=timedelta(hours=2))}"}
    session = requests.Session()
    found: list[str] = []
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])
        def fuzz(case: Any) -> None:
            response = case.call(base_url=f"{server}/graphql", session=session, headers=headers)
            for problem in problems(response.status_code, response.text):
                found.append(f"{case.body!r}: {problem}")

        fuzz()
    assert len(labels) > 20 and any(label.startswith("Mutation.") for label in labels)
    assert found == [], "\n".join(found[:20])
