"""Deletes reach a real node: ``reconcile`` with the job marker mapped as ``keyword``.

One daily window of 10,500 rows (more than ``index.max_result_window``, 10,000, so
the reconciling search must page with ``search_after``) in a PostgreSQL table of the
test's own; another job's documents share the index and the day. After rows are
deleted from the source, the node's own ``_count`` and ``_mget`` say what is left.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from db2api.job import Job
from db2api.run.window import transfer_range
from tests.conftest import PG_PASSWORD_ENV
from tests.support.jobs import postgres_job, with_target
from tests.support.node_reads import count, own_index, present_ids, put_index
from tests.support.search_nodes import SearchNode

TABLE = "engine_reconcile_readings"
ROWS = 10_500  # one window, past the 10,000 hits a from/size search can reach
THEIRS_EVERY = 20  # the other job sends every 20th row under ids of its own
GONE_EVERY = 21  # rows deleted from the source: 500 of 10,500, under max_delete_fraction
DAY = ("2024-01-01", "2024-01-02")
# README "## Deletes": map the marker as a keyword before the first reconciling run.
MARKER_MAPPING = {"properties": {"_db2api": {"properties": {"job": {"type": "keyword"}}}}}


@pytest.fixture
def table(postgres: dict[str, Any]) -> Iterator[Any]:
    """10,500 readings of 2024-01-01, 8 s apart, in a table of this test's own."""
    import psycopg2
    from psycopg2.extras import execute_values

    conn = psycopg2.connect(password=os.environ[PG_PASSWORD_ENV], **postgres)
    conn.autocommit = True
    midnight = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        (n, f"S{n % 7:03d}", "BH1", midnight + timedelta(seconds=8 * n), 1.5, n / 10, "m", "ok")
        for n in range(1, ROWS + 1)
    ]
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cur.execute(
            f"""CREATE TABLE {TABLE} (
                reading_id integer PRIMARY KEY, sensor_id text, borehole text,
                measured_at timestamptz NOT NULL, depth_m double precision,
                value double precision, unit text, quality text)"""
        )
        execute_values(cur, f"INSERT INTO {TABLE} VALUES %s", rows, page_size=5000)
    yield conn
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
    conn.close()


def reconciling(postgres: dict[str, Any], url: str, index: str) -> Job:
    """A job whose name has a '-': a text-mapped marker would split it and never match."""
    job = postgres_job(postgres, PG_PASSWORD_ENV, url, chunk_size=5000, concurrency=4)
    job = replace(job, name="engine-recon", sql=job.sql.replace("FROM readings", f"FROM {TABLE}"))
    return with_target(job, index=index, reconcile=True, bulk_docs=1000)


def theirs_of(ours: Job) -> Job:
    sql = ours.sql.replace("WHERE", f"WHERE mod(reading_id, {THEIRS_EVERY}) = 0 AND")
    return replace(
        ours, name="engine-theirs", sql=sql, id=lambda row: f"theirs-{row['reading_id']}"
    )


@pytest.mark.timeout(300)
async def test_rows_deleted_from_the_source_vanish_from_the_node_and_other_jobs_survive(
    search_node: SearchNode, table: Any, postgres: dict[str, Any], dead_letter_dir: Path
) -> None:
    node = search_node
    with own_index(node, "reconcile") as index:
        put_index(node.url, index)
        mapped = requests.put(f"{node.url}/{index}/_mapping", json=MARKER_MAPPING, timeout=60)
        assert mapped.status_code == 200, mapped.text
        ours = reconciling(postgres, node.url, index)
        theirs = theirs_of(ours)
        all_ids = {str(n) for n in range(1, ROWS + 1)}
        theirs_ids = {f"theirs-{n}" for n in range(THEIRS_EVERY, ROWS + 1, THEIRS_EVERY)}

        assert (await transfer_range(theirs, *DAY)).ok
        first = await transfer_range(ours, *DAY)
        assert first.ok, (first.fatal, first.failed)
        assert count(node.url, index) == ROWS + len(theirs_ids)

        with table.cursor() as cur:
            cur.execute(f"DELETE FROM {TABLE} WHERE reading_id % {GONE_EVERY} = 0")
        gone = {str(n) for n in range(GONE_EVERY, ROWS + 1, GONE_EVERY)}

        second = await transfer_range(ours, *DAY)

        assert second.ok, (second.fatal, second.failed)
        assert [(r.rows, r.deleted) for r in second.windows] == [(ROWS - len(gone), len(gone))]
        assert count(node.url, index) == ROWS - len(gone) + len(theirs_ids)
        assert present_ids(node.url, index, all_ids) == all_ids - gone
        assert present_ids(node.url, index, theirs_ids) == theirs_ids
