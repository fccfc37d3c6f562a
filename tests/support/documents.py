"""Documents of an exact body size, for tests of the byte caps batches keep."""

from __future__ import annotations

import orjson

from db2api.records.document import Document


def sized_document(number: int, size: int) -> Document:
    """A document whose body is exactly ``size`` bytes (size >= 10), id ``str(number)``."""
    body = orjson.dumps({"v": "x" * (size - 8)})
    assert len(body) == size
    return Document(str(number), body)


def sized_documents(*sizes: int) -> list[Document]:
    """Documents numbered from 0 whose bodies are exactly ``sizes`` bytes."""
    return [sized_document(number, size) for number, size in enumerate(sizes)]
