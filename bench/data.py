"""The benchmark's rows: built once, reused by every later run.

Building 1,000,000 rows takes a while, so each table carries a marker (a row in
``bench_meta``, in PostgreSQL and in the SQLite file) naming the row count and
the generator version; it is written in the same transaction as the rows, so a
run interrupted mid-build leaves no marker and the next run builds again.
The rows have the shape of ``db2api.ops.demodata`` (sensor readings), evenly spaced
over 2023 so that any prefix of N rows is a known time range.
"""

from __future__ import annotations

import io
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import psycopg2

from bench.settings import (
    KNOWN_PG_PASSWORDS,
    PG_PARAMS,
    PG_PASSWORD_ENV,
    ROWS,
    SQLITE_FILE,
    START,
    TABLE,
    TINY_TABLE,
    offset_seconds,
    pg_password,
)
from db2api.ops.demodata import SCHEMA as SQLITE_SCHEMA

VERSION = "readings-v1"  # bump when the generator changes: the tables are rebuilt
SENSORS = 40
UNITS = ("degC", "kPa", "mm", "uS/cm", "pH", "m")
Row = tuple[int, str, str, str, float, float, str, str]

PG_SCHEMA = """
CREATE TABLE {table} (
    reading_id  integer PRIMARY KEY,
    sensor_id   text NOT NULL,
    borehole    text NOT NULL,
    measured_at timestamptz NOT NULL,
    depth_m     double precision NOT NULL,
    value       double precision,
    unit        text NOT NULL,
    quality     text NOT NULL
)
"""


def reading(index: int, seconds: int) -> Row:
    """One row: the demo's sensor reading, stamped ``seconds`` after START (UTC)."""
    sensor = index % SENSORS
    reading_id = index + 1
    phase = seconds / 86400
    return (
        reading_id,
        f"S{sensor + 1:03d}",
        f"BH-{sensor // 3 + 1:02d}",
        (START + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S"),
        round(2.5 * (sensor % 3 + 1), 1),
        round(10 + 5 * math.sin(phase * 2 * math.pi + sensor) + (reading_id % 7) / 10, 3),
        UNITS[sensor % len(UNITS)],
        "suspect" if reading_id % 97 == 0 else "good",
    )


def iter_readings() -> Iterator[Row]:
    for index in range(ROWS):
        yield reading(index, offset_seconds(index))


def iter_tiny() -> Iterator[Row]:
    """One reading per day at noon: 365 windows of one row each."""
    for day in range(365):
        yield reading(day, day * 86400 + 43200)


class DataError(Exception):
    """The benchmark's database cannot be reached: the message names the fix."""


def choose_pg_password() -> None:
    """Keep DB2API_TEST_PG_PASSWORD if set, else use the known password that logs in.

    Contestants inherit the environment, so they all use the password chosen here.
    """
    given = os.environ.get(PG_PASSWORD_ENV)
    last = ""
    for candidate in [given] if given is not None else KNOWN_PG_PASSWORDS:
        try:
            psycopg2.connect(password=candidate, connect_timeout=10, **PG_PARAMS).close()
        except psycopg2.OperationalError as exc:
            last = str(exc).strip().splitlines()[0]
            continue
        os.environ[PG_PASSWORD_ENV] = candidate
        return
    raise DataError(
        f"cannot log in to PostgreSQL at {PG_PARAMS['host']}:{PG_PARAMS['port']} as "
        f"{PG_PARAMS['user']} ({last}): set {PG_PASSWORD_ENV}, or run "
        "`sudo bash .ci/setup-postgres`"
    )


def pg_connect() -> psycopg2.extensions.connection:
    return psycopg2.connect(password=pg_password(), connect_timeout=10, **PG_PARAMS)


def _pg_marker(cur: psycopg2.extensions.cursor, table: str) -> int | None:
    cur.execute(
        "CREATE TABLE IF NOT EXISTS bench_meta (name text PRIMARY KEY, rows bigint, v text)"
    )
    cur.execute(
        "SELECT rows FROM bench_meta WHERE name = %s AND v = %s AND to_regclass(%s) IS NOT NULL",
        (table, VERSION, table),
    )
    found = cur.fetchone()
    return int(found[0]) if found else None


def _copy_text(rows: Iterator[Row], limit: int) -> io.StringIO | None:
    buffer = io.StringIO()
    count = 0
    for row in rows:
        reading_id, sensor, borehole, stamp, depth, value, unit, quality = row
        buffer.write(
            f"{reading_id}\t{sensor}\t{borehole}\t{stamp}+00\t{depth!r}\t{value!r}\t"
            f"{unit}\t{quality}\n"
        )
        count += 1
        if count == limit:
            break
    buffer.seek(0)
    return buffer if count else None


def ensure_pg_table(table: str, rows: Iterator[Row], expected: int) -> bool:
    """Create ``table`` with COPY unless its marker says it is there; True if built."""
    with pg_connect() as conn, conn.cursor() as cur:
        if _pg_marker(cur, table) == expected:
            return False
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(PG_SCHEMA.format(table=table))
        while (buffer := _copy_text(rows, 100_000)) is not None:
            cur.copy_expert(f"COPY {table} FROM STDIN", buffer)
        cur.execute(f"CREATE INDEX {table}_measured_at ON {table} (measured_at)")
        cur.execute(
            "INSERT INTO bench_meta VALUES (%s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET rows = EXCLUDED.rows, v = EXCLUDED.v",
            (table, expected, VERSION),
        )
        cur.execute(f"ANALYZE {table}")
    conn.close()
    return True


def ensure_sqlite() -> bool:
    """The same rows in SQLite (text timestamps, as in the demo); True if built."""
    if SQLITE_FILE.exists():
        with sqlite3.connect(SQLITE_FILE) as conn:
            try:
                found = conn.execute(
                    "SELECT rows FROM bench_meta WHERE name = 'readings' AND v = ?", (VERSION,)
                ).fetchone()
            except sqlite3.OperationalError:
                found = None
        conn.close()
        if found and found[0] == ROWS:
            return False
    SQLITE_FILE.parent.mkdir(parents=True, exist_ok=True)
    partial = SQLITE_FILE.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with sqlite3.connect(partial) as conn:
        conn.executescript(SQLITE_SCHEMA)
        conn.executemany("INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?)", iter_readings())
        conn.execute("CREATE TABLE bench_meta (name TEXT PRIMARY KEY, rows INTEGER, v TEXT)")
        conn.execute("INSERT INTO bench_meta VALUES ('readings', ?, ?)", (ROWS, VERSION))
    conn.close()
    partial.replace(SQLITE_FILE)  # never a half-built file under the real name
    return True


def ensure_data(say: Callable[[str], None] = print) -> None:
    """Build whatever is missing; say what was built and how long it took."""
    choose_pg_password()
    for what, build in (
        (
            f"PostgreSQL {TABLE} ({ROWS:,} rows)",
            lambda: ensure_pg_table(TABLE, iter_readings(), ROWS),
        ),
        (
            f"PostgreSQL {TINY_TABLE} (365 rows)",
            lambda: ensure_pg_table(TINY_TABLE, iter_tiny(), 365),
        ),
        (f"SQLite {SQLITE_FILE} ({ROWS:,} rows)", ensure_sqlite),
    ):
        began = time.perf_counter()
        built = build()
        if built:
            say(f"data: built {what} in {time.perf_counter() - began:.1f} s")
