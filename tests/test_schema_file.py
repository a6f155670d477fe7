"""schema.graphql is what `inbox export-schema` prints (a stale file fails here)."""

from __future__ import annotations

from pathlib import Path

from schema import print_schema_sdl

ROOT = Path(__file__).resolve().parent.parent


def test_schema_graphql_is_up_to_date() -> None:
    printed = print_schema_sdl()
    on_disk = (ROOT / "schema.graphql").read_text()
    assert on_disk == printed, "schema.graphql is stale: run `inbox export-schema > schema.graphql`"
