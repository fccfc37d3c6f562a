"""Whose fault is a ``_bulk`` item error: the index (or the key), or the one document.

The index's and the key's problems stop the run with their fix, since every other
document would meet them too; known document-level types are dead letters however
many rows in a row they refuse (the uniform-batch net in :mod:`elasticsearch` leaves
them alone).
"""

from __future__ import annotations

from db2api.targets.batching import ItemResult

# Item error types that always concern the one document (Elasticsearch and OpenSearch).
DOCUMENT_TYPES = frozenset(
    {"mapper_parsing_exception", "document_parsing_exception", "strict_dynamic_mapping_exception"}
)


def is_document_level(result: ItemResult, op_type: str) -> bool:
    """An item refusal known to be about its document, never about the index or the key."""
    if result.error in DOCUMENT_TYPES:
        return True
    if result.error == "illegal_argument_exception":
        reason = result.reason.lower()
        return "field" in reason or "mapper [" in reason
    return result.error == "version_conflict_engine_exception" and op_type == "index"


def index_problem(result: ItemResult, index: str) -> str | None:
    """The fix for an item error that concerns the index or the key, not the document."""
    kind, reason = result.error, result.reason.lower()
    if kind == "index_not_found_exception":
        return (
            f"create the index {index} (or an index template that matches it) before sending, "
            "or allow the cluster to create it (action.auto_create_index)"
        )
    if kind == "security_exception" or (
        result.status in (401, 403) and kind != "cluster_block_exception"
    ):
        return (
            f"grant the API key the create_doc or index privilege on {index}, or fix the key "
            "the job sends (target.auth_env / target.auth_secret)"
        )
    if kind == "invalid_index_name_exception":
        return (
            "fix target.index: index names are lower-case and have no spaces or any of "
            '\\ / * ? " < > | , #'
        )
    if kind == "illegal_argument_exception" and "op_type of create" in reason:
        return f"{index} is a data stream, which only takes create: set target.op_type='create'"
    if kind == "cluster_block_exception":
        if "flood" in reason or "disk" in reason or "allow delete" in reason:
            return (
                f"the cluster's disk passed its flood-stage watermark and {index} was made "
                "read-only: free disk space; the block lifts itself when usage falls (or "
                "remove index.blocks.read_only_allow_delete)"
            )
        if "index write" in reason:
            return f"{index} has a write block: remove index.blocks.write when writes may resume"
        return f"{index} (or the cluster) is blocked for writes: remove the block, then run again"
    if kind == "index_closed_exception":
        return f"{index} is closed: open it (POST {index}/_open) and run again"
    return None
