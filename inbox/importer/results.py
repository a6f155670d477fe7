"""What an import answers: the problems found (each with its JSON path), or the counts of what
it created, updated and left unchanged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Progress = Callable[[str, int, int], None]


@dataclass
class ImportProblem:
    """One thing wrong with the document: where ("$.members[3].registeredAt") and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ImportErrors(Exception):
    """The document does not match: every problem found, and nothing was written."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the import document")

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


KINDS = ("staff", "members", "sessions", "smartlists", "threads", "messages")


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class ImportSummary:
    """What an import did, per kind of row. `club` is "created", "updated" or "unchanged"."""

    club_slug: str
    club: str = "unchanged"
    counts: dict[str, KindCounts] = field(default_factory=lambda: {kind: KindCounts() for kind in KINDS})

    def __getitem__(self, kind: str) -> KindCounts:
        return self.counts[kind]

    @property
    def changed(self) -> bool:
        return self.club != "unchanged" or any(c.created or c.updated for c in self.counts.values())

    def describe(self) -> str:
        """A few lines for people: the club, then one line per kind of row."""
        lines = [f"club {self.club_slug}: {self.club}" + ("" if self.changed else " (nothing changed)")]
        for kind in KINDS:
            c = self.counts[kind]
            updated = "" if kind == "messages" else f", {c.updated} updated"
            lines.append(f"  {kind + ':':<12}{c.created} created{updated}, {c.unchanged} unchanged")
        return "\n".join(lines)
