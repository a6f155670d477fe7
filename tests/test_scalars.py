"""The contract's scalars as the schema writes them: DateTime is `isoformat()`'s text, whichever way it
is written (orjson for UTC datetimes, schema.scalars)."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from schema.scalars import serialize_datetime


def test_datetime_is_written_as_isoformat_writes_it() -> None:
    rng = random.Random(7)
    moments = [
        dt.datetime(2026, 11, 25, 14, 3, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 25, 14, 3, 0, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 25, 14, 3, 0, 999_999, tzinfo=dt.UTC),
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        dt.datetime(999, 12, 31, 23, 59, 59, 120, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("Europe/Paris")),
        dt.datetime(2026, 3, 29, 2, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=45))),
        dt.datetime(2026, 3, 29, 2, 30),  # naive: never ours, still isoformat
    ]
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    moments += [epoch + dt.timedelta(microseconds=rng.randrange(0, 3 * 10**15)) for _ in range(2_000)]
    for moment in moments:
        assert serialize_datetime(moment) == moment.isoformat(), repr(moment)
