"""A plain HTTP API that takes many documents per request: ``POST {path}`` with a JSON array.

The body is ``[doc, doc, ...]``, or ``{"<batch_wrap>": [doc, ...]}`` when the API
wants an object. A 2xx acknowledges the whole batch, unless the job names
``batch_items``: the response field holding one result per document, in order,
each read like a single answer (an ``error`` or a non-2xx ``status`` is a failure).

One bad document must not sink its neighbours: a batch the API refuses as a whole
(400, 413, 422 …) is split in halves and sent again, down to the one document
that is refused, which becomes the dead letter; a refusal about the request
itself, or one both halves meet in the same words, stops the run instead
(:mod:`db2api.targets.halves`).

Re-sending a batch is idempotent only if the API upserts by a key inside the
document: put the id in the document in the transform.

A 2xx for a batch is the API's word. With ``target.prove_path`` the acknowledged
ids are read back after each chunk (:mod:`db2api.targets.readback`); without it
the run says once, and in its summary, that it takes the API's word.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, NoReturn

import orjson

from db2api.errors import TargetError
from db2api.records.deadletters import DeadLetter
from db2api.records.document import Document
from db2api.targets.base import (
    Outcome,
    Prepared,
    Sink,
    TargetKind,
    is_html,
    not_the_api,
    refused,
    too_large,
)
from db2api.targets.halves import Refusal, settle_refusal
from db2api.targets.readback import ReadBack, check_proof, describe, lookup_path
from db2api.transport.http import Request, Response
from db2api.transport.retry import Verdict, classify

if TYPE_CHECKING:
    from db2api.job import Target


@dataclass
class Batch:
    documents: list[Document]
    body: bytes


Pending = tuple[list[Document], bytes]  # documents still to send, and their body


class HttpBatch(TargetKind):
    name = "batch"
    default_concurrency = 8
    default_method = "POST"
    takes_prove_path = True

    def check(self, target: Target, fail: Callable[[str], NoReturn]) -> None:
        check_proof(target, None, fail)
        if target.bulk_docs < 1 or target.bulk_bytes < 1024:
            fail(
                f"bulk_docs must be >= 1 and bulk_bytes >= 1024 "
                f"(got {target.bulk_docs}, {target.bulk_bytes})"
            )
        if target.method.upper() not in ("POST", "PUT", "PATCH"):
            fail(f"batch method must be POST, PUT or PATCH (got {target.method!r})")

    def fingerprint(self, target: Target) -> list[str]:
        return [
            *super().fingerprint(target),
            target.method.upper(),
            target.path,
            target.batch_wrap or "",
        ]

    def prepare(self, documents: Sequence[Document], target: Target) -> Prepared:
        return list(iter_batches(documents, target))

    def sink_type(self) -> type[Sink]:
        return BatchSink

    def proof(self, target: Target) -> tuple[bool, str]:
        return describe(lookup_path(target, None), target, "no target.prove_path is set")

    def oversize(self, doc: Document, target: Target) -> DeadLetter:
        return too_large(doc, len(doc.body), _cap(target))


def _cap(target: Target) -> str:
    return f"target.bulk_bytes ({target.bulk_bytes})"


def body(documents: Sequence[Document], wrap: str | None) -> bytes:
    array = b"[" + b",".join(doc.body for doc in documents) + b"]"
    return b"{%s:%s}" % (orjson.dumps(wrap), array) if wrap else array


def iter_batches(documents: Sequence[Document], target: Target) -> Iterator[Batch | Document]:
    """Batches within ``bulk_docs`` and ``bulk_bytes``; a document too large alone, bare."""
    # n documents take their bodies, n - 1 commas and the brackets (or the wrapper).
    room = target.bulk_bytes - len(body([], target.batch_wrap)) + 1
    members: list[Document] = []
    size = 0
    for document in documents:
        needed = len(document.body) + 1  # with its comma
        if needed > room:
            yield document
            continue
        if members and (len(members) >= target.bulk_docs or size + needed > room):
            yield Batch(members, body(members, target.batch_wrap))
            members, size = [], 0
        members.append(document)
        size += needed
    if members:
        yield Batch(members, body(members, target.batch_wrap))


class BatchSink(Sink):
    """Batches in flight under the run's limiter, retried whole, bisected when refused."""

    @property
    def url(self) -> str:
        return self.base_url + self.target.path.replace("{index}", self.target.index)

    async def send(self, documents: Sequence[Document], prepared: Prepared = None) -> Outcome:
        outcome = Outcome()
        items = prepared if prepared is not None else iter_batches(documents, self.target)
        cap = _cap(self.target)
        too_big = lambda doc: too_large(doc, len(doc.body), cap)  # noqa: E731
        await self._send_batches(items, too_big, self._deliver, outcome)
        if self._read_back is not None and outcome.acked_ids:
            await self._read_back.prove(documents, outcome.acked_ids, outcome)
        return outcome

    @cached_property
    def _read_back(self) -> ReadBack | None:
        path = lookup_path(self.target, None)
        return ReadBack(self, path) if path is not None else None

    async def _deliver(
        self,
        documents: list[Document],
        data: bytes,
        outcome: Outcome,
        hold: Refusal | None = None,
        first: bool = True,
    ) -> Refusal | None:
        method, headers = self.target.method.upper(), {"Content-Type": "application/json"}
        held: list[Refusal] = []

        async def attempt(batch: Pending, attempts: int) -> tuple[Pending | None, Response | None]:
            pending, data = batch
            request = Request(method, self.url, data, headers)
            response, _ = await self._request(request, outcome)
            retry = pending
            if response is not None:
                verdict = classify(response.status)
                if verdict is Verdict.ACK:
                    if is_html(response):
                        raise not_the_api(request, response)
                    retry = self._sort(pending, response, attempts, outcome)
                elif verdict is Verdict.FATAL:
                    raise self._fatal(request, response)
                elif verdict is Verdict.DEAD:
                    refusal = await settle_refusal(
                        self, pending, response, attempts, outcome, hold, first
                    )
                    if refusal is not None:
                        held.append(refusal)
                    return None, None
            if not retry:
                return None, None
            self._count_retries(outcome)
            again = data if retry is pending else body(retry, self.target.batch_wrap)
            return (retry, again), response

        await self._retrying((documents, data), attempt)
        return held[0] if held else None

    async def send_part(
        self, documents: list[Document], outcome: Outcome, hold: Refusal | None
    ) -> Refusal | None:
        data = body(documents, self.target.batch_wrap)
        return await self._deliver(documents, data, outcome, hold, first=False)

    def letter(self, doc: Document, refusal: Refusal, attempts: int) -> DeadLetter:
        if refusal.status == 413:
            return too_large(doc, len(doc.body), f"what the API takes ({refusal.reason})")
        return refused(doc, refusal.status, refusal.reason, attempts)

    def where(self) -> str:
        return f"{self.target.method.upper()} {self.url}"

    def _sort(
        self, pending: list[Document], response: Response, attempts: int, outcome: Outcome
    ) -> list[Document]:
        """Per-document results, when the job says where the API puts them."""
        field = self.target.batch_items
        if not field:
            for doc in pending:
                self._acked(outcome, doc)
            self.breaker.progressed()
            return []
        try:
            payload = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            payload = None
        results = payload.get(field) if isinstance(payload, dict) else None
        if not isinstance(results, list) or len(results) != len(pending):
            got = len(results) if isinstance(results, list) else "no"
            raise TargetError(
                f"{self.url} answered {got} results in {field!r} for {len(pending)} documents: "
                "check target.batch_items names the field holding one result per document"
            )
        retry: list[Document] = []
        for doc, result in zip(pending, results, strict=True):
            status, reason = _result(result)
            verdict = classify(status)
            if verdict is Verdict.ACK:
                self._acked(outcome, doc)
            elif verdict is Verdict.RETRY:
                retry.append(doc)
                self.breaker.stalled(f"item {status}")
            else:
                outcome.dead.append(refused(doc, status, reason, attempts))
        if len(retry) < len(pending):
            self.breaker.progressed()
        return retry


def _result(result: object) -> tuple[int, str]:
    """(status, reason) of one per-document result; an ``error`` without a status is a 400."""
    if not isinstance(result, dict):
        return 200, ""
    status = result.get("status")
    error = result.get("error")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        status = 400 if error else 200
    if error and status < 300:
        status = 400
    reason = error if isinstance(error, str) else orjson.dumps(error).decode() if error else ""
    return status, reason[:500]
