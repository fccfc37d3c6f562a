"""Window accounting and the run summary."""

from __future__ import annotations

import asyncio
import math
from datetime import date

import pytest
from etlhelper import DbParams

from db2api.errors import AccountingError
from db2api.job import Job, Source, Target
from db2api.records.windows import split
from db2api.run.report import RunSummary, WindowReport, summarise
from tasks.artifacts import Progress, announce, eta

W1 = "2024-01-01T00:00:00Z/2024-01-02T00:00:00Z"

W2 = "2024-01-02T00:00:00Z/2024-01-03T00:00:00Z"

W3 = "2024-01-03T00:00:00Z/2024-01-04T00:00:00Z"


@pytest.mark.parametrize(
    ("rows", "acked", "dead", "duplicates"),
    [(0, 0, 0, 0), (10, 10, 0, 0), (10, 7, 2, 1), (5, 0, 5, 0), (3, 1, 0, 2)],
)
def test_check_passes_when_every_row_is_accounted_for(rows, acked, dead, duplicates):
    WindowReport(W1, rows=rows, acked=acked, dead=dead, duplicates=duplicates).check()


@pytest.mark.parametrize(
    ("rows", "acked", "dead", "duplicates", "accounted"),
    [(10, 9, 0, 0, 9), (10, 7, 2, 2, 11), (0, 1, 0, 0, 1), (4, 0, 0, 0, 0)],
)
def test_check_raises_with_the_numbers_when_rows_go_missing(
    rows, acked, dead, duplicates, accounted
):
    report = WindowReport(W1, rows=rows, acked=acked, dead=dead, duplicates=duplicates)

    with pytest.raises(AccountingError) as caught:
        report.check()

    assert caught.value.message == (
        f"window {W1}: read {rows} rows but accounted for {accounted} "
        f"(acked {acked} + dead letters {dead} + duplicates {duplicates}); "
        "the window is not complete and will be sent again on the next run"
    )


@pytest.mark.parametrize(
    ("report", "line"),
    [
        (WindowReport(W1, skipped=True, rows=5), f"window {W1}: done before, skipped"),
        (WindowReport(W1, error="source lost"), f"window {W1}: source lost"),
        (
            WindowReport(W1, rows=10, acked=8, dead=2, seconds=1.234),
            f"window {W1}: 10 rows, 8 acked, 2 dead letters, 1.23 s",
        ),
        (
            WindowReport(W1, rows=10, acked=8, dead=2, seconds=2, error="2 dead letters"),
            f"window {W1}: 10 rows, 8 acked, 2 dead letters, 2.00 s (2 dead letters)",
        ),
    ],
)
def test_window_line(report, line):
    assert report.line() == line


@pytest.mark.parametrize(
    ("acked", "seconds", "rate"), [(100, 2.0, 50.0), (100, 0.0, 0.0), (0, 5.0, 0.0)]
)
def test_window_docs_per_second(acked, seconds, rate):
    assert WindowReport(W1, acked=acked, seconds=seconds).docs_per_second == rate


def test_window_row_rounds_for_tables():
    row = WindowReport(W1, rows=3, acked=3, seconds=1.23456).row()

    assert row["seconds"] == 1.235
    assert row["docs_per_s"] == 2.4
    assert row["window"] == W1


def summary(*windows, failed=(), seconds=10.0) -> RunSummary:
    return RunSummary(
        job="unit",
        start="2024-01-01",
        end="2024-01-04",
        mode="bulk",
        windows=list(windows),
        dead_letter_file="dead-letters/unit.jsonl",
        seconds=seconds,
        failed=list(failed),
    )


def test_totals_ignore_windows_done_before():
    run = summary(
        WindowReport(W1, rows=100, acked=100, retries=4, skipped=True),
        WindowReport(W2, rows=10, acked=8, dead=1, duplicates=1, retries=3),
        WindowReport(W3, rows=5, acked=5),
    )

    assert [run.total(n) for n in ("rows", "acked", "dead", "duplicates", "retries")] == [
        15,
        13,
        1,
        1,
        3,
    ]
    assert run.docs_per_second == 1.3


