"""The Elasticsearch/OpenSearch ``_bulk`` protocol, as pure functions.

Bodies are built from already-encoded document bytes (no re-serialisation), split
by document count and by bytes (counting both newlines of every pair), and a
response is read back into one result per document, in order, so only the items
that failed for a passing reason are sent again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import orjson

from db2api.documents import Document
from db2api.errors import TargetError

if TYPE_CHECKING:
    from db2api.job import Target

OpType = Literal["index", "create"]


def action_line(index: str, doc_id: str, op_type: OpType = "index") -> bytes:
    """``index`` overwrites; ``create`` refuses an id that exists (data streams need it)."""
    return orjson.dumps({op_type: {"_index": index, "_id": doc_id}})


def entry_size(action: bytes, document: Document) -> int:
    return len(action) + len(document.body) + 2


@dataclass
class Batch:
    """Documents sent in one ``_bulk`` request, and the request body."""

    documents: list[Document]
    body: bytes


def body(index: str, documents: Sequence[Document], op_type: OpType = "index") -> bytes:
    """The NDJSON body for ``documents`` (used when only some of a batch are sent again)."""
    parts: list[bytes] = []
    for document in documents:
        parts += (action_line(index, document.id, op_type), b"\n", document.body, b"\n")
    return b"".join(parts)


def prepare(documents: Sequence[Document], target: Target) -> list[Batch | Document]:
    """A chunk's batches within the target's caps: built once, by whoever comes first."""
    return list(
        iter_batches(documents, target.index, target.bulk_docs, target.bulk_bytes, target.op_type)
    )


def iter_batches(
    documents: Sequence[Document],
    index: str,
    max_docs: int,
    max_bytes: int,
    op_type: OpType = "index",
) -> Iterator[Batch | Document]:
    """Group documents into bodies within both caps.

    A document that alone exceeds ``max_bytes`` is yielded bare instead of a batch,
    for the caller to dead-letter: it can never be sent within the cap.
    """
    parts: list[bytes] = []
    members: list[Document] = []
    size = 0
    for document in documents:
        action = action_line(index, document.id, op_type)
        needed = entry_size(action, document)
        if needed > max_bytes:
            yield document
            continue
        if members and (len(members) >= max_docs or size + needed > max_bytes):
            yield Batch(members, b"".join(parts))
            parts, members, size = [], [], 0
        parts += (action, b"\n", document.body, b"\n")
        members.append(document)
        size += needed
    if members:
        yield Batch(members, b"".join(parts))


@dataclass(frozen=True)
class ItemResult:
    status: int
    error: str  # the target's error type, "" when the item succeeded
    reason: str


def parse_response(body: bytes, expected: int, url: str) -> list[ItemResult] | None:
    """One :class:`ItemResult` per document sent, in the order they were sent.

    ``None`` means every item succeeded (``"errors": false``): the common case, which
    then costs no per-item work. A compact Elasticsearch answer is recognised without
    parsing it at all: ``"errors":false`` at the top and one 2xx ``"status":2`` per item
    (an escaped quote inside a string cannot form that key). The flag alone is not
    trusted: an odd server may say ``false`` over items that failed.
    """
    if (
        b'"errors":false' in body[:64]
        and body.count(b'"status":2') == expected
        and b'"error":' not in body
    ):
        return None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        snippet = body[:80].decode("utf-8", "replace").replace("\n", " ")
        raise TargetError(
            f"target answered POST {url} with something that is not JSON ({snippet!r}): "
            "check that target.url points at an Elasticsearch/OpenSearch-compatible API"
        ) from None
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list) or len(items) != expected:
        got = len(items) if isinstance(items, list) else "no"
        raise TargetError(
            f"target's _bulk response at {url} has {got} items for {expected} documents: "
            "check that target.url points at an Elasticsearch/OpenSearch-compatible API"
        )
    results = [_item(item, url) for item in items]
    # The items decide, not the top-level flag: a proxy or an odd server may say
    # "errors": false over items that failed.
    if all(200 <= result.status < 300 for result in results):
        return None
    return results


def _item(item: object, url: str) -> ItemResult:
    result = next(iter(item.values()), None) if isinstance(item, dict) else None
    # No status at all was read as a server error before; a status that is not a
    # number means the answer is not Elasticsearch's.
    status = result.get("status", 500) if isinstance(result, dict) else None
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise TargetError(
            f"target's _bulk response at {url} has an item without a valid status "
            f"({item!r:.80}): check that target.url points at an Elasticsearch/OpenSearch-"
            "compatible API"
        )
    assert isinstance(result, dict)
    error = result.get("error")
    if not error:
        if 200 <= status < 300:
            return ItemResult(status, "", "")
        return ItemResult(status, "error", "the target gave no reason for this item")
    if isinstance(error, dict):
        reason = str(error.get("reason", ""))
        caused = error.get("caused_by")
        if isinstance(caused, dict) and caused.get("reason"):
            reason = f"{reason}: {caused['reason']}"
        return ItemResult(status, str(error.get("type", "error")), reason)
    return ItemResult(status, "error", str(error))
