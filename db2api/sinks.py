"""Sinks deliver documents: every document ends acknowledged or dead-lettered.

``send(documents) -> Outcome`` never gives up on a document silently. Passing
failures (429, 5xx, timeouts, resets) are retried per document with backoff inside
the sink; a document the target refuses, or one whose retry budget is spent,
becomes a dead letter with the reason; a misconfiguration that would fail every
document (401, 403, 404, TLS) raises :class:`TargetError` and stops the run.

A fixed number of worker coroutines per call pull documents (or ``_bulk`` batches)
from a shared iterator, and a run-wide :class:`Limiter` bounds what is in flight,
so a 5,000-document chunk is never 5,000 coroutines.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from functools import cached_property
from typing import Protocol
from urllib.parse import quote

import aiohttp
import orjson

from db2api import bulk
from db2api.deadletters import DeadLetter
from db2api.documents import Document
from db2api.errors import TargetError, first_error
from db2api.http import Request, Response, TransportError
from db2api.http import send as http_send
from db2api.job import Target
from db2api.limiter import Limiter
from db2api.retry import RetryPolicy, Verdict, classify, classify_item, parse_retry_after

SendFn = Callable[[aiohttp.ClientSession, Request], Awaitable[Response]]
OVERLOAD = frozenset({429, 503})


class Outcome:
    """What happened to the documents of one ``send`` call."""

    __slots__ = ("acked", "bytes", "dead", "requests", "retries", "samples")

    def __init__(self) -> None:
        self.acked = 0
        self.dead: list[DeadLetter] = []
        self.samples: list[dict[str, object]] = []  # dry runs only
        self.retries = 0
        self.requests = 0
        self.bytes = 0


Prepared = list[bulk.Batch | Document] | None  # bulk bodies built ahead, in order


class DocumentSink(Protocol):
    """Where a window's documents go: the target, or nowhere in a dry run."""

    async def send(self, documents: Sequence[Document], prepared: Prepared = None) -> Outcome: ...


class Sink:
    """Shared plumbing: the session, the limiter, the retry policy and counters."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        target: Target,
        policy: RetryPolicy,
        limiter: Limiter,
        auth_hint: str = "",
        send: SendFn = http_send,
        rng: random.Random | None = None,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.target = target
        self.policy = policy
        self.limiter = limiter
        self.auth_hint = auth_hint
        self._send = send
        self.rng = rng or random.Random()
        self.statuses: Counter[str] = Counter()
        self.retries = 0

    async def send(self, documents: Sequence[Document], prepared: Prepared = None) -> Outcome:
        raise NotImplementedError

    async def _request(
        self, request: Request, outcome: Outcome
    ) -> tuple[Response | None, str, int]:
        """Send once inside a limiter slot: (response or None, error text, sequence)."""
        sequence = await self.limiter.acquire()  # not `async with`: this runs per document
        try:
            outcome.requests += 1
            outcome.bytes += len(request.body)
            try:
                response = await self._send(self.session, request)
            except TransportError as exc:
                self.statuses[exc.kind] += 1
                if exc.kind == "tls":
                    raise TargetError(
                        f"TLS to {self.base_url} failed: {exc}: set target.ca_file to the PEM "
                        "certificate of the CA that signed it (or install that CA in the system "
                        "store); verify_tls=False turns the check off if you accept the risk"
                    ) from None
                if exc.kind == "timeout":
                    self.limiter.overloaded(sequence)
                return None, f"{exc.kind}: {exc}", sequence
        finally:
            self.limiter.release()
        self.statuses[str(response.status)] += 1
        if response.status in OVERLOAD:
            self.limiter.overloaded(sequence)
        elif response.status < 300:
            self.limiter.succeeded()
        return response, "", sequence

    def _fatal(self, request: Request, response: Response) -> TargetError:
        status, where = response.status, f"{request.method} {request.url}"
        said = _error_text(response)
        advice = {
            401: f"the target refused the credentials: check {self.auth_hint or 'target.auth_env'}",
            403: "the credentials may not write here: check the API key's privileges",
            404: "no such path or index: check target.url and target.index / target.path",
            405: "method not allowed: check target.method and target.path",
            407: "a proxy wants credentials: check the proxy settings",
            413: "the request is too large for the target: lower target.bulk_bytes",
        }.get(status, "retrying will not help")
        return TargetError(f"HTTP {status} from {where} ({said}): {advice}")

    def _wait(self, attempts: int, response: Response | None) -> float:
        retry_after = parse_retry_after(response.headers.get("Retry-After")) if response else None
        return self.policy.delay(attempts, retry_after, self.rng)


def _error_text(response: Response) -> str:
    """The target's own words: ES-shaped ``error.type: reason``, else a text snippet."""
    try:
        payload = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return " ".join(response.text[:300].split()) or "no body"
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        return f"{error.get('type', 'error')}: {error.get('reason', '')}".strip()
    if error:
        return str(error)[:300]
    return " ".join(response.text[:300].split())


