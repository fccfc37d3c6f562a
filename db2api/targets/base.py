"""What every target kind shares: the outcome of a send, the sink plumbing, the kind seam.

A *kind* (Elasticsearch ``_bulk``, one HTTP request per document, an HTTP batch)
owns everything that differs between targets: checking its settings, turning a
chunk into request bodies (in the reader thread), classifying answers, proving
completeness, and its defaults. The pipeline asks a kind for a sink and never
looks at which kind it has.

``send(documents) -> Outcome`` never gives up on a document silently. Passing
failures (429, 5xx, timeouts, resets) are retried per document with backoff inside
the sink; a document the target refuses, or one whose retry budget is spent,
becomes a dead letter with the reason; a misconfiguration that would fail every
document raises :class:`TargetError` and stops the run.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

import aiohttp
import orjson

from db2api.errors import TargetError, first_error
from db2api.log import run_logger
from db2api.records.deadletters import DeadLetter
from db2api.records.document import Document
from db2api.transport.breaker import Breaker
from db2api.transport.http import Request, Response, TransportError
from db2api.transport.http import send as http_send
from db2api.transport.limiter import Limiter
from db2api.transport.retry import RETRYABLE, RetryPolicy, parse_retry_after

if TYPE_CHECKING:
    from db2api.job import Target

SendFn = Callable[[aiohttp.ClientSession, Request], Awaitable[Response]]
OVERLOAD = frozenset({429, 503})
Prepared = list[Any] | None  # request bodies a kind built ahead, in the reader thread
T = TypeVar("T")
Attempt = Callable[[T, int], Awaitable[tuple[T | None, Response | None]]]


class Outcome:
    """What happened to the documents of one ``send`` call."""

    __slots__ = (
        "acked",
        "acked_ids",
        "bytes",
        "dead",
        "present",
        "proven",
        "requests",
        "retries",
        "samples",
    )

    def __init__(self) -> None:
        self.acked = 0
        self.acked_ids: list[str] = []  # what the target said it has, for the proof
        self.present = 0  # of the acked: already at the target (a `create` that met its id)
        self.proven = 0  # of the acked: read back from the target by id
        self.dead: list[DeadLetter] = []
        self.samples: list[dict[str, object]] = []  # dry runs only
        self.retries = 0
        self.requests = 0
        self.bytes = 0


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
        breaker: Breaker | None = None,
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
        self.breaker = breaker or Breaker(self.base_url, policy.give_up_after, policy.base_delay)

    async def send(self, documents: Sequence[Document], prepared: Prepared = None) -> Outcome:
        raise NotImplementedError

    async def _request(self, request: Request, outcome: Outcome) -> tuple[Response | None, int]:
        """Send once, when the breaker and the limiter allow: (response or None, sequence).

        Every answer is reported to the breaker (is the target up?) and the limiter
        (is it overloaded?); deciding what it means for the documents is the caller's.
        """
        probe = await self.breaker.admit()
        try:
            sequence = await self.limiter.acquire()  # not `async with`: this runs per document
            try:
                outcome.requests += 1
                outcome.bytes += len(request.body)
                response = await self._send(self.session, request)
            finally:
                self.limiter.release()
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
            self.breaker.failed(exc.kind, probe=probe)
            return None, sequence
        except BaseException:
            if probe:
                self.breaker.probe_ended()  # cancelled: let another request probe
            raise
        status = response.status
        self.statuses[str(status)] += 1
        if status in RETRYABLE:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            self.breaker.failed(str(status), retry_after, probe=probe)
        else:
            self.breaker.answered()
        if status in OVERLOAD:
            self.limiter.overloaded(sequence)
        elif status < 300:
            self.limiter.succeeded()
        return response, sequence

    async def _send_batches(
        self,
        items: Iterable[Any],
        oversize: Callable[[Document], DeadLetter],
        deliver: Callable[[list[Document], bytes, Outcome], Awaitable[None]],
        outcome: Outcome,
    ) -> None:
        """Batches built ahead, sent by a few workers; a document too large alone is a letter."""
        batches = []
        for item in items:
            if isinstance(item, Document):
                outcome.dead.append(oversize(item))
            else:
                batches.append(item)
        pending = iter(batches)

        async def work() -> None:
            for batch in pending:
                await deliver(batch.documents, batch.body, outcome)

        await run_workers(min(self.limiter.maximum, len(batches)), work)

    async def _retrying(self, first: T, attempt: Attempt[T]) -> None:
        """The one retry loop, for every kind and for checking requests.

        ``attempt(pending, attempts)`` sends, sorts the answer, and returns what must
        be sent again (None when nothing) with the answer whose ``Retry-After``
        counts. There is no attempt limit: the breaker gives up on the target, as a
        whole, after ``give_up_after`` seconds without progress.
        """
        pending: T | None = first
        attempts = 0
        while pending is not None:
            attempts += 1
            pending, response = await attempt(pending, attempts)
            if pending is None:
                return
            self.breaker.check()
            await asyncio.sleep(self._wait(attempts, response))

    async def call(self, method: str, path: str, payload: object, outcome: Outcome) -> Response:
        """A checking request (not a document) through the same retry loop.

        ``payload`` is sent as JSON; ``None`` sends no body (Elasticsearch refuses one
        where an API takes none, e.g. ``_refresh``); bytes are sent as NDJSON.
        """
        if isinstance(payload, bytes):
            body, kind = payload, "application/x-ndjson"
        else:
            body, kind = (b"" if payload is None else orjson.dumps(payload)), "application/json"
        first = Request(method, f"{self.base_url}{path}", body, {"Content-Type": kind})
        answers: list[Response] = []

        async def attempt(request: Request, _: int) -> tuple[Request | None, Response | None]:
            response, _ = await self._request(request, outcome)
            if response is None or response.status in RETRYABLE:
                self._count_retries(outcome)  # a failed request sent again, checking or not
                return request, response
            answers.append(response)
            return None, None

        await self._retrying(first, attempt)
        return answers[0]

    def _acked(self, outcome: Outcome, doc: Document) -> None:
        outcome.acked += 1
        outcome.acked_ids.append(doc.id)

    def _fatal(self, request: Request, response: Response) -> TargetError:
        status, where = response.status, f"{request.method} {request.url}"
        said = error_text(response)
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

    def _count_retries(self, outcome: Outcome) -> None:
        """A failed or busy request is sent again: one retry, however many documents."""
        outcome.retries += 1
        self.retries += 1


class TargetKind:
    """One kind of target. Subclasses override what differs; the defaults suit HTTP APIs."""

    name = ""
    # Requests in flight for a run when the job does not say.
    default_concurrency = 8
    default_method = "PUT"
    takes_upsert = False  # target.upsert: a fallback between PUT and POST per document
    takes_reconcile = False  # target.reconcile: deletes reach the target (es_reconcile)
    takes_prove_path = False  # target.prove_path and prove="content" (db2api.targets.readback)

    def check(self, target: Target, fail: Callable[[str], NoReturn]) -> None:
        """Refuse settings this kind cannot work with, through ``fail(message)``."""

    def fingerprint(self, target: Target) -> list[str]:
        """What decides the bytes a window sends, beyond the job's SQL and code."""
        return [target.index, self.name]

    def prepare(self, documents: Sequence[Document], target: Target) -> Prepared:
        """Request bodies built in the reader thread, so the event loop only sends."""
        return None

    def sink_type(self) -> type[Sink]:
        raise NotImplementedError

    def proof(self, target: Target) -> tuple[bool, str]:
        """(proves, how): whether acknowledged documents are read back, and how; else why not."""
        return False, "this target kind has no way to read documents back"

    def sink(
        self,
        session: aiohttp.ClientSession,
        url: str,
        target: Target,
        policy: RetryPolicy,
        limiter: Limiter,
        auth_hint: str,
    ) -> Sink:
        proves, how = self.proof(target)
        if not proves:  # once per run: a run opens one sink
            run_logger().warning(
                f"target {url} ({self.name} mode): acknowledged documents are not read back "
                f"({how}): db2api takes the target's word that it holds them"
            )
        return self.sink_type()(session, url, target, policy, limiter, auth_hint=auth_hint)

    def oversize(self, doc: Document, target: Target) -> DeadLetter:
        """The dead letter of a document too large for any request (batching kinds)."""
        raise NotImplementedError

    def dry_run(self, documents: Sequence[Document], prepared: Prepared, target: Target) -> Outcome:
        """What a real send would cost, with nothing sent: its requests and bytes."""
        outcome = Outcome()
        items = prepared if prepared is not None else self.prepare(documents, target)
        if items is None:  # one request per document
            outcome.requests = outcome.acked = len(documents)
            outcome.bytes = sum(len(doc.body) for doc in documents)
            return outcome
        for item in items:
            if isinstance(item, Document):
                outcome.dead.append(self.oversize(item, target))
                continue
            outcome.requests += 1
            outcome.bytes += len(item.body)
            outcome.acked += len(item.documents)
        return outcome


