"""The ledger's journal: each delivered window written down on this machine at once.

The ledger (:mod:`db2api.records.ledger`) lives in the Prefect server and is changed in
batches, in the background, because a change takes a lock on the server and can wait
seconds for it. A window delivered just before the process dies (SIGKILL, out of memory,
a reboot) is then in no ledger yet, and the next run would send it again. So a run
appends every complete, delivered window here before it moves on; the next run reads the
journal together with the ledger and skips its windows exactly as the ledger's (same
delivery key), and its first ledger change that succeeds folds them into the ledger and
removes them from here. It is a write-ahead of the one ledger, not a second ledger.

One file per run, ``<dead-letter folder>/<job>/_journal/<time>-<pid>-<random>.jsonl``,
made at the run's first delivered window and held under an exclusive ``flock`` for the
run's life (the kernel drops a dead process's locks). A file whose lock another run can
take belongs to a run that ended without recording it (it died, or the ledger refused
its last change): that run folds and removes it. A live run's file is only read.

One JSON line per window, appended with one ``os.write`` of the whole line. Data written
survives a SIGKILL (it is in the kernel's page cache, not the process), so there is no
``fsync``: only a power cut can lose the last lines, and then those windows are merely
sent again under the same ids, where an ``fsync`` per window would cost more than the
window's task run. A write cut short (a crash mid-write, a full disk) leaves a torn last
line, which reading skips.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from db2api.records.deadletters import dead_letter_folder
from db2api.records.ledger import Ledger, moment
from db2api.records.windows import Window

if TYPE_CHECKING:
    from db2api.job import Job

FOLDER = "_journal"  # inside the job's dead-letter folder; "_" keeps it out of letter listings


@dataclass(frozen=True)
class Entry:
    """One delivered window, with the delivery key (and target in words) it was sent under."""

    key: str
    window: Window
    label: str = ""


def journal_folder(job: Job) -> Path:
    """The job's journal on this machine: inside its dead-letter folder."""
    return dead_letter_folder(job) / FOLDER


def journal_files(folder: Path) -> list[Path]:
    """The runs' files in ``folder``, oldest first (none when there is no folder)."""
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


def encode(entry: Entry) -> bytes:
    record = {"key": entry.key, "window": entry.window.key, "label": entry.label}
    return orjson.dumps(record) + b"\n"


def decode(line: bytes) -> Entry | None:
    """An entry, or None for a line cut short or damaged (its window is sent again)."""
    try:
        record = orjson.loads(line)
        start, end = str(record["window"]).split("/")
        return Entry(str(record["key"]), Window(moment(start), moment(end)), str(record["label"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def read_entries(data: bytes) -> list[Entry]:
    lines = data.split(b"\n")
    lines.pop()  # after the last newline: empty, or a line cut short
    return [entry for line in lines if (entry := decode(line)) is not None]


def fold(ledger: Ledger, entries: Iterable[Entry]) -> None:
    """Record journalled windows in ``ledger``, each under its own delivery key."""
    by_key: dict[str, list[Entry]] = {}
    for entry in entries:
        by_key.setdefault(entry.key, []).append(entry)
    for key, items in by_key.items():
        ledger.record(key, [item.window for item in items], items[-1].label)


def peek(folder: Path) -> list[Entry]:
    """Every window journalled on this machine, read without taking any file (for reports).

    Live runs' windows and ended runs' alike: all were delivered, and the next run skips
    them as the ledger's. A file folded and removed meanwhile is simply not there.
    """
    entries: list[Entry] = []
    for path in journal_files(folder):
        with contextlib.suppress(FileNotFoundError):
            entries.extend(read_entries(path.read_bytes()))
    return entries


def fold_journal(ledger: Ledger, folder: Path) -> str:
    """The ledger as the next run here sees it: ``folder``'s windows folded in (for reports).

    Returns what was folded, in words ("" when nothing was), so a report that shows a
    window as delivered also says why the ledger alone does not.
    """
    entries = [e for e in peek(folder) if not ledger.is_delivered(e.key, e.window)]
    if not entries:  # none, or the ledger recorded them before their run ended
        return ""
    fold(ledger, entries)
    count = len({(entry.key, entry.window) for entry in entries})
    return (
        f"{count} delivered window{'s' if count != 1 else ''} journalled in {folder} and not "
        "yet in the ledger (a run still going, or one that ended before recording them): "
        "counted here; the next run of the job on this machine records them"
    )


class Journal:
    """A job's journal on this machine, as one run uses it: its own file and the ended runs'."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path: Path | None = None  # this run's file, made at its first window
        self._fd: int | None = None
        self._made: list[Path] = []  # folders made for the file, removed with it
        self._claimed: dict[Path, int] = {}  # ended runs' files this run holds locked
        self.claimed: list[Entry] = []  # their windows: the next ledger change folds them

    def read(self) -> list[Entry]:
        """Every window journalled here; the files of ended runs are claimed (see above)."""
        entries: list[Entry] = []
        for path in journal_files(self.folder):
            if path == self.path or path in self._claimed:
                continue
            found = self._read_file(path)
            entries.extend(found)
        return entries

    def _read_file(self, path: Path) -> list[Entry]:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return []  # folded and removed by another run meanwhile
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a live run's: read, never folded here
            with os.fdopen(fd, "rb") as handle:
                return read_entries(handle.read())
        entries = read_entries(_read_all(fd))
        if entries:
            self._claimed[path] = fd  # locked until folded or this run ends
            self.claimed.extend(entries)
        else:  # empty: its run died before its first line, or was just made (not ours to remove)
            os.close(fd)
        return entries

    def append(self, entry: Entry) -> None:
        """One line, one write. Raises OSError when the folder cannot take it."""
        if self._fd is None:
            self._open()
        assert self._fd is not None
        os.write(self._fd, encode(entry))

    def _open(self) -> None:
        self._made = [p for p in (self.folder, *self.folder.parents) if not p.exists()]
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"{stamp}-{os.getpid()}-{secrets.token_hex(4)}.jsonl"
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL
        try:
            fd = os.open(path, flags, 0o644)
        except FileNotFoundError:  # another run removed the empty folder just now
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, flags, 0o644)
        # Blocking: a reader may hold it for a moment, sees it empty and lets go.
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.path, self._fd = path, fd

    def forget_claimed(self) -> None:
        """The ledger now holds the claimed windows: remove their files."""
        for path, fd in self._claimed.items():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            os.close(fd)
        self._claimed.clear()
        self.claimed = []

    def close(self, recorded: bool) -> Path | None:
        """The run ends: its file goes once the ledger ``recorded`` all of it, else stays.

        Returns the file that stays (None: none): the next run of the job on this
        machine folds it, as it does the claimed files this run could not fold.
        """
        kept = None
        if self._fd is not None and self.path is not None:
            if recorded:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
            else:
                kept = self.path
            os.close(self._fd)
            if recorded:
                for folder in self._made:  # deepest first; one another run uses stays
                    try:
                        folder.rmdir()
                    except OSError:
                        break
            self.path, self._fd, self._made = None, None, []
        for fd in self._claimed.values():
            os.close(fd)
        self._claimed.clear()
        self.claimed = []
        return kept

    def clear(self) -> int:
        """Forget every ended run's windows (the ledger was cleared); returns how many."""
        self.read()
        count = len(self.claimed)
        self.forget_claimed()
        return count


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)
