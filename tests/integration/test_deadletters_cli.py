"""Dead letters a person can act on, and counters that say what happened, through real runs.

A SQLite source and the receiver (its "400 for documents matching a rule" fault and its
outage), the command line's own output asserted; the receiver's counters are the proof
of how many requests failed, never db2api's.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from db2api.cli import main
from db2api.receiver import ReceiverProcess
from db2api.records.deadletters import iter_dead_letters
from db2api.run.catalog import load_job
from db2api.run.resend import replay
from db2api.run.window import transfer_range
from db2api.transport.retry import RetryPolicy
from tests.conftest import SOURCE_SENSORS
from tests.support.jobs import sqlite_job

REFUSED_GROUP = (
    "    192  HTTP 400: mapper_parsing_exception: failed to parse field [sensor_id] of type "
    "[keyword] in document with id '…'"
)

# A transform with a bug: for S003 it reads a column the query does not return.
JOB_FILE = '''
from etlhelper import DbParams
from db2api.job import Env, Job, Source, Target

def to_document(row):
    document = {"sensor_id": row["sensor_id"], "value": row["value"]}
    if row["sensor_id"] == "S003":
        document["depth"] = row["depth"]  # the column is depth_m: KeyError
    return document

job = Job(
    name="buggy",
    source=Source(db=DbParams(dbtype="SQLITE", filename=Env("DB2API_DEMO_DB"))),
    sql="""SELECT reading_id, sensor_id, measured_at, depth_m, value FROM readings
           WHERE measured_at >= :start AND measured_at < :end ORDER BY measured_at, sensor_id""",
    id="reading_id",
    transform=to_document,
    target=Target(url=Env("DB2API_DEMO_URL"), index="readings"),
)
'''


def deadletters(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    capsys.readouterr()
    assert main(["deadletters", *args]) == 0
    return capsys.readouterr().out.splitlines()


async def test_a_failed_replay_keeps_the_open_count_and_a_good_one_resolves_it(
    demo_env: ReceiverProcess, dead_letter_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_env.set_faults(reject_field="sensor_id", reject_value="S004")
    summary = await transfer_range(load_job("demo"), "2024-01-01", "2024-01-03")
    first = Path(summary.dead_letter_file)

    before = deadletters(capsys, "demo")

    assert before[:2] == ["open documents by reason (most frequent first):", REFUSED_GROUP]
    # The first ids in the order they were written (the two windows run side by side).
    first_ids = r" {9}ids (S004:2024-01-0[12] \d\d:\d\d:00(, )?){3} \(\+189 more\)"
    assert re.fullmatch(first_ids, before[3])
    folder = dead_letter_dir / "demo"
    assert before[-1] == f"192 documents open; 192 letters in 1 files; 0 resolved (in {folder})"

    still = await replay(first)  # the target still refuses them: a second file, same letters
    assert (still.failed, len(list(iter_dead_letters(Path(still.new_file))))) == (192, 192)

    after = deadletters(capsys, "demo")

    assert after[1] == REFUSED_GROUP
    assert after[-1] == f"192 documents open; 384 letters in 2 files; 0 resolved (in {folder})"
    assert {line for line in after if line.startswith("/")} == {
        f"{first}  192 open, 0 resolved",
        f"{still.new_file}  192 open, 0 resolved",
    }

    demo_env.set_faults()
    await replay(Path(still.new_file))

    fixed = deadletters(capsys, "demo")
    assert fixed[0].startswith("/") and "open documents" not in fixed[0]
    assert fixed[-1] == f"0 documents open; 384 letters in 2 files; 192 resolved (in {folder})"


@pytest.fixture
def buggy_job(
    demo_env: ReceiverProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ReceiverProcess:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "buggy.py").write_text(JOB_FILE)
    monkeypatch.setenv("DB2API_JOBS_PATH", str(jobs))
    demo_env.set_faults(reject_field="sensor_id", reject_value="S004")
    return demo_env


async def test_the_summary_and_the_listing_name_a_transform_key_error_and_a_refusal(
    buggy_job: ReceiverProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = await transfer_range(load_job("buggy"), "2024-01-01", "2024-01-02")

    assert summary.total("dead") == 192
    assert [line for line in summary.lines() if line.startswith("  reason")] == [
        "  reason     96 x KeyError: transform raised KeyError('depth')",
        "  reason     96 x HTTP 400: mapper_parsing_exception: failed to parse field [sensor_id] "
        "of type [keyword] in document with id '…'",
    ]
    assert "  reason     96 x KeyError: transform raised KeyError('depth')" in summary.markdown()

    listing = deadletters(capsys, "buggy")
    assert [line for line in listing if line.startswith("     96  ")] == [
        "     96  KeyError: transform raised KeyError('depth')",
        "     96  HTTP 400: mapper_parsing_exception: failed to parse field [sensor_id] of type "
        "[keyword] in document with id '…'",
    ]
    assert "192 documents open; 192 letters in 1 files; 0 resolved" in listing[-1]

    shown = deadletters(capsys, "buggy", "--show", "1", "--reason", "keyerror")
    assert shown[0].startswith("id       ")
    assert shown[1] == "window   2024-01-01T00:00:00Z/2024-01-02T00:00:00Z"
    assert shown[2].startswith("status   none (KeyError), attempts 0, at ")
    assert shown[3] == "reason   transform raised KeyError('depth')"
    assert shown[5] == "document {"
    assert '           "sensor_id": "S003",' in shown  # the row the transform failed on
    assert shown[-1] == "1 of 96 open documents with 'keyerror' in the reason shown"

    refusals = deadletters(capsys, "buggy", "--reason", "mapper_parsing")
    assert [line for line in refusals if line.startswith("     96  ")] == [
        "     96  HTTP 400: mapper_parsing_exception: failed to parse field [sensor_id] of type "
        "[keyword] in document with id '…'",
    ]

    # The target fixed: the refused documents go; the rows the transform failed on hold no
    # document (the letter has the raw row), so they are carried over, never sent.
    buggy_job.set_faults()
    buggy_job.reset_stats()
    report = await replay(Path(summary.dead_letter_file))
    assert (report.sent, report.delivered, report.carried) == (96, 96, 96)
    assert buggy_job.stats()["docs_written"] == 96
    left = deadletters(capsys, "buggy")
    assert [line for line in left if line.startswith("     96  ")] == [
        "     96  KeyError: transform raised KeyError('depth')"
    ]
    assert "96 documents open; 288 letters in 2 files; 96 resolved" in left[-1]


@pytest.mark.usefixtures("prefect_harness")
def test_a_dry_run_says_would_send_and_never_acked(
    demo_env: ReceiverProcess,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="prefect")
    code = main(["run", "demo", "--dry-run", "--start", "2024-01-01", "--end", "2024-01-03"])

    out, err = capfd.readouterr()
    err += caplog.text  # the run's log: on the console, or with pytest's when it took it
    assert code == 0
    day = SOURCE_SENSORS * 96
    assert f"would send   {2 * day} documents in 2 requests" in out
    assert f"window 2024-01-01T00:00:00Z/2024-01-02T00:00:00Z: {day} rows, would send {day}" in (
        out + err
    )
    assert "acked" not in out + err and "retries" not in out
    assert demo_env.stats()["requests"] == 0


@pytest.mark.parametrize("mode", ["bulk", "item"])
async def test_retries_are_the_failed_requests_the_receiver_counted(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path, mode: str
) -> None:
    """503 for a while, then OK: every failed request was sent again, and counted once."""
    job = sqlite_job(str(sqlite_source), target.url, mode)
    target.set_faults(outage_seconds=1.0)  # from now: 503 master_not_discovered_exception

    summary = await transfer_range(job, "2024-01-01", "2024-01-02")

    stats = target.stats()
    failed = stats["faults"]["outage"]
    assert summary.ok and failed > 0
    assert stats["by_status"]["503"] == failed
    assert summary.retries == failed == summary.total("retries")
    assert f"retries      {failed} (failed or busy requests)" in summary.lines()


async def test_a_run_stopped_by_an_outage_still_counts_its_failed_requests(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    job = sqlite_job(
        str(sqlite_source),
        target.url,
        "bulk",
        retry=RetryPolicy(give_up_after=1.0, base_delay=0.05, max_delay=0.2),
    )
    target.set_faults(outage_seconds=60)

    summary = await asyncio.wait_for(transfer_range(job, "2024-01-01", "2024-01-02"), 30)

    failed = target.stats()["faults"]["outage"]
    assert summary.unavailable and failed > 1
    assert summary.total("retries") == 0, "the window's own report lost the send that raised"
    assert summary.retries == failed
    assert f"retries      {failed} (failed or busy requests)" in summary.lines()
