"""Fixtures shared by the whole suite: real services, never mocks.

PostgreSQL is the machine's own server (see .ci/setup-postgres). Without it the
PostgreSQL tests skip with the reason on a laptop, and fail under CI (CI set to
1, true or yes, in any case).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from db2api.ops import demodata
from db2api.receiver import ReceiverProcess

CI_VALUES = frozenset({"1", "true", "yes"})


def in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    """CI services set CI=true, others CI=1 or CI=yes: any of them, in any case."""
    return environ.get("CI", "").strip().lower() in CI_VALUES


IN_CI = in_ci()
PG_PASSWORD_ENV = "DB2API_TEST_PG_PASSWORD"
PG_PARAMS = {
    "host": os.environ.get("DB2API_TEST_PG_HOST", "127.0.0.1"),
    "port": os.environ.get("DB2API_TEST_PG_PORT", "5432"),
    "dbname": os.environ.get("DB2API_TEST_PG_DB", "db2api_test"),
    "user": os.environ.get("DB2API_TEST_PG_USER", "db2api"),
}
SOURCE_START = date(2024, 1, 1)
SOURCE_DAYS = 4
SOURCE_SENSORS = 6  # 6 sensors x 96 readings a day x 4 days = 2,304 rows


def pytest_configure(config: pytest.Config) -> None:
    """Give the session its own Prefect home, so no cache or history leaks between runs."""
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="db2api-prefect-"))
    os.environ["PREFECT_HOME"] = str(home)
    os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(home / "storage")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture(autouse=True)
def fresh_scrubber() -> Iterator[None]:
    """Secrets registered by one test (the process-wide scrubber) do not mask the next's text."""
    from db2api.scrub import SCRUBBER

    kept = SCRUBBER._secrets, SCRUBBER._whole
    yield
    SCRUBBER._secrets, SCRUBBER._whole = kept


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server for every flow run in the session (~10 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverProcess]:
    """One receiver process on a free loopback port for the whole session."""
    with ReceiverProcess(data=tmp_path_factory.mktemp("receiver") / "docs.sqlite") as process:
        yield process


@pytest.fixture
def target(receiver: ReceiverProcess) -> Iterator[ReceiverProcess]:
    """The session receiver, emptied, with no faults and zeroed counters."""
    receiver.set_faults()
    receiver.reset()
    yield receiver
    receiver.set_faults()


@pytest.fixture(scope="session")
def sqlite_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("source") / "readings.sqlite"
    demodata.build(path, SOURCE_START, SOURCE_DAYS, SOURCE_SENSORS)
    return path


DEMO_ID = "sensor_id || ':' || measured_at"  # the demo job's id: ["sensor_id", "measured_at"]


def sqlite_ids(
    path: Path, start: str = "0000", end: str = "9999", key: str = "reading_id"
) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            f"SELECT {key} FROM readings WHERE measured_at >= ? AND measured_at < ?",
            (start, end),
        ).fetchall()
    return {str(row[0]) for row in rows}


@pytest.fixture(scope="session")
def postgres() -> Iterator[dict[str, Any]]:
    """Connection parameters of the test database, with its password in the environment."""
    import psycopg2

    os.environ.setdefault(PG_PASSWORD_ENV, "db2api-test-pw")
    try:
        conn = psycopg2.connect(
            password=os.environ[PG_PASSWORD_ENV], connect_timeout=5, **PG_PARAMS
        )
    except psycopg2.OperationalError as exc:
        reason = (
            f"PostgreSQL is not reachable at {PG_PARAMS['host']}:{PG_PARAMS['port']} "
            f"({str(exc).strip().splitlines()[0]}); run `sudo bash .ci/setup-postgres`"
        )
        if IN_CI:
            pytest.fail(f"under CI PostgreSQL must run: {reason}")
        pytest.skip(reason)
    conn.close()
    yield dict(PG_PARAMS)


@pytest.fixture(scope="session")
def postgres_source(postgres: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A readings table (timestamptz) with the same rows as the SQLite source."""
    import psycopg2
    from psycopg2.extras import execute_values

    conn = psycopg2.connect(password=os.environ[PG_PASSWORD_ENV], **postgres)
    with conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS readings")
        cur.execute(
            """CREATE TABLE readings (
                reading_id integer PRIMARY KEY, sensor_id text, borehole text,
                measured_at timestamptz NOT NULL, depth_m double precision,
                value double precision, unit text, quality text)"""
        )
        rows = [
            (r[0], r[1], r[2], f"{r[3]}+00", *r[4:])
            for r in demodata.iter_readings(SOURCE_START, SOURCE_DAYS, SOURCE_SENSORS)
        ]
        execute_values(cur, "INSERT INTO readings VALUES %s", rows, page_size=5000)
    yield postgres
    with conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS readings")
    conn.close()


@pytest.fixture
def dead_letter_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "dead-letters"
    monkeypatch.setenv("DB2API_DEAD_LETTER_DIR", str(folder))
    return folder


@pytest.fixture
def demo_env(
    sqlite_source: Path,
    target: ReceiverProcess,
    dead_letter_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> ReceiverProcess:
    """The bundled demo job pointed at the test source and the test receiver."""
    monkeypatch.setenv("DB2API_DEMO_DB", str(sqlite_source))
    monkeypatch.setenv("DB2API_DEMO_URL", target.url)
    monkeypatch.setenv("DB2API_DEMO_MODE", "bulk")
    return target
