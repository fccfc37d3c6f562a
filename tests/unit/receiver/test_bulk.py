"""``_bulk`` without HTTP: NDJSON parsing, each item's fate, and the answer in request order."""

from __future__ import annotations

from collections import Counter

import pytest

from db2api.receiver.bulk import bulk_response, parse_bulk, plan_bulk
from db2api.receiver.catalog import IndexDefinition
from db2api.receiver.faults import Faults
from db2api.receiver.protocol import ProtocolError
from db2api.receiver.refusals import index_uuid
from db2api.receiver.store import Store
from db2api.receiver.writes import WriteOp

LOGS = IndexDefinition(
    "logs", {"index.number_of_shards": "1"}, {"properties": {"n": {"type": "long"}}}, {}, 7
)


def parse(field: str, type_: str, preview: str, doc_id: str = "d1") -> tuple[str, str]:
    return (
        "mapper_parsing_exception",
        f"failed to parse field [{field}] of type [{type_}] in document with id '{doc_id}'. "
        f"Preview of field's value: '{preview}'",
    )


BULK = (
    b'{"index":{"_id":"1"}}\n{"n":1}\n'
    b'{"create":{"_id":"2"}}\n{"n":2}\n'
    b'{"update":{"_id":"1"}}\n{"doc":{"m":1}}\n'
    b'{"delete":{"_id":"3"}}\n'
)


def test_a_bulk_item_refused_by_the_mapping_is_not_written() -> None:
    body = (
        b'{"index":{"_index":"logs","_id":"1"}}\n{"n":1}\n'
        b'{"index":{"_index":"logs","_id":"2"}}\n{"n":"x"}\n'
        b'{"update":{"_index":"logs","_id":"3"}}\n{"doc":{"n":"y"},"doc_as_upsert":true}\n'
        b'{"index":{"_index":"free","_id":"4"}}\n{"n":"x"}\n'
    )
    actions = parse_bulk(body, None)
    ops, positions, _ = plan_bulk(actions, Faults(), Faults().rng(), None, {"logs": LOGS})
    assert positions == [0, 3] and [op.id for op in ops] == ["1", "4"]
    assert actions[1].error == (
        400,
        "mapper_parsing_exception",
        "failed to parse field [n] of type [long] in document with id '2'. "
        "Preview of field's value: 'x'",
    )
    assert actions[2].error is not None and actions[2].error[2].endswith("value: 'y'")


def test_parse_bulk_pairs_actions_with_sources() -> None:
    body = (
        b'{"index":{"_index":"a","_id":"1"}}\n{"x":1}\n'
        b'{"create":{"_id":7}}\n{"x":2}\n'
        b'{"delete":{"_index":"a","_id":"1"}}\n'
        b'{"index":{}}\n{"x":3}\n'
    )
    actions = parse_bulk(body, "dflt")
    assert [(a.op, a.index, a.source) for a in actions] == [
        ("index", "a", b'{"x":1}'),
        ("create", "dflt", b'{"x":2}'),
        ("delete", "a", None),
        ("index", "dflt", b'{"x":3}'),
    ]
    assert [a.id for a in actions[:3]] == ["1", "7", "1"]
    generated = actions[3].id
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert all(a.error is None for a in actions)


def test_parse_bulk_tolerates_missing_final_newline_blank_lines_and_crlf() -> None:
    plain = parse_bulk(b'{"index":{"_id":"1"}}\n{"x":1}\n{"index":{"_id":"2"}}\n{"x":2}', "i")
    messy = parse_bulk(
        b'\n{"index":{"_id":"1"}}\r\n{"x":1}\r\n\n  \n{"index":{"_id":"2"}}\n{"x":2}\n', "i"
    )
    assert [(a.id, a.source) for a in plain] == [(a.id, a.source) for a in messy]


