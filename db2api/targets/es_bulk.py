"""The Elasticsearch/OpenSearch ``_bulk`` protocol, as pure functions.

Bodies are built from already-encoded document bytes (no re-serialisation), split
by document count and by bytes (counting both newlines of every pair), and a
response is read back into one result per document, matched by ``_id``, so only
the items that failed for a passing reason are sent again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal

import orjson

from db2api.errors import TargetError
from db2api.records.document import Document
from db2api.targets import batching
from db2api.targets.answers import joined_ids
from db2api.targets.batching import Batch, Framing, ItemResult

if TYPE_CHECKING:
    from db2api.job import Target

OpType = Literal["index", "create"]
ID, BODY = attrgetter("id"), attrgetter("body")
__all__ = ["Batch", "BulkFraming", "ItemResult", "body", "iter_batches", "parse_response"]
# The parts of a _bulk answer parse_response reads (both engines take filter_path on every
# API): a third of the bytes for the node to write and for db2api to parse, where
# parsing the whole answer was a fifth of db2api's CPU. A server that ignores it
# answers in full, which parses the same; an error about the whole request keeps its
# fields.
ANSWER_FIELDS = "filter_path=items.*._id,items.*.status,items.*.error,error,status"


def action_line(index: str, doc_id: str, op_type: OpType = "index") -> bytes:
    """``index`` overwrites; ``create`` refuses an id that exists (data streams need it)."""
    return orjson.dumps({op_type: {"_index": index, "_id": doc_id}})


def entry_size(action: bytes, document: Document) -> int:
    return len(action) + len(document.body) + 2


class BulkFraming(Framing):
    """NDJSON: an action line and the document, each ending in a newline, no separator.

    This runs for every document a job sends, so a chunk's action lines are built
    at once with C-speed steps: orjson writes the list of ids, and every ``","``
    in it (it only stands between two ids: a quote inside an id is escaped, and so
    is a newline) becomes the end of one action line and the start of the next.
    """

    content_type = "application/x-ndjson"

    def __init__(self, index: str, op_type: OpType = "index") -> None:
        self.opening = b'{%s:{"_index":%s,"_id":' % (orjson.dumps(op_type), orjson.dumps(index))
        self.closing = b"}}"
        self.between = b'"' + self.closing + b"\n" + self.opening + b'"'

    def entry(self, document: Document) -> bytes:
        return b"".join(
            (self.opening, orjson.dumps(document.id), self.closing, b"\n", document.body, b"\n")
        )

    def actions(self, documents: Sequence[Document]) -> list[bytes]:
        """The documents' action lines, without their newlines."""
        if not documents:
            return []
        ids = orjson.dumps(list(map(ID, documents)))
        lines = self.opening + ids[1:-1].replace(b'","', self.between) + self.closing
        return lines.split(b"\n")

    def body(self, documents: Sequence[Document]) -> bytes:
        """Action, document, action, document …, each line ending in a newline."""
        lines: list[bytes] = [b""] * (2 * len(documents) + 1)  # the last: the final newline
        lines[0:-1:2] = self.actions(documents)
        lines[1:-1:2] = map(BODY, documents)
        return b"\n".join(lines) if documents else b""


def body(index: str, documents: Sequence[Document], op_type: OpType = "index") -> bytes:
    """The NDJSON body for ``documents`` (used when only some of a batch are sent again)."""
    return BulkFraming(index, op_type).body(documents)


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
    """Group documents into bodies within both caps (:func:`batching.iter_batches`)."""
    return batching.iter_batches(documents, BulkFraming(index, op_type), max_docs, max_bytes)


def parse_response(
    body: bytes, sent: Sequence[str], url: str, index: str, action: str = "index"
) -> list[ItemResult] | None:
    """One :class:`ItemResult` per document sent, in the order they were sent.

    Items are matched to documents by ``_id`` and action, never by position: a
    server or a proxy may answer in another order, and a neighbour must never
    inherit a document's refusal. An answer with an item too few or too many, or
    an id that was not sent, raises :class:`TargetError`: the run stops rather
    than guess. Equal ids (not sent by the pipeline, which keeps one document per
    id in a chunk) are matched in order. ``None`` means every item succeeded: the
    items decide, not the top-level ``errors`` flag, which an odd server may set
    to ``false`` over items that failed.
    """
    if is_success_answer(body, sent, action):
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
    if not isinstance(items, list):
        raise TargetError(
            f"target's _bulk response at {url} has no items for {len(sent)} documents: "
            "check that target.url points at an Elasticsearch/OpenSearch-compatible API"
        )
    if len(items) == len(sent) and _all_done(items, sent, action):
        return None
    answered = [_item(item, url) for item in items]
    ids = [doc_id for _, doc_id, _ in answered]
    if len(answered) != len(sent) or ids != list(sent) or any(a != action for a, _, _ in answered):
        order = _match(answered, sent, action)
        if order is None:
            raise out_of_protocol(url, index, sent, answered, action)
        results = [answered[position][2] for position in order]
    else:
        results = [result for _, _, result in answered]
    if all(200 <= result.status < 300 for result in results):
        return None
    return results


