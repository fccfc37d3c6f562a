"""`db2api status`: the rendering, the open dead letters, and what it says without a server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from db2api.cli import main
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


def test_status_without_a_server_says_which_url_it_tried(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.support.servers import free_port

    monkeypatch.setenv("DB2API_DEAD_LETTER_DIR", str(tmp_path))
    url = f"http://127.0.0.1:{free_port()}/api"
    with temporary_settings(updates={PREFECT_API_URL: url}):
        assert main(["status", "demo"]) == 0
    assert capsys.readouterr().out == (
        "job           demo\n"
        "dead letters  0 open\n"
        f"no Prefect server answers at {url} (ConnectError): start one with `prefect server "
        "start` (or set PREFECT_API_URL) to see watermarks, runs and schedules\n"
    )


def test_status_of_an_unknown_job_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DB2API_JOBS_PATH", raising=False)
    assert main(["status", "nosuchjob"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("db2api: error: unknown job 'nosuchjob': known jobs are demo, sensors")
    assert err.count("\n") == 1


def test_every_job_shows_and_a_broken_one_says_why(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.support.servers import free_port

    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "aaa.py").write_text("job = 1\n")
    monkeypatch.setenv("DB2API_JOBS_PATH", str(tmp_path / "jobs"))
    monkeypatch.setenv("DB2API_DEAD_LETTER_DIR", str(tmp_path))
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}):
        assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("job ")] == [
        "job           demo",
        "job           sensors",
        f"job           aaa BROKEN: job file {tmp_path / 'jobs' / 'aaa.py'} defines no "
        "`job = Job(...)`",
    ]
