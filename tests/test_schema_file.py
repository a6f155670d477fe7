"""schema.graphql is what `inbox export-schema` prints (a stale file fails here)."""

from __future__ import annotations

from pathlib import Path

from schema import print_schema_sdl

ROOT = Path(__file__).resolve().parent.parent


def test_schema_graphql_is_up_to_date() -> None:
    printed = print_schema_sdl()
    on_disk = (ROOT / "schema.graphql").read_text()
    assert on_disk == printed, "schema.graphql is stale: run `inbox export-schema > schema.graphql`"


def test_schema_meets_the_api_contract() -> None:
    """check_contract.py of shared/tools: every type, field, argument and default of the contract."""
    import subprocess
    import sys

    tool = ROOT.parent / "shared" / "tools" / "check_contract.py"
    result = subprocess.run([sys.executable, str(tool), str(ROOT / "schema.graphql")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 differences" in result.stdout
