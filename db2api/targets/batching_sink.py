"""The one batching sink: ``bulk`` and ``batch`` differ only in two hooks.

A batching kind says how documents become a request body (:meth:`BatchingSink.framing_for`,
a :class:`~db2api.targets.batching.Framing`) and how an answer reads per document
(:meth:`BatchingSink.read`). Everything else is here once, for both, in the spirit
of elasticsearch-py's one chunker and one pair of ``_process_bulk_chunk_success/_error``:

- the chunker (:func:`~db2api.targets.batching.iter_batches`) caps each request by
  count and bytes; a document too large alone is a dead letter before any request;
- a request refused whole goes to :mod:`halves`, the one bisection;
- the triage of an answer, document by document: acknowledged, already present (a
  ``create`` that met its id), retried (408/429/5xx, only those documents; a 429
  or 503 item also narrows the limiter), dead letter in the target's words; an
  item error about the index or the key
  (:func:`~db2api.targets.es_triage.index_problem`) stops the run, as do fresh
  batches that fail whole, item by item, the same unlisted way twice in a row.
  Results without an error type (a plain API's) never meet those two rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cached_property
from operator import attrgetter
from typing import TYPE_CHECKING, NoReturn

from db2api.errors import TargetError
from db2api.records.deadletters import DeadLetter
from db2api.records.document import Document
from db2api.targets.answers import refused, too_large
from db2api.targets.base import OVERLOAD, Outcome, Prepared, Sink, run_workers
from db2api.targets.batching import Batch, Framing, ItemResult, iter_batches
from db2api.targets.es_triage import index_problem, is_document_level
from db2api.targets.halves import Refusal, settle_refusal
from db2api.targets.kind import TargetKind
from db2api.transport.http import Request, Response
from db2api.transport.retry import Verdict, classify

if TYPE_CHECKING:
    from db2api.job import Target

# A batch this large whose every item fails the same way says more about the index
# than about the documents.
UNIFORM_BATCH = 5
STOP_AFTER_UNIFORM = 2
Pending = tuple[list[Document], bytes]  # documents still to send, and their body
ID = attrgetter("id")


class BatchingSink(Sink):
    """Batches in flight under the run's limiter, retried document by document."""

    # Where a 413 puts the limit, for the dead letter of the one document it is about.
    limit_words = "what the target takes ({reason})"
    # What a kind asks of the answer: a query after its url and headers (bulk: only the
    # fields read, not gzipped).
    answer_query = ""
    answer_headers: dict[str, str] = {}  # noqa: RUF012 (read, never changed)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._uniform: tuple[str, int] = ("", 0)  # failure type, fresh batches in a row

    @classmethod
    def framing_for(cls, target: Target) -> Framing:
        """Hook one: how this kind frames documents in a request body."""
        raise NotImplementedError

    def read(self, request: Request, response: Response, documents: list[Document]) -> Results:
        """Hook two: one result per document of a 2xx answer, in order; None when all are in.

        An answer that cannot be read for these documents raises :class:`TargetError`.
        """
        raise NotImplementedError

    @property
    def url(self) -> str:
        raise NotImplementedError

    @property
    def method(self) -> str:
        return "POST"

    @cached_property
    def framing(self) -> Framing:
        return self.framing_for(self.target)

    async def send(self, documents: Sequence[Document], prepared: Prepared = None) -> Outcome:
        outcome = Outcome()
        target = self.target
        items = prepared if prepared is not None else batches(documents, self.framing, target)
        pending: list[Batch] = []
        for item in items:
            if isinstance(item, Document):
                outcome.dead.append(oversize(item, self.framing, target))
            else:
                pending.append(item)
        work_list = iter(pending)

        async def work() -> None:
            for batch in work_list:
                await self._deliver(batch.documents, batch.body, outcome)

        await run_workers(min(self.limiter.maximum, len(pending)), work)
        if outcome.acked_ids:
            await self.prove(documents, outcome)
        return outcome

    async def prove(self, documents: Sequence[Document], outcome: Outcome) -> None:
        """Read the acknowledged documents back, where the kind and the job can."""

    async def _deliver(
        self,
        documents: list[Document],
        body: bytes,
        outcome: Outcome,
        hold: Refusal | None = None,
        first: bool = True,
    ) -> Refusal | None:
        """One batch, retried document by document; a request refused whole is halved."""
        method, url = self.method, self.url + self.answer_query
        headers = {"Content-Type": self.framing.content_type, **self.answer_headers}
        held: list[Refusal] = []

        async def attempt(batch: Pending, attempts: int) -> tuple[Pending | None, Response | None]:
            pending, data = batch
            request = Request(method, url, data, headers)
            response, sequence = await self._request(request, outcome)
            retry = pending
            if response is not None:
                verdict = classify(response.status)
                if verdict is Verdict.ACK:
                    results = self.read(request, response, pending)
                    if results is None:
                        self._all_acked(pending, outcome)
                        return None, None
                    if attempts == 1:
                        self._watch_uniform(results)
                    retry = self._sort(pending, results, attempts, outcome, sequence)
                elif verdict is Verdict.FATAL:  # named as the job wrote it, without answer_query
                    raise self.fatal(replace(request, url=self.url), response)
                elif verdict is Verdict.DEAD:  # 413, or a 4xx for the whole request
                    refusal = await settle_refusal(
                        self, pending, response, attempts, outcome, hold, first
                    )
                    if refusal is not None:
                        held.append(refusal)
                    return None, None
            if not retry:
                return None, None
            self.count_retry(outcome)
            again = data if retry is pending else self.framing.body(retry)
            return (retry, again), response

        await self.retrying((documents, body), attempt)
        return held[0] if held else None

    async def send_part(
        self, documents: list[Document], outcome: Outcome, hold: Refusal | None
    ) -> Refusal | None:
        body = self.framing.body(documents)
        return await self._deliver(documents, body, outcome, hold, first=False)

    def letter(self, doc: Document, refusal: Refusal, attempts: int) -> DeadLetter:
        if refusal.status == 413:
            words = self.limit_words.format(status=refusal.status, reason=refusal.reason)
            return too_large(doc, len(self.framing.entry(doc)), words)
        return refused(doc, refusal.status, refusal.reason, attempts)

    def where(self) -> str:
        return f"{self.method} {self.url}"

    def _all_acked(self, pending: list[Document], outcome: Outcome) -> None:
        """The common answer: every document in, read in one pass."""
        outcome.acked += len(pending)
        outcome.acked_ids += map(ID, pending)
        self._uniform = ("", 0)
        self.breaker.progressed()

    def _watch_uniform(self, results: list[ItemResult]) -> None:
        """Stop when fresh batches fail whole, item by item, the same permanent way.

        Only for error types nobody listed: a known document-level refusal (a mapping
        error on every row of a bad stretch) stays a dead letter per document, however
        many in a row; ``max_dead_fraction`` is the job's limit for those.
        """
        kinds = {result.error for result in results}
        kind = next(iter(kinds))
        failed_whole = (
            len(results) >= UNIFORM_BATCH
            and len(kinds) == 1
            and kind != ""
            and all(classify(r.status) in (Verdict.DEAD, Verdict.FATAL) for r in results)
            and not self._is_present(results[0])
            and not is_document_level(results[0], self.target.op_type)
        )
        if not failed_whole:
            self._uniform = ("", 0)
            return
        streak = self._uniform[1] + 1 if self._uniform[0] == kind else 1
        self._uniform = (kind, streak)
        if streak >= STOP_AFTER_UNIFORM:
            sample = results[0]
            raise TargetError(
                f"index {self.target.index} at {self.base_url}: every item of {streak} batches "
                f"in a row failed with HTTP {sample.status} {sample.error}: {sample.reason}; "
                "this looks like a problem with the index or the key, not the documents: "
                "fix it and run again (the window was not completed and runs again)"
            )

    def _is_present(self, result: ItemResult) -> bool:
        return (
            self.target.op_type == "create"
            and result.status == 409
            and result.error == "version_conflict_engine_exception"
        )

    def _sort(
        self,
        pending: list[Document],
        results: list[ItemResult],
        attempts: int,
        outcome: Outcome,
        sequence: int,
    ) -> list[Document]:
        """Ack, dead-letter or keep for retry each document; returns those to send again."""
        retry: list[Document] = []
        overloaded = False
        for doc, result in zip(pending, results, strict=True):
            fix = index_problem(result, self.target.index) if result.error else None
            if fix is not None:
                raise TargetError(
                    f"index {self.target.index} at {self.base_url} refused writes: HTTP "
                    f"{result.status} {result.error}: {result.reason}: {fix}; nothing was "
                    "dead-lettered, the window runs again next time"
                )
            verdict = classify(result.status)
            if verdict is Verdict.ACK:
                self._acked(outcome, doc)
            elif self._is_present(result):
                self._acked(outcome, doc)
                outcome.present += 1
            elif verdict is Verdict.RETRY:
                retry.append(doc)
                overloaded |= result.status in OVERLOAD
                self.breaker.stalled(f"item {result.status}")
            else:
                outcome.dead.append(refused(doc, result.status, result.said, attempts))
        if len(retry) < len(pending):
            self.breaker.progressed()
        if overloaded:
            self.limiter.overloaded(sequence)
        return retry


