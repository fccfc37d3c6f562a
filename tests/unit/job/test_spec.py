"""What a job says about itself: its source described without secrets, its fingerprint, its window
length.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from etlhelper import DbParams

from db2api.job import Env, Job, Source
from db2api.transport.retry import RetryPolicy
from tests.support.job_fields import SQL, SQLITE, make_job, make_target
from tests.support.jobs import reconciling_job, unit_job


def to_other_document(row):
    return {"id": row["reading_id"], "value": row["value"] * 2}


def reading_key(row):
    return row["reading_id"]


def test_describe_names_the_source_without_the_password(monkeypatch):
    monkeypatch.setenv("UNIT_DB_USER", "reader")
    source = Source(
        db=DbParams(
            dbtype="PG",
            host="db.example.org",
            port=5432,
            dbname="readings",
            user=Env("UNIT_DB_USER"),
        ),
        password_env="UNIT_DB_PASSWORD",
    )

    assert source.describe("unit") == "PG reader@db.example.org:5432/readings"
    assert Source(db=SQLITE).describe("unit") == "SQLITE source.sqlite"


BASE = make_job()


@pytest.mark.parametrize(
    "changed",
    [
        replace(BASE, sql=SQL + " AND quality = 'good'"),
        replace(BASE, transform=to_other_document),
        replace(BASE, transform=None),
        replace(BASE, id="sensor_id"),
        replace(BASE, id=["reading_id", "sensor_id"]),
        replace(BASE, id=reading_key),
        replace(BASE, target=replace(BASE.target, index="readings-v2")),
        replace(BASE, target=replace(BASE.target, url="http://127.0.0.1:9201")),
        replace(BASE, target=replace(BASE.target, mode="item")),
        replace(BASE, target=replace(BASE.target, mode="batch")),
        replace(BASE, target=replace(BASE.target, op_type="create")),
        replace(BASE, target=replace(BASE.target, mode="batch", batch_wrap="rows")),
        replace(BASE, source=Source(db=SQLITE, timezone="Europe/London")),
        replace(BASE, version="2"),
    ],
    ids=[
        "sql",
        "transform",
        "no-transform",
        "id",
        "id-columns",
        "id-function",
        "index",
        "url",
        "mode",
        "batch",
        "op_type",
        "batch-wrap",
        "source-timezone",
        "version",
    ],
)
def test_fingerprint_changes_with_what_a_window_sends(changed):
    assert changed.fingerprint != BASE.fingerprint


@pytest.mark.parametrize(
    "same",
    [
        replace(BASE, concurrency=2),
        replace(BASE, chunk_size=100),
        replace(BASE, retry=RetryPolicy(give_up_after=30)),
        replace(BASE, target=replace(BASE.target, bulk_docs=10, bulk_bytes=2048)),
        replace(
            BASE,
            sql="  SELECT *\n  FROM readings\n WHERE measured_at >= :start\n"
            "  AND measured_at < :end ",
        ),
        make_job(),
    ],
    ids=["concurrency", "chunk_size", "retry", "bulk-caps", "sql-whitespace", "rebuilt"],
)
def test_fingerprint_ignores_how_fast_it_is_sent(same):
    assert same.fingerprint == BASE.fingerprint


def test_fingerprint_is_sixteen_hex_digits():
    assert len(BASE.fingerprint) == 16
    int(BASE.fingerprint, 16)


def test_window_length_is_parsed():
    assert make_job(window="6h").window_length == timedelta(hours=6)
    assert make_job(window=timedelta(minutes=30)).window_length == timedelta(minutes=30)


def test_reconciling_changes_the_fingerprint_so_done_windows_get_the_marker():
    plain = unit_job(date_field="at")
    assert reconciling_job().fingerprint != plain.fingerprint


RANGE_SQL = "SELECT * FROM r WHERE t >= :start AND t < :end"


@pytest.mark.parametrize(("mode", "concurrency"), [("bulk", 8), ("item", 64), ("batch", 8)])
def test_a_job_without_concurrency_takes_its_kinds_default(mode, concurrency):
    job = Job(
        name="unit",
        source=Source(db=DbParams(dbtype="SQLITE", filename="x.sqlite")),
        sql=RANGE_SQL,
        id="id",
        target=make_target(mode=mode, path="/records/{id}" if mode == "item" else "/records"),
    )
    assert job.concurrency == concurrency
