"""Rows become documents: ids from the job's id spec, the transform, checks against the window.

The encoding itself (and what a :class:`~db2api.records.document.Document` is) lives in
:mod:`db2api.records.document`, which every layer may import; building needs the job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from db2api.errors import Db2apiError, JobError, OutsideWindow
from db2api.job import IdSpec, Job, Row, Transform
from db2api.read.seen import SeenIds
from db2api.records.deadletters import DeadLetter
from db2api.records.document import (
    MAX_ID_BYTES,
    Chunk,
    Document,
    Rejected,
    encode,
    is_undecodable,
    printable,
    safe_json,
)
from db2api.records.windows import Window, as_moment, iso, short, zone
from db2api.targets.es_marker import marker


def _id_part(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def id_function(spec: IdSpec) -> Callable[[Row, Mapping[str, Any]], str]:
    """Build ``(row, document) -> id`` from a job's id spec."""
    if callable(spec):

        def from_function(row: Row, _document: Mapping[str, Any]) -> str:
            value = spec(row)
            if value is None or value == "":
                raise Rejected("the id function returned no id (None or '')")
            return _id_part(value)

        return from_function
    columns = [spec] if isinstance(spec, str) else list(spec)

    def from_columns(row: Row, document: Mapping[str, Any]) -> str:
        parts = []
        for column in columns:
            value = row[column] if column in row else document.get(column)
            if value is None:
                raise Rejected(f"id column {column!r} is NULL or missing")
            parts.append(_id_part(value))
        return ":".join(parts)

    return from_columns


class DocumentBuilder:
    """Turns one window's rows into :class:`Chunk` s; runs in the extraction thread.

    Across the chunks of its window it remembers the ids sent (compactly, see
    :mod:`db2api.read.seen`: a million rows cost ~9 MiB) to count an id that
    comes again as a duplicate, and, when the job names its ``date_field``, checks
    every document's time against the window.
    """

    def __init__(self, job: Job, window: Window | None = None) -> None:
        self.job = job
        self.window = window
        self.transform: Transform | None = job.transform
        self.make_id = id_function(job.id)
        self.tz = zone(job.source.timezone)
        self.marker: dict[str, Any] | None = None
        if job.target.reconcile:  # this job's documents must be found apart from others'
            self.marker = marker(job.name)
        self.field = job.date_field if window is not None else None
        self.seen = SeenIds()
        self.outside = 0
        self.first_outside = ""

    def build(self, number: int, rows: Iterable[Row]) -> Chunk:
        by_id: dict[str, Document] = {}
        rejects: list[DeadLetter] = []
        count = duplicates = 0
        for row in rows:
            count += 1
            try:
                document = self.transform(row) if self.transform else row
                if not isinstance(document, Mapping):
                    raise Rejected(f"transform returned {type(document).__name__}, not a dict")
                if self.marker is not None:
                    document = {**document, **self.marker}
                doc_id = self.make_id(row, document)
                if len(doc_id.encode()) > MAX_ID_BYTES:
                    raise Rejected(f"id is longer than {MAX_ID_BYTES} bytes")
                if self.field and not self.is_inside(doc_id, document):
                    continue
                body = encode(document, self.tz)
            except Rejected as exc:
                rejects.append(rejection(row, exc, self.try_id(row)))
                continue
            except Db2apiError:
                raise
            except BaseException as exc:  # even SystemExit: one row, one dead letter
                rejects.append(rejection(row, exc, self.try_id(row)))
                continue
            if doc_id in by_id:
                # Last wins, as it would at the target; drop the stale one here so
                # two versions are never in flight at once.
                duplicates += 1
                del by_id[doc_id]
            by_id[doc_id] = Document(doc_id, body)
        chunk = Chunk(number, count, list(by_id.values()), rejects, duplicates)
        chunk.repeated = self.seen.add_all(by_id)
        chunk.duplicates += len(chunk.repeated)
        return chunk

    def is_inside(self, doc_id: str, document: Mapping[str, Any]) -> bool:
        """Whether the document's ``date_field`` lies in the window; counts those outside."""
        assert self.window is not None and self.field is not None
        if self.field not in document:
            raise JobError(
                f"job {self.job.name!r}: date_field {self.field!r} is not in the documents; "
                f"they have {', '.join(map(str, document)) or 'no fields'}: name one of those"
            )
        moment = as_moment(document[self.field], self.tz)
        if moment is None:
            raise JobError(
                f"job {self.job.name!r}: date_field {self.field!r} holds "
                f"{str(document[self.field])[:40]!r}, not a date or time: name the field that "
                "holds the row's time"
            )
        if self.window.start <= moment < self.window.end:
            return True
        self.outside += 1
        if not self.first_outside:
            self.first_outside = f"id {doc_id} at {iso(moment)}"
        return False

    def outside_error(self) -> OutsideWindow | None:
        """The window's one line when the SQL returned rows outside it."""
        if not self.outside or self.window is None:
            return None
        start, end = short(self.window.start), short(self.window.end)
        return OutsideWindow(
            f"SQL returned {self.outside} rows outside the window [{start}, {end}) "
            f"(first: {self.first_outside}): select with >= start AND < end, not BETWEEN"
        )

    def try_id(self, row: Row) -> str | None:
        try:
            return printable(self.make_id(row, {}))
        except BaseException:  # an id function is user code too
            return None


def rejection(row: Row, exc: BaseException, doc_id: str | None = None) -> DeadLetter:
    bad = [key for key, value in row.items() if is_undecodable(value)]
    if bad and (isinstance(exc, UnicodeError) or "surrogates" in str(exc)):
        raw = row[bad[0]].encode("utf-8", "surrogateescape")
        reason = (
            f"column {bad[0]!r} is not valid UTF-8 ({raw[:40]!r}): fix the value at the "
            "source, or decode the column in the transform"
        )
        error = "Undecodable"
    elif isinstance(exc, Rejected):
        reason, error = str(exc), "Rejected"
    else:
        reason, error = f"transform raised {exc!r}", type(exc).__name__
    return DeadLetter(id=doc_id, document=safe_json(row), status=None, error=error, reason=reason)
