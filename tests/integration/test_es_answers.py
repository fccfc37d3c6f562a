"""The Elasticsearch sink against answers the real servers gave, replayed over loopback.

Every body comes from ``tests/support/real_answers.py``, where each is quoted from
Elasticsearch's or OpenSearch's documentation or a public bug report (the source is
named there). Nothing here is shaped by our own receiver.
"""

from __future__ import annotations

import json

import orjson
import pytest

from db2api.errors import TargetError
from db2api.job import Target
from db2api.records.document import Document
from db2api.targets.elasticsearch import Elasticsearch
from db2api.targets.es_bulk import ANSWER_FIELDS
from db2api.targets.es_proof import PROOF_FIELDS
from db2api.transport.http import open_session
from db2api.transport.limiter import Limiter
from db2api.transport.retry import RetryPolicy
from tests.support import real_answers as real
from tests.support.real_answers import Answer, bulk_echo
from tests.support.scripted import ScriptedTarget, Seen

FAST = RetryPolicy(give_up_after=30, base_delay=0.01, max_delay=0.05)
INDEX = "readings"


def docs(count: int) -> list[Document]:
    return [Document(str(i), orjson.dumps({"n": i})) for i in range(count)]


def same_item(item: dict) -> callable:
    """Every item of every request answered with one real item."""
    return lambda _number, seen: Answer(
        200, {"content-type": real.JSON}, bulk_echo(item, seen.bulk_sent), "", ""
    )


def items(*parts: dict) -> bytes:
    return json.dumps({"took": 3, "errors": True, "items": list(parts)}).encode()


def with_id(item: dict, doc_id: str) -> dict:
    """A real item, answering the document ``doc_id``."""
    ((action, inner),) = item.items()
    return {action: {**inner, "_id": doc_id}}


def ok_after(first: Answer | dict, times: int = 1) -> callable:
    """``first`` (a whole answer, or a real item for every document) ``times``, then all OK."""

    def respond(number: int, seen: Seen) -> Answer:
        if number <= times:
            return first if isinstance(first, Answer) else same_item(first)(number, seen)
        return same_item(real.INDEX_CREATED_ITEM_ES8)(number, seen)

    return respond


async def send(
    respond, count: int = 10, op_type: str = "index", bulk_docs: int = 10, prove: bool = False
):
    async with ScriptedTarget(respond) as server:
        target = Target(
            url=server.url, index=INDEX, op_type=op_type, bulk_docs=bulk_docs, prove=prove
        )
        async with open_session(4, 10) as session:
            sink = Elasticsearch().sink(session, server.url, target, FAST, Limiter(4), "")
            outcome = await sink.send(docs(count))
    return outcome, server.seen


async def test_all_ok_acknowledges_every_document_in_one_request():
    outcome, seen = await send(same_item(real.INDEX_CREATED_ITEM_ES8))

    assert (outcome.acked, outcome.dead, len(seen)) == (10, [], 1)
    assert seen[0].path == f"/_bulk?{ANSWER_FIELDS}"  # the answer cut to what is read


async def test_a_mapping_error_dead_letters_that_document_only():
    def respond(_number, seen):
        created = [with_id(real.INDEX_CREATED_ITEM_ES8, str(i)) for i in range(9)]
        body = items(*created, with_id(real.MAPPER_PARSING_ITEM, "9"))
        return Answer(200, {"content-type": real.JSON}, body, "", "")

    outcome, _ = await send(respond)

    assert outcome.acked == 9
    [letter] = outcome.dead
    assert (letter.id, letter.status, letter.error) == ("9", 400, "HTTP 400")
    assert letter.reason == (
        "mapper_parsing_exception: failed to parse field [hass.value] of type [long] in "
        "document with id '-41ZC2wBLpP0xwShibSp': For input string: \"idle\""
    )


@pytest.mark.parametrize(
    "first",
    [real.REJECTED_EXECUTION_ITEM, real.UNAVAILABLE_SHARDS_ITEM],
    ids=["429 es_rejected_execution", "503 unavailable_shards"],
)
async def test_overloaded_items_are_sent_again_and_delivered(first):
    outcome, seen = await send(ok_after(first))

    # One retry: the ten documents went again in one request.
    assert (outcome.acked, outcome.dead, outcome.retries, len(seen)) == (10, [], 1, 2)