def _is_html(response: Response) -> bool:
    kind = response.headers.get("Content-Type")  # the spelling http.send keeps; runs per document
    if kind is None:
        kind = next((v for k, v in response.headers.items() if k.lower() == "content-type"), "")
    return kind.lower().startswith("text/html")


def _not_the_api(request: Request, response: Response) -> TargetError:
    snippet = response.body[:80].decode("utf-8", "replace").replace("\n", " ")
    return TargetError(
        f"target answered {request.method} {request.url} with an HTML page, not an API "
        f"response ({snippet!r}): check that target.url points at the API itself, not at a "
        "proxy or login page"
    )


def oversize_letter(target: Target, doc: Document) -> DeadLetter:
    size = bulk.entry_size(bulk.action_line(target.index, doc.id), doc)
    return DeadLetter(
        doc.id,
        doc.decoded(),
        None,
        "DocumentTooLarge",
        f"document needs {size} bytes in a _bulk body, over target.bulk_bytes "
        f"({target.bulk_bytes}): raise the cap or slim the document in the transform",
    )


def _gave_up(
    doc: Document, attempts: int, elapsed: float, last: str, status: int | None
) -> DeadLetter:
    return DeadLetter(
        id=doc.id,
        document=doc.decoded(),
        status=status,
        error="RetriesExhausted",
        reason=f"gave up after {attempts} attempts over {elapsed:.1f}s; last: {last}",
        attempts=attempts,
    )


async def _run_workers(count: int, work: Callable[[], Awaitable[None]]) -> None:
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(count):
                group.create_task(work())
    except BaseExceptionGroup as errors:
        raise first_error(errors) from None


class ItemSink(Sink):
    """One request per document: ``PUT {url}{path}`` with ``{index}`` and ``{id}``."""

    @cached_property
    def _template(self) -> str:
        """The URL with the index filled in: the same for every document."""
        return self.base_url + self.target.path.replace(
            "{index}", quote(self.target.index, safe="")
        )

    def url_for(self, doc_id: str) -> str:
        return self._template.replace("{id}", quote(doc_id, safe=""))

    async def send(self, documents: Sequence[Document], prepared: Prepared = None) -> Outcome:
        outcome = Outcome()
        pending: Iterator[Document] = iter(documents)

        async def work() -> None:
            for doc in pending:
                await self._deliver(doc, outcome)

        await _run_workers(min(self.limiter.maximum, len(documents)), work)
        return outcome

    async def _deliver(self, doc: Document, outcome: Outcome) -> None:
        request = Request(
            self.target.method.upper(),
            self.url_for(doc.id),
            doc.body,
            {"Content-Type": "application/json"},
        )
        first, attempts = time.monotonic(), 0
        while True:
            attempts += 1
            response, error, _ = await self._request(request, outcome)
            status = response.status if response else None
            if response is not None:
                verdict = classify(response.status)
                if verdict is Verdict.ACK:
                    if _is_html(response):  # a proxy or login page, not the API
                        raise _not_the_api(request, response)
                    outcome.acked += 1
                    return
                if verdict is Verdict.FATAL:
                    raise self._fatal(request, response)
                error = f"HTTP {response.status}: {_error_text(response)}"
                if verdict is Verdict.DEAD:
                    outcome.dead.append(
                        DeadLetter(doc.id, doc.decoded(), status, f"HTTP {status}", error, attempts)
                    )
                    return
            delay = self._wait(attempts, response)
            elapsed = time.monotonic() - first
            if not self.policy.has_budget(attempts, elapsed, delay):
                outcome.dead.append(_gave_up(doc, attempts, elapsed, error, status))
                return
            outcome.retries += 1
            self.retries += 1
            await asyncio.sleep(delay)


