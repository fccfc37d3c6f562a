"""R2: SIGKILL the flow's process mid-run, run the same range again.

For real: `db2api run` in its own process against a `prefect server start` this
test owns, a job file found through DB2API_JOBS_PATH, and the receiver slowed down
so a window takes a few seconds. Windows run one at a time, so the receiver's
count says exactly how far the killed run got: a window's documents only start
arriving once the window before it has completed (and been journalled).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from db2api.orchestration.prefect_server import server_process
from db2api.receiver import ReceiverProcess
from tests.support.readings import PG_PASSWORD_ENV
from tests.support.reliability import PER_DAY, SQL, source_ids, wait_idle

pytestmark = pytest.mark.reliability
JOB = "rel-crash"
BIN = Path(sys.executable).parent
JOB_FILE = '''
from etlhelper import DbParams
from db2api.job import Job, Source, Target
from db2api.transport.retry import RetryPolicy
from tests.support.jobs import to_document

job = Job(
    name={name!r},
    source=Source(db=DbParams(dbtype="PG", **{params!r}), password_env={password_env!r}),
    sql="""{sql}""",
    id="reading_id",
    transform=to_document,
    target=Target(url={url!r}, index="readings", mode="bulk", bulk_docs=500, timeout=10),
    window="1d",
    chunk_size=2000,
    concurrency=2,
    windows_in_flight=1,
    retry=RetryPolicy(give_up_after=60, base_delay=0.02, max_delay=0.5),
    date_field="measured_at",
)
'''


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("rel-prefect")
    with server_process(home) as url:
        yield url, home


def start_run(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(BIN / "db2api"), "run", JOB, "--start", "2024-01-01", "--end", "2024-01-07"],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def window_of(doc_id: str) -> int:
    """Reading ids grow with time, 8,640 a day: the 0-based day (window) of an id."""
    return (int(doc_id) - 1) // PER_DAY


async def window_states(url: str) -> list[tuple[datetime, Counter[str]]]:
    """Per flow run (oldest first): the state names of its window task runs."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        async with get_client() as client:
            runs = await client.read_flow_runs()
            out = []
            for run in sorted(runs, key=lambda r: r.created or datetime.now(UTC)):
                tasks = await client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
                )
                states = Counter(
                    t.state.name if t.state else "?" for t in tasks if t.name.startswith("window")
                )
                out.append((run.created, states))
            return out


async def watermark(url: str) -> datetime | None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from db2api.orchestration.ledger_store import read_ledger

    with temporary_settings(updates={PREFECT_API_URL: url}):
        return (await read_ledger(JOB)).watermark(None)  # the job has no first_start


@pytest.mark.timeout(150)
async def test_a_killed_run_resumes_skipping_done_windows_and_redoing_the_interrupted_one(
    reliability_source: dict[str, Any],
    rx: ReceiverProcess,
    prefect_server: tuple[str, Path],
    tmp_path: Path,
) -> None:
    url, home = prefect_server
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / f"{JOB}.py").write_text(
        JOB_FILE.format(
            name=JOB, params=reliability_source, password_env=PG_PASSWORD_ENV, sql=SQL, url=rx.url
        )
    )
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PREFECT_API_URL": url,
        "PREFECT_HOME": str(home),
        "PREFECT_LOCAL_STORAGE_PATH": str(home / "storage"),
        "DB2API_JOBS_PATH": str(jobs),
        "DB2API_DEAD_LETTER_DIR": str(tmp_path / "dead-letters"),
        "PYTHONPATH": str(root),  # the job file imports tests.support.jobs
    }
    source = source_ids(reliability_source)
    rx.set_faults(latency_ms=300)  # 18 batches x 300 ms / 2 in flight: ~3 s a window
    log = tmp_path / "run.log"

    first = start_run(env, tmp_path, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            held = rx.count("readings")
            # Two windows done and the third about a third of the way through.
            if held >= 2 * PER_DAY and 2500 <= held % PER_DAY <= 6000:
                break
            assert first.poll() is None, f"the run ended before it was killed:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no progress:\n{log.read_text()}"
            time.sleep(0.05)
        kill(first)
    finally:
        kill(first)
    assert first.returncode == -signal.SIGKILL
    wait_idle(rx)
    at_kill = rx.ids("readings")
    done = len(at_kill) // PER_DAY  # windows completed before the kill
    interrupted = Counter(window_of(i) for i in at_kill)[done]
    assert 2 <= done < 6 and 0 < interrupted < PER_DAY
    assert set(at_kill.values()) == {1}
    moved = await watermark(url)
    # Delivered windows are recorded in batches: at most the windows that completed.
    assert moved is None or moved <= datetime(2024, 1, 1 + done, tzinfo=UTC)
    # ... and each was journalled on this machine before the next one started.
    journal = tmp_path / "dead-letters" / JOB / "_journal"
    assert sum(len(f.read_bytes().splitlines()) for f in journal.glob("*.jsonl")) == done
    # `db2api watermark` counts them as the next run will, and says where they are.
    shown = subprocess.run(
        [str(BIN / "db2api"), "watermark", JOB], env=env, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert f"watermark    2024-01-0{1 + done}T00:00:00Z" in shown.stdout
    if moved != datetime(2024, 1, 1 + done, tzinfo=UTC):  # some only the journal knows
        assert f"journalled in {journal} and not yet in the ledger" in shown.stdout

    rx.set_faults(latency_ms=20)
    second = start_run(env, tmp_path, log)
    try:
        assert second.wait(90) == 0, log.read_text()
    finally:
        kill(second)

    stored = rx.ids("readings")
    (_, killed_states), (_, resumed_states) = await window_states(url)
    rewritten = {i for i, version in stored.items() if version > 1}
    text = log.read_text()
    retries = re.search(r"^retries\s+(\d+)", text, re.M)
    stats = rx.stats()
    figures = {
        "test": "R2 crash and resume",
        "windows": 6,
        "done_before_kill": done,
        "interrupted_window_docs_at_kill": interrupted,
        "killed_run_window_states": dict(killed_states),
        "resumed_run_window_states": dict(resumed_states),
        "requests": stats["requests"],
        "faults": {kind: n for kind, n in stats["faults"].items() if n},
        "retries_resumed_run": int(retries.group(1)) if retries else None,
        "written_again": len(rewritten),
        "lost": len(source - set(stored)),
    }
    print(json.dumps(figures))
    assert set(stored) == source, "target == source, each id once"
    # Done windows were skipped, with no task run at all: by the ledger when the killed run
    # had recorded them, else by this machine's journal of delivered windows (nothing is
    # cached). Not one of their documents was written again.
    assert resumed_states == Counter({"Completed": 6 - done})
    assert all(stored[i] == 1 for i in stored if window_of(i) < done)
    # The interrupted window was sent again: what it had delivered is now at version 2.
    assert rewritten == {i for i in at_kill if window_of(i) == done}
    assert all(stored[i] == 1 for i in stored if window_of(i) > done)
    assert f"windows      6 ({done} done before, skipped; 0 failed)" in text
    assert "Traceback" not in text
    assert await watermark(url) == datetime(2024, 1, 7, tzinfo=UTC)
    assert not list(journal.glob("*.jsonl")), "the ledger took the journal's windows in"
