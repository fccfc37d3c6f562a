"""Run history in PostgreSQL: `prefect server start` with PREFECT_SERVER_DATABASE_CONNECTION_URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from db2api.orchestration.prefect_server import server_process
from db2api.receiver import ReceiverProcess
from tests.conftest import PG_PASSWORD_ENV

pytestmark = pytest.mark.e2e
HISTORY_DB = "db2api_prefect_history"


@pytest.fixture
def history_db(postgres: dict[str, Any]) -> str:
    import psycopg2

    conn = psycopg2.connect(password=os.environ[PG_PASSWORD_ENV], **postgres)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {HISTORY_DB} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {HISTORY_DB}")
    conn.close()
    user, password = postgres["user"], os.environ[PG_PASSWORD_ENV]
    return (
        f"postgresql+asyncpg://{user}:{password}@{postgres['host']}:{postgres['port']}/{HISTORY_DB}"
    )


def test_a_server_on_postgresql_keeps_the_run_history_there(
    history_db: str,
    postgres: dict[str, Any],
    sqlite_source: Path,
    target: ReceiverProcess,
    tmp_path: Path,
) -> None:
    import psycopg2

    env = {"PREFECT_SERVER_DATABASE_CONNECTION_URL": history_db}
    with server_process(tmp_path / "home", extra_env=env) as url:
        # A separate process, as a user would run it: `db2api run` against that server.
        run = subprocess.run(
            [
                str(Path(sys.executable).parent / "db2api"),
                "run",
                "demo",
                "--start",
                "2024-01-01",
                "--end",
                "2024-01-03",
            ],
            env={
                **os.environ,
                "PREFECT_API_URL": url,
                "DB2API_DEMO_DB": str(sqlite_source),
                "DB2API_DEMO_URL": target.url,
                "DB2API_DEAD_LETTER_DIR": str(tmp_path / "dead-letters"),
            },
            capture_output=True,
            text=True,
            timeout=180,
        )

    assert run.returncode == 0, run.stdout + run.stderr
    assert "acknowledged 1152 documents" in run.stdout
    assert not (tmp_path / "home" / "prefect.db").exists(), "no SQLite history on the side"
    conn = psycopg2.connect(
        password=os.environ[PG_PASSWORD_ENV], **{**postgres, "dbname": HISTORY_DB}
    )
    with conn, conn.cursor() as cur:
        cur.execute("SELECT name, state_type FROM flow_run")
        runs = cur.fetchall()
        cur.execute("SELECT count(*) FROM task_run WHERE name LIKE 'window%%'")
        (windows,) = cur.fetchone()
    conn.close()
    assert runs == [("demo 2024-01-01→2024-01-03", "COMPLETED")]
    assert windows == 2
