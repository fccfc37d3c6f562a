"""The one batching sink: its chunker and its per-document triage, the same for every kind.

The chunker is pure and checked over both framings. The triage is checked through
``send`` with the sink's one network seam (``send(session, request) -> response``)
answering from a table, so each row says what one document's result does to the
outcome, for ``bulk`` and ``batch`` alike.
"""

from __future__ import annotations

import random

import orjson
import pytest

from db2api.errors import TargetError
from db2api.job import Target
from db2api.records.document import Document
from db2api.targets.base import Outcome
from db2api.targets.batching import Batch, Framing, iter_batches
from db2api.targets.batching_sink import BatchingSink
from db2api.targets.elasticsearch import BulkSink
from db2api.targets.es_bulk import BulkFraming, action_line
from db2api.targets.http_batch import ArrayFraming, BatchSink
from db2api.transport.http import Request, Response
from db2api.transport.limiter import Limiter
from db2api.transport.retry import RetryPolicy

FRAMINGS = {
    "ndjson": BulkFraming("readings"),
    "ndjson create": BulkFraming("logs-x", "create"),
    "array": ArrayFraming(None),
    "wrapped array": ArrayFraming("rows"),
}


def doc(number: int, size: int) -> Document:
    body = orjson.dumps({"v": "x" * (size - 8)})
    assert len(body) == size
    return Document(str(number), body)


@pytest.mark.parametrize("framing", FRAMINGS.values(), ids=FRAMINGS.keys())
@pytest.mark.parametrize(
    ("sizes", "max_docs", "max_bytes"),
    [
        ([10] * 7, 3, 10_000),  # the count cap
        ([300] * 7, 1000, 1024),  # the byte cap
        ([100, 2000, 100, 100], 10, 1024),  # one too large alone, between others
        ([1500], 10, 1024),  # only one, too large
        ([], 10, 1024),
    ],
)
def test_every_body_keeps_both_caps_and_every_document_comes_out_once_in_order(
    framing: Framing, sizes: list[int], max_docs: int, max_bytes: int
) -> None:
    documents = [doc(n, size) for n, size in enumerate(sizes)]
    room = max_bytes - len(framing.head) - len(framing.tail)

    items = list(iter_batches(documents, framing, max_docs, max_bytes))

    out = [d for i in items for d in (i.documents if isinstance(i, Batch) else [i])]
    assert [d.id for d in sorted(out, key=lambda d: int(d.id))] == [d.id for d in documents]
    assert len(out) == len(documents)
    for item in items:
        if isinstance(item, Batch):
            assert item.body == framing.body(item.documents)
            assert len(item.body) <= max_bytes and len(item.documents) <= max_docs
        else:
            assert len(framing.entry(item)) > room, "only a document too large alone is bare"


