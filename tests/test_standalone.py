"""The repository stands alone: no file refers to the team's workspace folder beside it, or to
numbered notes a reader of the repository cannot open. The contract check is the one exception."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = re.compile(r"\.\./shared|\bshared/(?:spec|tools)/|\bpitfalls? \d", re.IGNORECASE)
EXCEPTIONS = {"tests/test_contract.py", "tests/test_standalone.py"}
VENDORED = ("app/static/", "web-tools/graphiql/package-lock.json")


def tracked_files() -> list[str]:
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    return listed.stdout.splitlines()


def test_no_file_refers_to_what_is_outside_the_repository() -> None:
    found = []
    for name in tracked_files():
        if name in EXCEPTIONS or name.startswith(VENDORED):
            continue
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        found += [f"{name}:{number}: {line.strip()}" for number, line in enumerate(text.splitlines(), 1)
                  if OUTSIDE.search(line)]
    assert found == []
