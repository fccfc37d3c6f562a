"""The documents' part of ``db2api check``: the sample rows through the run's own steps.

The transform, the id, the ``date_field`` and the encoding are the ones a run uses
(:mod:`db2api.records.document`); where a run would dead-letter a row or stop a window,
the check names the sample row (by its number and, when it has one, its id) and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from db2api.job import Job, Row
from db2api.ops.results import Result, Sample, fail, ok, skip
from db2api.read.build import id_function
from db2api.records.document import MAX_ID_BYTES, Document, Rejected, encode
from db2api.records.windows import Window, as_moment, iso, zone
from db2api.targets import kind_of
from db2api.targets.es_marker import marker


def _which(job: Job, number: int, row: Row) -> str:
    """``row 3 (id 17)``: the sample row, named by its id when the id can be made."""
    try:
        return f"row {number} (id {id_function(job.id)(row, {})})"
    except Exception:
        return f"row {number}"


def check_transform(job: Job, rows: list[Row]) -> tuple[Result, Sample]:
    transform: Callable[[Row], Any] = job.transform or (lambda row: row)
    sample: Sample = []
    for number, row in enumerate(rows, start=1):
        try:
            document = transform(row)
        except Exception as exc:
            return fail(
                "transform",
                f"{_which(job, number, row)} of the sample: transform raised "
                f"{type(exc).__name__}: {exc}; a run dead-letters every such row: fix the "
                "transform",
            ), []
        if not isinstance(document, Mapping):
            return fail(
                "transform",
                f"{_which(job, number, row)} of the sample: transform returned "
                f"{type(document).__name__}, not a dict",
            ), []
        sample.append((row, document))
    return ok("transform", f"{len(rows)} rows -> {len(sample)} documents"), sample


def check_ids(job: Job, sample: Sample) -> Result:
    make_id = id_function(job.id)
    first = ""
    for number, (row, document) in enumerate(sample, start=1):
        try:
            doc_id = make_id(row, document)
        except Rejected as exc:
            return fail(
                "document ids",
                f"row {number} of the sample: {exc}: select the id column in the SQL or "
                "return it from the transform, or fix the job's id",
            )
        if len(doc_id.encode()) > MAX_ID_BYTES:
            return fail("document ids", f"row {number}: id is longer than {MAX_ID_BYTES} bytes")
        first = first or doc_id
    return ok("document ids", f"every document has one (first: {first})")


def check_date_field(job: Job, sample: Sample, window: Window) -> Result:
    field = job.date_field
    if not field:
        return skip("date_field", "not set: rows are not checked against their window")
    tz = zone(job.source.timezone)
    for number, (row, document) in enumerate(sample, start=1):
        which = _which(job, number, row)
        if field not in document:
            fields = ", ".join(map(str, document)) or "no fields"
            return fail(
                "date_field",
                f"{field!r} is not in the documents ({which} has {fields}): name one of those",
            )
        moment = as_moment(document[field], tz)
        if moment is None:
            return fail(
                "date_field",
                f"{which}: {field!r} holds {str(document[field])[:40]!r}, not a date or time: "
                "name the field that holds the row's time",
            )
        if not window.start <= moment < window.end:
            return fail(
                "date_field",
                f"{which}: {field} {iso(moment)} is outside the window {window}: select with "
                ">= start AND < end, and date_field the column the SQL selects on",
            )
    return ok("date_field", f"{field!r} in every document, inside the window")


def check_size(job: Job, sample: Sample) -> tuple[Result, list[Document]]:
    """The largest sample document against the target's byte cap, as the run encodes it."""
    tz = zone(job.source.timezone)
    mark: dict[str, Any] = {}
    if job.target.reconcile:
        mark = marker(job.name)
    make_id = id_function(job.id)
    documents: list[Document] = []
    for number, (row, document) in enumerate(sample, start=1):
        try:
            documents.append(Document(make_id(row, document), encode({**document, **mark}, tz)))
        except Rejected as exc:
            return fail("document size", f"{_which(job, number, row)}: {exc}"), []
    kind, target = kind_of(job.target), job.target
    largest = max(documents, key=lambda doc: len(doc.body))
    size = f"largest {len(largest.body)} bytes (id {largest.id})"
    prepared = kind.prepare(documents, target)
    if prepared is None:
        return ok("document size", f"{size}; mode {target.mode} sends one per request"), documents
    for item in prepared:
        if isinstance(item, Document):
            letter = kind.oversize(item, target)
            return fail("document size", f"id {letter.id}: {letter.reason}"), documents
    return ok("document size", f"{size}, within target.bulk_bytes {target.bulk_bytes}"), documents