Results = list[ItemResult] | None


def batches(
    documents: Sequence[Document], framing: Framing, target: Target
) -> list[Batch | Document]:
    """A chunk's batches within the target's caps: built once, by whoever comes first."""
    return list(iter_batches(documents, framing, target.bulk_docs, target.bulk_bytes))


def oversize(doc: Document, framing: Framing, target: Target) -> DeadLetter:
    return too_large(doc, len(framing.entry(doc)), f"target.bulk_bytes ({target.bulk_bytes})")


class BatchingKind(TargetKind):
    """A kind that sends many documents per request through a :class:`BatchingSink`."""

    default_concurrency = 8

    def sink_type(self) -> type[BatchingSink]:
        raise NotImplementedError

    def check(self, target: Target, fail: Callable[[str], NoReturn]) -> None:
        if target.bulk_docs < 1 or target.bulk_bytes < 1024:
            fail(
                f"bulk_docs must be >= 1 and bulk_bytes >= 1024 "
                f"(got {target.bulk_docs}, {target.bulk_bytes})"
            )

    def prepare(self, documents: Sequence[Document], target: Target) -> Prepared:
        return batches(documents, self.sink_type().framing_for(target), target)

    def oversize(self, doc: Document, target: Target) -> DeadLetter:
        return oversize(doc, self.sink_type().framing_for(target), target)

    def dry_run(self, documents: Sequence[Document], prepared: Prepared, target: Target) -> Outcome:
        """What a real send would cost, with nothing sent: its requests and bytes."""
        outcome = Outcome()
        for item in prepared if prepared is not None else self.prepare(documents, target) or []:
            if isinstance(item, Document):
                outcome.dead.append(self.oversize(item, target))
                continue
            outcome.requests += 1
            outcome.bytes += len(item.body)
            outcome.acked += len(item.documents)
        return outcome
