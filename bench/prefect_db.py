"""The benchmark's Prefect server keeps its history in PostgreSQL, as a production one does.

Prefect's own guidance for a self-hosted server is PostgreSQL; its SQLite default
serialises every write. Under the 730 task runs of a daily-window year the server
answered the flow's own calls (the ledger lock, variables, artifacts) with 503
"database is locked" and the client backed off for seconds at a time: the flow
contestants measured the SQLite file, not Prefect's cost per window. The
database lives on the machine's PostgreSQL 15, next to the bench data, and is
named after it, so benchmarks on two test databases never share a history.
"""

from __future__ import annotations

from urllib.parse import quote

from psycopg2 import sql

from bench.data import pg_connect
from bench.settings import PG_PARAMS, pg_password

BENCH_DATA = PG_PARAMS["dbname"]
DATABASE = "db2api_bench_prefect" if BENCH_DATA == "db2api_test" else f"{BENCH_DATA}_prefect"
URL_SETTING = "PREFECT_API_DATABASE_CONNECTION_URL"


def prefect_database(fresh: bool) -> dict[str, str]:
    """Create (or, when ``fresh``, re-create) the server's database; the server's setting."""
    connection = pg_connect()
    connection.autocommit = True  # CREATE DATABASE refuses to run in a transaction
    name = sql.Identifier(DATABASE)
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            exists = cur.fetchone() is not None
            if exists and fresh:
                cur.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(name))
                exists = False
            if not exists:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(name))
    finally:
        connection.close()
    user, password = quote(PG_PARAMS["user"], safe=""), quote(pg_password(), safe="")
    host, port = PG_PARAMS["host"], PG_PARAMS["port"]
    return {URL_SETTING: f"postgresql+asyncpg://{user}:{password}@{host}:{port}/{DATABASE}"}