@pytest.mark.parametrize(
    "first",
    [real.CIRCUIT_BREAKING_429, real.BAD_GATEWAY_502_AWS, real.MASTER_NOT_DISCOVERED_503],
    ids=["429 circuit_breaking", "502 html", "503 master_not_discovered"],
)
async def test_a_busy_or_broken_gateway_is_retried_never_dead_lettered(first):
    outcome, seen = await send(ok_after(first, times=2))

    assert (outcome.acked, outcome.dead, len(seen)) == (10, [], 3)


def _item(status: int, error: dict) -> dict:
    return {"index": {"_index": INDEX, "_id": "x", "status": status, "error": error}}


@pytest.mark.parametrize(
    ("item", "words"),
    [
        (
            real.INDEX_NOT_FOUND_ITEM,
            "HTTP 404 index_not_found_exception: no such index and [action.auto_create_index]",
        ),
        (_item(403, real.SECURITY_BULK_ITEM_ERROR), "grant the API key the create_doc or index"),
        (_item(400, real.INVALID_INDEX_NAME_ERROR), "fix target.index: index names are lower-case"),
        (real.DATA_STREAM_INDEX_OP_ITEM, "is a data stream, which only takes create: set"),
        (real.READ_ONLY_ALLOW_DELETE_ITEM_403, "passed its flood-stage watermark"),
        (real.FLOOD_STAGE_ITEM_429, "passed its flood-stage watermark"),
    ],
    ids=[
        "index_not_found",
        "security_exception",
        "invalid_index_name",
        "data_stream_op_type",
        "read_only_allow_delete_403",
        "flood_stage_429",
    ],
)
async def test_an_index_level_refusal_stops_the_run_after_one_batch_with_the_fix(item, words):
    with pytest.raises(TargetError) as caught:
        await send(same_item(item), count=30)

    message = str(caught.value)
    assert message.startswith(f"index {INDEX} at http://127.0.0.1:")
    assert words in message
    assert message.endswith("nothing was dead-lettered, the window runs again next time")
    assert "\n" not in message


async def test_the_data_stream_rule_is_met_by_create_actions():
    outcome, seen = await send(same_item(real.INDEX_CREATED_ITEM_ES8), op_type="create")

    first_action = orjson.loads(seen[0].body.split(b"\n")[0])
    assert list(first_action) == ["create"]
    assert outcome.acked == 10


async def test_409_on_create_means_already_present_and_counts_as_delivered():
    outcome, _ = await send(same_item(real.CREATE_VERSION_CONFLICT_ITEM), op_type="create")

    assert (outcome.acked, outcome.present, outcome.dead) == (10, 10, [])


async def test_409_on_index_is_not_taken_for_already_present():
    outcome, _ = await send(same_item(real.CREATE_VERSION_CONFLICT_ITEM), count=3)

    assert (outcome.acked, outcome.present, len(outcome.dead)) == (0, 0, 3)


@pytest.mark.parametrize(
    "too_large", [real.TOO_LARGE_413_EMPTY, real.TOO_LARGE_413_NGINX], ids=["empty", "nginx"]
)
async def test_a_whole_request_413_splits_the_batch_instead_of_stopping(too_large):
    outcome, seen = await send(ok_after(too_large))

    assert (outcome.acked, outcome.dead) == (10, [])
    assert [s.bulk_items for s in seen] == [10, 5, 5]


async def test_a_document_too_large_alone_becomes_the_only_dead_letter():
    def respond(_number, seen: Seen) -> Answer:
        if b'"_id":"3"' in seen.body:
            return real.TOO_LARGE_413_NGINX
        return same_item(real.INDEX_CREATED_ITEM_ES8)(_number, seen)

    outcome, _ = await send(respond, count=8)

    assert outcome.acked == 7
    [letter] = outcome.dead
    assert (letter.id, letter.error) == ("3", "DocumentTooLarge")
    assert "what the target takes (HTTP 413)" in letter.reason


