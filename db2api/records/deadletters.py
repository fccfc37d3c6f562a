"""Dead letters: documents the target did not take, each with the reason, as JSONL.

One line per failed document, appended and flushed as it happens, so a crash
loses nothing already decided. The file is both the record a data engineer reads
("which rows failed, and why") and the input of ``db2api replay``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from db2api.errors import OutputError
from db2api.scrub import SCRUBBER, Scrubber

if TYPE_CHECKING:
    from db2api.job import Job

MAX_REASON = 2000


@dataclass(frozen=True)
class DeadLetter:
    """Why one document was not delivered."""

    id: str | None
    document: Any
    status: int | None  # HTTP status, or None when no response said no
    error: str  # "HTTP 400", an exception class, or "Rejected" for a row the job refused
    reason: str  # the target's error text or ours (masked when written)
    attempts: int = 0


class DeadLetterFile:
    """An append-only JSONL file of one run's dead letters."""

    def __init__(self, path: Path, job: str, scrubber: Scrubber = SCRUBBER) -> None:
        self.path = path
        self.job = job
        self.scrubber = scrubber
        self.count = 0
        self._lock = threading.Lock()
        self._handle: Any = None

    def write(self, window: str, letters: list[DeadLetter]) -> None:
        if not letters:
            return
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines = [self._line(window, letter, now) for letter in letters]
        with self._lock:
            try:
                if self._handle is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._handle = self.path.open("ab")
                self._handle.write(b"".join(lines))
                self._handle.flush()
                os.fsync(self._handle.fileno())
            except OSError as exc:
                raise unwritable(self.path.parent, exc, "the run stopped") from None
            self.count += len(letters)

    def _line(self, window: str, letter: DeadLetter, now: str) -> bytes:
        record = {"job": self.job, "window": window, **asdict(letter), "time": now}
        # Only the messages are masked. The id and the document are the source's data,
        # stored exactly as built: they are what replay sends.
        record["error"] = self.scrubber(str(letter.error))
        record["reason"] = self.scrubber(str(letter.reason))[:MAX_REASON]
        return orjson.dumps(record, default=repr) + b"\n"

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


def dead_letter_folder(job: Job) -> Path:
    """Where a job's dead-letter files go: ``DB2API_DEAD_LETTER_DIR`` or the job's folder."""
    return (
        Path(os.environ.get("DB2API_DEAD_LETTER_DIR") or job.dead_letter_dir) / job.name
    ).resolve()


def check_writable(folder: Path) -> None:
    """Create ``folder`` and write and remove a probe file there, before anything is sent.

    A folder that cannot take the dead letters is otherwise found only once a target
    refused a document, after others were delivered. Folders made just for the probe
    are removed again, so a run with nothing to dead-letter leaves none behind.
    """
    made = [path for path in (folder, *folder.parents) if not path.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}-{threading.get_ident()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise unwritable(folder, exc, "nothing was sent") from None
    finally:
        for path in made:  # deepest first
            try:
                path.rmdir()
            except OSError:
                break  # not empty (another run wrote there), or never made


def unwritable(folder: Path, exc: OSError, state: str) -> OutputError:
    return OutputError(
        f"dead-letter folder {folder} cannot be written ({exc.strerror or type(exc).__name__}): "
        "make it writable for this user, or set DB2API_DEAD_LETTER_DIR (or the job's "
        f"dead_letter_dir) to a folder that is; {state}"
    )


def iter_dead_letters(path: Path) -> Iterator[dict[str, Any]]:
    """Read a dead-letter file back; a damaged line is reported with its number."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number} is not a JSON line ({exc})") from exc
            yield record


def deletions_path(dead_letter_file: str | Path) -> Path:
    """The deletions file of a run: beside its dead-letter file."""
    path = Path(dead_letter_file)
    return path.with_name(f"{path.stem}.deleted.jsonl")
