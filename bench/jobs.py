"""The jobs and transforms every contestant shares, so all of them send the same documents.

Job limits (chunk size, concurrency, windows in flight, bulk caps) are left at the
project's defaults on purpose: the benchmark measures db2api as shipped, and a
change to a default shows up here without editing the benchmark. The report
prints the values used.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from etlhelper import DbParams

from bench.settings import INDEX, PG_PARAMS, PG_PASSWORD_ENV, SQLITE_FILE, TABLE
from db2api.job import Job, Mode, Row, Setting, Source, Target

COLUMNS = "reading_id, sensor_id, borehole, measured_at, depth_m, value, unit, quality"
PG_SQL = (
    f"SELECT {COLUMNS} FROM {{table}} "
    "WHERE measured_at >= %(start)s AND measured_at < %(end)s ORDER BY measured_at"
)
SQLITE_SQL = (
    f"SELECT {COLUMNS} FROM readings "
    "WHERE measured_at >= :start AND measured_at < :end ORDER BY measured_at"
)
WINDOW = "1d"  # the windows db2api contestants use (P1, P2, P4)
ONE_WINDOW = timedelta(days=366)  # P3: longer than the data set, so a run is one window


def to_document(row: Row) -> dict[str, Any]:
    """A reading as the target stores it (PostgreSQL datetimes, SQLite text stamps)."""
    stamp = row["measured_at"]
    return {
        "reading_id": row["reading_id"],
        "sensor_id": row["sensor_id"],
        "borehole": row["borehole"],
        "measured_at": stamp if isinstance(stamp, datetime) else stamp.replace(" ", "T") + "Z",
        "depth_m": row["depth_m"],
        "value": row["value"],
        "unit": row["unit"],
        "quality": row["quality"],
    }


def recipe_transform(chunk: Iterable[Row]) -> list[dict[str, Any]]:
    """The recipe's transform: rows to JSON-ready dicts (datetimes as ISO text).

    It returns a list, as the recipe's does, so ``len()`` works on each chunk.
    """
    documents = []
    for row in chunk:
        document = to_document(row)
        document["measured_at"] = document["measured_at"].isoformat()
        documents.append(document)
    return documents


def pg_source() -> Source:
    return Source(db=DbParams(dbtype="PG", **PG_PARAMS), password_env=PG_PASSWORD_ENV)


def pg_job(
    url: Setting,
    mode: Mode = "bulk",
    table: str = TABLE,
    window: str | timedelta = WINDOW,
    name: str = "bench",
) -> Job:
    return Job(
        name=name,
        source=pg_source(),
        sql=PG_SQL.format(table=table),
        id="reading_id",
        transform=to_document,
        target=Target(url=url, index=INDEX, mode=mode),
        window=window,
        date_field="measured_at",
    )


def sqlite_job(url: Setting, mode: Mode = "bulk", window: str | timedelta = WINDOW) -> Job:
    return Job(
        name="bench-sqlite",
        source=Source(db=DbParams(dbtype="SQLITE", filename=str(SQLITE_FILE))),
        sql=SQLITE_SQL,
        id="reading_id",
        transform=to_document,
        target=Target(url=url, index=INDEX, mode=mode),
        window=window,
        date_field="measured_at",
    )


def limits(job: Job) -> dict[str, Any]:
    """The settings that shape throughput and memory, for the report."""
    return {
        "window": str(job.window),
        "chunk_size": job.chunk_size,
        "concurrency": job.concurrency,
        "windows_in_flight": getattr(job, "windows_in_flight", 1),
        "bulk_docs": job.target.bulk_docs,
        "bulk_bytes": job.target.bulk_bytes,
    }