async def test_a_batch_failing_whole_the_same_unknown_way_twice_stops_the_run():
    unknown = _item(400, {"type": "some_new_exception", "reason": "nobody listed this"})

    with pytest.raises(TargetError) as caught:
        await send(same_item(unknown), count=40, bulk_docs=10)

    assert "every item of 2 batches in a row failed with HTTP 400 some_new_exception" in str(
        caught.value
    )


async def test_a_few_bad_documents_never_trip_the_safety_net():
    unknown = _item(
        400, {"type": "strict_dynamic_mapping_exception", "reason": "mapping is strict"}
    )

    outcome, _ = await send(same_item(unknown), count=4, bulk_docs=2)

    assert (outcome.acked, len(outcome.dead)) == (0, 4)


def mget_answer(seen: Seen, lost: set[str]) -> Answer:
    """An _mget answer in the real shapes: found docs as the OpenSearch docs show them,
    a missing one as quoted in MGET_NOT_FOUND_DOC, for the ids asked."""
    found = json.loads(real.MGET_FOUND_OPENSEARCH.body)["docs"][0]
    asked = json.loads(seen.body)["ids"]
    docs = [
        {**real.MGET_NOT_FOUND_DOC, "_index": INDEX, "_id": i}
        if i in lost
        else {**found, "_index": INDEX, "_id": i}
        for i in asked
    ]
    return Answer(200, {"content-type": real.JSON}, json.dumps({"docs": docs}).encode(), "", "")


def lying(lost: set[str]) -> callable:
    """Every _bulk item acknowledged; _mget says which ids are really there."""

    def respond(number: int, seen: Seen) -> Answer:
        if seen.path.split("?")[0].endswith("/_mget"):
            return mget_answer(seen, lost)
        return same_item(real.INDEX_CREATED_ITEM_ES8)(number, seen)

    return respond


async def test_the_proof_asks_for_every_acknowledged_id_without_sources():
    outcome, seen = await send(lying(set()), prove=True)

    assert outcome.acked == outcome.proven == 10
    [proof] = [s for s in seen if s.path.split("?")[0].endswith("/_mget")]
    assert proof.path == f"/{INDEX}/_mget?_source=false&{PROOF_FIELDS}"
    assert json.loads(proof.body) == {"ids": [str(i) for i in range(10)]}


def compact_mget(lost: set[str]) -> callable:
    """Every _bulk item acknowledged; _mget answered as both engines write it under
    PROOF_FIELDS (no spaces, two fields an entry)."""

    def respond(number: int, seen: Seen) -> Answer:
        if not seen.path.split("?")[0].endswith("/_mget"):
            return same_item(real.INDEX_CREATED_ITEM_ES8)(number, seen)
        asked = json.loads(seen.body)["ids"]
        docs = [{"_id": i, "found": i not in lost} for i in asked]
        return Answer(200, {"content-type": real.JSON}, orjson.dumps({"docs": docs}), "", "")

    return respond


async def test_the_proof_asks_for_an_answer_not_gzipped_and_reads_the_compact_one():
    outcome, seen = await send(compact_mget(set()), prove=True)

    assert outcome.acked == outcome.proven == 10
    assert [s.accept_encoding for s in seen] == ["identity", "identity"]  # _bulk, _mget


async def test_a_compact_answer_missing_an_id_fails_naming_it():
    from db2api.errors import AccountingError

    with pytest.raises(AccountingError, match=r"that it does not hold \(missing ids: 4\)"):
        await send(compact_mget({"4"}), prove=True)


async def test_a_target_that_acknowledged_what_it_does_not_hold_fails_naming_the_ids():
    from db2api.errors import AccountingError

    with pytest.raises(AccountingError) as caught:
        await send(lying({"3", "7"}), prove=True)

    assert str(caught.value).endswith(
        f"acknowledged 2 documents of index {INDEX} that it does not hold (missing ids: 3, 7): "
        "the window is not complete and runs again next time"
    )


