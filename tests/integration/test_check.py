"""``db2api check`` over real parts: SQLite and PostgreSQL sources, the receiver, json-server.

Each failure is asserted as the exact line a user reads; the passing runs assert that
nothing was written: no document at the target, no dead-letter folder left behind.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from db2api.cli import main
from db2api.job import Job
from db2api.ops.check import check_loaded
from db2api.ops.results import Result
from db2api.receiver import ReceiverProcess
from tests.conftest import PG_PASSWORD_ENV
from tests.support.jobs import postgres_job, sqlite_job, with_target
from tests.support.servers import JSON_SERVER, JsonServer, free_port, require

END = date(2024, 1, 2)  # the window [2024-01-01, 2024-01-02) of the test data
WINDOW = "[2024-01-01T00:00:00Z, 2024-01-02T00:00:00Z)"
MAPPED = {
    "mappings": {
        "properties": {
            "measured_at": {"type": "date"},
            "_db2api": {"properties": {"job": {"type": "keyword"}}},
        }
    }
}


def line(results: list[Result], check: str) -> tuple[str, str]:
    found = [result for result in results if result.check == check]
    assert len(found) == 1, f"{check!r} in {[r.check for r in results]}"
    return found[0].status, found[0].detail


def statuses(results: list[Result]) -> dict[str, str]:
    return {result.check: result.status for result in results}


@pytest.fixture
def index(target: ReceiverProcess) -> ReceiverProcess:
    """The receiver with the index ``readings`` created, date field and marker mapped."""
    target.request("DELETE", "/readings", bypass=True)
    status, _ = target.request("PUT", "/readings", MAPPED, bypass=True)
    assert status == 200
    return target


def check(job: Job) -> list[Result]:
    return check_loaded(job, END, rows=50)


def first_id(source: Path) -> int:
    with sqlite3.connect(source) as conn:
        row = conn.execute(
            "SELECT reading_id FROM readings WHERE measured_at >= '2024-01-01 00:00:00' "
            "ORDER BY measured_at, sensor_id LIMIT 1"
        ).fetchone()
    conn.close()
    return int(row[0])


def test_a_good_sqlite_job_passes_every_check_and_writes_nothing(
    sqlite_source: Path, index: ReceiverProcess, dead_letter_dir: Path
) -> None:
    results = check(sqlite_job(str(sqlite_source), index.url))
    assert statuses(results) == {
        "source binds": "ok",
        "source connect": "ok",
        "source SQL": "ok",
        "transform": "ok",
        "document ids": "ok",
        "date_field": "ok",
        "document size": "ok",
        "target reachable": "ok",
        "target auth": "ok",
        "target index": "ok",
        "target mapping": "skip",
        "dead-letter folder": "ok",
    }
    assert line(results, "source binds")[1] == (
        "paramstyle named: :start and :end, bounds bound as text"
    )
    assert line(results, "source SQL")[1] == f"50 rows in {WINDOW} (a sample of at most 50)"
    assert line(results, "transform")[1] == "50 rows -> 50 documents"
    assert line(results, "date_field")[1] == "'measured_at' in every document, inside the window"
    assert line(results, "target index")[1] == "readings exists"
    assert index.count("readings") == 0
    assert not dead_letter_dir.exists()


def test_postgres_passes_with_the_password_from_its_variable(
    postgres_source: dict[str, Any], index: ReceiverProcess, dead_letter_dir: Path
) -> None:
    job = postgres_job(postgres_source, PG_PASSWORD_ENV, index.url)
    results = check(with_target(job, reconcile=True))
    assert {s for c, s in statuses(results).items() if c != "date_field"} == {"ok"}
    assert line(results, "source SQL")[1] == f"50 rows in {WINDOW} (a sample of at most 50)"
    assert line(results, "target mapping")[1] == ("measured_at is a date, the job marker a keyword")


def test_a_wrong_password_is_the_sources_one_line_without_the_password(
    postgres_source: dict[str, Any], index: ReceiverProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB2API_CHECK_BAD_PW", "not-the-password-8472")
    job = postgres_job(postgres_source, "DB2API_CHECK_BAD_PW", index.url)
    results = check(job)
    p = postgres_source
    assert line(results, "source connect") == (
        "FAIL",
        f"cannot connect to PG {p['user']}@{p['host']}:{p['port']}/{p['dbname']} (job "
        f"'test-postgres'): connection to server at \"{p['host']}\", port {p['port']} failed: "
        f'FATAL: password authentication failed for user "{p["user"]}"; check host, port, '
        "user and password, and that the database is up",
    )
    assert line(results, "source SQL") == ("skip", "no connection")
    assert all("not-the-password-8472" not in result.detail for result in results)


def test_an_sql_error_names_the_source_and_the_binds(
    sqlite_source: Path, index: ReceiverProcess
) -> None:
    sql = "SELECT * FROM readingz WHERE measured_at >= :start AND measured_at < :end"
    results = check(replace(sqlite_job(str(sqlite_source), index.url), sql=sql))
    assert line(results, "source SQL") == (
        "FAIL",
        f"SQL failed on SQLITE {sqlite_source} (job 'test-sqlite'): no such table: readingz. "
        f"This source needs paramstyle named with binds :start and :end. SQL: {sql}",
    )
    assert line(results, "transform") == ("skip", "no sample rows")


def test_an_empty_window_says_how_to_pick_another(
    sqlite_source: Path, index: ReceiverProcess
) -> None:
    results = check_loaded(sqlite_job(str(sqlite_source), index.url), date(2030, 1, 1))
    assert line(results, "source SQL") == (
        "ok",
        "0 rows in [2029-12-31T00:00:00Z, 2030-01-01T00:00:00Z): nothing to build documents "
        "from; `db2api check test-sqlite --end DATE` tries the window ending at DATE",
    )


def test_a_transform_error_names_the_row_and_the_exception(
    sqlite_source: Path, index: ReceiverProcess
) -> None:
    def broken(row: dict[str, Any]) -> dict[str, Any]:
        return {"value": row["no_such_column"]}

    results = check(replace(sqlite_job(str(sqlite_source), index.url), transform=broken))
    assert line(results, "transform") == (
        "FAIL",
        f"row 1 (id {first_id(sqlite_source)}) of the sample: transform raised KeyError: "
        "'no_such_column'; a run dead-letters every such row: fix the transform",
    )
    assert line(results, "document ids") == ("skip", "no documents")


def test_a_missing_id_column_is_named(sqlite_source: Path, index: ReceiverProcess) -> None:
    results = check(replace(sqlite_job(str(sqlite_source), index.url), id="row_key"))
    assert line(results, "document ids") == (
        "FAIL",
        "row 1 of the sample: id column 'row_key' is NULL or missing: select the id column in "
        "the SQL or return it from the transform, or fix the job's id",
    )
    assert line(results, "document size") == ("skip", "no ids")


def test_a_date_field_the_documents_lack_is_named(
    sqlite_source: Path, index: ReceiverProcess
) -> None:
    results = check(replace(sqlite_job(str(sqlite_source), index.url), date_field="taken_at"))
    status, detail = line(results, "date_field")
    assert status == "FAIL"
    assert detail == (
        f"'taken_at' is not in the documents (row 1 (id {first_id(sqlite_source)}) has "
        "reading_id, sensor_id, borehole, measured_at, value, quality): name one of those"
    )


def test_a_date_outside_the_window_is_named(sqlite_source: Path, index: ReceiverProcess) -> None:
    def late(row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "measured_at": "2024-01-05T00:00:00Z"}

    results = check(replace(sqlite_job(str(sqlite_source), index.url), transform=late))
    assert line(results, "date_field") == (
        "FAIL",
        f"row 1 (id {first_id(sqlite_source)}): measured_at 2024-01-05T00:00:00Z is outside "
        f"the window {WINDOW}: select with >= start AND < end, and date_field the column the "
        "SQL selects on",
    )


def test_a_document_over_the_byte_cap_is_named(sqlite_source: Path, index: ReceiverProcess) -> None:
    def padded(row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "notes": "x" * 2000}

    job = with_target(
        replace(sqlite_job(str(sqlite_source), index.url), transform=padded), bulk_bytes=1024
    )
    status, detail = line(check(job), "document size")
    assert status == "FAIL"
    assert detail.startswith(f"id {first_id(sqlite_source)}: document needs ")
    assert detail.endswith(
        "bytes in a request body, over target.bulk_bytes (1024): raise the cap or slim the "
        "document in the transform"
    )


def test_an_unreachable_target_names_the_url(sqlite_source: Path, dead_letter_dir: Path) -> None:
    port = free_port()  # closed again: nothing listens there
    results = check(sqlite_job(str(sqlite_source), f"http://127.0.0.1:{port}"))
    assert line(results, "target reachable") == (
        "FAIL",
        f"cannot reach target http://127.0.0.1:{port} for job 'test-sqlite': connection "
        "refused; check that it is running and that target.url is right",
    )
    assert line(results, "target auth") == ("skip", "not reachable")


def test_refused_credentials_name_the_variable_never_the_key(
    sqlite_source: Path, index: ReceiverProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    index.set_faults(require_auth="ApiKey the-right-key-5521")
    monkeypatch.setenv("DB2API_CHECK_KEY", "a-wrong-key-9930")
    job = with_target(sqlite_job(str(sqlite_source), index.url), auth_env="DB2API_CHECK_KEY")
    results = check(job)
    assert line(results, "target auth") == (
        "FAIL",
        f"HTTP 401 from HEAD {index.url}/readings: the target refused the credentials in "
        "DB2API_CHECK_KEY",
    )
    assert all("a-wrong-key-9930" not in result.detail for result in results)
    monkeypatch.setenv("DB2API_CHECK_KEY", "the-right-key-5521")
    assert line(check(job), "target auth") == (
        "ok",
        f"credentials in DB2API_CHECK_KEY accepted: HEAD {index.url}/readings answered 200",
    )


def test_a_key_in_a_prefect_secret_is_not_read(sqlite_source: Path, index: ReceiverProcess) -> None:
    job = with_target(sqlite_job(str(sqlite_source), index.url), auth_secret="es-key")
    results = check(job)
    said = (
        "the credentials are in Prefect Secret block 'es-key', which check does not read: "
        "name an environment variable in target.auth_env to check them here"
    )
    assert line(results, "target auth") == ("skip", said)
    assert line(results, "target index") == ("skip", said)


def test_a_missing_index_says_create_it_or_check_auto_create(
    sqlite_source: Path, target: ReceiverProcess
) -> None:
    target.request("DELETE", "/readings", bypass=True)
    results = check(sqlite_job(str(sqlite_source), target.url))
    assert line(results, "target index") == (
        "FAIL",
        f"readings is absent at {target.url}: create it or check auto-create "
        "(action.auto_create_index)",
    )
    assert target.request("HEAD", "/readings", bypass=True)[0] == 404  # still absent


def test_reconcile_with_a_text_marker_is_refused_before_a_run(
    sqlite_source: Path, target: ReceiverProcess
) -> None:
    target.request("DELETE", "/readings", bypass=True)
    mappings = {"properties": {"measured_at": {"type": "date"}, "_db2api": {"type": "text"}}}
    target.request("PUT", "/readings", {"mappings": mappings}, bypass=True)
    job = with_target(sqlite_job(str(sqlite_source), target.url), reconcile=True)
    status, detail = line(check(job), "target mapping")
    assert status == "FAIL"
    assert detail.startswith(
        "index readings: _db2api.job is not mapped (it needs keyword): map them before the "
        "first run (PUT /readings/_mapping"
    )


def test_a_rest_collection_that_answers_passes(
    sqlite_source: Path, tmp_path: Path, dead_letter_dir: Path
) -> None:
    require(JSON_SERVER, "bash .ci/setup-node-tools")
    with JsonServer(tmp_path).run() as server:
        job = sqlite_job(str(sqlite_source), server.url, "item")
        results = check(with_target(job, path="/{index}/{id}"))
        assert line(results, "target path") == ("ok", f"GET {server.url}/readings answered 200")
        assert line(results, "target auth")[0] == "ok"
        assert server.readings() == []


def test_a_rest_path_answering_5xx_fails(sqlite_source: Path, target: ReceiverProcess) -> None:
    target.set_faults(status_override=503)
    job = with_target(sqlite_job(str(sqlite_source), target.url, "item"), path="/{index}/{id}")
    assert line(check(job), "target path") == (
        "FAIL",
        f"GET {target.url}/readings answered HTTP 503: the API is failing",
    )


@pytest.fixture
def frozen(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may create anything in, root included (``chattr +i``)."""
    folder = tmp_path / "frozen"
    folder.mkdir()
    made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    if made.returncode:
        pytest.skip(f"chattr +i is not allowed here: {made.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_an_unwritable_dead_letter_folder_is_named(
    sqlite_source: Path, index: ReceiverProcess, frozen: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB2API_DEAD_LETTER_DIR", str(frozen))
    results = check(sqlite_job(str(sqlite_source), index.url))
    assert line(results, "dead-letter folder") == (
        "FAIL",
        f"dead-letter folder {frozen}/test-sqlite cannot be written (Operation not permitted): "
        "make it writable for this user, or set DB2API_DEAD_LETTER_DIR (or the job's "
        "dead_letter_dir) to a folder that is; nothing was sent",
    )


JOB_FILE = """
from etlhelper import DbParams

from db2api.job import Job, Source, Target

job = Job(
    name="{name}",
    source=Source(db=DbParams(dbtype="SQLITE", filename={source!r})),
    sql="SELECT * FROM readings WHERE measured_at >= :start AND measured_at < :end",
    id="reading_id",
    target=Target(url={url!r}, index="readings"),
)
"""


def test_the_command_prints_the_table_and_exits_by_the_worst_line(
    sqlite_source: Path,
    index: ReceiverProcess,
    dead_letter_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    good = JOB_FILE.format(name="good", source=str(sqlite_source), url=index.url)
    (jobs / "good.py").write_text(textwrap.dedent(good))
    (jobs / "broken.py").write_text("job = (\n")
    monkeypatch.setenv("DB2API_JOBS_PATH", str(jobs))

    assert main(["check", "good", "--end", "2024-01-02", "--rows", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["check", "result", "detail"]
    assert out[1].split(None, 2) == [
        "job",
        "ok",
        "good: SQLITE -> bulk 'readings', windows of 1d (UTC)",
    ]
    assert len(out) == 14

    assert main(["check", "broken"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1].split(None, 2) == [
        "job",
        "FAIL",
        f"job file {jobs / 'broken.py'} has a syntax error at line 1: '(' was never closed",
    ]
    assert len(out) == 5
    assert all(row.endswith("  skip    the job does not load") for row in out[2:])

    assert main(["check", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("db2api: error: unknown job 'nope': known jobs are broken, demo, good")
    assert os.environ["DB2API_JOBS_PATH"] == str(jobs)