@pytest.mark.parametrize(
    ("windows", "failed", "ok"),
    [
        ([WindowReport(W1, rows=5, acked=5)], [], True),
        ([], [], True),
        ([WindowReport(W1, rows=5, acked=4, dead=1)], [], False),
        ([WindowReport(W1, rows=5, acked=5)], [f"window {W2}: source lost"], False),
        # Dead letters from a window done before are not this run's.
        ([WindowReport(W1, rows=5, acked=4, dead=1, skipped=True)], [], True),
    ],
)
def test_ok_is_false_with_dead_letters_or_failures(windows, failed, ok):
    assert summary(*windows, failed=failed).ok is ok


def test_ok_is_false_after_a_fatal_error():
    run = summary(WindowReport(W1, rows=5, acked=5))
    run.fatal = "target refused the API key (HTTP 401)"

    assert run.ok is False


def test_summarise_takes_the_range_from_the_windows_and_failures_from_the_reports(tmp_path):
    job = Job(
        name="unit",
        source=Source(db=DbParams(dbtype="SQLITE", filename=str(tmp_path / "s.sqlite"))),
        sql="SELECT * FROM t WHERE at >= :start AND at < :end",
        id="id",
        target=Target(url="http://127.0.0.1:9200", index="readings", mode="item"),
    )
    windows = split(date(2024, 1, 1), date(2024, 1, 4))
    reports = [
        WindowReport(W1, rows=5, acked=5),
        WindowReport(W2, error="source lost"),
        WindowReport(W3, rows=3, acked=1, dead=2, error="2 dead letters"),
    ]

    run = summarise(job, windows, reports, "", 3.5, "dl/unit.jsonl")

    assert (run.job, run.mode, run.start, run.end) == (
        "unit",
        "item",
        "2024-01-01T00:00:00Z",
        "2024-01-04T00:00:00Z",
    )
    assert run.failed == [f"{W2}: source lost", f"{W3}: 2 dead letters"]
    assert (run.fatal, run.seconds, run.dead_letter_file) == ("", 3.5, "dl/unit.jsonl")
    assert run.windows is reports
    assert run.ok is False


def test_markdown_has_one_table_row_per_window():
    run = summary(
        WindowReport(W1, rows=100, acked=100, skipped=True),
        WindowReport(W2, rows=10, acked=8, dead=2, retries=3, seconds=2.0),
        WindowReport(W3, rows=5, acked=5, seconds=0.5, error=" slow"),
        failed=["boom"],
    )

    text = run.markdown()

    table = [line for line in text.splitlines() if line.startswith("| 20")]
    assert table == [
        f"| {W1} | 100 | 100 | 0 | 0 | 0 | 0 | 0 | 0.00 | 0 | done before, skipped |",
        f"| {W2} | 10 | 8 | 0 | 2 | 0 | 0 | 3 | 2.00 | 4 |  |",
        f"| {W3} | 5 | 5 | 0 | 0 | 0 | 0 | 0 | 0.50 | 10 |  slow |",
    ]
    head = (
        "| window | rows | acked | already present | dead letters | duplicates | deleted "
        "| retries | seconds | docs/s | note |"
    )
    assert head in text.splitlines()
    assert text.startswith("```\njob          unit (bulk mode)\n")


def test_summary_lines_report_totals_and_the_dead_letter_file():
    run = summary(
        WindowReport(W1, rows=100, acked=100, skipped=True),
        WindowReport(W2, rows=10, acked=8, dead=2, seconds=2.0),
        failed=[f"window {W3}: source lost"],
        seconds=4.0,
    )

    assert run.lines() == [
        "job          unit (bulk mode)",
        "range        [2024-01-01, 2024-01-04)",
        "windows      2 (1 done before, skipped; 1 failed)",
        "rows read    10",
        "acknowledged 8 documents in 0 requests, 0 bytes",
        "dead letters 2  -> dead-letters/unit.jsonl",
        "duplicates   0 (same id twice in a chunk; last one sent)",
        "retries      0 (failed or busy requests)",
        "time         4.0 s, 2 docs/s",
        f"failed       window {W3}: source lost",
    ]
    assert run.headline() == "10 rows read, 8 acknowledged, 2 dead letters in 4.0 s (2 docs/s)"