async def test_ids_the_proof_gets_an_error_for_are_asked_again_not_called_missing():
    """A node restarted after a crash answers _mget with an error per id until its shard
    is active, while _bulk already waits for the shard: those ids are not missing."""
    mgets = 0

    def respond(number: int, seen: Seen) -> Answer:
        nonlocal mgets
        if not seen.path.split("?")[0].endswith("/_mget"):
            return same_item(real.INDEX_CREATED_ITEM_ES8)(number, seen)
        mgets += 1
        if mgets > 2:
            return mget_answer(seen, set())
        asked = json.loads(seen.body)["ids"]
        recovering = [{**real.MGET_NO_SHARD_DOC, "_index": INDEX, "_id": i} for i in asked]
        body = json.dumps({"docs": recovering}).encode()
        return Answer(200, {"content-type": real.JSON}, body, "", "")

    outcome, seen = await send(respond, prove=True)

    assert (outcome.acked, outcome.dead) == (10, [])
    proofs = [s for s in seen if s.path.split("?")[0].endswith("/_mget")]
    assert [json.loads(p.body)["ids"] for p in proofs] == [[str(i) for i in range(10)]] * 3


async def test_a_target_without_mget_is_trusted_with_one_warning_per_run():
    import logging

    said: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("db2api").addHandler(handler)

    def respond(number: int, seen: Seen) -> Answer:
        if seen.path.split("?")[0].endswith("/_mget"):
            return Answer(405, {"content-type": "text/plain"}, b"Method Not Allowed", "", "")
        return same_item(real.INDEX_CREATED_ITEM_ES8)(number, seen)

    async with ScriptedTarget(respond) as server:
        target = Target(url=server.url, index=INDEX, bulk_docs=10)
        async with open_session(4, 10) as session:
            sink = Elasticsearch().sink(session, server.url, target, FAST, Limiter(4), "")
            first = await sink.send(docs(10))
            second = await sink.send(docs(10))

    assert (first.acked, second.acked) == (10, 10)
    logging.getLogger("db2api").removeHandler(handler)
    asked = [s.path for s in server.seen].count(f"/{INDEX}/_mget?_source=false&{PROOF_FIELDS}")
    assert asked == 1, "asked once, then not"
    assert sum("cannot be proven present there" in line for line in said) == 1


def reordered(refused_id: str, item: dict = real.MAPPER_PARSING_ITEM) -> callable:
    """Every _bulk answered with its items reversed, ``refused_id`` refused with ``item``."""

    def respond(number: int, seen: Seen) -> Answer:
        if seen.path.split("?")[0].endswith("/_mget"):
            return mget_answer(seen, {refused_id})  # the target does not hold the refused one
        parts = [
            with_id(item if doc_id == refused_id else real.INDEX_CREATED_ITEM_ES8, doc_id)
            for _, doc_id in reversed(seen.bulk_sent)
        ]
        return Answer(200, {"content-type": real.JSON}, items(*parts), "", "")

    return respond


@pytest.mark.parametrize("prove", [False, True], ids=["no proof", "proof"])
async def test_items_in_another_order_dead_letter_the_refused_document_itself(prove):
    outcome, seen = await send(reordered("3"), prove=prove)

    [letter] = outcome.dead
    assert (letter.id, letter.status) == ("3", 400)
    assert letter.reason.startswith("mapper_parsing_exception: failed to parse field [hass.value]")
    assert sorted(outcome.acked_ids) == sorted(str(i) for i in range(10) if i != 3)
    assert [s.path for s in seen].count(f"/{INDEX}/_mget?_source=false&{PROOF_FIELDS}") == (
        1 if prove else 0
    )


def compact_status_200_missing_last(_number: int, seen: Seen) -> Answer:
    """A compact all-created answer with a top-level "status":200 and the last item gone."""
    parts = [with_id(real.INDEX_CREATED_ITEM_ES8, doc_id) for _, doc_id in seen.bulk_sent[:-1]]
    body = json.dumps(
        {"took": 2, "errors": False, "status": 200, "items": parts}, separators=(",", ":")
    ).encode()
    assert body.count(b'"status":2') == len(seen.bulk_sent), "the old text count would pass it"
    return Answer(200, {"content-type": real.JSON}, body, "", "")