@pytest.mark.parametrize(
    ("body", "type_", "reason_part"),
    [
        (b'{"index":{}}\n{"x":1}\n{oops\n', "x_content_parse_exception", "[3:1]"),
        (b'["index"]\n{"x":1}\n', "illegal_argument_exception", "line [1]"),
        (b'{"index":{},"create":{}}\n{}\n', "illegal_argument_exception", "exactly one"),
        (b'{"upsert":{"_id":"1"}}\n{"doc":{}}\n', "illegal_argument_exception", "[upsert]"),
        (b'{"update":{"_id":"1"}}\n{"x":1}\n', "action_request_validation_exception", "doc"),
        (b'{"index":"a"}\n{}\n', "illegal_argument_exception", "must be an object"),
        (b'{"index":{"_index":5}}\n{}\n', "illegal_argument_exception", "[_index]"),
        (b'{"index":{"_id":[1]}}\n{}\n', "illegal_argument_exception", "[_id]"),
        (b'{"index":{}}\n{"x":1}\n{"index":{}}\n', "illegal_argument_exception", "no source"),
        (b"", "parse_exception", "request body is required"),  # both engines say so
        (b"\n\n", "action_request_validation_exception", "no requests added"),
    ],
)
def test_parse_bulk_refuses_broken_requests(body: bytes, type_: str, reason_part: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_bulk(body, "i")
    assert info.value.status == 400
    assert info.value.type == type_
    assert reason_part in info.value.reason
    assert info.value.body()["error"]["type"] == type_


def test_item_level_problems_fail_only_their_item() -> None:
    body = b'{"index":{"_index":"i","_id":"1"}}\n{"x":1}\n'
    body += b'{"index":{"_index":"Upper","_id":"3"}}\n{"x":1}\n'
    errors = [a.error for a in parse_bulk(body, None)]
    assert errors[0] is None
    assert errors[1] is not None and errors[1][1] == "invalid_index_name_exception"
    assert parse_bulk(b'{"index":{"_id":""}}\n{}\n', "i")[0].error == (
        400,
        "illegal_argument_exception",
        "if _id is specified it must not be empty",
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"index":{"_id":"1"}}\n{"x":1}\n', "Validation Failed: 1: index is missing;"),
        (b'{"delete":{"_index":"i"}}\n', "Validation Failed: 1: id is missing;"),
        # As both engines word it (OpenSearch 2.19.6, Elasticsearch 8.19.21): every problem
        # of every action, numbered in order, and the good action between them not run.
        (
            b'{"update":{}}\n{"doc":{}}\n{"index":{"_index":"i"}}\n{}\n{"delete":{"_index":"i"}}\n',
            "Validation Failed: 1: index is missing;2: id is missing;3: id is missing;",
        ),
    ],
)
def test_an_action_without_index_or_needed_id_fails_the_whole_request(
    body: bytes, reason: str
) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_bulk(body, None)
    assert (info.value.status, info.value.type) == (400, "action_request_validation_exception")
    assert info.value.reason == reason


def test_plan_bulk_rejects_bad_sources_and_injected_faults_without_writing_them() -> None:
    lines = [b'{"index":{"_id":"ok"}}', b'{"v":"fine"}']
    lines += [b'{"index":{"_id":"broken"}}', b'{"v":']
    lines += [b'{"index":{"_id":"scalar"}}', b"42"]
    lines += [b'{"index":{"_id":"ruled"}}', b'{"status":"bad","n":1}']
    lines += [b'{"index":{"_id":"empty"}}', b""]
    lines += [b'{"delete":{"_id":"gone"}}']
    actions = parse_bulk(b"\n".join(lines) + b"\n", "i")
    faults = Faults(reject_field="status", reject_value="bad")
    ops, positions, counts = plan_bulk(actions, faults, faults.rng())
    assert ops == [
        WriteOp("index", "i", "ok", '{"v":"fine"}'),
        WriteOp("delete", "i", "gone", None),
    ]
    assert positions == [0, 5]
    assert counts == {"bulk_item_429": 0, "bulk_item_400": 0, "bulk_item_lost": 0, "rule_400": 1}
    assert [a.error[1] if a.error else None for a in actions] == [
        None,
        "mapper_parsing_exception",
        "mapper_parsing_exception",
        "mapper_parsing_exception",
        "mapper_parsing_exception",
        None,
    ]
    assert actions[3].error == (
        400,
        "mapper_parsing_exception",
        "failed to parse field [status] of type [keyword] in document with id 'ruled'",
    )


def test_plan_bulk_item_faults_are_counted_and_name_a_field() -> None:
    body = b"".join(b'{"index":{"_id":"%d"}}\n{"amount":%d}\n' % (i, i) for i in range(1000))
    actions = parse_bulk(body, "i")
    faults = Faults(bulk_item_429=0.2, bulk_item_400=0.1, seed=7)
    ops, _, counts = plan_bulk(actions, faults, faults.rng())
    assert 150 <= counts["bulk_item_429"] <= 250
    assert 60 <= counts["bulk_item_400"] <= 140
    assert len(ops) == 1000 - counts["bulk_item_429"] - counts["bulk_item_400"]
    statuses = Counter(a.error[0] for a in actions if a.error)
    assert statuses == {429: counts["bulk_item_429"], 400: counts["bulk_item_400"]}
    bad = next(a for a in actions if a.error and a.error[0] == 400)
    assert (
        bad.error is not None
        and f"field [amount] of type [keyword] in document with id '{bad.id}'" in bad.error[2]
    )


