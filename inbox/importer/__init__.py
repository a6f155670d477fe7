"""Loading a club's data from its JSON document (docs/import.md).

Two steps, so that nothing is written when anything is wrong:

1. `validate_document` checks the whole document without touching the database: types and formats
   (pydantic models with the document's camelCase names), then the rules that span fields and items
   (ids unique per list, references, one thread per target...). Every problem is collected, each with
   its JSON path ("$.members[3].registeredAt").
2. `import_document` also checks what needs the database (references to rows of a previous import,
   addresses owned by another club), then writes everything in ONE transaction with bulk statements:
   chunks of rows are compared with the rows already stored (one SELECT per chunk) and only new or
   changed rows are upserted (`INSERT ... ON CONFLICT (club_id, external_id) DO UPDATE`).

Re-importing updates and adds, never deletes. Messages already imported (by their id, unique per club)
are never modified; new messages of an existing thread are appended after its existing ones.
"""


from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.importer.results import ImportErrors, ImportProblem, ImportSummary, KindCounts, Progress
from inbox.importer.validation import ValidatedDocument, Validator, problem_order, validate_document
from inbox.importer.writing import CLUB, Writer, check_references
from models.engine import begin_write

__all__ = [
    "ImportErrors",
    "ImportProblem",
    "ImportSummary",
    "KindCounts",
    "ValidatedDocument",
    "import_document",
    "validate_document",
]

NOT_A_DOCUMENT = "not a valid import document"
# Ids per IN (...) list: far below SQLite's 32766 bound parameters and PostgreSQL's 32767.
SELECT_CHUNK = 900
# Rows compared and written per round trip (executemany: no bound-parameter limit).
WRITE_CHUNK = 1000
MESSAGE_CHUNK = 5000
# Up to this many messages in a document, existing ones are looked up by id; beyond, all the club's
# imported message ids are read once.
MESSAGE_LOOKUP_LIMIT = 20_000


async def import_document(
    factory: async_sessionmaker[AsyncSession],
    document: Any,
    progress: Progress | None = None,
) -> ImportSummary:
    """Validate `document` (a parsed JSON import document) and load it in one transaction.

    Raises `ImportErrors` with every problem (the document's and those only the database reveals, such
    as an unknown reference) and writes nothing when there is any.
    """
    validator = Validator(progress)
    validated = validator.run(document)
    problems = validator.problems
    if validator.slug is None:
        raise ImportErrors(sorted(problems, key=problem_order) or [ImportProblem("$", NOT_A_DOCUMENT)])
    async with factory() as session:
        await begin_write(session)
        club_id = await session.scalar(select(CLUB.c.id).where(CLUB.c.slug == validator.slug))
        referenced, unknown = await check_references(session, club_id, validator.references)
        problems.extend(unknown)
        writer = None
        if validated is not None:
            writer = Writer(session, validated, progress, club_id, referenced)
            problems.extend(await writer.check())
        if problems or writer is None:
            await session.rollback()
            raise ImportErrors(sorted(problems, key=problem_order) or [ImportProblem("$", NOT_A_DOCUMENT)])
        summary = await writer.write()
        await session.commit()
    if summary.changed:
        await refresh_planner_statistics(factory)
    return summary


async def refresh_planner_statistics(factory: async_sessionmaker[AsyncSession]) -> None:
    """ANALYZE after a bulk load: without statistics SQLite picks indexes that turn a smartlist send
    into a 50-second scan, and PostgreSQL misplans lookups on freshly loaded tables (bench/)."""
    async with factory() as session:
        connection = await session.connection()
        if connection.dialect.name == "sqlite":
            await connection.exec_driver_sql("ANALYZE")
        else:
            await connection.exec_driver_sql("ANALYZE member, member_tag, booking, class_session, thread, message")
        await session.commit()
