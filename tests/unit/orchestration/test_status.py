"""`db2api status`: the rendering, the open dead letters, and what it says without a server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from db2api.orchestration.status import (
    JobStatus,
    LastRun,
    Status,
    from_ledger,
    open_dead_letters,
    render,
)
from db2api.records.ledger import Ledger
from db2api.records.windows import Window
from tests.support.jobs import unit_job


def day(n: int) -> datetime:
    return datetime(2024, 1, n, tzinfo=UTC)


def test_a_job_renders_watermark_targets_last_run_dead_letters_and_next_run() -> None:
    ledger = Ledger()
    ledger.record("old", [Window(day(1), day(2))], "http://old:9200 bulk index i")
    ledger.record("new", [Window(day(1), day(3)), Window(day(4), day(5))], "http://new item")
    status = JobStatus("unit", open_dead_letters=2, next_run="paused (nightly-unit)")
    from_ledger(status, unit_job(), ledger)
    status.last_run = LastRun("unit 2024-01-04→2024-01-05", "Completed", day(5), "9 delivered")

    assert render(Status([status])) == [
        "job           unit",
        "watermark     2024-01-03T00:00:00Z",
        "delivered     [2024-01-01T00:00:00Z, 2024-01-03T00:00:00Z) "
        "[2024-01-04T00:00:00Z, 2024-01-05T00:00:00Z)",
        "gaps          [2024-01-03T00:00:00Z, 2024-01-04T00:00:00Z)",
        "target        http://new item: watermark 2024-01-03T00:00:00Z, "
        "gaps [2024-01-03T00:00:00Z, 2024-01-04T00:00:00Z)",
        "target        http://old:9200 bulk index i: watermark 2024-01-02T00:00:00Z, gaps none",
        "last run      Completed 2024-01-05T00:00:00Z: 9 delivered (unit 2024-01-04→2024-01-05)",
        "dead letters  2 open",
        "next run      paused (nightly-unit)",
    ]


def test_windows_only_this_machines_journal_knows_get_their_own_line() -> None:
    status = JobStatus("unit", open_dead_letters=0, next_run="none")
    from_ledger(status, unit_job(), Ledger())
    status.journalled = "2 delivered windows journalled in /x and not yet in the ledger …"

    lines = render(Status([status]))

    assert lines[lines.index("gaps          none") + 1] == f"journal       {status.journalled}"


def test_without_a_server_only_dead_letters_and_one_line_saying_why() -> None:
    status = Status([JobStatus("a", 0), JobStatus("b", 3)], server_note="no Prefect server …")
    assert render(status) == [
        "job           a",
        "dead letters  0 open",
        "",
        "job           b",
        "dead letters  3 open",
        "no Prefect server …",
    ]


def test_open_dead_letters_count_files_minus_resolutions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB2API_DEAD_LETTER_DIR", str(tmp_path))
    folder = tmp_path / "unit"
    folder.mkdir()
    letters = folder / "20240101T000000Z_ab.jsonl"
    letters.write_bytes(b"".join(orjson.dumps({"id": i}) + b"\n" for i in ("1", "2", "3")))
    (folder / "_resolved.jsonl").write_bytes(
        orjson.dumps({"file": str(letters.resolve()), "id": "2"}) + b"\n"
    )
    assert open_dead_letters(unit_job()) == 2
