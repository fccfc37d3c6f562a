"""Whole runs against refusals: who is to blame decides between a dead letter and a stop.

A document the target refused is a dead letter; an answer out of protocol, a
request the target refuses for itself, or a folder the letters cannot go to, stops
the run with one line and nothing dead-lettered. Scripted answers are real shapes
(``tests/support/real_answers.py``); mapping refusals come from the real receiver.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from db2api.cli import EXIT_FAILED, exit_status
from db2api.errors import OutputError
from db2api.job import Job
from db2api.receiver import ReceiverProcess
from db2api.records.deadletters import iter_dead_letters
from db2api.run.report import RunSummary
from db2api.run.window import transfer_range
from tests.support import real_answers as real
from tests.support.jobs import sqlite_job, with_target
from tests.support.real_answers import Answer
from tests.support.scripted import ScriptedTarget, Seen

DAY = ("2024-01-01", "2024-01-02")
TWO_DAYS = ("2024-01-01", "2024-01-03")


def readings(path: Path, rows: int, bad: Callable[[int], bool], day: int = 1) -> Path:
    """``rows`` readings on 2024-01-<day>, ``quality`` 'bad' where ``bad(i)``: the refused ones."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS readings (reading_id INTEGER PRIMARY KEY, sensor_id TEXT,"
            " borehole TEXT, measured_at TEXT, depth_m REAL, value REAL, unit TEXT, quality TEXT)"
        )
        start = datetime(2024, 1, day)
        quality = lambda i: "bad" if bad(i) else "good"  # noqa: E731
        first = conn.execute("SELECT coalesce(max(reading_id), 0) FROM readings").fetchone()[0]
        conn.executemany(
            "INSERT INTO readings VALUES (?, 'S001', 'BH-01', ?, 1.0, ?, 'degC', ?)",
            [
                (first + i + 1, str(start + timedelta(seconds=17 * i)), float(i), quality(i))
                for i in range(rows)
            ],
        )
    return path


def letters(folder: Path) -> list[dict]:
    return [line for path in sorted(folder.rglob("*.jsonl")) for line in iter_dead_letters(path)]


def echo(seen: Seen, refuse: Callable[[bytes], bool] = lambda _: False) -> Answer:
    """A real created item per document sent; a mapping refusal where ``refuse(source)``."""
    sources = seen.body.split(b"\n")[1::2]
    items = []
    for (action, doc_id), source in zip(seen.bulk_sent, sources, strict=True):
        item = real.MAPPER_PARSING_ITEM if refuse(source) else real.INDEX_CREATED_ITEM_ES8
        ((_, inner),) = item.items()
        items.append({action: {**inner, "_id": doc_id}})
    errors = any("error" in next(iter(i.values())) for i in items)
    body = json.dumps({"took": 3, "errors": errors, "items": items}).encode()
    return Answer(200, {"content-type": real.JSON}, body, "", "")


def scripted_job(source: Path, url: str, mode: str = "bulk") -> Job:
    job = sqlite_job(str(source), url, mode, windows_in_flight=1, concurrency=1)
    return with_target(job, bulk_docs=1000, prove=False)


async def scripted_run(
    respond: Callable[[int, Seen], Answer], source: Path, mode: str = "bulk"
) -> tuple[RunSummary, list[Seen]]:
    async with ScriptedTarget(respond) as server:
        summary = await transfer_range(scripted_job(source, server.url, mode), *DAY)
    return summary, server.seen


def short(_n: int, seen: Seen) -> Answer:
    answer = json.loads(echo(seen).body)
    answer["items"].pop(3)
    return Answer(200, {"content-type": real.JSON}, json.dumps(answer).encode(), "", "")


def long(_n: int, seen: Seen) -> Answer:
    answer = json.loads(echo(seen).body)
    answer["items"].append(answer["items"][0])
    return Answer(200, {"content-type": real.JSON}, json.dumps(answer).encode(), "", "")