def error_text(response: Response) -> str:
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
    return " ".join(response.text[:300].split()) or "no body"


def is_html(response: Response) -> bool:
    kind = response.headers.get("Content-Type")  # the spelling http.send keeps; runs per document
    if kind is None:
        kind = next((v for k, v in response.headers.items() if k.lower() == "content-type"), "")
    return kind.lower().startswith("text/html")


def not_the_api(request: Request, response: Response) -> TargetError:
    snippet = response.body[:80].decode("utf-8", "replace").replace("\n", " ")
    return TargetError(
        f"target answered {request.method} {request.url} with an HTML page, not an API "
        f"response ({snippet!r}): check that target.url points at the API itself, not at a "
        "proxy or login page"
    )


def refused(doc: Document, status: int | None, reason: str, attempts: int = 1) -> DeadLetter:
    """A dead letter for a document the target refused, in the target's words."""
    error = f"HTTP {status}" if status is not None else "Refused"
    return DeadLetter(doc.id, doc.decoded(), status, error, reason, attempts)


def too_large(doc: Document, size: int, cap: str) -> DeadLetter:
    return DeadLetter(
        doc.id,
        doc.decoded(),
        None,
        "DocumentTooLarge",
        f"document needs {size} bytes in a request body, over {cap}: raise the cap or slim "
        "the document in the transform",
    )


async def run_workers(count: int, work: Callable[[], Awaitable[None]]) -> None:
    """``count`` coroutines draining a shared iterator: never one per document."""
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(count):
                group.create_task(work())
    except BaseExceptionGroup as errors:
        raise first_error(errors) from None
