"""The printed schema meets the API contract: every type, field, argument and default of it.

The contract and its checker live beside the repository in the team's workspace (`../shared`), not in
it: CI always has them and fails without them; a plain clone skips this one check and says why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT.parent / "shared" / "spec" / "contract.graphql"
CHECKER = ROOT.parent / "shared" / "tools" / "check_contract.py"


def test_schema_meets_the_api_contract() -> None:
    if not (CONTRACT.is_file() and CHECKER.is_file()):
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the API contract and its checker: {CONTRACT} or {CHECKER} is missing")
        pytest.skip("no API contract beside this clone (../shared/spec/contract.graphql): CI runs this check")
    result = subprocess.run([sys.executable, str(CHECKER), str(ROOT / "schema.graphql")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 differences" in result.stdout
