"""One bisection for every batching kind: a request refused whole, and who is to blame.

A whole-request refusal (a 4xx that is not about the credentials or the path) is
about one document only sometimes: a 413 for the request's size, or an API that
refuses a batch for one bad record. Just as often it is about the *request*: a
header, a URL parameter, a body a proxy mangled. Every document would meet that
one, so splitting it down to single documents would cost 2N-1 requests and
dead-letter healthy documents. The rule, kept here once for ``bulk`` and ``batch``:

- a refusal known to concern the request (:func:`request_fix`) stops the run at
  once, in the target's words with the likely fix; nothing is dead-lettered;
- a 413 is split in halves, down to the one document too large;
- any other refusal is split once; when one half passes, the other is split on,
  down to the document, which becomes the dead letter. When both halves are
  refused in the same words, no single document can be the cause: the first half
  alone is halved down to one document (:func:`descend`); a part that passes shows
  a size limit and splitting goes on, the same words for one document stop the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import orjson

from db2api.errors import TargetError
from db2api.targets.answers import error_text

if TYPE_CHECKING:
    from db2api.records.deadletters import DeadLetter
    from db2api.records.document import Document
    from db2api.targets.base import Outcome
    from db2api.transport.breaker import Breaker
    from db2api.transport.http import Response

HEADERS_FIX = (
    "the target refuses the request's Content-Type or Accept header: remove Content-Type and "
    "Accept from target.headers (db2api sends application/x-ndjson to _bulk, "
    "application/json to batch APIs), or stop a proxy in front of the target rewriting them"
)
BODY_FIX = (
    "the target could not parse the request body db2api built: a proxy in front of it may "
    "alter or cut bodies, or target.url / target.path does not lead to the API that takes them"
)
PARAMETER_FIX = (
    "the target refuses something in the request line rather than a document: check the "
    "query string and path of target.url / target.path, and any proxy in front of the target"
)
VALIDATION_FIX = (
    "the target found the request itself invalid: check target.url / target.path and the "
    "target's version"
)
SAME_HALVES_FIX = (
    "both halves of the request, and one document alone, were refused in the same words, so "
    "no document is the cause: check target.url / target.path, target.headers and any proxy "
    "in front of the target"
)
# Error types (Elasticsearch/OpenSearch spelling) that a whole request gets for itself.
REQUEST_TYPES = {
    "media_type_header_exception": HEADERS_FIX,
    "parse_exception": BODY_FIX,
    "json_parse_exception": BODY_FIX,
    "x_content_parse_exception": BODY_FIX,
    "json_e_o_f_exception": BODY_FIX,
    "unexpected_end_of_input_exception": BODY_FIX,
    "not_x_content_exception": BODY_FIX,
    "action_request_validation_exception": VALIDATION_FIX,
}
# illegal_argument_exception is about a field inside a document as often as about the
# request: only these words, all from whole-request answers, make it the request's.
REQUEST_ARGUMENT_WORDS = (
    "unrecognized parameter",
    "action/metadata line",
    "must be terminated by a newline",
    "explicit index in bulk is not allowed",
)


@dataclass(frozen=True)
class Refusal:
    """A whole request refused: its status, the target's words and its error type."""

    status: int
    text: str
    kind: str = ""  # Elasticsearch-shaped ``error.type``; "" for other APIs

    @classmethod
    def of(cls, response: Response) -> Refusal:
        return cls(response.status, error_text(response), _error_type(response.body))

    @property
    def reason(self) -> str:
        return f"HTTP {self.status}: {self.text}"


def _error_type(body: bytes) -> str:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    error = payload.get("error") if isinstance(payload, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    return kind if isinstance(kind, str) else ""


def request_fix(refusal: Refusal) -> str | None:
    """The likely fix when a whole-request refusal concerns the request, not a document."""
    if refusal.status in (406, 415):
        return HEADERS_FIX
    if refusal.kind in REQUEST_TYPES:
        return REQUEST_TYPES[refusal.kind]
    text = refusal.text.lower()
    if refusal.kind == "illegal_argument_exception" and any(
        words in text for words in REQUEST_ARGUMENT_WORDS
    ):
        return PARAMETER_FIX
    # Elasticsearch 6+ answers a bad Content-Type without an error type (a bare string).
    if "content-type header" in text and "is not supported" in text:
        return HEADERS_FIX
    return None


def refused_request(where: str, refusal: Refusal, fix: str) -> TargetError:
    return TargetError(
        f"HTTP {refusal.status} from {where} ({refusal.text}): {fix}; nothing was "
        "dead-lettered, the window runs again next time"
    )


class Halving(Protocol):
    """What a batching sink offers the bisection."""

    breaker: Breaker

    async def send_part(
        self, documents: list[Document], outcome: Outcome, hold: Refusal | None
    ) -> Refusal | None:
        """Send ``documents`` as one request (retried as usual) and sort the answer.

        With ``hold``, a refusal in exactly those words is returned instead of acted on.
        """
        ...

    def letter(self, doc: Document, refusal: Refusal, attempts: int) -> DeadLetter: ...

    def where(self) -> str: ...


async def bisect(
    sink: Halving,
    documents: list[Document],
    refusal: Refusal,
    attempts: int,
    outcome: Outcome,
    first: bool,
) -> None:
    """Find the document a whole-request refusal is about, or stop when it is none of them."""
    if len(documents) == 1:
        outcome.dead.append(sink.letter(documents[0], refusal, attempts))
        sink.breaker.progressed()
        return
    middle = len(documents) // 2
    halves = [documents[:middle], documents[middle:]]
    if not first or refusal.status == 413:
        for half in halves:
            await sink.send_part(half, outcome, None)
        return
    held = [half for half in halves if await sink.send_part(half, outcome, refusal) is not None]
    if len(held) < len(halves):  # one half passed: a document of the other is the cause
        for half in held:
            await bisect(sink, half, refusal, attempts, outcome, first=False)
        return
    await descend(sink, held, refusal, attempts, outcome)


async def settle_refusal(
    sink: Halving,
    documents: list[Document],
    response: Response,
    attempts: int,
    outcome: Outcome,
    hold: Refusal | None,
    first: bool,
) -> Refusal | None:
    """A request the target refused whole: stop when it is about the request itself;
    hand a refusal that repeats ``hold`` back to the caller's bisection (returned);
    otherwise split the documents to find the one refused."""
    refusal = Refusal.of(response)
    fix = request_fix(refusal)
    if fix is not None:
        raise refused_request(sink.where(), refusal, fix)
    if refusal == hold:
        return refusal
    await bisect(sink, documents, refusal, attempts, outcome, first)
    return None


async def descend(
    sink: Halving,
    held: list[list[Document]],
    refusal: Refusal,
    attempts: int,
    outcome: Outcome,
) -> None:
    """Both halves refused in the same words: halve the first alone, down to one document.

    A smaller request that passes shows the refusal was about the request's size (an
    API's row limit): the rest is split as usual. The same words for one document
    alone mean no document is the cause: the run stops, nothing dead-lettered, after
    about log2(batch) requests instead of 2N-1.
    """
    unsent: list[list[Document]] = []
    probe = held[0]
    while len(probe) > 1:
        middle = len(probe) // 2
        part, rest = probe[:middle], probe[middle:]
        unsent.append(rest)
        if await sink.send_part(part, outcome, refusal) is None:
            for piece in reversed(unsent):
                await sink.send_part(piece, outcome, None)
            for piece in held[1:]:
                await bisect(sink, piece, refusal, attempts, outcome, first=False)
            return
        probe = part
    raise refused_request(sink.where(), refusal, SAME_HALVES_FIX)
