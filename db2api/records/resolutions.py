"""Which dead letters were delivered later: the record of resolved letters.

A dead-letter file is never rewritten: it is what happened. When a later run or a
replay delivers an id that a file lists, that letter is *resolved*, and a line is
appended to the job's record ``<dead-letter folder>/<job>/_resolved.jsonl``::

    {"file": "/abs/path/20240105T021503Z_3f2a1b7c.jsonl", "id": "S003:…",
     "by": "replay 1a2b3c4d", "time": "2024-01-06T08:00:00.000Z"}

``db2api deadletters JOB`` counts open and resolved letters per file from it, and
``db2api replay`` skips resolved ones. Appends are serialised with a file lock, so
runs on one machine may record at the same time.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from db2api.records.deadletters import iter_dead_letters

RECORD = "_resolved.jsonl"


@dataclass(frozen=True)
class FileStatus:
    path: Path
    letters: int  # distinct ids (and id-less rows) the file lists
    resolved: int

    @property
    def open(self) -> int:
        return self.letters - self.resolved


def record_path(folder: Path) -> Path:
    return folder / RECORD


def read_resolved(folder: Path) -> dict[str, set[str]]:
    """Resolved ids per dead-letter file (absolute path)."""
    path = record_path(folder)
    resolved: dict[str, set[str]] = {}
    if not path.is_file():
        return resolved
    for line in path.read_bytes().splitlines():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # a line cut short by a crash: that resolution is simply not counted
        resolved.setdefault(str(entry.get("file")), set()).add(str(entry.get("id")))
    return resolved


def listed_ids(path: Path) -> set[str]:
    return {str(r["id"]) for r in iter_dead_letters(path) if r.get("id") is not None}


def mark_resolved(folder: Path, file: Path, ids: Iterable[str], by: str) -> int:
    """Record these ids of ``file`` as delivered; returns how many were still open."""
    file = file.resolve()
    wanted = set(ids) & listed_ids(file)
    if not wanted:
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    with record_path(folder).open("ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            fresh = wanted - read_resolved(folder).get(str(file), set())
            lines = [
                orjson.dumps({"file": str(file), "id": i, "by": by, "time": now}) + b"\n"
                for i in sorted(fresh)
            ]
            handle.write(b"".join(lines))
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return len(fresh)


def dead_letter_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.jsonl") if not p.name.startswith("_"))


def resolve_delivered(
    job_name: str, ids: Iterable[str], by: str = "a later run", *, folder: Path
) -> int:
    """Mark as resolved every open dead letter of the job whose id was now delivered.

    Call it after ids were acknowledged (a window delivered, a replay); returns the
    number of letters newly resolved. ``folder`` is the job's dead-letter folder
    (:func:`~db2api.records.deadletters.dead_letter_folder`).
    """
    delivered = set(ids)
    if not delivered:
        return 0
    return sum(mark_resolved(folder, path, delivered, by) for path in dead_letter_files(folder))


def file_statuses(folder: Path) -> list[FileStatus]:
    resolved = read_resolved(folder)
    statuses = []
    for path in dead_letter_files(folder):
        records = list(iter_dead_letters(path))
        ids = {str(r["id"]) for r in records if r.get("id") is not None}
        anonymous = sum(1 for r in records if r.get("id") is None)
        done = len(ids & resolved.get(str(path.resolve()), set()))
        statuses.append(FileStatus(path, len(ids) + anonymous, done))
    return statuses
