"""The proof for plain HTTP APIs: acknowledged documents read back by id.

A 2xx says an API took a document, not that it holds it under that id: json-server
0.17 answers 201 to a POST without an ``id`` and files the record under an id of its
own. So after each chunk the ids acknowledged are looked up again at
``target.prove_path`` (item mode's default: ``target.path``):

- ``{id}`` in it: one GET per id, a few at a time through the run's limiter. A 2xx
  holds the id (unless its JSON shows only records of other ids, or none); 404 or
  410 does not.
- ``name={ids*}`` in the query: one GET per ``LOOKUP_BATCH`` ids with the parameter
  repeated per id (``/{index}?id={ids*}`` asks json-server 0.17
  ``/readings?id=1&id=2``); ``{ids}``: the ids joined by commas (Datasette's
  ``?reading_id__in={ids}``, PostgREST's ``?id=in.({ids})``). The answer is a JSON
  array of the records found (or an object holding it under ``rows``), each with the
  id in ``target.id_field``.

``prove="content"`` compares too: every field of the sent document must be in the
record read back with an equal JSON value (a number equals the same number written
as an integer or a float; the id field compares as text, as some APIs keep ids as
strings). Fields the API adds (timestamps, its own keys) are ignored.

An id acknowledged but not held is no dead letter (the API did not refuse it): it
fails the window, which runs again, as the bulk kind's ``_mget`` proof does. A path
that answers 405 or 501 cannot be asked: one warning per run, and the documents
acknowledged from then on rest on the target's word (the run summary counts them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

import orjson

from db2api.errors import AccountingError, TargetError
from db2api.log import run_logger
from db2api.targets.answers import error_text, is_html
from db2api.targets.base import Outcome, run_workers
from db2api.transport.http import Response

if TYPE_CHECKING:
    from db2api.job import Target
    from db2api.records.document import Document
    from db2api.targets.base import Sink

LOOKUP_BATCH = 100  # ids per batched look-up: Datasette's default page holds 100 rows
SHOWN = 5
REPEATED = re.compile(r"([?&])([^?&=/]+)=\{ids\*\}")
MISSING = object()  # an id the answer shows the target does not hold
PROVES = (True, False, "content")


def lookup_path(target: Target, default: str | None) -> str | None:
    """Where this job reads documents back, or None: it takes the target's word."""
    if target.prove is False:
        return None
    return target.prove_path or default


def describe(path: str | None, target: Target, missing: str) -> tuple[bool, str]:
    """(proves, how) for the run summary and the once-per-run declaration."""
    if path is None:
        return False, "target.prove=False" if target.prove is False else missing
    fields = " and its fields compared" if target.prove == "content" else ""
    return True, f"every acknowledged id read back with GET {path}{fields}"


def check_proof(target: Target, default: str | None, fail: Callable[[str], NoReturn]) -> None:
    """Refuse proof settings that cannot work, in one line each."""
    path = target.prove_path
    if path is not None:
        if not isinstance(path, str) or not path.startswith("/"):
            fail(f"target.prove_path must be a path starting with '/' (got {path!r})")
        forms = ("{id}" in path) + ("{ids}" in path) + bool(REPEATED.search(path))
        if "{ids*}" in path and not REPEATED.search(path):
            fail(
                f"target.prove_path {path!r}: {{ids*}} repeats a query parameter per id and "
                "must be its whole value, e.g. '/{index}?id={ids*}'"
            )
        if forms != 1:
            fail(
                f"target.prove_path {path!r} must name the ids once: '{{id}}' (one GET per id, "
                "e.g. '/{index}/{id}'), 'name={ids*}' (a query parameter repeated per id, e.g. "
                "'/{index}?id={ids*}') or '{ids}' (the ids joined by commas)"
            )
    if target.prove == "content" and lookup_path(target, default) is None:
        fail(
            "target.prove='content' reads records back, and this target has no path to read "
            "them at: set target.prove_path, e.g. '/{index}/{id}'"
        )