def test_a_dry_run_says_so_and_a_clean_run_names_no_file():
    run = summary(WindowReport(W1, rows=1, acked=1))
    run.dry_run = True

    lines = run.lines()

    assert lines[0] == "job          unit (bulk mode)  DRY RUN: nothing sent"
    assert "windows      1 (none done before; 0 failed)" in lines
    assert "dead letters 0" in lines


@pytest.mark.parametrize(
    ("proves", "proof", "proven", "line"),
    [
        (
            True,
            "every acknowledged id read back with GET /{index}/{id}",
            13,
            "proof        13 of 13 documents read back (every acknowledged id read back with "
            "GET /{index}/{id})",
        ),
        (
            True,
            "every acknowledged id read back with GET /{index}/{id}",
            5,
            "proof        5 of 13 documents read back (every acknowledged id read back with "
            "GET /{index}/{id}); 8 on the target's word (see the log)",
        ),
        (
            False,
            "no target.prove_path is set",
            0,
            "proof        none: the target's word for 13 documents (no target.prove_path is set)",
        ),
    ],
    ids=["all-proven", "part-unaskable", "none"],
)
def test_the_summary_says_what_was_proven_or_whose_word_it_took(proves, proof, proven, line):
    run = summary(
        WindowReport(W1, rows=100, acked=100, proven=100, skipped=True),
        WindowReport(W2, rows=8, acked=8, proven=min(proven, 8)),
        WindowReport(W3, rows=5, acked=5, proven=max(0, proven - 8)),
    )
    run.proves, run.proof = proves, proof

    assert [text for text in run.lines() if text.startswith("proof")] == [line]
    run.dry_run = True
    assert not [text for text in run.lines() if text.startswith("proof")], (
        "a dry run proves nothing"
    )


def test_a_dry_run_says_would_send_never_acked_and_counts_no_retries():
    window = WindowReport(W1, rows=3, acked=3, requests=1, bytes=10, dry_run=True)
    run = summary(window)
    run.dry_run = True

    assert "would send   3 documents in 1 requests, 10 bytes" in run.lines()
    assert not [line for line in run.lines() if line.startswith("retries")]
    assert window.line() == f"window {W1}: 3 rows, would send 3, 0 dead letters, 0.00 s"
    assert "acked" not in window.line()
    assert "would_send" in window.row() and "acked" not in window.row()
    assert "| window | rows | would send |" in run.markdown()


def test_retries_of_the_whole_run_count_a_send_that_stopped_it():
    run = summary(WindowReport(W1, rows=10, acked=10, retries=2))

    assert "retries      2 (failed or busy requests)" in run.lines()
    run.retried = 12  # the sink's own count: the windows' reports miss the send that raised
    assert "retries      12 (failed or busy requests)" in run.lines()


def test_the_summary_names_the_top_reasons_under_the_dead_letters(tmp_path):
    from db2api.records.deadletters import DeadLetter, DeadLetterFile
    from db2api.scrub import Scrubber

    path = tmp_path / "unit.jsonl"
    letters = DeadLetterFile(path, "unit", Scrubber())
    key_error = DeadLetter("r", {}, None, "KeyError", "transform raised KeyError('depth')")
    refused = DeadLetter("s", {}, 400, "HTTP 400", "mapper_parsing_exception: bad id '7'")
    other = DeadLetter("t", {}, 422, "HTTP 422", "HTTP 422: no")
    tiny = DeadLetter("u", {}, 409, "HTTP 409", "conflict")
    letters.write(W1, [key_error, key_error, key_error, refused, refused, other, tiny])
    letters.close()
    job = Job(
        name="unit",
        source=Source(db=DbParams(dbtype="SQLITE", filename="x.sqlite")),
        sql="SELECT * FROM t WHERE t >= :start AND t < :end",
        id="id",
        target=Target(url="http://127.0.0.1:9200", index="i"),
    )
    windows = split(date(2024, 1, 1), date(2024, 1, 2), job.window_length, "UTC")
    report = WindowReport(W1, rows=7, dead=7)

    run = summarise(job, windows, [report], None, 1.0, str(path))

    assert run.reasons == [
        "3 x KeyError: transform raised KeyError('depth')",
        "2 x HTTP 400: mapper_parsing_exception: bad id '…'",
        "1 x HTTP 422: no",
    ]
    lines = run.lines()
    at = lines.index(f"dead letters 7  -> {path}")
    assert lines[at + 1 : at + 4] == [f"  reason     {reason}" for reason in run.reasons]
    assert "  reason     3 x KeyError: transform raised KeyError('depth')" in run.markdown()
    clean = summarise(job, windows, [WindowReport(W1, rows=1, acked=1)], None, 1.0, str(path))
    assert clean.reasons == []


