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
from typing import TYPE_CHECKING, NoReturn

from db2api.records.document import Document
from db2api.targets import es_bulk
from db2api.targets.base import Outcome
from db2api.targets.batching import Framing
from db2api.targets.batching_sink import BatchingKind, BatchingSink, Results
from db2api.targets.es_proof import prove
from db2api.targets.es_triage import index_problem
from db2api.transport.http import Request, Response

if TYPE_CHECKING:
    from db2api.job import Target

__all__ = ["BulkSink", "Elasticsearch", "index_problem"]


class Elasticsearch(BatchingKind):
    name = "bulk"
    takes_reconcile = True

    def check(self, target: Target, fail: Callable[[str], NoReturn]) -> None:
        super().check(target, fail)
        if target.op_type not in ("index", "create"):
            fail(
                f"target.op_type must be 'index' (create or overwrite) or 'create' (write once; "
                f"data streams need it), got {target.op_type!r}"
            )

    def fingerprint(self, target: Target) -> list[str]:
        # Reconciling adds the job marker to every document: windows must be sent again.
        marker = ["reconcile"] if target.reconcile else []
        return [*super().fingerprint(target), target.op_type, *marker]

    def sink_type(self) -> type[BulkSink]:
        return BulkSink

    def proof(self, target: Target) -> tuple[bool, str]:
        if not target.prove:
            return False, "target.prove=False"
        return True, f"every acknowledged id looked up with POST /{target.index}/_mget"


class BulkSink(BatchingSink):
    """``_bulk`` NDJSON batches, read item by item by ``_id`` and action."""

    limit_words = (
        "what the target takes (HTTP {status}), its http.max_content_length or a proxy's body limit"
    )
    answer_query = f"?{es_bulk.ANSWER_FIELDS}"
    # identity: the answer is already cut to a few fields a document (ANSWER_FIELDS);
    # gzipping it cost the node CPU and db2api a decompress per request.
    answer_headers = {"Accept-Encoding": "identity"}  # noqa: RUF012 (read, never changed)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.unprovable = False  # the target has no _mget: said once, then not asked

    @classmethod
    def framing_for(cls, target: Target) -> Framing:
        return es_bulk.BulkFraming(target.index, target.op_type)

    def read(self, request: Request, response: Response, documents: list[Document]) -> Results:
        sent = list(map(es_bulk.ID, documents))
        target = self.target
        return es_bulk.parse_response(response.body, sent, self.url, target.index, target.op_type)

    @property
    def url(self) -> str:
        return f"{self.base_url}/_bulk"

    async def prove(self, documents: Sequence[Document], outcome: Outcome) -> None:
        if self.target.prove and not self.unprovable:
            await prove(self, outcome.acked_ids, outcome)