Answered = tuple[str, str | None, ItemResult]  # (action, _id, result) of one item
UPDATED, CREATED = b',"status":200}}', b',"status":201}}'


def is_success_answer(body: bytes, sent: Sequence[str], action: str) -> bool:
    """Whether ``body`` is, byte for byte, the answer both engines give under
    :data:`ANSWER_FIELDS` when every document of ``sent`` was created (201) or
    overwritten (200), in the order sent.

    Read into dicts, a thousand items cost more CPU than anything else db2api does per
    document on the event loop, and collecting that garbage as much again; compared as
    bytes, the common answer costs next to nothing. Both sides are built with C-speed
    steps (:func:`answers.joined_ids`); ``,"status":200}}`` only stands after an item's
    id (a quote inside an id is escaped).
    Whatever differs (another spelling of an id, spaces, another order, an item that
    failed, a server that ignores ``filter_path``) is read item by item.
    """
    opening = b'{"%s":{"_id":' % action.encode()
    items = joined_ids(sent, CREATED + b"," + opening)
    if items is None:
        return False
    expected = b'{"items":[' + opening + items + CREATED + b"]}"
    return len(body) == len(expected) and body.replace(UPDATED, CREATED) == expected


def _all_done(items: list[Any], sent: Sequence[str], action: str) -> bool:
    """The common answer, checked in C-speed passes: every item 2xx, in the order sent.

    Anything unexpected (an item that is not a dict, another action, a missing field)
    is left to the item-by-item reading.
    """
    try:
        results = [item[action] for item in items]
        ids = [result["_id"] for result in results]
        statuses = {result["status"] for result in results}
    except (KeyError, TypeError):
        return False
    return ids == list(sent) and all(type(s) is int and 200 <= s < 300 for s in statuses)


def _match(answered: list[Answered], sent: Sequence[str], action: str) -> list[int] | None:
    """For each document sent, the position of its item; None when they do not pair up."""
    if len(answered) != len(sent):
        return None
    waiting: dict[str, list[int]] = {}
    for position, (kind, doc_id, _) in enumerate(answered):
        if kind != action or doc_id is None:
            return None
        waiting.setdefault(doc_id, []).append(position)
    order: list[int] = []
    for doc_id in sent:
        positions = waiting.get(doc_id)
        if not positions:
            return None
        order.append(positions.pop(0))
    return order


def out_of_protocol(
    url: str, index: str, sent: Sequence[str], answered: list[Answered], action: str
) -> TargetError:
    """One line: what was sent, what came back, and who is to blame."""
    left = list(sent)
    foreign: list[str] = []
    for kind, doc_id, _ in answered:
        if kind == action and doc_id in left:
            left.remove(doc_id)  # type: ignore[arg-type]
        else:
            foreign.append(f"{kind} {doc_id}" if kind != action else str(doc_id))
    parts = [f"sent {len(sent)} {action} actions, the answer has {len(answered)} items"]
    if left:
        parts.append(f"no item for id {_few(left)}")
    if foreign:
        parts.append(f"items not sent: {_few(foreign)}")
    return TargetError(
        f"index {index} at {url}: {'; '.join(parts)}: the target, or a proxy in front of it, "
        "answers _bulk out of protocol; nothing was dead-lettered, the window runs again "
        "next time"
    )


def _few(values: list[str], shown: int = 5) -> str:
    more = f" and {len(values) - shown} more" if len(values) > shown else ""
    return ", ".join(values[:shown]) + more


def _item(item: object, url: str) -> Answered:
    action, result = next(iter(item.items()), ("", None)) if isinstance(item, dict) else ("", None)
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
    raw_id = result.get("_id")
    # A compatible server may echo a numeric id as a number: it still names the document.
    numeric = isinstance(raw_id, int) and not isinstance(raw_id, bool)
    doc_id = raw_id if isinstance(raw_id, str) else str(raw_id) if numeric else None
    return str(action), doc_id, _result(status, result.get("error"))


def _result(status: int, error: object) -> ItemResult:
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
