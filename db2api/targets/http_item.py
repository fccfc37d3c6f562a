"""A plain HTTP API, one request per document: ``PUT {url}{path}`` with ``{index}`` and ``{id}``.

Answers are read by status alone (:func:`db2api.retry.classify`): 2xx is delivered
(unless it is an HTML page, which means a proxy or login page answered), 408/429/5xx
are retried, 401/403/404/405/407 stop the run, any other 4xx dead-letters the
document with the target's words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import quote

import aiohttp

from db2api.documents import Document
from db2api.http import Request, Response
from db2api.limiter import Limiter
from db2api.retry import RetryPolicy, Verdict, classify
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


class ItemSink(Sink):
    """One request per document, retried per document."""

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

        await run_workers(min(self.limiter.maximum, len(documents)), work)
        return outcome

    async def _deliver(self, doc: Document, outcome: Outcome) -> None:
        request = Request(
            self.target.method.upper(),
            self.url_for(doc.id),
            doc.body,
            {"Content-Type": "application/json"},
        )

        async def attempt(doc: Document, attempts: int) -> tuple[Document | None, Response | None]:
            response, _, _ = await self._request(request, outcome)
            if response is None:
                self._count_retries(outcome, 1)
                return doc, None
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
