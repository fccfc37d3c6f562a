"""Elasticsearch and OpenSearch: ``_bulk`` NDJSON, read item by item as the servers answer.

A ``_bulk`` request answers 200 even when every item failed, so the decision is
per item, by the error *type* first and the status second:

- delivered: 2xx; with ``op_type="create"`` also ``409
  version_conflict_engine_exception`` (the id is there already: a re-run into a
  data stream or write-once index stays idempotent);
- retried: 408/429/5xx items (``es_rejected_execution_exception`` and the like);
- the run stops, nothing dead-lettered: errors about the *index or the key*, which
  every other document would meet too (``index_not_found_exception``,
  ``security_exception`` and item 401/403, ``invalid_index_name_exception``, the
  data-stream ``op_type`` rule, ``cluster_block_exception``, ``index_closed_exception``);
  and, as a safety net for types nobody listed, two fresh batches in a row whose
  every item failed with the same non-retryable type (known document-level types
  never trip it, however many rows in a row they refuse);
- dead letter: anything else about *this document* (``mapper_parsing_exception``,
  ``document_parsing_exception``, ``strict_dynamic_mapping_exception``, an
  ``illegal_argument_exception`` on a field).

Items are matched to the documents sent by ``_id`` and action (:mod:`es_bulk`); an
answer that does not pair up stops the run. A request refused whole goes to
:mod:`halves`: a 413 is split down to the document too large; a refusal about the
request itself stops the run with nothing dead-lettered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, NoReturn

from db2api.deadletters import DeadLetter
from db2api.documents import Document
from db2api.errors import TargetError
from db2api.http import Request, Response
from db2api.retry import Verdict, classify
from db2api.targets import es_bulk
from db2api.targets.base import (
    OVERLOAD,
    Outcome,
    Prepared,
    Sink,
    TargetKind,
    refused,
    too_large,
)
from db2api.targets.es_proof import prove
from db2api.targets.es_triage import index_problem, is_document_level
from db2api.targets.halves import Refusal, settle_refusal

if TYPE_CHECKING:
    from db2api.job import Target

# A batch this large whose every item fails the same way says more about the index
# than about the documents.
UNIFORM_BATCH = 5
Batch = tuple[list[Document], bytes]  # documents still to send, and their body
STOP_AFTER_UNIFORM = 2


class Elasticsearch(TargetKind):
    name = "bulk"
    default_concurrency = 8
    takes_reconcile = True

    def check(self, target: Target, fail: Callable[[str], NoReturn]) -> None:
        if target.bulk_docs < 1 or target.bulk_bytes < 1024:
            fail(
                f"bulk_docs must be >= 1 and bulk_bytes >= 1024 "
                f"(got {target.bulk_docs}, {target.bulk_bytes})"
            )
        if target.op_type not in ("index", "create"):
            fail(
                f"target.op_type must be 'index' (create or overwrite) or 'create' (write once; "
                f"data streams need it), got {target.op_type!r}"
            )

    def fingerprint(self, target: Target) -> list[str]:
        # Reconciling adds the job marker to every document: windows must be sent again.
        marker = ["reconcile"] if target.reconcile else []
        return [*super().fingerprint(target), target.op_type, *marker]

    def prepare(self, documents: Sequence[Document], target: Target) -> Prepared:
        return es_bulk.prepare(documents, target)

    def sink_type(self) -> type[Sink]:
        return BulkSink

    def proof(self, target: Target) -> tuple[bool, str]:
        if not target.prove:
            return False, "target.prove=False"
        return True, f"every acknowledged id looked up with POST /{target.index}/_mget"

    def oversize(self, doc: Document, target: Target) -> DeadLetter:
        return oversize_letter(target, doc)


def oversize_letter(target: Target, doc: Document) -> DeadLetter:
    size = es_bulk.entry_size(es_bulk.action_line(target.index, doc.id, target.op_type), doc)
    return too_large(doc, size, f"target.bulk_bytes ({target.bulk_bytes})")


class BulkSink(Sink):
    """``_bulk`` batches capped by count and bytes, retried item by item."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._uniform: tuple[str, int] = ("", 0)  # failure type, fresh batches in a row
        self.unprovable = False  # the target has no _mget: said once, then not asked

    @property
    def url(self) -> str:
        return f"{self.base_url}/_bulk"

    async def send(self, documents: Sequence[Document], prepared: Prepared = None) -> Outcome:
        outcome = Outcome()
        target = self.target
        items = prepared if prepared is not None else es_bulk.prepare(documents, target)
        too_big = partial(oversize_letter, target)
        await self._send_batches(items, too_big, self._deliver, outcome)
        if target.prove and outcome.acked_ids and not self.unprovable:
            await prove(self, outcome.acked_ids, outcome)
        return outcome

    async def _deliver(
        self,
        documents: list[Document],
        body: bytes,
        outcome: Outcome,
        hold: Refusal | None = None,
        first: bool = True,
    ) -> Refusal | None:
        """One batch, retried item by item; a request refused whole goes to :mod:`halves`."""
        # identity: the answer is already cut to a few fields a document (es_bulk.ANSWER_FIELDS);
        # gzipping it cost the node CPU and db2api a decompress per request.
        headers = {"Content-Type": "application/x-ndjson", "Accept-Encoding": "identity"}
        target = self.target
        held: list[Refusal] = []

        async def attempt(batch: Batch, attempts: int) -> tuple[Batch | None, Response | None]:
            pending, data = batch
            request = Request("POST", f"{self.url}?{es_bulk.ANSWER_FIELDS}", data, headers)
            response, sequence = await self._request(request, outcome)
            if response is None:
                retry = pending
            elif response.status < 300:
                sent = [doc.id for doc in pending]
                results = es_bulk.parse_response(
                    response.body, sent, self.url, target.index, target.op_type
                )
                if results is None:  # every item acknowledged: counted at once, not per document
                    outcome.acked += len(sent)
                    outcome.acked_ids += sent
                    self._uniform = ("", 0)
                    self.breaker.progressed()
                    return None, None
                if attempts == 1:
                    self._watch_uniform(results)
                retry = self._sort(pending, results, attempts, outcome, sequence)
            else:
                verdict = classify(response.status)
                if verdict is Verdict.FATAL:  # named without the query, as the job wrote it
                    raise self._fatal(replace(request, url=self.url), response)
                if verdict is Verdict.DEAD:  # 413, or a 4xx for the whole request
                    refusal = await settle_refusal(
                        self, pending, response, attempts, outcome, hold, first
                    )
                    if refusal is not None:
                        held.append(refusal)
                    return None, None
                retry = pending
            if not retry:
                return None, None
            self._count_retries(outcome)
            again = data if retry is pending else es_bulk.body(target.index, retry, target.op_type)
            return (retry, again), response

        await self._retrying((documents, body), attempt)
        return held[0] if held else None

    async def send_part(
        self, documents: list[Document], outcome: Outcome, hold: Refusal | None
    ) -> Refusal | None:
        target = self.target
        data = es_bulk.body(target.index, documents, target.op_type)
        return await self._deliver(documents, data, outcome, hold, first=False)

    def letter(self, doc: Document, refusal: Refusal, attempts: int) -> DeadLetter:
        if refusal.status == 413:
            size = len(es_bulk.body(self.target.index, [doc], self.target.op_type))
            cap = (
                f"what the target takes (HTTP {refusal.status}), its http.max_content_length or "
                "a proxy's body limit"
            )
            return too_large(doc, size, cap)
        return refused(doc, refusal.status, refusal.reason, attempts)

    def where(self) -> str:
        return f"POST {self.url}"

    def _watch_uniform(self, results: list[es_bulk.ItemResult]) -> None:
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

    def _is_present(self, result: es_bulk.ItemResult) -> bool:
        return (
            self.target.op_type == "create"
            and result.status == 409
            and result.error == "version_conflict_engine_exception"
        )

    def _sort(
        self,
        pending: list[Document],
        results: list[es_bulk.ItemResult],
        attempts: int,
        outcome: Outcome,
        sequence: int,
    ) -> list[Document]:
        """Ack, dead-letter or keep for retry each item; returns those to send again."""
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
                reason = f"{result.error}: {result.reason}" if result.error else "rejected"
                outcome.dead.append(refused(doc, result.status, reason, attempts))
        if len(retry) < len(pending):
            self.breaker.progressed()
        if overloaded:
            self.limiter.overloaded(sequence)
        return retry
