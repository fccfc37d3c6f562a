"""op_type create: writing into a data stream, and re-running into it without duplicates."""

from __future__ import annotations

from pathlib import Path

from db2api.receiver import ReceiverProcess
from db2api.run.window import transfer_range
from tests.conftest import sqlite_ids
from tests.support.jobs import sqlite_job, with_target

DAY = ("2024-01-01", "2024-01-02")


async def test_create_writes_a_data_stream_and_a_rerun_finds_everything_already_present(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
):
    target.set_faults(data_stream=True)  # index actions are refused, create is taken
    job = with_target(sqlite_job(str(sqlite_source), target.url), op_type="create")
    source = sqlite_ids(sqlite_source, *DAY)

    first = await transfer_range(job, *DAY)
    second = await transfer_range(job, *DAY)

    assert first.ok and second.ok
    assert (first.total("acked"), first.total("present")) == (len(source), 0)
    assert (second.total("acked"), second.total("present")) == (len(source), len(source))
    assert "already present " in "\n".join(second.lines())
    stored = target.ids("readings")
    assert set(stored) == source
    assert set(stored.values()) == {1}, "create never overwrote a document"


async def test_the_proof_of_a_data_stream_searches_its_ids_as_it_takes_no_get_by_id(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
):
    """A data stream answers each _mget entry 404 index_not_found_exception (excluded_ds),
    as Elasticsearch 8 and OpenSearch 2 do; the proof then finds the ids by search."""
    target.set_faults(data_stream=True)
    job = with_target(sqlite_job(str(sqlite_source), target.url), op_type="create", prove=True)
    answer = target.request("POST", "/readings/_mget", {"ids": ["1"]})
    assert answer[1]["docs"][0]["error"]["excluded_ds"] == "true"

    summary = await transfer_range(job, *DAY)

    assert summary.ok and summary.failed == []
    assert set(target.ids("readings")) == sqlite_ids(sqlite_source, *DAY)
