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
from functools import cached_property
from typing import TYPE_CHECKING, NoReturn

import orjson

from db2api.errors import TargetError
from db2api.records.document import Document
from db2api.targets import batching
from db2api.targets.answers import is_html, not_the_api
from db2api.targets.base import Outcome
from db2api.targets.batching import Batch, Framing, ItemResult
from db2api.targets.batching_sink import BatchingKind, BatchingSink, Results
from db2api.targets.readback import ReadBack, check_proof, describe, lookup_path
from db2api.transport.http import Request, Response

if TYPE_CHECKING:
    from db2api.job import Target

__all__ = ["Batch", "BatchSink", "HttpBatch", "body", "iter_batches"]


class HttpBatch(BatchingKind):
    name = "batch"
    default_method = "POST"
    takes_prove_path = True

    def check(self, target: Target, fail: Callable[[str], NoReturn]) -> None:
        check_proof(target, None, fail)
        super().check(target, fail)
        if target.method.upper() not in ("POST", "PUT", "PATCH"):
            fail(f"batch method must be POST, PUT or PATCH (got {target.method!r})")

    def fingerprint(self, target: Target) -> list[str]:
        return [
            *super().fingerprint(target),
            target.method.upper(),
            target.path,
            target.batch_wrap or "",
        ]

    def sink_type(self) -> type[BatchSink]:
        return BatchSink

    def proof(self, target: Target) -> tuple[bool, str]:
        return describe(lookup_path(target, None), target, "no target.prove_path is set")


class ArrayFraming(Framing):
    """``[doc,doc]``, or ``{"<wrap>":[doc,doc]}`` when the API wants an object."""

    separator = b","

    def __init__(self, wrap: str | None) -> None:
        self.head = b"{%s:[" % orjson.dumps(wrap) if wrap else b"["
        self.tail = b"]}" if wrap else b"]"


def body(documents: Sequence[Document], wrap: str | None) -> bytes:
    return ArrayFraming(wrap).body(documents)


def iter_batches(documents: Sequence[Document], target: Target) -> Iterator[Batch | Document]:
    """Batches within ``bulk_docs`` and ``bulk_bytes``; a document too large alone, bare."""
    framing = ArrayFraming(target.batch_wrap)
    return batching.iter_batches(documents, framing, target.bulk_docs, target.bulk_bytes)


class BatchSink(BatchingSink):
    """JSON-array batches, acknowledged whole unless the job names ``batch_items``."""

    limit_words = "what the API takes ({reason})"

    @classmethod
    def framing_for(cls, target: Target) -> Framing:
        return ArrayFraming(target.batch_wrap)

    def read(self, request: Request, response: Response, documents: list[Document]) -> Results:
        """Per-document results, when the job says where the API puts them."""
        if is_html(response):
            raise not_the_api(request, response)
        field = self.target.batch_items
        if not field:
            return None
        try:
            payload = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            payload = None
        results = payload.get(field) if isinstance(payload, dict) else None
        if not isinstance(results, list) or len(results) != len(documents):
            got = len(results) if isinstance(results, list) else "no"
            raise TargetError(
                f"{self.url} answered {got} results in {field!r} for {len(documents)} "
                "documents: check target.batch_items names the field holding one result per "
                "document"
            )
        return [item_result(result) for result in results]

    @property
    def url(self) -> str:
        return self.base_url + self.target.path.replace("{index}", self.target.index)

    @property
    def method(self) -> str:
        return self.target.method.upper()

    @cached_property
    def _read_back(self) -> ReadBack | None:
        path = lookup_path(self.target, None)
        return ReadBack(self, path) if path is not None else None

    async def prove(self, documents: Sequence[Document], outcome: Outcome) -> None:
        if self._read_back is not None:
            await self._read_back.prove(documents, outcome.acked_ids, outcome)


def item_result(result: object) -> ItemResult:
    """One per-document result; an ``error`` without a status is a 400."""
    if not isinstance(result, dict):
        return ItemResult(200, "", "")
    status = result.get("status")
    error = result.get("error")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        status = 400 if error else 200
    if error and status < 300:
        status = 400
    reason = error if isinstance(error, str) else orjson.dumps(error).decode() if error else ""
    return ItemResult(status, "", reason[:500])
