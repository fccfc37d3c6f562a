"""Deletes reach the target: per window, this job's documents the source no longer returns.

After a window is delivered with nothing undelivered, the ids the target holds
for this job in the window (:mod:`es_search`) are compared with the ids the
window's rows produced; those the source no longer returned are deleted with
``_bulk`` ``delete`` actions (a ``not_found`` 404 counts as done). Guarded so a
broken query can never wipe an index; each guard is one line and deletes nothing:

- the window has not ended ``lag`` ago: skipped, a later run of the range reconciles it;
- the search misses documents the window just delivered (the marker or the date
  field does not work as the search assumes): the window fails;
- the source returned 0 rows but the target holds documents: the window fails;
- more than ``max_delete_fraction`` of the job's documents in the window would go:
  the window fails, and the message names the override.

Every document is fetched (``_mget``) and written, as it was, to a JSONL file
beside the dead letters before it is deleted, in the dead-letter line format, so
``db2api replay`` of that file puts the documents back. Only documents whose
stored source carries this job's marker are deleted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NoReturn

import orjson

from db2api.errors import Db2apiError, JobError, TargetError
from db2api.records.deadletters import DeadLetter, DeadLetterFile
from db2api.records.windows import Window, iso, parse_length
from db2api.targets import es_bulk
from db2api.targets.answers import failed, listed
from db2api.targets.base import Outcome
from db2api.targets.es_marker import FIELD, JOB_FIELD, is_owned
from db2api.targets.es_search import find_held
from db2api.targets.kind import TargetKind
from db2api.transport.http import Request, Response
from db2api.transport.retry import Verdict, classify

if TYPE_CHECKING:
    from db2api.job import Job
    from db2api.targets.elasticsearch import BulkSink

SHOWN = 5  # ids named in a dry run's note
FETCH = 1000  # documents per _mget and per _bulk of deletes
Pair = tuple[str, str]  # (index, id)


class ReconcileRefused(Db2apiError):
    """A guard stopped the deletes of one window: nothing was deleted."""


def check_reconcile(job: Job, kind: TargetKind, fail: Callable[[str], NoReturn]) -> None:
    """Refuse ``target.reconcile`` where it cannot work, in the job check."""
    target = job.target
    if not kind.takes_reconcile:
        fail(
            f"target.reconcile needs an Elasticsearch/OpenSearch target (mode='bulk'), "
            f"not mode={target.mode!r}: set mode='bulk' or turn reconcile off"
        )
    if not job.date_field:
        fail(
            "target.reconcile needs the job's date_field (the document field holding the "
            "row's time, which the SQL selects windows on): set date_field"
        )
    check_fraction(target.max_delete_fraction, "target.max_delete_fraction", fail)


def check_fraction(value: object, name: str, fail: Callable[[str], NoReturn]) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        fail(f"{name} must be a number from 0 to 1 (got {value!r}), e.g. 0.1 for 10%")


def _refuse(message: str) -> NoReturn:
    raise JobError(message)


def check_override(value: float) -> None:
    """A run's ``max_delete_fraction``, refused in one line before anything runs."""
    check_fraction(value, "--max-delete-fraction (flow parameter max_delete_fraction)", _refuse)


def cutoff(now: datetime, lag: str | timedelta | None) -> datetime:
    """Windows ending after this are not reconciled yet."""
    return now - parse_length(lag) if lag is not None else now


def refusal(window: str, job: str, rows: int, held: int, gone: int, limit: float) -> str | None:
    """The guard a window's deletes trip, as one line; None when they may go ahead."""
    flag = "run this range again with --max-delete-fraction {} (flow parameter max_delete_fraction)"
    if rows == 0 and held and limit < 1:
        return (
            f"window {window}: the source returned 0 rows but the target holds {held} "
            f"documents of job {job} there; nothing deleted: check the SQL, or if the rows "
            f"really are gone, {flag.format(1)}"
        )
    if held and gone / held > limit:
        needed = math.ceil(gone / held * 100) / 100
        return (
            f"window {window}: {gone} of the {held} documents of job {job} in the target "
            f"({gone / held:.0%}) are no longer returned by the source, more than "
            f"max_delete_fraction {limit:g}; nothing deleted: check the SQL, or if they really "
            f"are gone, {flag.format(f'{needed:g}')}"
        )
    return None


def unseen(window: str, job: str, date_field: str, missing: list[str]) -> str:
    return (
        f"window {window}: the search for job {job}'s documents did not find {len(missing)} "
        f"that the window just delivered (first: {', '.join(missing[:SHOWN])}); nothing "
        f"deleted: documents written before reconcile was on carry no marker (send the range "
        f"again with --force), or {JOB_FIELD} is not mapped as keyword, or date_field "
        f"{date_field!r} does not hold the time the SQL selects on"
    )


