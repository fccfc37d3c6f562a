"""Batch mode against a real third-party JSON-array API: Datasette 1.0a41's write API.

``POST /data/readings/-/upsert`` with ``{"rows": [...]}`` (``batch_wrap="rows"``)
inserts or updates by primary key, in one transaction per request. What it answered
here, into a STRICT table with ``sensor_id TEXT NOT NULL`` and ``value REAL``:

- all rows fine: ``200`` ``{"ok": true}``;
- one row with ``"sensor_id": null``: ``400`` ``{"ok": false, "error": "NOT NULL
  constraint failed: readings.sensor_id", "errors": [...], "status": 400}``: the whole
  request is refused;
- one row with ``"value": "abc"``: ``400`` ``{"ok": false, "error": "cannot store
  TEXT value in REAL column readings.value", ...}``;
- a row with an unknown column: ``400`` ``"Row 0 has invalid columns: nosuch"``;
- 101 rows: ``400`` ``"Too many rows, maximum allowed is 100"`` (its
  ``max_insert_rows`` setting);
- a bare array: ``400`` ``"JSON must be a dictionary"``;
- a ``dstok_`` token it did not sign: ``401`` ``"Invalid token signature"``;
- no token, or a signed one whose actor lacks the rights: ``403``
  ``"Permission denied: need both insert-row and update-row"``;
- an unknown table: ``404`` ``"Table not found"``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from db2api.job import Job, Row
from db2api.records.deadletters import iter_dead_letters
from db2api.run.window import transfer_range
from tests.conftest import sqlite_ids
from tests.support.jobs import sqlite_job, to_document, with_target
from tests.support.servers import DATASETTE, Datasette, require

START, END = "2024-01-01", "2024-01-03"  # two days: 1,152 rows
TOKEN_ENV = "DB2API_TEST_DATASETTE_TOKEN"


@pytest.fixture
def datasette(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Datasette]:
    require(DATASETTE, "make install")
    with Datasette(tmp_path).run() as server:
        monkeypatch.setenv(TOKEN_ENV, server.token)
        yield server


def batch_job(
    source: Path, server: Datasette, transform: Callable[[Row], Any] = to_document, **target: Any
) -> Job:
    job = sqlite_job(str(source), server.url, "batch", transform=transform)
    settings = {
        "path": server.path,
        "method": "POST",
        "batch_wrap": "rows",
        "bulk_docs": 100,  # Datasette's max_insert_rows
        "auth_env": TOKEN_ENV,
        "auth_scheme": "Bearer",
        **target,
    }
    return with_target(job, **settings)


def dead_letters(path: str) -> list[dict[str, Any]]:
    return list(iter_dead_letters(Path(path))) if Path(path).exists() else []


def stored_ids(server: Datasette) -> list[str]:
    return [str(row["reading_id"]) for row in server.rows()]


async def test_every_row_is_stored_once(
    datasette: Datasette, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    summary = await transfer_range(batch_job(sqlite_source, datasette), START, END)

    stored = stored_ids(datasette)
    assert len(stored) == len(set(stored))
    assert set(stored) == sqlite_ids(sqlite_source, START, END)
    assert summary.ok and summary.total("dead") == 0
    assert summary.total("requests") == sum(-(-w.rows // 100) for w in summary.windows)


async def test_a_second_run_changes_nothing(
    datasette: Datasette, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    job = batch_job(sqlite_source, datasette)
    await transfer_range(job, START, END)
    first = datasette.rows()

    summary = await transfer_range(job, START, END)

    assert datasette.rows() == first
    assert summary.ok and summary.total("acked") == len(first)


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        ({"sensor_id": None}, "HTTP 400: NOT NULL constraint failed: readings.sensor_id"),
        ({"value": "n/a"}, "HTTP 400: cannot store TEXT value in REAL column readings.value"),
    ],
    ids=["not-null", "strict-type"],
)
async def test_the_one_row_datasette_refuses_is_dead_lettered_the_rest_stored(
    datasette: Datasette,
    sqlite_source: Path,
    dead_letter_dir: Path,
    spoil: dict[str, Any],
    reason: str,
) -> None:
    source = sqlite_ids(sqlite_source, START, END)
    victim = sorted(source, key=int)[137]

    def spoiled(row: Row) -> dict[str, Any]:
        document = to_document(row)
        return {**document, **spoil} if str(row["reading_id"]) == victim else document

    summary = await transfer_range(batch_job(sqlite_source, datasette, spoiled), START, END)

    [letter] = dead_letters(summary.dead_letter_file)
    assert (letter["id"], letter["status"], letter["reason"]) == (victim, 400, reason)
    assert set(stored_ids(datasette)) == source - {victim}
    # The refused batch of 100 was halved down to the one row, not sent row by row.
    batches = sum(-(-w.rows // 100) for w in summary.windows)
    assert batches < summary.total("requests") <= batches + 2 * 7


async def test_batches_over_datasettes_row_limit_are_halved_until_it_takes_them(
    datasette: Datasette, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    """Its 400 "Too many rows, maximum allowed is 100" reads as a refused batch."""
    job = batch_job(sqlite_source, datasette, bulk_docs=500)

    summary = await transfer_range(job, START, END)

    assert set(stored_ids(datasette)) == sqlite_ids(sqlite_source, START, END)
    assert summary.ok and summary.total("dead") == 0


@pytest.mark.parametrize(
    ("actor", "answer"),
    [
        (
            None,  # a token Datasette did not sign
            "HTTP 401 from POST {url} (Invalid token signature): the target refused the "
            "credentials: check the API key in DB2API_TEST_DATASETTE_TOKEN",
        ),
        (
            "reader",  # signed, for an actor without write rights
            "HTTP 403 from POST {url} (Permission denied: need both insert-row and "
            "update-row): the credentials may not write here: check the API key's privileges",
        ),
    ],
    ids=["unsigned", "no-rights"],
)
async def test_a_token_that_may_not_write_stops_the_run_naming_the_fix(
    datasette: Datasette,
    sqlite_source: Path,
    dead_letter_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    actor: str | None,
    answer: str,
) -> None:
    token = datasette.token_for(actor) if actor else "dstok_not-a-token"
    monkeypatch.setenv(TOKEN_ENV, token)

    summary = await transfer_range(batch_job(sqlite_source, datasette), START, END)

    assert summary.fatal == answer.format(url=datasette.url + datasette.path)
    assert datasette.rows() == [] and dead_letters(summary.dead_letter_file) == []


# --- what db2api proves of what Datasette acknowledged -------------------------------


@pytest.fixture
def said() -> Iterator[list[str]]:
    """What the run logged (db2api's logger outside a flow run)."""
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("db2api")
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


DECLARED = "db2api takes the target's word that it holds them"


async def test_without_a_prove_path_the_run_says_once_that_it_takes_datasettes_word(
    datasette: Datasette, sqlite_source: Path, dead_letter_dir: Path, said: list[str]
) -> None:
    summary = await transfer_range(batch_job(sqlite_source, datasette), START, END)

    assert summary.ok and summary.total("proven") == 0
    [declared] = [line for line in said if DECLARED in line]  # once, for 2 windows of 6 batches
    assert declared == (
        f"target {datasette.url} (batch mode): acknowledged documents are not read back (no "
        f"target.prove_path is set): {DECLARED}"
    )
    assert (
        "proof        none: the target's word for 1152 documents (no target.prove_path is set)"
        in summary.lines()
    )


@pytest.mark.parametrize(
    ("settings", "look_ups"),
    [
        ({"prove_path": "/data/{index}/{id}.json"}, 1152),  # its row page, one per id
        (
            {
                "prove_path": "/data/{index}.json?_shape=array&reading_id__in={ids}",
                "id_field": "reading_id",
                "prove": "content",
            },
            12,  # 100 ids per look-up: 6 per window of 576
        ),
    ],
    ids=["row-page", "batched-content"],
)
async def test_datasettes_row_look_ups_prove_every_row(
    datasette: Datasette,
    sqlite_source: Path,
    dead_letter_dir: Path,
    said: list[str],
    settings: dict[str, Any],
    look_ups: int,
) -> None:
    summary = await transfer_range(batch_job(sqlite_source, datasette, **settings), START, END)

    assert summary.ok and summary.total("proven") == summary.total("acked") == 1152
    assert summary.total("requests") == 12 + look_ups  # 12 batches of at most 100
    assert not [line for line in said if DECLARED in line]
    [line] = [line for line in summary.lines() if line.startswith("proof")]
    assert line.startswith("proof        1152 of 1152 documents read back (every acknowledged id")


async def test_the_content_proof_catches_a_column_datasette_did_not_keep(
    datasette: Datasette, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    """Datasette answers ``{"ok": true}`` for ``"reading_id": "0001"`` and keeps the
    integer 1 (SQLite converts text that reads as an integer, even in a STRICT table):
    what it holds is not what was sent, and only reading it back shows that."""

    def padded(row: Row) -> dict[str, Any]:
        return {**to_document(row), "reading_id": f"{row['reading_id']:04d}"}

    job = batch_job(
        sqlite_source,
        datasette,
        padded,
        prove_path="/data/{index}/{id}.json",
        prove="content",
    )

    summary = await transfer_range(job, START, "2024-01-02")

    [report] = summary.windows
    assert report.error.startswith("AccountingError: the API holds 576 documents other than sent")
    # Which ids come first depends on how the batches were split (Datasette takes 100 rows).
    named = re.findall(r"id (\d+): field 'reading_id' is (\d+), sent \"(\d{4})\"", report.error)
    assert named, report.error
    assert all(doc_id == kept == str(int(sent)) for doc_id, kept, sent in named), named
