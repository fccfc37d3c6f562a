"""The fields of a small valid job, for tests that change one field at a time."""

from __future__ import annotations

from typing import Any

from etlhelper import DbParams

from db2api.job import Job, Source, Target

SQLITE = DbParams(dbtype="SQLITE", filename="source.sqlite")
PG = DbParams(dbtype="PG", host="db.example.org", port=5432, dbname="readings", user="reader")
SQL = "SELECT * FROM readings WHERE measured_at >= :start AND measured_at < :end"


def to_document(row: Any) -> dict[str, Any]:
    return {"id": row["reading_id"], "value": row["value"]}


def make_job(**changes: Any) -> Job:
    fields = {
        "name": "unit",
        "source": Source(db=SQLITE),
        "sql": SQL,
        "id": "reading_id",
        "target": Target(url="http://127.0.0.1:9200", index="readings"),
        "transform": to_document,
        **changes,
    }
    return Job(**fields)


def make_target(**changes: Any) -> Target:
    return Target(**{"url": "http://127.0.0.1:9200", "index": "readings", **changes})


def proof_target(mode: str = "item", **changes: Any) -> Target:
    """A target of ``mode`` on a closed port, with the look-up path its read-back needs."""
    path = {"item": "/{index}/{id}", "batch": "/{index}/_batch"}.get(mode, "/{index}/_doc/{id}")
    settings = {"path": path, **changes}
    return Target(url="http://127.0.0.1:9", index="readings", mode=mode, **settings)  # type: ignore[arg-type]
