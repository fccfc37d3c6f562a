"""Many documents per request, as pure steps: a body's framing, the chunker, item results.

Like elasticsearch-py's ``_ActionChunker``, one chunker serves every batching kind:
a kind says how a body is framed (:class:`Framing`: what opens and closes it, what
stands between two documents, and each document's own bytes) and the chunker caps
each request by document count and by bytes, counting every separator, so a body
it builds is never over ``max_bytes``. A document that alone does not fit is
yielded bare, for the caller to dead-letter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from db2api.records.document import Document


@dataclass
class Batch:
    """Documents sent in one request, and the request body."""

    documents: list[Document]
    body: bytes


@dataclass(frozen=True)
class ItemResult:
    """One document's part of an answer, whatever the kind."""

    status: int
    error: str  # the target's error type (Elasticsearch's ``error.type``); "" when it has none
    reason: str

    @property
    def said(self) -> str:
        """The target's words for a dead letter."""
        return f"{self.error}: {self.reason}" if self.error else self.reason


class Framing:
    """How documents become one request body (a JSON array unless a kind says otherwise)."""

    content_type = "application/json"
    head = b""
    separator = b""
    tail = b""

    def entry(self, document: Document) -> bytes:
        """The document's own bytes in a body, without the separator."""
        return document.body

    def body(self, documents: Sequence[Document]) -> bytes:
        entries = self.separator.join([self.entry(document) for document in documents])
        return self.head + entries + self.tail if self.head or self.tail else entries


def iter_batches(
    documents: Sequence[Document], framing: Framing, max_docs: int, max_bytes: int
) -> Iterator[Batch | Document]:
    """Bodies within both caps; a document that alone exceeds ``max_bytes``, bare.

    n documents take their pieces, n - 1 separators and the head and tail once.
    This runs for every document a job sends, and most batches are cut by count:
    each ``max_docs`` documents become one body, built whole by the framing (at C
    speed where it can), and stand when it is within ``max_bytes``. From the first
    body over it on, the documents are weighed one at a time.
    """
    listed = documents if isinstance(documents, list) else list(documents)
    for start in range(0, len(listed), max_docs):
        part = listed[start : start + max_docs]
        body = framing.body(part)
        if len(body) > max_bytes:
            yield from iter_weighed(listed[start:], framing, max_docs, max_bytes)
            return
        yield Batch(part, body)


def iter_weighed(
    documents: Sequence[Document], framing: Framing, max_docs: int, max_bytes: int
) -> Iterator[Batch | Document]:
    """:func:`iter_batches` one document at a time, yielding those too large where they stand."""
    head, separator, tail = framing.head, framing.separator, framing.tail
    room = max_bytes - len(head) - len(tail) + len(separator)
    entry_of, apart = framing.entry, len(separator)
    parts: list[bytes] = [head]
    members: list[Document] = []
    size = 0
    for document in documents:
        entry = entry_of(document)
        needed = len(entry) + apart
        if needed > room:
            yield document
            continue
        if members and (len(members) >= max_docs or size + needed > room):
            parts.append(tail)
            yield Batch(members, b"".join(parts))
            parts, members, size = [head], [], 0
        if apart and members:
            parts.append(separator)
        parts.append(entry)
        members.append(document)
        size += needed
    if members:
        parts.append(tail)
        yield Batch(members, b"".join(parts))
