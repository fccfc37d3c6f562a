"""`db2api replay`: re-send a dead-letter file once the target is fixed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from db2api.cli import main
from db2api.receiver import ReceiverProcess
from db2api.records.deadletters import iter_dead_letters
from db2api.run.catalog import load_job
from db2api.run.resend import replay
from db2api.run.window import transfer_range
from tests.conftest import DEMO_ID, sqlite_ids


async def test_replay_delivers_what_the_target_refused_before(
    demo_env: ReceiverProcess, sqlite_source: Path
) -> None:
    demo_env.set_faults(reject_field="sensor_id", reject_value="S004")
    summary = await transfer_range(load_job("demo"), "2024-01-01", "2024-01-03")
    first = Path(summary.dead_letter_file)
    refused = {letter["id"] for letter in iter_dead_letters(first)}
    assert len(refused) == 2 * 96

    demo_env.set_faults(reject_field="sensor_id", reject_value="S004", bulk_item_429=0.0)
    still = await replay(first)
    assert (still.sent, still.delivered, still.failed) == (192, 0, 192)
    assert {letter["id"] for letter in iter_dead_letters(Path(still.new_file))} == refused

    demo_env.set_faults()  # the target is fixed
    report = await replay(first)

    assert (report.sent, report.delivered, report.failed, report.carried) == (192, 192, 0, 0)
    assert report.new_file == ""
    expected = sqlite_ids(sqlite_source, "2024-01-01", "2024-01-03", DEMO_ID)
    assert set(demo_env.ids("readings")) == expected


def test_replay_on_the_command_line_names_what_is_left(
    demo_env: ReceiverProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    letters = tmp_path / "letters.jsonl"
    letters.write_text(
        '{"job":"demo","window":"2024-01-01T00:00:00Z/2024-01-02T00:00:00Z","id":"S001:x",'
        '"document":{"sensor_id":"S001"},"status":400,"error":"HTTP 400","reason":"r",'
        '"attempts":1,"time":"t"}\n'
        '{"job":"demo","window":"2024-01-01T00:00:00Z/2024-01-02T00:00:00Z","id":null,'
        '"document":{"reading_id":5},"status":null,"error":"Rejected","reason":"bad row",'
        '"attempts":0,"time":"t"}\n'
    )

    code = main(["replay", str(letters)])

    out = capsys.readouterr().out
    assert code == 1
    assert "re-sent 1 documents: 1 delivered, 0 failed" in out
    assert (
        "1 rows were rejected by the transform and cannot be replayed: fix the transform, then "
        "run their windows again (2024-01-01T00:00:00Z/2024-01-02T00:00:00Z)" in out
    )
    assert demo_env.get("readings", "S001:x") == {"sensor_id": "S001"}
    [carried] = iter_dead_letters(Path(out.split("still undelivered: ")[1].strip()))
    assert carried["error"] == "Rejected" and carried["document"] == {"reading_id": 5}


def test_replay_of_a_missing_file_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "/nonexistent/letters.jsonl"]) == 2
    assert capsys.readouterr().err == (
        "db2api: error: dead-letter file /nonexistent/letters.jsonl does not exist\n"
    )


@pytest.mark.usefixtures("prefect_harness")
async def test_replay_is_a_tagged_run_and_resolves_what_it_delivered(
    demo_env: ReceiverProcess, dead_letter_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    demo_env.set_faults(reject_field="sensor_id", reject_value="S002")
    summary = await transfer_range(load_job("demo"), "2024-01-02", "2024-01-03", label="1a2b3c4d")
    first = Path(summary.dead_letter_file)
    demo_env.set_faults()

    assert await asyncio.to_thread(main, ["replay", str(first)]) == 0
    out = capsys.readouterr().out
    assert f"replaying 96 documents of {first.name} to {demo_env.url} index 'readings'" in out
    assert out.index("replaying 96") < out.index("re-sent 96 documents: 96 delivered, 0 failed")

    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=["from-run:1a2b3c4d"]))
        )
    assert [sorted(run.tags) for run in runs] == [["from-run:1a2b3c4d", "job:demo"]]
    assert runs[0].name == f"replay {first.name}"

    assert main(["deadletters", "demo"]) == 0
    assert f"{first}  0 open, 96 resolved" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["replay", str(first)]) == 0
    assert "re-sent 0 documents: 0 delivered, 0 failed; 96 resolved before, skipped" in (
        capsys.readouterr().out
    )
