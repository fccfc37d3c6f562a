"""What one write is and what Elasticsearch reports for it, apart from where it is stored.

The bulk planner builds writes, the store applies them and the answers quote their
results; keeping the two records (and how an update merges a partial document)
here lets each of those import the vocabulary without importing SQLite.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class WriteOp(NamedTuple):
    """One write; ``body`` is the raw JSON text (``None`` for a delete).

    For an ``update`` the body is the partial document merged into the stored one, and
    ``upsert`` the document to store when there is none (``None``: the update fails).
    """

    op: str  # "index", "create", "update" or "delete"
    index: str
    id: str
    body: str | None
    upsert: str | None = None


class WriteResult(NamedTuple):
    """What Elasticsearch would report for one write."""

    # 201 created, 200 updated/deleted/noop, 404 delete or update of a missing id, 409 conflict
    status: int
    # "created", "updated", "noop", "deleted", "not_found", "document_missing" or "conflict"
    result: str
    version: int
    seq_no: int


def merge_documents(stored: dict[str, Any], partial: dict[str, Any]) -> dict[str, Any]:
    """A partial update as Elasticsearch applies it: objects merge key by key, the rest replace."""
    merged = dict(stored)
    for key, value in partial.items():
        old = merged.get(key)
        both_objects = isinstance(old, dict) and isinstance(value, dict)
        merged[key] = merge_documents(old, value) if both_objects else value
    return merged
