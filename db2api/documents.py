"""Rows become documents: a stable id plus the JSON body the target receives.

Encoding is deterministic and total: every value either has a defined JSON form
or the row is rejected with a reason, so one odd value never stops a run.

- datetimes: RFC 3339. Values from the source come out in UTC with ``Z``: naive
  ones are read in ``source.timezone``, PostgreSQL sessions run in UTC. An aware
  datetime a transform builds keeps its offset (the same instant) when the source
  zone is UTC, because normalising every value would cost a walk per document.
- dates and times: ISO 8601; Decimal: an exact JSON number; bytes: base64
- NaN and Infinity have no JSON form: the row is dead-lettered, not sent as ``null``
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

import orjson

from db2api.deadletters import DeadLetter
from db2api.errors import Db2apiError, JobError, OutsideWindow
from db2api.job import IdSpec, Job, Row, Transform
from db2api.seen import SeenIds
from db2api.windows import Window, as_moment, iso, short, zone

MAX_ID_BYTES = 512  # Elasticsearch refuses longer _id values
_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


class Document:
    """An id and its encoded JSON body; the body is decoded only for dead letters."""

    __slots__ = ("body", "id")

    def __init__(self, id: str, body: bytes) -> None:
        self.id = id
        self.body = body

    def __repr__(self) -> str:
        return f"Document({self.id!r}, {len(self.body)} bytes)"

    def decoded(self) -> Any:
        return orjson.loads(self.body)


class Chunk:
    """The documents built from one ``iter_chunks`` chunk, with the rows they came from.

    Deliberately not a dataclass: Prefect walks dataclass task arguments looking
    for futures, which would cost a visit per document.
    """

    __slots__ = ("documents", "duplicates", "number", "prepared", "rejects", "repeated", "rows")

    def __init__(
        self,
        number: int,
        rows: int,
        documents: list[Document],
        rejects: list[DeadLetter],
        duplicates: int,
    ) -> None:
        self.number = number
        self.rows = rows
        self.documents = documents
        self.rejects = rejects
        self.duplicates = duplicates
        # Ids an earlier chunk of the same window already sent (counted in duplicates):
        # the later document is sent too, and overwrites the earlier one.
        self.repeated: list[str] = []
        # Request bodies built ahead by the reader thread (bulk mode), so the event
        # loop only sends them.
        self.prepared: list[Any] | None = None

    def __repr__(self) -> str:
        return f"Chunk(#{self.number}, {self.rows} rows, {len(self.documents)} documents)"


class Rejected(ValueError):
    """A row that cannot become a document; its message is the dead-letter reason."""


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise Rejected(f"Decimal value {value} has no JSON form")
        return orjson.Fragment(str(value))  # exact: str() of a finite Decimal is a JSON number
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    read = getattr(value, "read", None)
    if callable(read):  # an Oracle LOB that slipped past etlhelper's fetch_lobs=False
        return read()
    raise TypeError(f"type {type(value).__name__} is not JSON serializable")


def _non_finite(value: Any, path: str = "") -> str | None:
    """The path of the first NaN or Infinity inside ``value``, if any."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path or "value"
    if isinstance(value, Decimal):
        return None if value.is_finite() else path or "value"
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _non_finite(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _non_finite(item, f"{path}[{i}]")
            if found:
                return found
    return None


def _localise(value: Any, tz: tzinfo) -> Any:
    if isinstance(value, datetime):
        return (value.replace(tzinfo=tz) if value.tzinfo is None else value).astimezone(UTC)
    if isinstance(value, dict):
        return {key: _localise(item, tz) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_localise(item, tz) for item in value]
    return value


def encode(document: Mapping[str, Any], source_tz: tzinfo = UTC) -> bytes:
    """Encode a document, or raise :class:`Rejected` naming the value that cannot be sent."""
    naive_utc = source_tz is UTC
    if not naive_utc:
        document = _localise(document, source_tz)
    try:
        body = orjson.dumps(
            document, default=_default, option=_OPTIONS | (orjson.OPT_NAIVE_UTC if naive_utc else 0)
        )
    except orjson.JSONEncodeError as exc:
        cause = exc.__cause__
        if isinstance(cause, Rejected):
            where = _non_finite(document)  # a Decimal NaN or Infinity: name its field
            raise (_not_finite(where) if where else cause) from None
        raise Rejected(f"cannot encode as JSON: {exc}") from None
    # orjson writes NaN/Infinity as null; only bodies with a null can hide one.
    if b"null" in body:
        where = _non_finite(document)
        if where:
            raise _not_finite(where)
    # orjson's result keeps its whole working buffer (about 4 KiB) however short the
    # JSON; a right-sized copy keeps a queued chunk at its real size (measured: 10,000
    # documents took 41 MB as returned, 1.3 MB copied, and the copy is faster to free).
    return bytes(memoryview(body))


def _not_finite(where: str) -> Rejected:
    return Rejected(
        f"field {where} is NaN or Infinity, which JSON cannot carry: "
        "map it to null or a string in the transform"
    )


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
    :mod:`db2api.seen`: a million rows cost ~9 MiB) to count an id that
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
            from db2api.targets.es_marker import marker

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


def is_undecodable(value: object) -> bool:
    """A text value the source could not decode: its bad bytes are lone surrogates."""
    if not isinstance(value, str) or value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def printable(text: str) -> str:
    """Undecodable bytes as ``\\xe9`` escapes, so the text can be written as JSON."""
    if not is_undecodable(text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


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


def safe_json(value: Any) -> Any:
    """A JSON-safe rendering of anything, for dead-letter files (never raises)."""
    try:
        return orjson.loads(orjson.dumps(value, default=repr, option=_OPTIONS))
    except (TypeError, orjson.JSONEncodeError):
        if isinstance(value, dict):
            return {printable(str(k)): safe_json(v) for k, v in value.items()}
        if isinstance(value, str):
            return printable(value)
        return repr(value)
