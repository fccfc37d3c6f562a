"""A target's answers read for people: its own words, an HTML page, a dead letter.

Every kind words its errors and dead letters with these, so the same answer reads
the same whichever kind met it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from db2api.errors import TargetError
from db2api.records.deadletters import DeadLetter
from db2api.records.document import Document
from db2api.transport.http import Request, Response


def error_text(response: Response) -> str:
    """The target's own words: ES-shaped ``error.type: reason``, else a text snippet."""
    try:
        payload = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return " ".join(response.text[:300].split()) or "no body"
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        return f"{error.get('type', 'error')}: {error.get('reason', '')}".strip()
    if error:
        return str(error)[:300]
    return " ".join(response.text[:300].split()) or "no body"


def listed(response: Response, *keys: str) -> list[Any] | None:
    """The list at ``keys`` in a 2xx JSON answer (``docs``, ``hits.hits``); None when absent."""
    if response.status >= 300:
        return None
    try:
        node = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return None
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, list) else None


def failed(what: str, response: Response, then: str) -> TargetError:
    """A checking request the target did not answer as asked: what, its words, what next."""
    return TargetError(f"{what} failed: HTTP {response.status} ({error_text(response)}){then}")


def is_html(response: Response) -> bool:
    kind = response.headers.get("Content-Type")  # the spelling http.send keeps; runs per document
    if kind is None:
        kind = next((v for k, v in response.headers.items() if k.lower() == "content-type"), "")
    return kind.lower().startswith("text/html")


def not_the_api(request: Request, response: Response) -> TargetError:
    snippet = response.body[:80].decode("utf-8", "replace").replace("\n", " ")
    return TargetError(
        f"target answered {request.method} {request.url} with an HTML page, not an API "
        f"response ({snippet!r}): check that target.url points at the API itself, not at a "
        "proxy or login page"
    )


def refused(doc: Document, status: int | None, reason: str, attempts: int = 1) -> DeadLetter:
    """A dead letter for a document the target refused, in the target's words."""
    error = f"HTTP {status}" if status is not None else "Refused"
    return DeadLetter(doc.id, doc.decoded(), status, error, reason, attempts)


def too_large(doc: Document, size: int, cap: str) -> DeadLetter:
    return DeadLetter(
        doc.id,
        doc.decoded(),
        None,
        "DocumentTooLarge",
        f"document needs {size} bytes in a request body, over {cap}: raise the cap or slim "
        "the document in the transform",
    )


def joined_ids(ids: Sequence[str], between: bytes) -> bytes | None:
    """``ids`` as orjson quotes them, ``between`` standing between each two (None: none).

    The common ``_bulk`` and ``_mget`` answers are compared as bytes against the answer
    their ids would get; both are built this way, at C speed. In orjson's list of the
    ids, ``","`` only stands between two of them (a quote inside an id is escaped). None
    also for an id orjson cannot write: such answers are read item by item.
    """
    if not ids:
        return None
    try:
        listed_ids = orjson.dumps(list(ids))
    except orjson.JSONEncodeError:
        return None
    return listed_ids[1:-1].replace(b'","', b'"' + between + b'"')