def test_the_progress_artifact_of_a_dry_run_says_would_be_sent():
    from tasks.artifacts import final_counts

    run = summary(WindowReport(W1, rows=3, acked=3, dry_run=True))
    assert final_counts(run).endswith("3 rows read, 3 acknowledged, 0 dead letters")
    run.dry_run = True
    assert final_counts(run).endswith("3 rows read, 3 would be sent, 0 dead letters")


class Lines:
    """A logger that keeps its INFO lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, line: str) -> None:
        self.lines.append(line)


def test_the_eta_is_the_pace_so_far_times_the_windows_left():
    assert eta(elapsed=10.0, done=5, total=15) == 20.0
    assert eta(elapsed=3.0, done=4, total=4) == 0.0
    assert math.isnan(eta(elapsed=1.0, done=0, total=4)), "no pace before the first window"


def test_progress_lines_count_windows_and_rows_and_the_last_says_all_done():
    logger = Lines()
    progress = Progress(total=3, artifact=None, logger=logger)
    progress.interval = 3600.0  # only the first, a failure and the last are logged

    progress.update(WindowReport("w1", rows=100))
    progress.update(WindowReport("w2", rows=20))
    progress.update(WindowReport("w3", rows=5))

    first, last = logger.lines
    assert first.startswith("[1/3 windows, 100 rows, ETA ")
    assert last.startswith("[3/3 windows, 125 rows, all done in ")
    assert "ETA" not in last, "nothing is left for the windows: no ETA of 0 s before a long step"


async def test_a_long_step_is_announced_and_keeps_saying_it_still_runs():
    said: list[str] = []
    two_reminders = asyncio.Event()

    def say(line: str) -> None:
        said.append(line)
        if sum(line.startswith("still ") for line in said) == 2:
            two_reminders.set()

    async def step() -> str:
        await two_reminders.wait()
        return "ledger"

    # The bound only keeps a broken reminder from hanging the suite.
    what = "recording 7 windows in the ledger"
    result = await asyncio.wait_for(announce(what, step(), say, every=0.01), 30)

    assert result == "ledger"
    assert said[0] == "recording 7 windows in the ledger…"
    assert said[1].startswith("still recording 7 windows in the ledger (")
    assert said[2].startswith("still recording 7 windows in the ledger (")
    assert said[-1].startswith("done recording 7 windows in the ledger in ")
    assert len(said) == 4, "no reminder after the step ended"


W = "2024-01-01T00:00:00Z/2024-01-02T00:00:00Z"


def deletion_summary(*windows, dry_run=False):
    return RunSummary(
        "unit",
        "2024-01-01",
        "2024-01-03",
        "bulk",
        list(windows),
        dead_letter_file="dl/unit/t_x.jsonl",
        reconcile=True,
        dry_run=dry_run,
    )


def test_the_summary_says_how_many_were_deleted_and_where_they_were_written():
    run = deletion_summary(WindowReport(W, rows=5, acked=5, deleted=2), WindowReport(W, deleted=1))
    assert (
        "deleted      3 documents the source no longer returns  -> dl/unit/t_x.deleted.jsonl"
        in (run.lines())
    )
    assert deletion_summary(WindowReport(W), dry_run=True).lines()[6] == (
        "would delete 0 documents the source no longer returns"
    )
    assert WindowReport(W, rows=5, acked=5, deleted=2).row()["deleted"] == 2