@pytest.mark.parametrize(
    ("framing", "size"),
    [
        # NDJSON: no separator, both newlines counted in each entry.
        (BulkFraming("readings"), (1024 - 3 * len(action_line("readings", "0")) - 6) // 3),
        # An array: three bodies, two commas and the brackets make exactly 1024 bytes.
        (ArrayFraming(None), 340),
        (ArrayFraming("rows"), (1024 - len(b'{"rows":[]}') - 2) // 3),
    ],
    ids=["ndjson", "array", "wrapped array"],
)
def test_a_body_fills_up_to_the_byte_cap_exactly_counting_separators(
    framing: Framing, size: int
) -> None:
    documents = [doc(n, size) for n in range(4)]
    exact = len(framing.body(documents[:3]))

    items = list(iter_batches(documents, framing, 100, exact))

    assert [len(i.documents) for i in items if isinstance(i, Batch)] == [3, 1]
    assert len(items[0].body) == exact
    over = list(iter_batches(documents, framing, 100, exact - 1))
    assert [len(i.documents) for i in over if isinstance(i, Batch)] == [2, 2]


def test_the_ndjson_entry_is_the_action_line_and_the_document_with_their_newlines() -> None:
    odd = Document('a"%s\\b', b'{"k":1}')
    entry = BulkFraming('in"%dex', "create").entry(odd)
    assert entry == action_line('in"%dex', 'a"%s\\b', "create") + b'\n{"k":1}\n'


# One document's result, as each kind's answer says it: (bulk item, batch_items entry).
OK = ({"status": 201}, {"status": 201})
BUSY = ({"status": 429, "error": {"type": "es_rejected_execution_exception"}}, {"status": 429})
BAD = (
    {"status": 400, "error": {"type": "mapper_parsing_exception", "reason": "bad v"}},
    {"status": 400, "error": "mapper_parsing_exception: bad v"},
)


def answer(kind: str, ids: list[str], results: list[dict], action: str) -> bytes:
    if kind == "bulk":
        items = [{action: {"_id": i, **r}} for i, r in zip(ids, results, strict=True)]
        return orjson.dumps({"errors": True, "items": items})
    return orjson.dumps({"results": results})


def sink_for(
    kind: str,
    answers: list[list[tuple[dict, dict]]],
    op_type: str = "index",
    status: int = 200,
    network=None,
):
    """A sink whose network answers each request with the next row of results."""
    sent: list[list[str]] = []

    async def send(session: object, request: Request) -> Response:
        ids = ids_in(kind, request.body)
        sent.append(ids)
        row = answers.pop(0) if answers else [OK] * len(ids)
        results = [pair[0] if kind == "bulk" else pair[1] for pair in row]
        body = answer(kind, ids, results, op_type) if status < 300 else b'{"error":"too big"}'
        return Response(status, body, {"Content-Type": "application/json"})

    target = Target(
        url="http://127.0.0.1:9",
        index="readings",
        mode=kind,
        path="/records",
        batch_items="results",
        op_type=op_type,  # type: ignore[arg-type]
        prove=False,
    )
    sink_type: type[BatchingSink] = BulkSink if kind == "bulk" else BatchSink
    sink = sink_type(
        None,  # type: ignore[arg-type]  # the session: send() above never uses it
        "http://127.0.0.1:9",
        target,
        RetryPolicy(give_up_after=5, base_delay=0.001, max_delay=0.001),
        Limiter(1),  # one batch at a time: the uniform streak counts them in order
        send=network or send,
        rng=random.Random(1),
    )
    return sink, sent


def ids_in(kind: str, body: bytes) -> list[str]:
    if kind == "bulk":
        lines = body.splitlines()[::2]
        return [next(iter(orjson.loads(line).values()))["_id"] for line in lines]
    return [str(n["v"]) for n in orjson.loads(body)]


def numbered(count: int) -> list[Document]:
    return [Document(str(n), orjson.dumps({"v": n})) for n in range(count)]


@pytest.mark.parametrize("kind", ["bulk", "batch"])
@pytest.mark.parametrize(
    ("row", "acked", "dead", "requests"),
    [
        ([OK, OK, OK], ["0", "1", "2"], [], 1),
        ([OK, BUSY, OK], ["0", "2", "1"], [], 2),  # only the busy one is sent again
        ([BAD, OK, BUSY], ["1", "2"], ["0"], 2),
        ([BAD, BAD, BAD], [], ["0", "1", "2"], 1),
    ],
    ids=["all in", "one busy", "one bad one busy", "all bad"],
)
async def test_each_document_is_acked_retried_or_dead_lettered_by_its_own_result(
    kind: str, row: list, acked: list[str], dead: list[str], requests: int
) -> None:
    sink, sent = sink_for(kind, [row])
    documents = numbered(3)

    outcome = await sink.send(documents, None)

    assert outcome.acked_ids == acked
    assert [letter.id for letter in outcome.dead] == dead
    assert outcome.requests == len(sent) == requests
    assert sent[1:] == ([["1"]] if row[1] is BUSY else [["2"]] if requests == 2 else [])
    assert all(letter.reason == "mapper_parsing_exception: bad v" for letter in outcome.dead)
    assert outcome.retries == requests - 1


async def test_a_create_that_meets_its_id_is_present_not_dead() -> None:
    conflict = {"status": 409, "error": {"type": "version_conflict_engine_exception"}}
    sink, _ = sink_for("bulk", [[(conflict, {}), OK]], op_type="create")

    outcome = await sink.send(numbered(2), None)

    assert (outcome.acked, outcome.present, outcome.dead) == (2, 1, [])


MISSING = (
    {"status": 404, "error": {"type": "index_not_found_exception", "reason": "no such"}},
    {"status": 404, "error": "index_not_found_exception"},
)
ODD = ({"status": 400, "error": {"type": "odd_exception", "reason": "no"}}, {"status": 400})


@pytest.mark.parametrize(
    ("kind", "answers", "stop"),
    [
        ("bulk", [[MISSING, OK]], "create the index readings"),
        ("batch", [[MISSING, OK]], None),  # a plain API's results carry no error type
        ("bulk", [[ODD] * 5, [ODD] * 5], "every item of 2 batches in a row failed"),
        ("batch", [[ODD] * 5, [ODD] * 5], None),
    ],
    ids=["index missing", "no index", "fresh batches fail whole", "no error type"],
)
async def test_what_concerns_the_index_stops_the_run_only_where_results_name_an_error_type(
    kind: str, answers: list, stop: str | None
) -> None:
    results = [result for row in answers for result in row]
    sink, _ = sink_for(kind, answers)
    documents = numbered(len(results))
    parts = [documents[: len(answers[0])], documents[len(answers[0]) :]]
    prepared = [Batch(part, sink.framing.body(part)) for part in parts if part]

    if stop is not None:
        with pytest.raises(TargetError, match=stop):
            await sink.send(documents, prepared)
        return
    outcome = await sink.send(documents, prepared)
    refused = [doc.id for doc, result in zip(documents, results, strict=True) if result is not OK]
    assert [letter.id for letter in outcome.dead] == refused


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("bulk", "over what the target takes (HTTP 413), its http.max_content_length"),
        ("batch", "over what the API takes (HTTP 413: too big)"),
    ],
)
async def test_a_document_a_413_is_about_is_a_too_large_letter_in_the_kinds_words(
    kind: str, words: str
) -> None:
    sink, _ = sink_for(kind, [], status=413)
    (document,) = numbered(1)

    outcome = await sink.send([document], None)

    (letter,) = outcome.dead
    assert letter.error == "DocumentTooLarge" and words in letter.reason
    assert f"needs {len(sink.framing.entry(document))} bytes" in letter.reason


async def test_the_public_request_retries_a_busy_target_and_raises_a_refusal_with_its_fix() -> None:
    statuses = [503, 429, 200, 403]

    async def send(session: object, request: Request) -> Response:
        return Response(statuses.pop(0), b'{"error":"no"}', {})

    sink, _ = sink_for("bulk", [], network=send)
    outcome = Outcome()
    request = Request("POST", "http://127.0.0.1:9/_bulk", b"", {})

    assert (await sink.request(request, outcome)).status == 200
    assert (outcome.requests, outcome.retries) == (3, 2)
    with pytest.raises(TargetError, match=r"^reconcile deletes: HTTP 403 from POST .*privileges"):
        await sink.request(request, outcome, what="reconcile deletes")
