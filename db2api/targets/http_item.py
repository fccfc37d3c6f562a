"""A plain HTTP API, one request per document: ``PUT {url}{path}`` with ``{index}`` and ``{id}``.

Answers are read by status alone (:func:`db2api.retry.classify`): 2xx is delivered
(unless it is an HTML page, which means a proxy or login page answered), 408/429/5xx
are retried, 401/403/404/405/407 stop the run, any other 4xx dead-letters the
document with the target's words.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import quote

import aiohttp

from db2api.documents import Document
from db2api.http import Request
from db2api.limiter import Limiter
from db2api.retry import RetryPolicy, Verdict, classify
from db2api.targets.base import (
    Outcome,
    Prepared,
    Sink,
    TargetKind,
    error_text,
    gave_up,
    is_html,
    not_the_api,
    refused,
    run_workers,
)

if TYPE_CHECKING:
    from db2api.job import Target


class HttpItem(TargetKind):
    name = "item"
    # Throughput is latency-bound: one document per request.
    default_concurrency = 64

    def check(self, target: Target, fail: Callable[[str], NoReturn]) -> None:
        if "{id}" not in target.path and target.method.upper() == "PUT":
            fail(
                f"item path {target.path!r} has no {{id}}; a PUT without the id cannot be "
                "idempotent: add {id} to the path"
            )

    def fingerprint(self, target: Target) -> list[str]:
        return [*super().fingerprint(target), target.method.upper(), target.path]

    def sink(
        self,
        session: aiohttp.ClientSession,
        url: str,
        target: Target,
        policy: RetryPolicy,
        limiter: Limiter,
        auth_hint: str,
    ) -> Sink:
        return ItemSink(session, url, target, policy, limiter, auth_hint=auth_hint)


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

    def url_for(self, doc_id: str) -> str:
        return self._template.replace("{id}", path_segment(doc_id))

    async def send(self, documents: Sequence[Document], prepared: Prepared = None) -> Outcome:
        outcome = Outcome()
        pending: Iterator[Document] = iter(documents)

        async def work() -> None:
            for doc in pending:
                await self._deliver(doc, outcome)

        await run_workers(min(self.limiter.maximum, len(documents)), work)
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
                    if is_html(response):  # a proxy or login page, not the API
                        raise not_the_api(request, response)
                    outcome.acked += 1
                    return
                if verdict is Verdict.FATAL:
                    raise self._fatal(request, response)
                error = f"HTTP {response.status}: {error_text(response)}"
                if verdict is Verdict.DEAD:
                    outcome.dead.append(refused(doc, status, error, attempts))
                    return
            delay = self._wait(attempts, response)
            elapsed = time.monotonic() - first
            if not self.policy.has_budget(attempts, elapsed, delay):
                outcome.dead.append(gave_up(doc, attempts, elapsed, error, status))
                return
            self._count_retries(outcome, 1)
            await asyncio.sleep(delay)
