"""Index-level refusal faults: settings, decisions and the bulk items they produce."""

from __future__ import annotations

import base64

import pytest

from db2api.receiver.__main__ import main
from db2api.receiver.faults import FaultError, Faults
from db2api.receiver.protocol import bulk_response, parse_bulk, parse_mget, plan_bulk
from db2api.receiver.refusals import decide_refusal, describe_caller, index_uuid
from db2api.receiver.store import Store, WriteOp, merge_documents

BULK = (
    b'{"index":{"_id":"1"}}\n{"n":1}\n'
    b'{"create":{"_id":"2"}}\n{"n":2}\n'
    b'{"update":{"_id":"1"}}\n{"doc":{"m":1}}\n'
    b'{"delete":{"_id":"3"}}\n'
)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"index_missing": 1}, "index_missing must be true or false (got 1)"),
        ({"no_privileges": "yes"}, "no_privileges must be true or false (got 'yes')"),
        ({"data_stream": None}, "data_stream must be true or false (got None)"),
        (
            {"read_only": "locked"},
            "read_only must be one of 'write_block', 'flood_stage', 'flood_stage_legacy' "
            "(got 'locked')",
        ),
        (
            {"read_only": True},
            "read_only must be one of 'write_block', 'flood_stage', 'flood_stage_legacy' "
            "(got True)",
        ),
    ],
)
def test_validation(settings: dict[str, object], message: str) -> None:
    with pytest.raises(FaultError) as info:
        Faults(**settings)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_settings_round_trip_through_json_mapping() -> None:
    settings = {"index_missing": True, "read_only": "flood_stage", "data_stream": True}
    faults = Faults.from_mapping(settings)
    public = faults.to_public_dict()
    assert {k: public[k] for k in settings} == settings
    assert public["no_privileges"] is False


def refusals(faults: Faults, *, bulk: bool = True) -> dict[str, tuple[int, str] | None]:
    out: dict[str, tuple[int, str] | None] = {}
    for op in ("index", "create", "update", "delete", "get"):
        refusal = decide_refusal(faults, op, "logs", bulk=bulk)
        out[op] = None if refusal is None else (refusal.status, refusal.type)
    return out


def test_each_knob_refuses_the_operations_elasticsearch_refuses() -> None:
    missing = (404, "index_not_found_exception")
    assert refusals(Faults(index_missing=True)) == dict.fromkeys(
        ("index", "create", "update", "delete", "get"), missing
    )
    denied = (403, "security_exception")
    assert refusals(Faults(no_privileges=True)) == {
        **dict.fromkeys(("index", "create", "update", "delete"), denied),
        "get": None,
    }
    stream = (400, "illegal_argument_exception")
    assert refusals(Faults(data_stream=True)) == {
        "index": stream,
        "create": None,
        "update": stream,
        "delete": stream,
        "get": None,
    }
    block = (403, "cluster_block_exception")
    assert refusals(Faults(read_only="write_block")) == {
        **dict.fromkeys(("index", "create", "update", "delete"), block),
        "get": None,
    }
    flood = (429, "cluster_block_exception")
    assert refusals(Faults(read_only="flood_stage")) == {
        **dict.fromkeys(("index", "create", "update"), flood),
        "delete": None,  # read-only-allow-delete
        "get": None,
    }
    assert refusals(Faults(read_only="flood_stage_legacy"))["index"] == block
    assert set(refusals(Faults()).values()) == {None}


def test_texts_are_elasticsearchs() -> None:
    def reason(faults: Faults, op: str = "index", bulk: bool = True) -> str:
        refusal = decide_refusal(faults, op, "logs", bulk=bulk)
        assert refusal is not None
        return refusal.reason

    assert reason(Faults(index_missing=True)) == (
        "no such index [logs] and [action.auto_create_index] is [false]"
    )
    assert reason(Faults(index_missing=True), "delete") == "no such index [logs]"
    assert reason(Faults(read_only="write_block")) == (
        "index [logs] blocked by: [FORBIDDEN/8/index write (api)];"
    )
    assert reason(Faults(read_only="flood_stage")) == (
        "index [logs] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage "
        "watermark, index has read-only-allow-delete block];"
    )
    assert reason(Faults(read_only="flood_stage_legacy")) == (
        "index [logs] blocked by: [FORBIDDEN/12/index read-only / allow delete (api)];"
    )
    assert reason(Faults(data_stream=True)) == (
        "only write ops with an op_type of create are allowed in data streams"
    )
    assert reason(Faults(no_privileges=True)) == (
        "action [indices:data/write/bulk[s]] is unauthorized for user [_anonymous] with "
        "effective roles [] on indices [logs], this action is granted by the index "
        "privileges [create_doc,create,delete,index,write,all]"
    )
    assert reason(Faults(no_privileges=True), "delete", bulk=False).startswith(
        "action [indices:data/write/delete] is unauthorized"
    )
    assert reason(Faults(no_privileges=True), "delete", bulk=False).endswith("[delete,write,all]")


