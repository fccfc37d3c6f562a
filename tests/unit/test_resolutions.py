"""The record of resolved dead letters: which ids a later run or replay delivered."""

from pathlib import Path

import orjson

from db2api.records.resolutions import (
    file_statuses,
    mark_resolved,
    read_resolved,
    resolve_delivered,
)


def letters(path: Path, *ids: str | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        orjson.dumps({"job": "demo", "window": "w", "id": i, "document": {}, "error": "HTTP 400"})
        for i in ids
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_a_later_delivery_resolves_the_ids_each_file_lists(tmp_path: Path):
    first = letters(tmp_path / "20240101T000000Z_aaaa.jsonl", "a", "b", "c")
    second = letters(tmp_path / "20240102T000000Z_bbbb.jsonl", "c", "d", None)

    assert resolve_delivered("demo", ["b", "c", "zz"], by="run x", folder=tmp_path) == 3
    assert resolve_delivered("demo", ["b", "c"], folder=tmp_path) == 0, "recorded once"

    assert read_resolved(tmp_path) == {str(first): {"b", "c"}, str(second): {"c"}}
    statuses = {s.path.name: (s.open, s.resolved) for s in file_statuses(tmp_path)}
    assert statuses == {first.name: (1, 2), second.name: (2, 1)}, "the id-less row stays open"


def test_a_file_outside_the_folder_is_recorded_by_its_path(tmp_path: Path):
    elsewhere = letters(tmp_path / "mine" / "letters.jsonl", "a")

    assert mark_resolved(tmp_path / "job", elsewhere, ["a", "b"], "replay") == 1
    assert read_resolved(tmp_path / "job") == {str(elsewhere): {"a"}}
    assert file_statuses(tmp_path / "job") == [], "the record itself is not a dead-letter file"


def test_no_ids_touch_nothing(tmp_path: Path):
    assert resolve_delivered("demo", [], folder=tmp_path / "none") == 0
    assert not (tmp_path / "none").exists()


async def test_the_pipeline_hook_resolves_what_a_window_delivered(tmp_path: Path, monkeypatch):
    from types import SimpleNamespace

    from db2api.records.windows import split
    from db2api.run.window import resolve_letters
    from tests.support.jobs import unit_job

    monkeypatch.delenv("DB2API_DEAD_LETTER_DIR", raising=False)
    job = unit_job(dead_letter_dir=str(tmp_path))
    old = letters(tmp_path / "unit" / "20240101T000000Z_aaaa.jsonl", "a", "b")
    runtime = SimpleNamespace(job=job, dead_letters=SimpleNamespace(path=tmp_path / "new.jsonl"))
    [window] = split("2024-01-02", "2024-01-03", job.window_length, job.timezone)

    assert await resolve_letters(runtime, window, ["b", "c"]) == 1
    assert [(s.path, s.open, s.resolved) for s in file_statuses(tmp_path / "unit")] == [(old, 1, 1)]
