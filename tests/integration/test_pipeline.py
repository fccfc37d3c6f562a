"""The transfer path without Prefect: real SQLite/PostgreSQL sources, the real receiver.

Every test compares what the source holds with what the receiver stored and what
the dead-letter file says; counts reported by db2api itself are never the proof.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from db2api.errors import AccountingError, TargetError
from db2api.job import Job
from db2api.receiver import ReceiverProcess
from db2api.records.deadletters import iter_dead_letters
from db2api.run.window import transfer_range
from tests.support.jobs import postgres_job, sqlite_job, to_document, with_target
from tests.support.readings import PG_PASSWORD_ENV, SOURCE_DAYS, SOURCE_SENSORS, sqlite_ids

START, END = "2024-01-01", "2024-01-05"
PER_DAY = SOURCE_SENSORS * 96
MODES = ["bulk", "item"]


@pytest.fixture(params=["sqlite", "postgres"])
def make_job(
    request: pytest.FixtureRequest, sqlite_source: Path, target: ReceiverProcess
) -> Callable[..., Job]:
    if request.param == "sqlite":
        return lambda mode="bulk", **kw: sqlite_job(str(sqlite_source), target.url, mode, **kw)
    params = request.getfixturevalue("postgres_source")
    return lambda mode="bulk", **kw: postgres_job(params, PG_PASSWORD_ENV, target.url, mode, **kw)


def dead_letters(path: str) -> list[dict[str, Any]]:
    return list(iter_dead_letters(Path(path))) if Path(path).exists() else []


@pytest.mark.parametrize("mode", MODES)
async def test_every_row_arrives_exactly_once(
    make_job: Callable[..., Job],
    sqlite_source: Path,
    target: ReceiverProcess,
    dead_letter_dir: Path,
    mode: str,
) -> None:
    summary = await transfer_range(make_job(mode), START, END)

    stored = target.ids("readings")
    assert set(stored) == sqlite_ids(sqlite_source)
    assert set(stored.values()) == {1}, "a document was written twice in one run"
    assert summary.ok and summary.total("acked") == len(stored)
    assert not dead_letter_dir.exists()


async def test_boundary_rows_belong_to_exactly_one_window(
    make_job: Callable[..., Job],
    sqlite_source: Path,
    target: ReceiverProcess,
    dead_letter_dir: Path,
) -> None:
    with sqlite3.connect(sqlite_source) as conn:
        midnight = conn.execute(
            "SELECT count(*) FROM readings WHERE measured_at LIKE '% 00:00:00'"
        ).fetchone()[0]
    assert midnight == SOURCE_DAYS * SOURCE_SENSORS  # the data really has boundary rows

    summary = await transfer_range(make_job(), START, END)

    assert [report.rows for report in summary.windows] == [PER_DAY] * SOURCE_DAYS
    day_two = target.count(
        "readings", "measured_at", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"
    )
    assert day_two == PER_DAY


@pytest.mark.parametrize("mode", MODES)
async def test_a_second_run_adds_nothing_new(
    make_job: Callable[..., Job], target: ReceiverProcess, dead_letter_dir: Path, mode: str
) -> None:
    job = make_job(mode)
    await transfer_range(job, START, "2024-01-03")
    first = target.ids("readings")

    await transfer_range(job, START, "2024-01-03")

    again = target.ids("readings")
    assert again.keys() == first.keys()
    assert set(again.values()) == {2}, "every document is overwritten in place by id"


@pytest.mark.parametrize("mode", MODES)
async def test_a_storm_of_429_503_and_resets_still_delivers_everything(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path, mode: str
) -> None:
    target.set_faults(rate_429=0.25, retry_after=1, rate_503=0.1, rate_reset=0.05, seed=7)
    job = sqlite_job(str(sqlite_source), target.url, mode)
    end = "2024-01-03" if mode == "bulk" else "2024-01-02"

    summary = await transfer_range(job, START, end)

    faults = target.stats()["faults"]
    assert faults["429"] > 0 and faults["503"] > 0 and faults["reset"] > 0
    source = sqlite_ids(sqlite_source, "2024-01-01", end)
    stored = target.ids("readings")
    assert set(stored) == source
    assert set(stored.values()) == {1}, "a refused or reset request stores nothing"
    assert summary.ok and summary.fatal == "" and summary.failed == []
    assert [report.error for report in summary.windows] == [""] * len(summary.windows)
    assert summary.total("rows") == summary.total("acked") == len(source)
    assert summary.total("dead") == 0 and summary.total("retries") > 0
    assert not dead_letter_dir.exists()


async def test_item_mode_under_429_and_503_acknowledges_each_document_once(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    """A retried document is one delivery, however many requests it took."""
    target.set_faults(rate_429=0.2, retry_after=0, rate_503=0.1, seed=13)
    job = sqlite_job(str(sqlite_source), target.url, "item")
    source = sqlite_ids(sqlite_source, "2024-01-01", "2024-01-02")

    summary = await transfer_range(job, START, "2024-01-02")

    faults = target.stats()["faults"]
    assert faults["429"] > 0 and faults["503"] > 0
    stored = target.ids("readings")
    assert set(stored) == source
    assert set(stored.values()) == {1}, "a refused request stores nothing"
    assert summary.total("rows") == summary.total("acked") == len(source) == PER_DAY
    # Each write and each read-back GET may meet a fault, and each is retried once per fault.
    assert 0 < summary.total("retries") <= faults["429"] + faults["503"]
    assert summary.total("proven") == PER_DAY, "every document read back by id"
    assert summary.ok and summary.failed == [] and summary.total("dead") == 0


@pytest.mark.parametrize("mode", MODES)
async def test_a_400_rule_dead_letters_exactly_the_matching_documents(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path, mode: str
) -> None:
    target.set_faults(reject_field="sensor_id", reject_value="S002")
    job = sqlite_job(str(sqlite_source), target.url, mode)

    summary = await transfer_range(job, START, END)

    letters = dead_letters(summary.dead_letter_file)
    with sqlite3.connect(sqlite_source) as conn:
        s002 = {
            str(r[0])
            for r in conn.execute("SELECT reading_id FROM readings WHERE sensor_id = 'S002'")
        }
    assert {letter["id"] for letter in letters} == s002
    assert set(target.ids("readings")) == sqlite_ids(sqlite_source) - s002
    letter = letters[0]
    assert letter["status"] == 400 and letter["job"] == "test-sqlite"
    assert "failed to parse field [sensor_id]" in letter["reason"]
    assert letter["document"]["sensor_id"] == "S002" and letter["window"].startswith("2024-01-0")
    assert not summary.ok and summary.total("dead") == len(s002)


async def test_bulk_items_rejected_with_400_are_dead_lettered_the_rest_delivered(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    target.set_faults(bulk_item_400=0.05, bulk_item_429=0.1, seed=3)
    job = sqlite_job(str(sqlite_source), target.url, "bulk")

    summary = await transfer_range(job, START, END)

    dead = {letter["id"] for letter in dead_letters(summary.dead_letter_file)}
    stored = set(target.ids("readings"))
    assert dead and not dead & stored
    assert dead | stored == sqlite_ids(sqlite_source)
    assert target.stats()["faults"]["bulk_item_400"] == len(dead)


async def test_rows_the_transform_rejects_become_dead_letters(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    def picky(row: dict[str, Any]) -> dict[str, Any]:
        if row["reading_id"] % 100 == 0:
            raise ValueError(f"reading {row['reading_id']} is not plausible")
        return to_document(row)

    job = sqlite_job(str(sqlite_source), target.url, transform=picky)

    summary = await transfer_range(job, START, END)

    letters = dead_letters(summary.dead_letter_file)
    source = sqlite_ids(sqlite_source)
    rejected = {i for i in source if int(i) % 100 == 0}
    assert {letter["id"] for letter in letters} == rejected
    assert set(target.ids("readings")) == source - rejected
    assert "is not plausible" in letters[0]["reason"] and letters[0]["status"] is None
    # The run ends failed (dead letters pending), but no window broke and nothing was fatal.
    assert not summary.ok and summary.fatal == "" and summary.failed == []
    assert summary.total("rows") == len(source)
    assert summary.total("dead") == len(letters) == len(rejected) > 0
    assert summary.total("acked") == len(source) - len(rejected)


async def test_a_document_over_the_bulk_byte_cap_is_dead_lettered_alone(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    def bloated(row: dict[str, Any]) -> dict[str, Any]:
        doc = to_document(row)
        if row["reading_id"] == 7:
            doc["notes"] = "x" * 5000
        return doc

    job = with_target(
        sqlite_job(str(sqlite_source), target.url, transform=bloated), bulk_bytes=4096
    )

    summary = await transfer_range(job, START, "2024-01-02")

    [letter] = dead_letters(summary.dead_letter_file)
    assert letter["id"] == "7" and letter["error"] == "DocumentTooLarge"
    assert "over target.bulk_bytes (4096)" in letter["reason"]
    assert set(target.ids("readings")) == sqlite_ids(sqlite_source, START, "2024-01-02") - {"7"}
    # The run ends failed (one dead letter), but no window broke and nothing was fatal.
    assert not summary.ok and summary.fatal == "" and summary.failed == []
    assert summary.total("rows") == PER_DAY
    assert (summary.total("acked"), summary.total("dead")) == (PER_DAY - 1, 1)


@pytest.mark.parametrize(
    ("faults", "status", "message"),
    [
        (
            {"require_auth": "ApiKey right"},
            "401",
            "HTTP 401 from POST {url}/_bulk (security_exception: missing authentication "
            "credentials for REST request [/_bulk]): the target refused the credentials: "
            "check target.auth_env (no credentials were sent)",
        ),
        (
            {"status_override": 404},
            "404",
            "HTTP 404 from POST {url}/_bulk (index_not_found_exception: status 404 forced by "
            "status_override): no such path or index: check target.url and target.index / "
            "target.path",
        ),
        (
            {"status_override": 403},
            "403",
            "HTTP 403 from POST {url}/_bulk (security_exception: status 403 forced by "
            "status_override): the credentials may not write here: check the API key's "
            "privileges",
        ),
        (
            {"non_json": True},
            "200",
            "target answered POST {url}/_bulk with something that is not JSON "
            "('<html>proxy</html>'): check that target.url points at an "
            "Elasticsearch/OpenSearch-compatible API",
        ),
    ],
    ids=["401", "404", "403", "not-json"],
)
async def test_a_misconfigured_target_stops_the_run_with_one_line(
    sqlite_source: Path,
    target: ReceiverProcess,
    dead_letter_dir: Path,
    faults: dict[str, Any],
    status: str,
    message: str,
) -> None:
    target.set_faults(**faults)
    job = sqlite_job(str(sqlite_source), target.url, windows_in_flight=2)

    summary = await transfer_range(job, START, END)

    assert summary.fatal == message.format(url=target.url)
    # Two windows run at a time: both meet the same error, later ones never start.
    assert [r.error for r in summary.windows] == [
        f"TargetError: {summary.fatal}",
        f"TargetError: {summary.fatal}",
        "not run: the run stopped",
        "not run: the run stopped",
    ]
    assert not summary.ok and summary.total("acked") == 0
    stats = target.stats()
    assert set(stats["by_status"]) == {status} and stats["docs_written"] == 0
    assert target.ids("readings") == {}, "the target holds nothing"
    assert not dead_letter_dir.exists(), "a run-wide error is not a per-document dead letter"


async def test_a_dry_run_reads_every_row_and_sends_nothing(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    """The bench's read path: the whole pipeline up to the sending, the target untouched."""
    job = sqlite_job(str(sqlite_source), target.url)
    summary = await transfer_range(job, START, END, dry_run=True)

    assert summary.dry_run and summary.ok
    assert summary.total("acked") == len(sqlite_ids(sqlite_source))  # would be sent
    assert target.ids("readings") == {}
    assert not dead_letter_dir.exists()


