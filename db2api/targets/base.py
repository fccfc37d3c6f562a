"""What every sink shares: the outcome of a send, one request, the one retry loop.

Every kind's sink (:mod:`kind`) sends through :meth:`Sink._request` (breaker,
limiter, counters) and retries through :meth:`Sink.retrying`; a request that is
not about documents (a look-up, a refresh, a delete) goes through
:meth:`Sink.request` or :meth:`Sink.answer`, which retry the same way.

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
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import aiohttp
import orjson

from db2api.errors import TargetError, first_error
from db2api.records.deadletters import DeadLetter
from db2api.records.document import Document
from db2api.targets.answers import error_text
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

    async def retrying(self, first: T, attempt: Attempt[T]) -> None:
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

    async def request(self, request: Request, outcome: Outcome, *, what: str = "") -> Response:
        """Send until the target answers and is not busy: the 2xx answer, or the refusal
        raised as the :class:`TargetError` that says what to fix (``what`` the request
        was for, when the caller's words help)."""
        response = await self.answer(request, outcome)
        if response.status >= 300:
            raise self.fatal(request, response, what)
        return response

    async def answer(self, request: Request, outcome: Outcome) -> Response:
        """Send until the target answers and is not busy: that answer, whatever its status.

        A failed or busy request sent again counts as a retry, as a document's does.
        """
        answers: list[Response] = []

        async def attempt(request: Request, _: int) -> tuple[Request | None, Response | None]:
            response, _ = await self._request(request, outcome)
            if response is None or response.status in RETRYABLE:
                self.count_retry(outcome)
                return request, response
            answers.append(response)
            return None, None

        await self.retrying(request, attempt)
        return answers[0]

    async def call(
        self,
        method: str,
        path: str,
        payload: object,
        outcome: Outcome,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """A checking request (not a document): :meth:`answer` for a path and a payload.

        ``payload`` is sent as JSON; ``None`` sends no body (Elasticsearch refuses one
        where an API takes none, e.g. ``_refresh``); bytes are sent as NDJSON.
        """
        if isinstance(payload, bytes):
            body, kind = payload, "application/x-ndjson"
        else:
            body, kind = (b"" if payload is None else orjson.dumps(payload)), "application/json"
        sent = {"Content-Type": kind, **(headers or {})}
        request = Request(method, f"{self.base_url}{path}", body, sent)
        return await self.answer(request, outcome)

    def _acked(self, outcome: Outcome, doc: Document) -> None:
        outcome.acked += 1
        outcome.acked_ids.append(doc.id)

    def fatal(self, request: Request, response: Response, what: str = "") -> TargetError:
        """The error a refusal of the whole request stops the run with: status, words, fix."""
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
        lead = f"{what}: " if what else ""
        return TargetError(f"{lead}HTTP {status} from {where} ({said}): {advice}")

    def _wait(self, attempts: int, response: Response | None) -> float:
        retry_after = parse_retry_after(response.headers.get("Retry-After")) if response else None
        return self.policy.delay(attempts, retry_after, self.rng)

    def count_retry(self, outcome: Outcome) -> None:
        """A failed or busy request is sent again: one retry, however many documents."""
        outcome.retries += 1
        self.retries += 1


async def run_workers(count: int, work: Callable[[], Awaitable[None]]) -> None:
    """``count`` coroutines draining a shared iterator: never one per document."""
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(count):
                group.create_task(work())
    except BaseExceptionGroup as errors:
        raise first_error(errors) from None
