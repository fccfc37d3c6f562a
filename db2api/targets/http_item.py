"""A plain HTTP API, one request per document: ``PUT {url}{path}`` with ``{index}`` and ``{id}``.

Answers are read by status alone (:func:`db2api.transport.retry.classify`): 2xx is delivered
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
API takes the id from the body, so the transform must put it in the document
(field ``target.id_field``, ``id`` by default): a document without it is refused
before any request, and a POST answer that echoes another id stops the run, as
the API has filed the record where a later PUT by id would not find it.
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

import orjson

from db2api.errors import TargetError
from db2api.records.document import Document
from db2api.targets.answers import error_text, is_html, not_the_api, refused
from db2api.targets.base import Outcome, Prepared, Sink, run_workers
from db2api.targets.kind import TargetKind
from db2api.targets.readback import (
    ReadBack,
    check_proof,
    describe,
    id_text,
    lookup_path,
    path_segment,
)
from db2api.transport.http import Request, Response
from db2api.transport.retry import Verdict, classify

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
    takes_prove_path = True
    # Throughput is latency-bound: one document per request.
    default_concurrency = 64

    def check(self, target: Target, fail: Callable[[str], NoReturn]) -> None:
        check_proof(target, default_lookup(target), fail)
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

    def proof(self, target: Target) -> tuple[bool, str]:
        path = lookup_path(target, default_lookup(target))
        return describe(path, target, "target.path has no {id} and target.prove_path is unset")


def default_lookup(target: Target) -> str | None:
    """Read a document back where it was written, when that path names its id."""
    return target.path if "{id}" in target.path else None


def posts(target: Target) -> bool:
    """Whether the strategy may POST a document to the collection (the API picks the id)."""
    return target.upsert in ("put-or-post", "post-or-put")


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
        if not step.by_id:
            self._check_id_in_body(doc)
        url = self.url_for(doc.id) if step.by_id else self._collection
        return Request(step.method, url, doc.body, {"Content-Type": "application/json"})

    @cached_property
    def _read_back(self) -> ReadBack | None:
        path = lookup_path(self.target, default_lookup(self.target))
        return ReadBack(self, path) if path is not None else None

    async def send(self, documents: Sequence[Document], prepared: Prepared = None) -> Outcome:
        outcome = Outcome()
        if documents and posts(self.target):
            self._check_id_in_body(documents[0])  # before the first request
        pending: Iterator[Document] = iter(documents)

        async def work() -> None:
            for doc in pending:
                await self._deliver(doc, outcome)

        await run_workers(min(self.limiter.maximum, len(documents)), work)
        if self._read_back is not None and outcome.acked_ids:
            await self._read_back.prove(documents, outcome.acked_ids, outcome)
        return outcome

    def _check_id_in_body(self, doc: Document) -> None:
        """A POST files the record under the id in its body: it must be the document's."""
        field = self.target.id_field
        body = orjson.loads(doc.body)
        held = body.get(field) if isinstance(body, dict) else None
        if held is None or id_text(held) != doc.id:
            what = f"has no field {field!r}" if held is None else f"holds {field}={held!r}"
            raise TargetError(
                f"document {doc.id} {what}, and upsert {self.target.upsert!r} POSTs new "
                f"records to {self._collection}, where the API files a record under the id "
                f"in its body: put the id in the document (field {field!r}) in the transform, "
                "or set target.id_field to the field that holds it"
            )

    def _check_echo(self, doc: Document, response: Response) -> None:
        """The POST answer's id (json-server, Datasette, PostgREST echo the record)."""
        try:
            echoed = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            return  # nothing echoed: the read-back proves it
        field = self.target.id_field
        if isinstance(echoed, dict) and field in echoed and id_text(echoed[field]) != doc.id:
            raise TargetError(
                f"the API stored the record under id {id_text(echoed[field])} instead of "
                f"{doc.id} (POST {self._collection}): put the id in the document (field "
                f"{field!r}) or use method PUT; an API that picks its own ids on POST cannot "
                "be written to by id"
            )

    async def _deliver(self, doc: Document, outcome: Outcome) -> None:
        request = self.request_for(first_step(self.target), doc)
        switched = False

        async def attempt(doc: Document, attempts: int) -> tuple[Document | None, Response | None]:
            nonlocal request, switched
            while True:
                response, _ = await self._request(request, outcome)
                if response is None:
                    self.count_retry(outcome)
                    return doc, None
                then = None if switched else fallback(self.target.upsert, response.status)
                if then is None:
                    break
                request, switched = self.request_for(then, doc), True  # at once, not a retry
            verdict = classify(response.status)
            if verdict is Verdict.ACK:
                if is_html(response):  # a proxy or login page, not the API
                    raise not_the_api(request, response)
                if request.method == "POST" and request.url == self._collection:
                    self._check_echo(doc, response)
                self._acked(outcome, doc)
            elif verdict is Verdict.FATAL:
                raise self.fatal(request, response)
            elif verdict is Verdict.DEAD:
                reason = f"HTTP {response.status}: {error_text(response)}"
                outcome.dead.append(refused(doc, response.status, reason, attempts))
            else:
                self.count_retry(outcome)
                return doc, response
            self.breaker.progressed()
            return None, None

        await self.retrying(doc, attempt)

    def fatal(self, request: Request, response: Response, what: str = "") -> TargetError:
        error = super().fatal(request, response, what)
        if response.status == 404 and self.target.upsert == "none" and "{id}" in self.target.path:
            return TargetError(
                f"{error}, or, for an API that answers 404 to a PUT of a new id, set "
                "target.upsert='put-or-post'"
            )
        return error