async def test_an_unreachable_target_fails_before_reading_rows(
    sqlite_source: Path, dead_letter_dir: Path
) -> None:
    job = sqlite_job(str(sqlite_source), "http://127.0.0.1:9")
    with pytest.raises(
        TargetError, match=r"cannot reach target http://127.0.0.1:9 .*check that it"
    ):
        await transfer_range(job, START, END)


async def test_bad_sql_names_the_paramstyle_the_source_needs(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    job = sqlite_job(
        str(sqlite_source),
        target.url,
        sql="SELECT * FROM no_such_table WHERE t >= :start AND t < :end",
    )

    summary = await transfer_range(job, START, END)

    assert "no such table: no_such_table" in summary.fatal
    assert "paramstyle named with binds :start and :end" in summary.fatal


async def test_a_missing_password_variable_is_named(
    postgres_source: dict[str, Any], target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    job = postgres_job(postgres_source, "DB2API_NO_SUCH_PASSWORD", target.url)
    with pytest.raises(Exception, match=r"DB2API_NO_SUCH_PASSWORD .*is not set"):
        await transfer_range(job, START, END)


async def test_a_wrong_password_is_a_one_line_source_error(
    postgres_source: dict[str, Any],
    target: ReceiverProcess,
    dead_letter_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DB2API_WRONG_PASSWORD", "not-the-password")
    job = postgres_job(postgres_source, "DB2API_WRONG_PASSWORD", target.url)

    summary = await transfer_range(job, START, END)

    where = (
        f"{postgres_source['user']}@{postgres_source['host']}:{postgres_source['port']}"
        f"/{postgres_source['dbname']}"
    )
    assert summary.fatal == (
        f"cannot connect to PG {where} (job 'test-postgres'): connection to server at "
        f'"{postgres_source["host"]}", port {postgres_source["port"]} failed: FATAL: '
        f'password authentication failed for user "{postgres_source["user"]}"; '
        "check host, port, user and password, and that the database is up"
    )
    assert summary.windows[0].error == f"SourceError: {summary.fatal}"
    assert "not-the-password" not in "\n".join([*summary.lines(), summary.fatal])
    assert not summary.ok and summary.total("rows") == 0
    assert target.stats()["requests"] == 0 and target.ids("readings") == {}


def test_documents_are_stored_as_the_transform_built_them(
    sqlite_source: Path, target: ReceiverProcess
) -> None:
    """The receiver keeps the exact JSON: a spot check of one boundary document."""
    import asyncio

    asyncio.run(transfer_range(sqlite_job(str(sqlite_source), target.url), START, "2024-01-02"))
    with sqlite3.connect(sqlite_source) as conn:
        conn.row_factory = sqlite3.Row
        row = dict(conn.execute("SELECT * FROM readings WHERE reading_id = 1").fetchone())
    stored = target.get("readings", "1")
    assert stored == orjson.loads(orjson.dumps(to_document(row)))
    assert stored["measured_at"] == "2024-01-01T00:00:00Z"


async def test_a_target_that_loses_acknowledged_documents_fails_the_window_naming_them(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    """The completeness proof: acknowledged is not enough, the target must hold them."""
    target.set_faults(bulk_item_lost=0.01, seed=11)
    job = sqlite_job(str(sqlite_source), target.url)

    summary = await transfer_range(job, START, "2024-01-02")

    lost = target.stats()["faults"]["bulk_item_lost"]
    stored = set(target.ids("readings"))
    missing = sorted(sqlite_ids(sqlite_source, "2024-01-01", "2024-01-02") - stored, key=int)
    assert lost == len(missing) > 0
    [report] = summary.windows
    assert report.error.startswith(f"AccountingError: the target at {target.url} acknowledged ")
    named = report.error.split("(missing ids: ")[1].split(")")[0].split(", ")
    assert named and set(named) <= set(missing), "only ids the target really lacks are named"
    assert report.error.endswith("the window is not complete and runs again next time")
    assert not summary.ok and summary.total("dead") == 0


async def test_the_completeness_check_passes_when_the_target_holds_everything(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    """No false alarm: boundary rows and all, the counts per window match exactly."""
    summary = await transfer_range(sqlite_job(str(sqlite_source), target.url), START, END)

    assert summary.ok and all(not report.error for report in summary.windows)
    assert summary.total("acked") == len(target.ids("readings"))


async def test_source_connections_are_reused_across_windows(
    postgres_source: dict[str, Any], target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    from db2api.records.windows import split
    from db2api.run.runtime import open_runtime
    from db2api.run.transfer import run_windows
    from db2api.run.window import run_window

    job = postgres_job(postgres_source, PG_PASSWORD_ENV, target.url, windows_in_flight=2)
    windows = split(START, END, job.window_length, job.timezone)
    async with open_runtime(job, "pool") as runtime:
        reports, fatal = await run_windows(
            windows, lambda window: run_window(runtime, window), job.windows_in_flight
        )
        opened = runtime.pool.opened

    assert not fatal and sum(r.rows for r in reports) == SOURCE_DAYS * PER_DAY
    assert opened <= job.windows_in_flight < len(windows)


async def test_a_window_whose_deliveries_do_not_add_up_fails_with_the_accounting_line(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    """The per-window accounting: rows read == acked + dead letters + duplicates.

    The upload forwards every chunk to the real sink, then reports one delivery too few.
    """
    from db2api.records.document import Chunk
    from db2api.records.windows import split
    from db2api.run.runtime import open_runtime
    from db2api.run.window import run_window
    from db2api.targets import Outcome

    job = sqlite_job(str(sqlite_source), target.url)
    [window] = split(START, "2024-01-02", job.window_length, job.timezone)
    async with open_runtime(job, "short") as runtime:

        async def one_too_few(chunk: Chunk) -> Outcome:
            outcome = await runtime.sink.send(chunk.documents, chunk.prepared)
            if chunk.number == 1:
                outcome.acked -= 1
            return outcome

        with pytest.raises(AccountingError) as failed:
            await run_window(runtime, window, upload=one_too_few)

    assert str(failed.value) == (
        f"window {window.key}: read {PER_DAY} rows but accounted for {PER_DAY - 1} "
        f"(acked {PER_DAY - 1} + dead letters 0 + duplicates 0); "
        "the window is not complete and will be sent again on the next run"
    )
    assert len(target.ids("readings")) == PER_DAY, "every document did reach the target"
    assert not dead_letter_dir.exists()


async def test_a_later_run_that_delivers_dead_lettered_ids_resolves_them(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    from db2api.records.deadletters import dead_letter_folder
    from db2api.records.resolutions import file_statuses

    target.set_faults(reject_field="sensor_id", reject_value="S001")
    job = sqlite_job(str(sqlite_source), target.url)
    first = await transfer_range(job, START, "2024-01-02")
    dead = first.total("dead")
    assert dead > 0
    [status] = file_statuses(dead_letter_folder(job))
    assert (status.open, status.resolved) == (dead, 0)

    target.set_faults()
    second = await transfer_range(job, START, "2024-01-02")

    assert second.ok
    [status] = [s for s in file_statuses(dead_letter_folder(job)) if s.path == status.path]
    assert (status.open, status.resolved) == (0, dead)
