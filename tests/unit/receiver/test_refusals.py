"""Index-level refusals: name rules, the faults' decisions and Elasticsearch's texts and bodies."""

from __future__ import annotations

import base64

import pytest

from db2api.receiver.faults import Faults
from db2api.receiver.refusals import (
    already_exists,
    decide_refusal,
    describe_caller,
    index_name_problem,
    index_uuid,
    invalid_name,
    no_such_index,
)

CHARS = 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]'


def refusals(faults: Faults, *, bulk: bool = True) -> dict[str, tuple[int, str] | None]:
    out: dict[str, tuple[int, str] | None] = {}
    for op in ("index", "create", "update", "delete", "get"):
        refusal = decide_refusal(faults, op, "logs", bulk=bulk)
        out[op] = None if refusal is None else (refusal.status, refusal.type)
    return out


def test_index_missing_lets_created_indices_through() -> None:
    faults = Faults(index_missing=True)
    for op in ("index", "create", "update", "delete", "get"):
        assert decide_refusal(faults, op, "logs", defined={"logs"}) is None
        refusal = decide_refusal(faults, op, "other", defined={"logs"})
        assert refusal is not None and refusal.status == 404


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("orders-2024.05", None),
        (".hidden", None),
        ("ä-😀", None),
        ("Orders", "must be lowercase"),
        ("_x", "must not start with '_', '-', or '+'"),
        ("-x", "must not start with '_', '-', or '+'"),
        ("+x", "must not start with '_', '-', or '+'"),
        (".", "must not be '.' or '..'"),
        ("..", "must not be '.' or '..'"),
        ("a#b", "must not contain '#'"),
        ("a:b", "must not contain ':'"),
        *((f"a{c}b", CHARS) for c in '\\/*?"<>| ,'),
        ("x" * 255, None),
        ("x" * 256, "index name is too long, (256 > 255)"),
        ("é" * 128, "index name is too long, (256 > 255)"),
        # The first broken rule wins, in Elasticsearch's order: characters, '#', ':',
        # the first character, length, dots, and lowercase last.
        ("_A b", CHARS),
        ("_A#", "must not contain '#'"),
        ("_Ab", "must not start with '_', '-', or '+'"),
    ],
)
def test_index_name_rules(name: str, problem: str | None) -> None:
    assert index_name_problem(name) == problem


def test_index_api_refusal_bodies() -> None:
    invalid = invalid_name("Logs")
    assert invalid is not None and invalid.body() == {
        "error": {
            "root_cause": [
                {
                    "type": "invalid_index_name_exception",
                    "reason": "Invalid index name [Logs], must be lowercase",
                    "index_uuid": "_na_",
                    "index": "Logs",
                }
            ],
            "type": "invalid_index_name_exception",
            "reason": "Invalid index name [Logs], must be lowercase",
            "index_uuid": "_na_",
            "index": "Logs",
        },
        "status": 400,
    }
    uuid = index_uuid("logs")
    exists = already_exists("logs")
    assert (exists.status, exists.error()) == (
        400,
        {
            "type": "resource_already_exists_exception",
            "reason": f"index [logs/{uuid}] already exists",
            "index_uuid": uuid,
            "index": "logs",
        },
    )
    missing = no_such_index("gone")
    assert (missing.status, missing.error()) == (
        404,
        {
            "type": "index_not_found_exception",
            "reason": "no such index [gone]",
            "resource.type": "index_or_alias",
            "resource.id": "gone",
            "index_uuid": "_na_",
            "index": "gone",
        },
    )


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