def foreign(_n: int, seen: Seen) -> Answer:
    answer = json.loads(echo(seen).body)
    answer["items"][5]["index"]["_id"] = "not-sent"
    return Answer(200, {"content-type": real.JSON}, json.dumps(answer).encode(), "", "")


@pytest.mark.parametrize(
    ("respond", "said"),
    [
        (short, "sent 40 index actions, the answer has 39 items; no item for id 4"),
        (long, "sent 40 index actions, the answer has 41 items; items not sent: 1"),
        (foreign, "the answer has 40 items; no item for id 6; items not sent: not-sent"),
    ],
    ids=["short", "long", "foreign id"],
)
async def test_an_answer_that_does_not_pair_up_stops_the_run_with_nothing_dead_lettered(
    tmp_path: Path, dead_letter_dir: Path, respond: Callable, said: str
) -> None:
    source = readings(tmp_path / "src.sqlite", 40, lambda i: i == 3)

    summary, seen = await scripted_run(respond, source)

    assert len(seen) == 1
    assert said in summary.fatal and "\n" not in summary.fatal
    assert "answers _bulk out of protocol; nothing was dead-lettered" in summary.fatal
    assert summary.total("dead") == 0 and letters(dead_letter_dir) == []
    assert exit_status(summary) == EXIT_FAILED


@pytest.mark.parametrize(
    "answer",
    [
        real.CONTENT_TYPE_406_ES6,
        real.MEDIA_TYPE_HEADER_400_ES9,
        real.PARSE_EXCEPTION_400,
        real.UNRECOGNIZED_PARAMETER_400,
    ],
    ids=["406 content-type", "400 media_type_header", "400 parse_exception", "400 parameter"],
)
async def test_a_refusal_of_the_request_itself_dead_letters_nothing_in_at_most_3_requests(
    tmp_path: Path, dead_letter_dir: Path, answer: Answer
) -> None:
    source = readings(tmp_path / "src.sqlite", 40, lambda i: False)

    summary, seen = await scripted_run(lambda n, s: answer, source)

    assert len(seen) <= 3
    assert summary.fatal.startswith(f"HTTP {answer.status} from POST http://127.0.0.1:")
    assert summary.fatal.endswith("nothing was dead-lettered, the window runs again next time")
    assert summary.total("dead") == 0 and letters(dead_letter_dir) == []


