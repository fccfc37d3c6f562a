"""The ledger's journal: delivered windows written down at once, read and folded by the next run.

Each ``Journal`` object stands for one run; two in one process hold separate file
descriptions, so their ``flock`` locks exclude each other as two processes' do.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from db2api.records.journal import Entry, Journal, decode, encode, fold, fold_journal, peek
from db2api.records.ledger import Ledger
from db2api.records.windows import Window

DAY = timedelta(days=1)


def day(number: int) -> Window:
    start = datetime(2024, 1, 1, tzinfo=UTC) + number * DAY
    return Window(start, start + DAY)


def entry(number: int, key: str = "key-a") -> Entry:
    return Entry(key, day(number), f"target of {key}")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "dead-letters" / "job" / "_journal"


def test_a_line_reads_back_as_the_entry_it_was() -> None:
    assert decode(encode(entry(3))) == entry(3)


KILLED_RUN = """
import os, signal, sys
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from db2api.records.journal import Entry, Journal
from db2api.records.windows import Window

journal = Journal(Path(sys.argv[1]))
for number, key in [(0, "key-a"), (1, "key-a"), (2, "key-a"), (7, "key-b")]:
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=number)
    journal.append(Entry(key, Window(start, start + timedelta(days=1)), f"target of {key}"))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_windows_of_a_killed_run_are_read_claimed_and_folded_under_their_keys(
    folder: Path,
) -> None:
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(folder)], check=False)
    assert killed.returncode == -signal.SIGKILL

    nxt = Journal(folder)
    read = nxt.read()

    assert read == [entry(0), entry(1), entry(2), entry(7, key="key-b")]
    assert nxt.claimed == read, "the run that wrote it died: this one folds it"
    ledger = Ledger()
    fold(ledger, nxt.claimed)
    assert ledger.is_delivered("key-a", day(2)) and not ledger.is_delivered("key-a", day(7))
    assert ledger.is_delivered("key-b", day(7))
    assert ledger.labels == {"key-a": "target of key-a", "key-b": "target of key-b"}
    assert list(ledger.by_key)[-1] == "key-b", "folded in the order they were journalled"

    nxt.forget_claimed()
    assert list(folder.glob("*.jsonl")) == []
    assert Journal(folder).read() == []


def test_a_torn_last_line_is_skipped_and_the_lines_before_it_kept(folder: Path) -> None:
    folder.mkdir(parents=True)
    whole = encode(entry(0)) + encode(entry(1))
    (folder / "20240101T000000-1-dead.jsonl").write_bytes(whole + encode(entry(2))[:30])

    assert Journal(folder).read() == [entry(0), entry(1)]


def test_a_damaged_line_costs_only_its_own_window(folder: Path) -> None:
    folder.mkdir(parents=True)
    lines = encode(entry(0)) + b'{"key": "key-a", "window": "not a window"}\n' + encode(entry(2))
    (folder / "20240101T000000-1-dead.jsonl").write_bytes(lines)

    assert Journal(folder).read() == [entry(0), entry(2)]


def test_a_live_runs_windows_are_read_but_left_to_it(folder: Path) -> None:
    live = Journal(folder)
    live.append(entry(0))

    other = Journal(folder)
    assert other.read() == [entry(0)], "delivered: skipped by the other run too"
    assert other.claimed == []
    other.forget_claimed()
    assert live.path is not None and live.path.exists(), "never removed while its run lives"

    live.append(entry(1))  # still writable: the other run took nothing from it
    assert live.close(recorded=False) == live_path(folder)
    later = Journal(folder)
    assert later.read() == [entry(0), entry(1)] and later.claimed == [entry(0), entry(1)]


def live_path(folder: Path) -> Path:
    [path] = folder.glob("*.jsonl")
    return path


def test_a_run_whose_windows_were_all_recorded_leaves_nothing_behind(tmp_path: Path) -> None:
    letters = tmp_path / "dead-letters"
    journal = Journal(letters / "job" / "_journal")
    journal.append(entry(0))
    assert (letters / "job" / "_journal").is_dir()

    assert journal.close(recorded=True) is None
    assert not letters.exists(), "the folders made for the journal go with it"


def test_a_folder_in_use_by_another_run_stays(folder: Path) -> None:
    first, second = Journal(folder), Journal(folder)
    first.append(entry(0))
    second.append(entry(1))

    first.close(recorded=True)

    assert folder.is_dir() and second.path is not None and second.path.exists()
    assert Journal(folder).read() == [entry(1)]


def test_windows_not_recorded_stay_for_the_next_run(folder: Path) -> None:
    run = Journal(folder)
    run.append(entry(0))
    kept = run.close(recorded=False)

    assert kept is not None and kept.exists()
    assert Journal(folder).read() == [entry(0)]


def test_claimed_files_a_failed_change_could_not_fold_are_claimed_again(folder: Path) -> None:
    ended = Journal(folder)
    ended.append(entry(0))
    ended.close(recorded=False)
    run = Journal(folder)
    run.read()
    probe = Journal(folder)
    assert probe.read() == [entry(0)] and probe.claimed == [], "claimed: locked by that run"

    run.close(recorded=True)  # its ledger change failed: it never forgot them

    again = Journal(folder)
    again.read()
    assert again.claimed == [entry(0)]


def test_clear_forgets_ended_runs_and_leaves_live_ones(folder: Path) -> None:
    ended = Journal(folder)
    ended.append(entry(0))
    ended.close(recorded=False)
    live = Journal(folder)
    live.append(entry(5))

    assert Journal(folder).clear() == 1
    assert Journal(folder).read() == [entry(5)]


def test_a_report_sees_every_journalled_window_and_takes_no_file(folder: Path) -> None:
    live, ended = Journal(folder), Journal(folder)
    ended.append(entry(0))
    ended.append(entry(1))
    ended.close(recorded=False)  # its run ended before the ledger recorded them
    live.append(entry(2, "key-b"))
    with (folder / "torn.jsonl").open("wb") as torn:
        torn.write(encode(entry(3))[:-5])  # a write cut short: skipped

    ledger = Ledger()
    ledger.record("key-a", [day(1), day(5)], "target of key-a")  # day 1: recorded already
    said = fold_journal(ledger, folder)

    assert said.startswith(f"2 delivered windows journalled in {folder} and not yet in the ledger")
    assert "the next run of the job on this machine records them" in said
    assert ledger.is_delivered("key-a", day(0)) and ledger.is_delivered("key-a", day(1))
    assert ledger.is_delivered("key-b", day(2)) and not ledger.is_delivered("key-a", day(3))
    assert sorted(e.window for e in peek(folder)) == [day(0), day(1), day(2)]
    next_run = Journal(folder)  # the report claimed nothing: the next run still folds them
    assert sorted(e.window for e in next_run.read()) == [day(0), day(1), day(2)]
    assert [e.window for e in next_run.claimed] == [day(0), day(1)]  # the live one stays its own
    next_run.close(recorded=True)
    live.close(recorded=True)


def test_a_report_without_a_journal_folds_nothing_and_says_nothing(folder: Path) -> None:
    ledger = Ledger()
    assert fold_journal(ledger, folder) == "" and ledger.counted() == []
