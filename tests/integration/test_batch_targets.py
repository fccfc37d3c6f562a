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

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from db2api.deadletters import iter_dead_letters
from db2api.job import Job, Row
from db2api.pipeline import transfer_range
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