class BulkSink(Sink):
    """Elasticsearch/OpenSearch ``_bulk``: batches capped by count and bytes."""

    @property
    def url(self) -> str:
        return f"{self.base_url}/_bulk"

    async def send(self, documents: Sequence[Document], prepared: Prepared = None) -> Outcome:
        outcome = Outcome()
        target = self.target
        batches: list[bulk.Batch] = []
        for item in prepared if prepared is not None else bulk.prepare(documents, target):
            if isinstance(item, Document):
                outcome.dead.append(oversize_letter(target, item))
            else:
                batches.append(item)
        pending = iter(batches)

        async def work() -> None:
            for batch in pending:
                await self._deliver(batch, outcome)

        await _run_workers(min(self.limiter.maximum, len(batches)), work)
        return outcome

    async def _deliver(self, batch: bulk.Batch, outcome: Outcome) -> None:
        first, attempts = time.monotonic(), 0
        headers = {"Content-Type": "application/x-ndjson"}
        pending, body = batch.documents, batch.body
        while pending:
            attempts += 1
            request = Request("POST", self.url, body, headers)
            response, error, sequence = await self._request(request, outcome)
            status = response.status if response else None
            if response is None:
                retry = pending
            elif response.status < 300:
                results = bulk.parse_response(response.body, len(pending), self.url)
                if results is None:
                    outcome.acked += len(pending)
                    return
                retry, error, status = self._sort(pending, results, attempts, outcome, sequence)
            else:
                verdict = classify(response.status)
                if verdict is Verdict.FATAL or response.status == 413:
                    raise self._fatal(request, response)
                error = f"HTTP {response.status}: {_error_text(response)}"
                if verdict is Verdict.DEAD:
                    outcome.dead.extend(
                        DeadLetter(d.id, d.decoded(), status, f"HTTP {status}", error, attempts)
                        for d in pending
                    )
                    return
                retry = pending
            if not retry:
                return
            delay = self._wait(attempts, response)
            elapsed = time.monotonic() - first
            if not self.policy.has_budget(attempts, elapsed, delay):
                outcome.dead.extend(_gave_up(d, attempts, elapsed, error, status) for d in retry)
                return
            outcome.retries += len(retry)
            self.retries += len(retry)
            await asyncio.sleep(delay)
            pending, body = retry, bulk.body(self.target.index, retry)

    def _sort(
        self,
        pending: list[Document],
        results: list[bulk.ItemResult],
        attempts: int,
        outcome: Outcome,
        sequence: int,
    ) -> tuple[list[Document], str, int | None]:
        """Ack, dead-letter or keep for retry each item; returns the retries and last error."""
        retry: list[Document] = []
        error, status, overloaded = "", None, False
        for doc, result in zip(pending, results, strict=True):
            verdict = classify_item(result.status)
            if verdict is Verdict.ACK:
                outcome.acked += 1
            elif verdict is Verdict.RETRY:
                retry.append(doc)
                overloaded |= result.status in OVERLOAD
                error = f"HTTP {result.status}: {result.error}: {result.reason}"
                status = result.status
            else:
                reason = f"{result.error}: {result.reason}" if result.error else "rejected"
                outcome.dead.append(
                    DeadLetter(
                        doc.id,
                        doc.decoded(),
                        result.status,
                        f"HTTP {result.status}",
                        reason,
                        attempts,
                    )
                )
        if overloaded:
            self.limiter.overloaded(sequence)
        return retry, error, status