async def test_3000_consecutive_mapping_refusals_are_dead_letters_not_an_index_problem(
    tmp_path: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    """Rows 1,000-3,999 fill six 500-document batches that fail whole: still their own fault."""
    source = readings(tmp_path / "src.sqlite", 5000, lambda i: 1000 <= i < 4000)
    target.set_faults(reject_field="quality", reject_value="bad")

    summary = await transfer_range(sqlite_job(str(source), target.url), *DAY)

    assert summary.fatal == "" and summary.failed == []
    assert (summary.total("acked"), summary.total("dead")) == (2000, 3000)
    assert set(target.ids("readings")) == {str(i + 1) for i in range(5000) if not 1000 <= i < 4000}
    written = letters(dead_letter_dir)
    assert sorted(int(letter["id"]) for letter in written) == list(range(1001, 4001))
    assert {letter["reason"].split(":")[0] for letter in written} == {"mapper_parsing_exception"}


async def test_max_dead_fraction_stops_the_run_after_the_window_and_keeps_its_letters(
    tmp_path: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    source = readings(tmp_path / "src.sqlite", 1000, lambda i: i % 5 == 0)  # 20 % refused
    readings(source, 100, lambda i: False, day=2)
    target.set_faults(reject_field="quality", reject_value="bad")
    job = sqlite_job(str(source), target.url, windows_in_flight=1, max_dead_fraction=0.1)

    summary = await transfer_range(job, *TWO_DAYS)

    first, second = summary.windows
    assert (first.rows, first.acked, first.dead) == (1000, 800, 200)
    assert first.error.startswith("TooManyDeadLetters: window 2024-01-01T00:00:00Z/")
    assert second.error == "not run: the run stopped"
    assert (
        "200 of 1000 rows were dead-lettered (20%), more than the job's max_dead_fraction 0.1"
        in summary.fatal
    )
    assert summary.fatal.endswith("(or raise max_dead_fraction) and run again")
    assert len(letters(dead_letter_dir)) == 200
    assert len(target.ids("readings")) == 800
    assert exit_status(summary) == EXIT_FAILED


async def test_under_max_dead_fraction_the_run_goes_on(
    tmp_path: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    source = readings(tmp_path / "src.sqlite", 1000, lambda i: i % 20 == 0)  # 5 % refused
    readings(source, 100, lambda i: False, day=2)
    target.set_faults(reject_field="quality", reject_value="bad")
    job = sqlite_job(str(source), target.url, windows_in_flight=1, max_dead_fraction=0.1)

    summary = await transfer_range(job, *TWO_DAYS)

    assert summary.fatal == ""
    assert [(r.acked, r.dead) for r in summary.windows] == [(950, 50), (100, 0)]


@contextmanager
def immutable(folder: Path) -> Iterator[None]:
    """``chattr +i``: root ignores a folder's mode, not this flag."""
    subprocess.run(["chattr", "+i", str(folder)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


async def test_an_unwritable_dead_letter_folder_stops_before_the_first_request(
    tmp_path: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    source = readings(tmp_path / "src.sqlite", 40, lambda i: i < 2)
    dead_letter_dir.mkdir()

    with immutable(dead_letter_dir), pytest.raises(OutputError) as caught:
        await transfer_range(sqlite_job(str(source), target.url), *DAY)

    assert target.stats()["requests"] == 0
    assert caught.value.message == (
        f"dead-letter folder {dead_letter_dir / 'test-sqlite'} cannot be written (Operation "
        "not permitted): make it writable for this user, or set DB2API_DEAD_LETTER_DIR (or "
        "the job's dead_letter_dir) to a folder that is; nothing was sent"
    )


async def test_a_clean_run_leaves_no_dead_letter_folder_behind(
    tmp_path: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    source = readings(tmp_path / "src.sqlite", 40, lambda i: False)

    summary = await transfer_range(sqlite_job(str(source), target.url), *DAY)

    assert summary.ok and not dead_letter_dir.exists()


async def test_acknowledged_documents_are_counted_when_the_letters_cannot_be_written(
    tmp_path: Path, dead_letter_dir: Path
) -> None:
    """The folder turns read-only after the preflight: 38 of 40 were delivered all the same."""
    source = readings(tmp_path / "src.sqlite", 40, lambda i: i < 2)
    dead_letter_dir.mkdir()
    locked: list[bool] = []

    def respond(_n: int, seen: Seen) -> Answer:
        if not locked:
            subprocess.run(["chattr", "+i", str(dead_letter_dir)], check=True)
            locked.append(True)
        return echo(seen, lambda body: b'"quality":"bad"' in body)

    try:
        summary, seen = await scripted_run(respond, source)
    finally:
        if locked:
            subprocess.run(["chattr", "-i", str(dead_letter_dir)], check=True)

    assert len(seen) == 1
    assert summary.total("acked") == 38
    assert "acknowledged 38 documents in 1 requests" in "\n".join(summary.lines())
    assert "OutputError: dead-letter folder" in summary.windows[0].error
    assert "; the run stopped" in summary.fatal


async def test_a_batch_api_refusing_the_request_itself_stops_without_splitting(
    tmp_path: Path, dead_letter_dir: Path
) -> None:
    source = readings(tmp_path / "src.sqlite", 40, lambda i: False)
    refused = Answer(415, {"content-type": "application/json"}, b'{"error":"nope"}', "", "")

    summary, seen = await scripted_run(lambda n, s: refused, source, "batch")

    assert len(seen) == 1
    assert summary.fatal.startswith("HTTP 415 from POST http://127.0.0.1:")  # batch: POST
    assert "refuses the request's Content-Type or Accept header" in summary.fatal
    assert letters(dead_letter_dir) == []