def test_bulk_response_keeps_request_order(tmp_path) -> None:
    body = (
        b'{"index":{"_id":"a"}}\n{"n":1}\n'
        b'{"index":{}}\n{bad\n'
        b'{"create":{"_id":"a"}}\n{"n":2}\n'
        b'{"index":{"_id":"a"}}\n{"n":3}\n'
        b'{"delete":{"_id":"missing"}}\n'
    )
    actions = parse_bulk(body, "i")
    faults = Faults()
    ops, positions, _ = plan_bulk(actions, faults, faults.rng())
    with Store(tmp_path / "r.sqlite") as store:
        results = store.write(ops)
        resp = bulk_response(actions, positions, results, 3)
        assert store.ids("i") == {"a": 2}
    assert resp["took"] == 3 and resp["errors"] is True
    items = [
        (op, item["status"], item.get("result"))
        for op, item in (next(iter(i.items())) for i in resp["items"])
    ]
    assert items == [
        ("index", 201, "created"),
        ("index", 400, None),
        ("create", 409, None),
        ("index", 200, "updated"),
        ("delete", 404, "not_found"),
    ]
    conflict = resp["items"][2]["create"]
    assert conflict["error"]["type"] == "version_conflict_engine_exception"
    assert resp["items"][3]["index"]["_version"] == 2


def test_plan_bulk_fails_every_refused_item_and_counts_it(tmp_path) -> None:
    actions = parse_bulk(BULK, "logs")
    faults = Faults(data_stream=True)
    ops, positions, counts = plan_bulk(actions, faults, faults.rng())
    assert [op.op for op in ops] == ["create"] and positions == [1]
    assert counts["data_stream"] == 3
    with Store(tmp_path / "r.sqlite") as store:
        resp = bulk_response(actions, positions, store.write(ops), 1)
    statuses = [(op, item["status"]) for i in resp["items"] for op, item in i.items()]
    assert statuses == [("index", 400), ("create", 201), ("update", 400), ("delete", 400)]
    assert resp["errors"] is True
    assert resp["items"][0]["index"]["error"] == {
        "type": "illegal_argument_exception",
        "reason": "only write ops with an op_type of create are allowed in data streams",
    }


def test_bulk_update_and_delete_shapes(tmp_path) -> None:
    body = (
        b'{"index":{"_id":"1"}}\n{"n":1,"o":{"a":1}}\n'
        b'{"update":{"_id":"1"}}\n{"doc":{"o":{"b":2}}}\n'
        b'{"update":{"_id":"1"}}\n{"doc":{"n":1}}\n'
        b'{"update":{"_id":"2"}}\n{"doc":{"n":2}}\n'
        b'{"update":{"_id":"3"}}\n{"doc":{"n":3},"doc_as_upsert":true}\n'
        b'{"delete":{"_id":"1"}}\n'
        b'{"delete":{"_id":"1"}}\n'
    )
    actions = parse_bulk(body, "i")
    faults = Faults()
    ops, positions, _ = plan_bulk(actions, faults, faults.rng())
    with Store(tmp_path / "r.sqlite") as store:
        resp = bulk_response(actions, positions, store.write(ops), 1)
        assert store.get("i", "3") == (1, '{"n":3}', resp["items"][4]["update"]["_seq_no"])
        assert store.ids("i") == {"3": 1}
    items = [next(iter(i.values())) for i in resp["items"]]
    assert [(i["status"], i.get("result")) for i in items] == [
        (201, "created"),
        (200, "updated"),
        (200, "noop"),
        (404, None),
        (201, "created"),
        (200, "deleted"),
        (404, "not_found"),
    ]
    # A noop item counts its shard, unlike a single _update's noop (OpenSearch 2.19.6 and
    # Elasticsearch 8.19.21 both), and answers the document's own _seq_no.
    assert items[2]["_shards"] == {"total": 1, "successful": 1, "failed": 0}
    assert items[2]["_seq_no"] == items[1]["_seq_no"]
    assert items[3]["error"] == {
        "type": "document_missing_exception",
        "reason": "[2]: document missing",
        "index_uuid": index_uuid("i"),
        "shard": "0",
        "index": "i",
    }
    assert set(items[6]) == {
        "_index",
        "_id",
        "_version",
        "result",
        "_shards",
        "_seq_no",
        "_primary_term",
        "status",
    }
