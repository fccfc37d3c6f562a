"""The kind seam: what a job's ``Target(mode=...)`` names, and what the pipeline asks of it.

A *kind* (Elasticsearch ``_bulk``, one HTTP request per document, an HTTP batch)
owns everything that differs between targets: checking its settings, turning a
chunk into request bodies (in the reader thread), proving completeness, and its
defaults. The pipeline asks a kind for a sink and never looks at which kind it has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

import aiohttp

from db2api.log import run_logger
from db2api.records.deadletters import DeadLetter
from db2api.records.document import Document
from db2api.targets.base import Outcome, Prepared, Sink
from db2api.transport.limiter import Limiter
from db2api.transport.retry import RetryPolicy

if TYPE_CHECKING:
    from db2api.job import Target


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
        """What a real send would cost, with nothing sent: one request per document."""
        outcome = Outcome()
        outcome.requests = outcome.acked = len(documents)
        outcome.bytes = sum(len(doc.body) for doc in documents)
        return outcome
