"""Target kinds, by the name a job gives in ``Target(mode=...)``.

Adding a kind is one module with a :class:`~db2api.targets.kind.TargetKind`
subclass, its tests, a line here and a row in the README's "Targets" table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from db2api.targets.base import DocumentSink, Outcome, Prepared, Sink
from db2api.targets.elasticsearch import Elasticsearch
from db2api.targets.http_batch import HttpBatch
from db2api.targets.http_item import HttpItem
from db2api.targets.kind import TargetKind

if TYPE_CHECKING:
    from db2api.job import Target

KINDS: dict[str, TargetKind] = {
    kind.name: kind for kind in (Elasticsearch(), HttpItem(), HttpBatch())
}


def kind_of(target: Target) -> TargetKind:
    """The kind a target names; :func:`db2api.job.check` has refused unknown ones."""
    return KINDS[target.mode]


__all__ = ["KINDS", "DocumentSink", "Outcome", "Prepared", "Sink", "TargetKind", "kind_of"]
