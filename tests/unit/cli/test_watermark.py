"""`db2api watermark` prints the watermark, what was delivered, the gaps, and one line per
target, marking the one the job sends to now."""

from __future__ import annotations

from datetime import UTC, datetime

from db2api.cli.watermark import target_lines, watermark_lines
from db2api.job import Env, Target
from db2api.records.ledger import Ledger, delivery_key
from db2api.records.windows import Window
from tests.support.jobs import unit_job

URL = "http://127.0.0.1:9200"


def day(n: int) -> datetime:
    return datetime(2024, 1, n, tzinfo=UTC)


def test_the_current_target_is_marked_now_and_the_most_recent_comes_first() -> None:
    job = unit_job(first_start="2024-01-01")
    ledger = Ledger()
    ledger.record("old", [Window(day(1), day(2))], "http://old:9200 bulk index i")
    now = delivery_key(job.fingerprint, URL)
    ledger.record(now, [Window(day(1), day(3)), Window(day(4), day(5))], "here")

    assert target_lines(job, ledger, 12) == [
        "target       here (now): watermark 2024-01-03T00:00:00Z, "
        "gaps [2024-01-03T00:00:00Z, 2024-01-04T00:00:00Z)",
        "target       http://old:9200 bulk index i: watermark 2024-01-02T00:00:00Z, gaps none",
    ]


def test_a_target_nothing_was_delivered_to_says_so() -> None:
    job = unit_job()

    assert target_lines(job, Ledger(), 12) == [
        f"target       {URL} bulk index i (now): nothing delivered yet"
    ]


def test_a_target_url_not_set_here_marks_no_target_as_now(monkeypatch) -> None:
    monkeypatch.delenv("UNSET_TARGET_URL", raising=False)
    job = unit_job(target=Target(url=Env("UNSET_TARGET_URL"), index="i"))
    ledger = Ledger()
    ledger.record("k", [Window(day(1), day(2))], "elsewhere")

    assert target_lines(job, ledger, 12) == [
        "target       elsewhere: watermark 2024-01-02T00:00:00Z, gaps none"
    ]


def test_the_watermark_lines_name_the_job_and_where_the_watermark_counts_from() -> None:
    lines = watermark_lines(unit_job(first_start="2024-01-01"), Ledger())

    assert lines[0] == "job          unit"
    assert lines[1] == (
        "watermark    none (delivered without a gap from first_start 2024-01-01T00:00:00Z)"
    )
    assert lines[2].startswith("delivered    ")
    assert lines[3].startswith("gaps         ")


def test_windows_only_the_journal_knows_are_counted_and_said(tmp_path) -> None:
    from db2api.records.journal import Entry, Journal, fold_journal

    job = unit_job(first_start="2024-01-01")
    now = delivery_key(job.fingerprint, URL)
    ledger = Ledger()
    ledger.record(now, [Window(day(1), day(2))], "here")
    killed = Journal(tmp_path / "_journal")
    killed.append(Entry(now, Window(day(2), day(3)), "here"))
    killed.close(recorded=False)  # delivered, then the run died before recording it

    lines = watermark_lines(job, ledger, journalled=fold_journal(ledger, tmp_path / "_journal"))

    assert lines[1].startswith("watermark    2024-01-03T00:00:00Z")  # what the next run skips
    assert lines[-1].startswith("journal      1 delivered window journalled in ")
    assert "journal" not in " ".join(watermark_lines(job, Ledger()))
