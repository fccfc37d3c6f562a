"""Documents: a stable id plus the JSON body the target receives, and how values encode.

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
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from db2api.records.deadletters import DeadLetter

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