def path_segment(value: str) -> str:
    """``value`` as one URL path segment. ``.`` and ``..`` are encoded as ``%2E``: written
    plainly, URL normalisation would drop them and address another resource."""
    segment = quote(value, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def id_text(value: object) -> str:
    """An id as text, as db2api keeps ids: ``1000``, ``1000.0`` and ``"1000"`` are one id."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def records_in(payload: object) -> list[dict[str, Any]] | None:
    """The records a look-up answered: an array, Datasette's ``rows``, an ES ``_source``."""
    if isinstance(payload, dict):
        rows = payload.get("rows")
        if isinstance(rows, list):
            payload = rows
        elif isinstance(payload.get("_source"), dict):
            return [payload["_source"]] if payload.get("found", True) else []
        else:
            return [payload]
    if isinstance(payload, list):
        return [record for record in payload if isinstance(record, dict)]
    return None


def difference(sent: dict[str, Any], held: dict[str, Any], id_field: str) -> str | None:
    """The first field the record read back does not hold as sent, in a few words."""
    for name, value in sent.items():
        if name not in held:
            return f"field {name!r} is missing"
        stored = held[name]
        same = id_text(stored) == id_text(value) if name == id_field else stored == value
        if not same:
            return f"field {name!r} is {_short(stored)}, sent {_short(value)}"
    return None


def _short(value: object) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 40 else text[:37] + "..."


def _listed(items: Sequence[str], count: int) -> str:
    more = f" (first {SHOWN})" if count > SHOWN else ""
    return "; ".join(items[:SHOWN]) + more


class ReadBack:
    """One run's read-back at one path, through the sink's limiter and retry loop."""

    def __init__(self, sink: Sink, template: str) -> None:
        self.sink = sink
        self.template = template.replace("{index}", quote(sink.target.index, safe=""))
        self.batched = "{id}" not in template
        self.content = sink.target.prove == "content"
        self.id_field = sink.target.id_field
        self.unprovable = False  # the path answered 405/501: said once, then not asked

    async def prove(
        self, documents: Sequence[Document], ids: Sequence[str], outcome: Outcome
    ) -> None:
        """Count the ids held; raise :class:`AccountingError` naming those not held as sent."""
        if self.unprovable or not ids:
            return
        held = await (
            self._look_up_batches(ids, outcome)
            if self.batched
            else self._look_up_each(ids, outcome)
        )
        if held is None:
            return
        sent = {doc.id: doc for doc in documents} if self.content else {}
        missing: list[str] = []
        changed: list[str] = []
        for doc_id in ids:
            record = held.get(doc_id, MISSING)
            if record is MISSING:
                missing.append(doc_id)
            elif self.content and doc_id in sent:
                if not isinstance(record, dict):
                    raise self._not_records(doc_id)
                what = difference(sent[doc_id].decoded(), record, self.id_field)
                if what is not None:
                    changed.append(f"id {doc_id}: {what}")
        outcome.proven += len(ids) - len(missing) - len(changed)
        where = f"{self.sink.base_url}{self.template}"
        if missing:
            raise AccountingError(
                f"the API acknowledged {len(missing)} documents it does not hold when read "
                f"back with GET {where} (ids: {_listed(missing, len(missing))}): the window "
                "is not complete and runs again next time; if the API keeps them at another "
                "path set target.prove_path, or target.prove=False to take its word"
            )
        if changed:
            raise AccountingError(
                f"the API holds {len(changed)} documents other than sent, read back with GET "
                f"{where} ({_listed(changed, len(changed))}): the window is not complete and "
                "runs again next time; if the API rewrites those fields on purpose, set "
                "target.prove=True to prove the ids only"
            )

    async def _look_up_each(self, ids: Sequence[str], outcome: Outcome) -> dict[str, Any] | None:
        held: dict[str, Any] = {}
        pending = iter(ids)

        async def work() -> None:
            for doc_id in pending:
                if self.unprovable:
                    return
                path = self.template.replace("{id}", path_segment(doc_id))
                response = await self.sink.call("GET", path, None, outcome)
                record = self._one(doc_id, path, response)
                if record is not MISSING:
                    held[doc_id] = record

        await run_workers(min(self.sink.limiter.maximum, len(ids)), work)
        return None if self.unprovable else held

    def _one(self, doc_id: str, path: str, response: Response) -> Any:
        """The record held under ``doc_id`` (None when its body tells nothing), or MISSING."""
        status = response.status
        if status in (404, 410):
            return MISSING
        if status < 300:
            records = self._records(path, response)
            if records is None:  # a 2xx that is not JSON: held, fields unknown
                return None
            mine = [r for r in records if id_text(r.get(self.id_field, doc_id)) == doc_id]
            return mine[0] if mine else MISSING
        self._refused(path, response)
        return MISSING

    async def _look_up_batches(self, ids: Sequence[str], outcome: Outcome) -> dict[str, Any] | None:
        held: dict[str, Any] = {}
        for start in range(0, len(ids), LOOKUP_BATCH):
            path = self._batch_path(ids[start : start + LOOKUP_BATCH])
            response = await self.sink.call("GET", path, None, outcome)
            if response.status >= 300:
                self._refused(path, response)
                return None
            records = self._records(path, response)
            if records is None:
                raise self._not_records(path)
            for record in records:
                if self.id_field not in record:
                    raise TargetError(
                        f"GET {self.sink.base_url}{path} answered records without the field "
                        f"{self.id_field!r}: set target.id_field to the field holding the id"
                    )
                held[id_text(record[self.id_field])] = record
        return held

    def _batch_path(self, ids: Sequence[str]) -> str:
        match = REPEATED.search(self.template)
        if match is None:
            return self.template.replace("{ids}", ",".join(quote(i, safe="") for i in ids))
        lead, name = match.group(1), match.group(2)
        pairs = "&".join(f"{name}={quote(i, safe='')}" for i in ids)
        return self.template[: match.start()] + lead + pairs + self.template[match.end() :]

    def _records(self, path: str, response: Response) -> list[dict[str, Any]] | None:
        if is_html(response):
            raise self._not_records(path)
        try:
            payload = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            if self.content or self.batched:
                raise self._not_records(path) from None
            return None
        return records_in(payload)

    def _not_records(self, what: str) -> TargetError:
        return TargetError(
            f"reading back {self.sink.base_url}{self.template} gave no JSON records for "
            f"{what}: set target.prove_path to where the API answers records by id, or "
            "target.prove=False to take its word"
        )

    def _refused(self, path: str, response: Response) -> None:
        """A look-up the API does not answer: say so once (405/501), or stop the run."""
        status = response.status
        if status in (405, 501):
            if not self.unprovable:
                self.unprovable = True
                run_logger().warning(
                    f"target {self.sink.base_url} answers GET {self.template} with HTTP "
                    f"{status}: acknowledged documents cannot be read back there, so from now "
                    "on db2api takes the target's word that it holds them (set "
                    "target.prove_path to where it answers records by id, or "
                    "target.prove=False)"
                )
            return
        advice = {
            401: "the credentials may not read: grant read access to the key",
            403: "the credentials may not read: grant read access to the key",
            404: "no such path: check target.prove_path",
        }.get(status, "check target.prove_path")
        raise TargetError(
            f"reading back delivered documents with GET {self.sink.base_url}{path} failed with "
            f"HTTP {status} ({error_text(response)}): {advice}, or set target.prove=False to "
            "take the API's word"
        )
