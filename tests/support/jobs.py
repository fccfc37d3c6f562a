"""Jobs built in code for tests: the demo's shape over any source and receiver URL."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from etlhelper import DbParams

from db2api.job import Job, Row, Source, Target
from db2api.transport.retry import RetryPolicy

FAST_RETRY = RetryPolicy(give_up_after=60, base_delay=0.02, max_delay=0.5)

SQLITE_SQL = """
    SELECT reading_id, sensor_id, borehole, measured_at, depth_m, value, unit, quality
    FROM readings WHERE measured_at >= :start AND measured_at < :end
    ORDER BY measured_at, sensor_id
"""
POSTGRES_SQL = """
    SELECT reading_id, sensor_id, borehole, measured_at, depth_m, value, unit, quality
    FROM readings WHERE measured_at >= %(start)s AND measured_at < %(end)s
    ORDER BY measured_at, sensor_id
"""


def to_document(row: Row) -> dict[str, Any]:
    stamp = row["measured_at"]
    return {
        "reading_id": row["reading_id"],
        "sensor_id": row["sensor_id"],
        "borehole": row["borehole"],
        "measured_at": stamp if not isinstance(stamp, str) else stamp.replace(" ", "T") + "Z",
        "value": row["value"],
        "quality": row["quality"],
    }


def _reading_job(name: str, source: Source, query: str, url: str, mode: str, **changes: Any) -> Job:
    job = Job(
        name=name,
        source=source,
        sql=query,
        id="reading_id",
        transform=to_document,
        target=Target(url=url, index="readings", mode=mode, bulk_docs=500),  # type: ignore[arg-type]
        chunk_size=1000,
        concurrency=8,
        retry=FAST_RETRY,
        date_field="measured_at",
    )
    return replace(job, **changes) if changes else job


def sqlite_job(filename: str, url: str, mode: str = "bulk", **changes: Any) -> Job:
    source = Source(db=DbParams(dbtype="SQLITE", filename=str(filename)))
    return _reading_job("test-sqlite", source, SQLITE_SQL, url, mode, **changes)


def postgres_job(
    params: dict[str, Any], password_env: str, url: str, mode: str = "bulk", **changes: Any
) -> Job:
    source = Source(db=DbParams(dbtype="PG", **params), password_env=password_env)
    return _reading_job("test-postgres", source, POSTGRES_SQL, url, mode, **changes)


def unit_job(**changes: Any) -> Job:
    """A valid job that never runs, for checking validation, planning and splitting."""
    base: dict[str, Any] = {
        "name": "unit",
        "source": Source(db=DbParams(dbtype="SQLITE", filename="x.sqlite")),
        "sql": "SELECT * FROM t WHERE t >= :start AND t < :end",
        "id": "id",
        "target": Target(url="http://127.0.0.1:9200", index="i"),
    }
    return Job(**{**base, **changes})


def with_target(job: Job, **changes: Any) -> Job:
    return replace(job, target=replace(job.target, **changes))


QUALITY_CODES = {"good": 1}


def graded_document(row: Row) -> dict[str, Any]:
    """The demo document with ``quality`` as a code: 1 for good, the word itself otherwise,
    so an index that maps ``quality`` as ``long`` refuses exactly the suspect readings."""
    document = to_document(row)
    document["quality"] = QUALITY_CODES.get(row["quality"], row["quality"])
    return document


def postgres_ids(
    params: dict[str, Any], password: str, start: str, end: str, where: str = "TRUE"
) -> set[str]:
    """The reading ids of the PostgreSQL readings table in [start, end) days (UTC)."""
    import psycopg2

    with psycopg2.connect(password=password, **params) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT reading_id FROM readings WHERE measured_at >= %s AND measured_at < %s "
            f"AND {where}",
            (f"{start}T00:00:00Z", f"{end}T00:00:00Z"),
        )
        return {str(row[0]) for row in cur.fetchall()}