def test_security_exception_names_the_caller() -> None:
    api_key = "ApiKey " + base64.b64encode(b"VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw").decode()
    assert describe_caller(api_key) == "API key id [VuaCfGcBCdbkQm-e5aOx] of user [receiver]"
    basic = "Basic " + base64.b64encode(b"writer:pw").decode()
    assert describe_caller(basic) == "user [writer] with effective roles [receiver_reader]"
    assert describe_caller("Basic !!!") == "user [_anonymous] with effective roles []"
    assert describe_caller(None) == "user [_anonymous] with effective roles []"


def test_missing_index_metadata_and_whole_request_body() -> None:
    bulk_item = decide_refusal(Faults(index_missing=True), "index", "logs", bulk=True)
    assert bulk_item is not None
    assert bulk_item.error() == {
        "type": "index_not_found_exception",
        "reason": "no such index [logs] and [action.auto_create_index] is [false]",
        "index_uuid": "_na_",
        "index": "logs",
    }
    single = decide_refusal(Faults(index_missing=True), "get", "logs")
    assert single is not None
    body = single.body()
    assert body["status"] == 404
    assert body["error"]["root_cause"] == [single.error()]
    assert body["error"]["resource.type"] == "index_expression"
    assert body["error"]["resource.id"] == "logs"


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
        assert store.get("i", "3") == (1, '{"n":3}')
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
    assert items[2]["_shards"] == {"total": 0, "successful": 0, "failed": 0}
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


def test_update_merges_objects_and_replaces_the_rest(tmp_path) -> None:
    assert merge_documents({"a": {"x": 1, "y": 2}, "b": [1]}, {"a": {"y": 3}, "b": [2]}) == {
        "a": {"x": 1, "y": 3},
        "b": [2],
    }
    with Store(tmp_path / "r.sqlite") as store:
        store.write([WriteOp("index", "i", "1", '{"a":{"x":1}}')])
        (result,) = store.write([WriteOp("update", "i", "1", '{"a":{"z":2}}')])
        assert (result.status, result.result, result.version) == (200, "updated", 2)
        assert store.get("i", "1") == (2, '{"a": {"x": 1, "z": 2}}')


def test_parse_mget_forms_and_source() -> None:
    assert [(d.index, d.id, d.source) for d in parse_mget(b'{"ids":["1",2]}', "i", None)] == [
        ("i", "1", True),
        ("i", "2", True),
    ]
    assert parse_mget(b'{"ids":["1"]}', "i", "false")[0].source is False
    assert parse_mget(b'{"ids":["1"],"_source":false}', "i", None)[0].source is False
    docs = b'{"docs":[{"_index":"a","_id":"1"},{"_id":"2","_source":["n"]}]}'
    assert [(d.index, d.id, d.source) for d in parse_mget(docs, "i", None)] == [
        ("a", "1", True),
        ("i", "2", ["n"]),
    ]


def test_cli_flags(capsys) -> None:
    from db2api.receiver.__main__ import build_parser, faults_from_args

    args = build_parser().parse_args(
        ["--index-missing", "--read-only", "flood_stage", "--no-privileges", "--data-stream"]
    )
    faults = faults_from_args(args)
    assert (faults.index_missing, faults.read_only, faults.no_privileges, faults.data_stream) == (
        True,
        "flood_stage",
        True,
        True,
    )
    assert main(["--read-only", "locked"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("receiver: --read-only invalid choice: 'locked'")
