"""Demo: borehole sensor readings from a local SQLite file to the bundled receiver.

Runs with no setup (`make demo`). Point it elsewhere with DB2API_DEMO_DB,
DB2API_DEMO_URL and DB2API_DEMO_MODE (bulk or item).
"""

import os
from datetime import date

from etlhelper import DbParams

from db2api.job import Env, Job, Row, Source, Target


def to_document(row: Row) -> dict:
    return {
        "sensor_id": row["sensor_id"],
        "borehole": row["borehole"],
        "measured_at": row["measured_at"].replace(" ", "T") + "Z",
        "depth_m": row["depth_m"],
        "value": row["value"],
        "unit": row["unit"],
        "quality": row["quality"],
    }


job = Job(
    name="demo",
    source=Source(
        db=DbParams(dbtype="SQLITE", filename=Env("DB2API_DEMO_DB", ".db2api/demo.sqlite")),
    ),
    sql="""
        SELECT reading_id, sensor_id, borehole, measured_at, depth_m, value, unit, quality
        FROM readings
        WHERE measured_at >= :start AND measured_at < :end
        ORDER BY measured_at, sensor_id
    """,
    id=["sensor_id", "measured_at"],
    transform=to_document,
    target=Target(
        url=Env("DB2API_DEMO_URL", "http://127.0.0.1:9200"),
        index="readings",
        mode="item" if os.environ.get("DB2API_DEMO_MODE") == "item" else "bulk",
    ),
    window="1d",
    chunk_size=5000,
    date_field="measured_at",
    # A nightly run with no watermark yet starts here (the demo data is January 2024).
    first_start=date(2024, 1, 1),
)