class Reconciler:
    """Reconciles windows for one run: one sink for reads and deletes, one deletions file."""

    def __init__(
        self,
        job: Job,
        sink: BulkSink,
        deletions: DeadLetterFile,
        max_delete_fraction: float | None = None,
        dry_run: bool = False,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.job = job
        self.sink = sink
        self.deletions = deletions
        self.limit = job.target.max_delete_fraction
        if max_delete_fraction is not None:
            check_override(max_delete_fraction)
            self.limit = max_delete_fraction
        self.dry_run = dry_run
        self.now = now

    async def reconcile(
        self, window: Window, source_ids: Collection[str], rows: int
    ) -> tuple[int, str]:
        """(documents deleted, or that a dry run would delete; a note for the report)."""
        job, date_field = self.job, self.job.date_field or ""
        settled = cutoff(self.now(), job.lag)
        if window.end > settled:
            return 0, (
                f"deletes not reconciled: the window ends after {iso(settled)} (now - lag); "
                "a later run of this range reconciles them"
            )
        held = await find_held(self.sink, job.name, date_field, window)
        if not self.dry_run:
            missing = sorted(doc_id for doc_id in source_ids if doc_id not in held)
            if missing:
                raise ReconcileRefused(unseen(window.key, job.name, date_field, missing))
        gone = [(index, doc_id) for doc_id, index in held.items() if doc_id not in source_ids]
        if not gone:
            return 0, ""
        refused = refusal(window.key, job.name, rows, len(held), len(gone), self.limit)
        if refused and self.dry_run:
            return 0, f"would refuse: {refused}"
        if refused:
            raise ReconcileRefused(refused)
        outcome = Outcome()
        letters: list[DeadLetter] = []
        for start in range(0, len(gone), FETCH):
            letters += await self._fetch(gone[start : start + FETCH], window, outcome)
        if self.dry_run:
            shown = ", ".join(str(letter.id) for letter in letters[:SHOWN])
            return len(letters), f"would delete {len(letters)}: {shown}" if letters else ""
        self.deletions.write(window.key, letters)  # written (and synced) before any delete
        owned = [(held[str(letter.id)], str(letter.id)) for letter in letters]
        for start in range(0, len(owned), FETCH):
            await self._delete(owned[start : start + FETCH], outcome)
        return len(owned), ""

    async def _fetch(self, pairs: list[Pair], window: Window, outcome: Outcome) -> list[DeadLetter]:
        """The documents as they are now, those this job wrote, as deletion records."""
        docs = [{"_index": index, "_id": doc_id} for index, doc_id in pairs]
        response = await self.sink.call("POST", "/_mget", {"docs": docs}, outcome)
        answers = listed(response, "docs")
        if answers is None:
            what = f"fetching documents to delete with POST {self.sink.base_url}/_mget"
            raise failed(what, response, "; nothing was deleted")
        reason = f"reconcile: the source no longer returns it for window {window.key}"
        return [
            DeadLetter(str(doc["_id"]), doc["_source"], None, "Deleted", reason)
            for doc in answers
            if isinstance(doc, dict)
            and doc.get("found")
            and is_owned(doc.get("_source"), self.job.name)
        ]

    async def _delete(self, pairs: list[Pair], outcome: Outcome) -> None:
        """``_bulk`` deletes through the sink's retry loop; ``not_found`` counts as done."""
        sink = self.sink
        url = f"{sink.base_url}/_bulk"
        headers = {"Content-Type": "application/x-ndjson"}

        async def attempt(pending: list[Pair], _: int) -> tuple[list[Pair] | None, Response | None]:
            request = Request("POST", url, delete_body(pending), headers)
            response = await sink.request(request, outcome, what="reconcile deletes")
            sent = [doc_id for _, doc_id in pending]
            results = es_bulk.parse_response(response.body, sent, url, sink.target.index, "delete")
            retry: list[Pair] = []
            for pair, result in zip(pending, results or [], strict=False):
                if result.status < 300 or (result.status == 404 and not result.error):
                    continue
                if classify(result.status) is Verdict.RETRY:
                    retry.append(pair)
                    continue
                raise TargetError(
                    f"deleting {pair[1]} from index {pair[0]} at {sink.base_url} failed: HTTP "
                    f"{result.status} {result.error}: {result.reason}: grant the API key the "
                    "delete privilege, or turn target.reconcile off; the window runs again"
                )
            if len(retry) < len(pending):
                sink.breaker.progressed()
            return (retry or None), response

        await sink.retrying(pairs, attempt)


def delete_body(pairs: list[Pair]) -> bytes:
    return b"".join(
        orjson.dumps({"delete": {"_index": index, "_id": doc_id}}) + b"\n"
        for index, doc_id in pairs
    )


DATE_TYPES = frozenset({"date", "date_nanos"})
KEYWORD_TYPES = frozenset({"keyword", "constant_keyword"})


def mapped_type(mappings: object, field: str) -> str | None:
    """The type a mapping gives a dotted field (``a.b`` is ``properties.a.properties.b``)."""
    node = mappings
    for part in field.split("."):
        properties = node.get("properties") if isinstance(node, dict) else None
        node = properties.get(part) if isinstance(properties, dict) else None
    if not isinstance(node, dict):
        return None
    return str(node.get("type") or ("object" if "properties" in node else "")) or None


def mapping_problem(mappings: object, index: str, date_field: str) -> str | None:
    """Why reconciling cannot find this job's documents with the index's mapping, if it cannot.

    The search (:mod:`es_search`) takes a ``range`` on ``date_field``, which compares
    dates only on a date field, and a ``term`` on the job marker, which matches a
    whole job name only on a keyword field (see :mod:`es_marker`).
    """
    problems = []
    kind = mapped_type(mappings, date_field)
    if kind not in DATE_TYPES:
        problems.append(
            f"date_field {date_field!r} is {f'mapped as {kind}' if kind else 'not mapped'} "
            "(it needs date)"
        )
    kind = mapped_type(mappings, JOB_FIELD)
    if kind not in KEYWORD_TYPES:
        problems.append(
            f"{JOB_FIELD} is {f'mapped as {kind}' if kind else 'not mapped'} (it needs keyword)"
        )
    if not problems:
        return None
    return (
        f"index {index}: {' and '.join(problems)}: map them before the first run (PUT "
        f'/{index}/_mapping {{"properties": {{"{date_field}": {{"type": "date"}}, '
        f'"{FIELD}": {{"properties": {{"job": {{"type": "keyword"}}}}}}}}}}; a field already '
        "mapped otherwise needs a new index), or reconcile misses documents and refuses windows"
    )
