"""Dry runs: everything but the sending.

The query runs, rows become documents and request bodies are built exactly as a
real run would build them; the sink only counts requests and bytes and keeps a
few sample documents (long values shortened, secrets masked) for people to read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from db2api.job import Target
from db2api.records.document import Document
from db2api.scrub import SCRUBBER
from db2api.targets import Outcome, Prepared, TargetKind

SAMPLES = 3
LONGEST = 120


def elide(value: Any) -> Any:
    """A sample-sized copy: long strings cut, long lists shortened, secrets masked."""
    if isinstance(value, str):
        value = SCRUBBER(value, patterns=False)
        return value if len(value) <= LONGEST else f"{value[:60]}…(+{len(value) - 60} chars)"
    if isinstance(value, dict):
        return {key: elide(item) for key, item in value.items()}
    if isinstance(value, list):
        head = [elide(item) for item in value[:10]]
        return head + ([f"…(+{len(value) - 10} items)"] if len(value) > 10 else [])
    return value


class DrySink:
    """Builds what would be sent, sends nothing."""

    def __init__(self, target: Target, kind: TargetKind) -> None:
        self.target = target
        self.kind = kind

    async def send(self, documents: Sequence[Document], prepared: Prepared = None) -> Outcome:
        outcome = self.kind.dry_run(documents, prepared, self.target)
        outcome.samples = [
            {"id": doc.id, "document": elide(doc.decoded())} for doc in documents[:SAMPLES]
        ]
        return outcome
