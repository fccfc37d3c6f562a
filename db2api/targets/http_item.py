"""A plain HTTP API, one request per document: ``PUT {url}{path}`` with ``{index}`` and ``{id}``.

Answers are read by status alone (:func:`db2api.retry.classify`): 2xx is delivered
(unless it is an HTML page, which means a proxy or login page answered), 408/429/5xx
are retried, 401/403/404/405/407 stop the run, any other 4xx dead-letters the
document with the target's words.

Many REST APIs have no upsert: PUT replaces a document that exists but answers 404
for an id they do not have (json-server), or POST creates a document and answers 409
for an id they already have. ``target.upsert`` names the fallback:

- ``none``: ``method`` to ``path``, nothing else; a 404 stops the run.
- ``put-or-post``: ``PUT path`` (with the id); on 404, ``POST collection_path``.
- ``post-or-put``: ``POST collection_path``; on 409, ``PUT path``.

Only the first answer can switch; the second is read like any other. On POST the
API takes the id from the body, so the transform must put it in the document.
An API that answers a duplicate id with a 5xx (json-server 0.17 answers 500
"Error: Insert failed, duplicate id") gives no clear signal to switch on: use
``put-or-post`` for it, since ``post-or-put`` would retry the 500 until its budget
is spent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import quote

from db2api.documents import Document
from db2api.errors import TargetError
from db2api.http import Request, Response
from db2api.retry import Verdict, classify
from db2api.targets.base import (
    Outcome,
    Prepared,
    Sink,
    TargetKind,
    error_text,
    is_html,
    not_the_api,
    refused,
    run_workers,
)

if TYPE_CHECKING:
    from db2api.job import Target

ID_TAIL = "/{id}"


@dataclass(frozen=True)
class Step:
    """One request of an upsert strategy: its method, and whether it goes to the id's URL."""

    method: str
    by_id: bool


PUT_BY_ID = Step("PUT", by_id=True)
POST_TO_COLLECTION = Step("POST", by_id=False)
# (strategy, status of the first answer) -> the request to send instead.
FALLBACKS: dict[tuple[str, int], Step] = {
    ("put-or-post", 404): POST_TO_COLLECTION,
    ("post-or-put", 409): PUT_BY_ID,
}


def first_step(target: Target) -> Step:
    if target.upsert == "put-or-post":
        return PUT_BY_ID
    if target.upsert == "post-or-put":
        return POST_TO_COLLECTION
    return Step(target.method.upper(), by_id=True)


def fallback(upsert: str, status: int) -> Step | None:
    """The request to send instead when the strategy's first request got ``status``."""
    return FALLBACKS.get((upsert, status))


def collection_path(target: Target) -> str | None:
    """Where POST creates documents: ``collection_path``, else ``path`` less ``/{id}``."""
    if target.collection_path is not None:
        return target.collection_path
    if target.path.endswith(ID_TAIL):
        return target.path[: -len(ID_TAIL)] or "/"
    return None


class HttpItem(TargetKind):
    name = "item"
    takes_upsert = True
    # Throughput is latency-bound: one document per request.
    default_concurrency = 64

    def check(self, target: Target, fail: Callable[[str], NoReturn]) -> None:
        if "{id}" not in target.path and target.method.upper() == "PUT":
            fail(
                f"item path {target.path!r} has no {{id}}; a PUT without the id cannot be "
                "idempotent: add {id} to the path"
            )
        if target.upsert == "none":
            return
        if target.method.upper() != "PUT":
            fail(
                f"upsert {target.upsert!r} sends PUT and POST itself: leave target.method "
                f"at 'PUT' (got {target.method!r})"
            )
        collection = collection_path(target)
        if collection is None:
            fail(
                f"upsert {target.upsert!r} POSTs to the collection, and path {target.path!r} "
                "does not end in '/{id}': set target.collection_path, e.g. '/{index}'"
            )
        if "{id}" in collection:
            fail(
                f"target.collection_path {collection!r} contains {{id}}: POST goes to the "
                "collection itself, e.g. '/{index}'"
            )

    def fingerprint(self, target: Target) -> list[str]:
        return [
            *super().fingerprint(target),
            target.method.upper(),
            target.path,
            target.upsert,
            collection_path(target) or "",
        ]

    def sink_type(self) -> type[Sink]:
        return ItemSink


def path_segment(value: str) -> str:
    """``value`` as one URL path segment. ``.`` and ``..`` are encoded as ``%2E``: written
    plainly, URL normalisation would drop them and address another resource."""
    segment = quote(value, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


class ItemSink(Sink):
    """One request per document, retried per document."""

    @cached_property
    def _template(self) -> str:
        """The URL with the index filled in: the same for every document."""
        return self.base_url + self.target.path.replace(
            "{index}", quote(self.target.index, safe="")
        )

    @cached_property
    def _collection(self) -> str:
        return self.base_url + (collection_path(self.target) or "").replace(
            "{index}", quote(self.target.index, safe="")
        )

    def url_for(self, doc_id: str) -> str:
        return self._template.replace("{id}", path_segment(doc_id))

    def request_for(self, step: Step, doc: Document) -> Request:
        url = self.url_for(doc.id) if step.by_id else self._collection
        return Request(step.method, url, doc.body, {"Content-Type": "application/json"})

    async def send(self, documents: Sequence[Document], prepared: Prepared = None) -> Outcome:
        outcome = Outcome()
        pending: Iterator[Document] = iter(documents)

        async def work() -> None:
            for doc in pending:
                await self._deliver(doc, outcome)

        await run_workers(min(self.limiter.maximum, len(documents)), work)
        return outcome

    async def _deliver(self, doc: Document, outcome: Outcome) -> None:
        request = self.request_for(first_step(self.target), doc)
        switched = False

        async def attempt(doc: Document, attempts: int) -> tuple[Document | None, Response | None]:
            nonlocal request, switched
            while True:
                response, _ = await self._request(request, outcome)
                if response is None:
                    self._count_retries(outcome, 1)
                    return doc, None
                then = None if switched else fallback(self.target.upsert, response.status)
                if then is None:
                    break
                request, switched = self.request_for(then, doc), True  # at once, not a retry
            verdict = classify(response.status)
            if verdict is Verdict.ACK:
                if is_html(response):  # a proxy or login page, not the API
                    raise not_the_api(request, response)
                self._acked(outcome, doc)
            elif verdict is Verdict.FATAL:
                raise self._fatal(request, response)
            elif verdict is Verdict.DEAD:
                reason = f"HTTP {response.status}: {error_text(response)}"
                outcome.dead.append(refused(doc, response.status, reason, attempts))
            else:
                self._count_retries(outcome, 1)
                return doc, response
            self.breaker.progressed()
            return None, None

        await self._retrying(doc, attempt)

    def _fatal(self, request: Request, response: Response) -> TargetError:
        error = super()._fatal(request, response)
        if response.status == 404 and self.target.upsert == "none" and "{id}" in self.target.path:
            return TargetError(
                f"{error}, or, for an API that answers 404 to a PUT of a new id, set "
                "target.upsert='put-or-post'"
            )
        return error