async def test_a_compact_answer_with_a_top_level_status_and_an_item_missing_stops():
    with pytest.raises(TargetError) as caught:
        await send(compact_status_200_missing_last)

    assert str(caught.value) == (
        f"index {INDEX} at {caught.value.message.split(' at ')[1].split(': ')[0]}: sent 10 "
        "index actions, the answer has 9 items; no item for id 9: the target, or a proxy in "
        "front of it, answers _bulk out of protocol; nothing was dead-lettered, the window "
        "runs again next time"
    )


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (real.CONTENT_TYPE_406_ES6, "HTTP 406 from POST http://127.0.0.1:"),
        (real.MEDIA_TYPE_HEADER_400_ES9, "(media_type_header_exception: Invalid media-type"),
        (real.PARSE_EXCEPTION_400, "(parse_exception: Failed to derive xcontent): the target"),
        (real.UNRECOGNIZED_PARAMETER_400, "contains unrecognized parameter: [consistency])"),
    ],
    ids=["406 content-type", "400 media_type_header", "400 parse_exception", "400 parameter"],
)
async def test_a_refusal_of_the_request_itself_stops_at_once_without_splitting(answer, words):
    async with ScriptedTarget(lambda n, s: answer) as server:
        target = Target(url=server.url, index=INDEX, bulk_docs=10, prove=False)
        async with open_session(4, 10) as session:
            sink = Elasticsearch().sink(session, server.url, target, FAST, Limiter(4), "")
            with pytest.raises(TargetError) as caught:
                await sink.send(docs(10))

    assert len(server.seen) == 1, "one request, no halves"
    message = str(caught.value)
    assert words in message
    assert message.endswith("nothing was dead-lettered, the window runs again next time")
    assert "\n" not in message


def unknown_400(_number: int, _seen: Seen) -> Answer:
    body = b'{"error":{"type":"some_gateway_exception","reason":"refused"},"status":400}'
    return Answer(400, {"content-type": real.JSON}, body, "", "")


async def test_a_refusal_every_half_meets_stops_after_a_descent_not_2n_requests():
    with pytest.raises(TargetError) as caught:
        await send(unknown_400, count=16, bulk_docs=16)

    assert "both halves of the request, and one document alone, were refused in the same" in str(
        caught.value
    )


async def test_a_refusal_every_half_meets_costs_log2_requests():
    async with ScriptedTarget(unknown_400) as server:
        target = Target(url=server.url, index=INDEX, bulk_docs=16, prove=False)
        async with open_session(4, 10) as session:
            sink = Elasticsearch().sink(session, server.url, target, FAST, Limiter(4), "")
            with pytest.raises(TargetError):
                await sink.send(docs(16))

    # 16, its halves 8 + 8, then the first half alone: 4, 2, 1 (2N-1 would be 31).
    assert [s.bulk_items for s in server.seen] == [16, 8, 8, 4, 2, 1]


async def test_a_refusal_one_half_passes_is_split_down_to_the_document():
    def respond(_number: int, seen: Seen) -> Answer:
        if b'"_id":"5"' in seen.body:
            return unknown_400(_number, seen)
        return same_item(real.INDEX_CREATED_ITEM_ES8)(_number, seen)

    outcome, seen = await send(respond, count=8, bulk_docs=8)

    [letter] = outcome.dead
    assert (letter.id, letter.reason) == ("5", "HTTP 400: some_gateway_exception: refused")
    assert outcome.acked == 7
    assert [s.bulk_items for s in seen] == [8, 4, 4, 2, 1, 1, 2]  # 2N-1 would be 15


@pytest.mark.parametrize(
    "error",
    [
        {"type": "strict_dynamic_mapping_exception", "reason": "mapping set to strict"},
        {"type": "document_parsing_exception", "reason": "[1:12] failed to parse field [v]"},
        {"type": "illegal_argument_exception", "reason": "mapper [v] cannot be changed"},
    ],
    ids=["strict_dynamic_mapping", "document_parsing", "illegal_argument on a field"],
)
async def test_known_document_refusals_never_trip_the_uniform_net(error):
    outcome, seen = await send(same_item(_item(400, error)), count=40, bulk_docs=10)

    assert (outcome.acked, len(outcome.dead), len(seen)) == (0, 40, 4)
