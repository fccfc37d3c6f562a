"""Pure parts of the local receiver: fault decisions, their validation, NDJSON parsing."""

from __future__ import annotations

import pickle
import random
from collections import Counter

import pytest

from db2api.receiver.__main__ import main
from db2api.receiver.faults import (
    REDACTED,
    FaultError,
    Faults,
    ItemFault,
    RequestFault,
    decide_items,
    decide_request,
    in_outage,
    matches_reject_rule,
)
from db2api.receiver.protocol import (
    ProtocolError,
    bulk_response,
    check_id,
    check_target,
    parse_bulk,
    parse_count_query,
    plan_bulk,
)
from db2api.receiver.store import Store, WriteOp

DRAWS = 20_000


def shares(faults: Faults, since: float = 100.0) -> dict[RequestFault, float]:
    rng = faults.rng()
    counts = Counter(decide_request(faults, rng, since) for _ in range(DRAWS))
    return {fault: counts[fault] / DRAWS for fault in RequestFault}


# --- request-level decisions -------------------------------------------------------------


def test_default_faults_never_fire() -> None:
    faults = Faults()
    assert shares(faults)[RequestFault.NONE] == 1.0
    assert set(decide_items(faults, random.Random(1), 1000)) == {ItemFault.NONE}


@pytest.mark.parametrize(
    ("field", "fault"),
    [
        ("rate_reset", RequestFault.RESET),
        ("rate_429", RequestFault.TOO_MANY),
        ("rate_503", RequestFault.UNAVAILABLE),
        ("rate_hang", RequestFault.HANG),
    ],
)
def test_rate_one_always_and_zero_never(field: str, fault: RequestFault) -> None:
    assert shares(Faults(**{field: 1.0}, seed=3))[fault] == 1.0
    others = {"rate_reset", "rate_429", "rate_503", "rate_hang"} - {field}
    got = shares(Faults(**dict.fromkeys(others, 1 / 3), seed=3))
    assert got[fault] == 0.0
    assert got[RequestFault.NONE] < 1e-3  # the other three cover (almost) every draw


def test_seeded_rates_match_the_configuration() -> None:
    faults = Faults(rate_reset=0.05, rate_429=0.2, rate_503=0.1, rate_hang=0.05, seed=11)
    got = shares(faults)
    expected = {
        RequestFault.RESET: 0.05,
        RequestFault.TOO_MANY: 0.2,
        RequestFault.UNAVAILABLE: 0.1,
        RequestFault.HANG: 0.05,
        RequestFault.NONE: 0.6,
    }
    for fault, share in expected.items():
        assert got[fault] == pytest.approx(share, abs=0.012), fault


def test_same_seed_same_decisions_and_other_seed_differs() -> None:
    def sequence(seed: int) -> list[RequestFault]:
        faults = Faults(rate_429=0.3, rate_503=0.3, seed=seed)
        rng = faults.rng()
        return [decide_request(faults, rng, 0.0) for _ in range(200)]

    assert sequence(5) == sequence(5)
    assert sequence(5) != sequence(6)


def test_outage_window_is_measured_from_when_faults_were_set() -> None:
    faults = Faults(outage_after_seconds=1.0, outage_seconds=2.0)
    assert [in_outage(faults, t) for t in (0.0, 0.999, 1.0, 2.5, 2.999, 3.0, 10.0)] == [
        False,
        False,
        True,
        True,
        True,
        False,
        False,
    ]
    rng = random.Random(0)
    assert decide_request(faults, rng, 1.5) is RequestFault.OUTAGE
    assert decide_request(faults, rng, 3.5) is RequestFault.NONE
    assert not in_outage(Faults(outage_after_seconds=1.0), 1.5)  # zero length = no outage


def test_outage_takes_precedence_and_still_consumes_one_draw() -> None:
    faults = Faults(rate_429=1.0, outage_seconds=5.0, seed=1)
    rng, twin = faults.rng(), faults.rng()
    assert decide_request(faults, rng, 1.0) is RequestFault.OUTAGE
    twin.random()
    assert rng.random() == twin.random()


# --- item-level decisions ----------------------------------------------------------------


def test_item_shares_with_seed() -> None:
    faults = Faults(bulk_item_429=0.1, bulk_item_400=0.25, seed=42)
    counts = Counter(decide_items(faults, faults.rng(), DRAWS))
    assert counts[ItemFault.TOO_MANY] / DRAWS == pytest.approx(0.1, abs=0.01)
    assert counts[ItemFault.BAD] / DRAWS == pytest.approx(0.25, abs=0.012)
    assert decide_items(faults, faults.rng(), 500) == decide_items(faults, faults.rng(), 500)


def test_item_rate_one_rejects_every_item_and_zero_draws_nothing() -> None:
    assert set(decide_items(Faults(bulk_item_429=1.0), random.Random(), 300)) == {
        ItemFault.TOO_MANY
    }
    assert set(decide_items(Faults(bulk_item_400=1.0), random.Random(), 300)) == {ItemFault.BAD}
    rng, twin = random.Random(9), random.Random(9)
    decide_items(Faults(rate_429=0.5), rng, 1000)
    assert rng.random() == twin.random()  # the fast path leaves the stream alone


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"rate_429": 1.5}, "rate_429 must be between 0 and 1 (got 1.5)"),
        ({"rate_503": -0.1}, "rate_503 must be between 0 and 1 (got -0.1)"),
        ({"bulk_item_400": 2}, "bulk_item_400 must be between 0 and 1 (got 2)"),
        ({"rate_reset": "0.5"}, "rate_reset must be a number (got '0.5')"),
        ({"rate_hang": float("nan")}, "rate_hang must be a number (got nan)"),
        ({"rate_429": True}, "rate_429 must be a number (got True)"),
        (
            {"rate_429": 0.6, "rate_503": 0.6},
            "rate_reset + rate_429 + rate_503 + rate_hang must add up to at most 1 (got 1.2)",
        ),
        (
            {"bulk_item_429": 0.5, "bulk_item_400": 0.7},
            "bulk_item_429 + bulk_item_400 + bulk_item_lost must add up to at most 1 (got 1.2)",
        ),
        ({"latency_ms": -5}, "latency_ms must be 0 or more (got -5)"),
        ({"hang_seconds": -1.0}, "hang_seconds must be 0 or more (got -1.0)"),
        ({"retry_after": 1.5}, "retry_after must be a whole number of seconds (got 1.5)"),
        ({"retry_after": -1}, "retry_after must be 0 or more (got -1)"),
        ({"outage_mode": "drop"}, "outage_mode must be '503' or 'refuse' (got 'drop')"),
        (
            {"status_override": 200},
            "status_override must be an HTTP error status 400-599 (got 200)",
        ),
        ({"reject_value": 5}, "reject_value needs reject_field as well (got 5)"),
        ({"reject_field": ""}, "reject_field must be a non-empty field name (got '')"),
        ({"non_json": "yes"}, "non_json must be true or false (got 'yes')"),
        ({"seed": 1.5}, "seed must be a whole number (got 1.5)"),
    ],
)
def test_validation_messages(settings: dict[str, object], message: str) -> None:
    with pytest.raises(FaultError) as info:
        Faults(**settings)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_require_auth_message_never_shows_the_value() -> None:
    with pytest.raises(FaultError) as info:
        Faults(require_auth="   ")
    assert str(info.value) == "require_auth must be a full Authorization header value (got '')"


def test_fault_error_names_cli_flags_and_pickles() -> None:
    with pytest.raises(FaultError) as info:
        Faults(rate_429=1.5)
    flag = info.value.describe(lambda name: "--" + name.replace("_", "-"))
    assert flag == "--rate-429 must be between 0 and 1 (got 1.5)"
    assert str(pickle.loads(pickle.dumps(info.value))) == str(info.value)


def test_from_mapping_rejects_unknown_settings_and_keeps_redacted_secret() -> None:
    with pytest.raises(FaultError, match="rate_42 is not a fault setting"):
        Faults.from_mapping({"rate_42": 0.1})
    current = Faults(require_auth="Basic c2VjcmV0")
    public = current.to_public_dict()
    assert public["require_auth"] == REDACTED
    assert "c2VjcmV0" not in repr(public)
    assert Faults.from_mapping(public, current) == current
    assert Faults.from_mapping({}, current).require_auth is None


# --- reject rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "value", "rejected"),
    [
        ("bad", "bad", True),
        ("bad", "good", False),
        ("5", 5, True),  # a CLI string matches the number ...
        ("5", "5", True),
        (5, "5", False),  # ... but a JSON number only matches numbers
        (5, 5.0, True),
        (1, True, False),
        (True, True, True),
        ("true", True, True),
        (None, None, True),
        ("null", None, True),
        ({"a": 1}, {"a": 1}, True),
    ],
)
def test_reject_rule_compares_json_values(rule: object, value: object, rejected: bool) -> None:
    faults = Faults(reject_field="status", reject_value=rule)
    assert matches_reject_rule(faults, {"status": value, "x": 1}) is rejected
    assert matches_reject_rule(faults, {"other": value}) is False


# --- NDJSON parsing ----------------------------------------------------------------------


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
        (b"", "action_request_validation_exception", "no requests added"),
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
    body = (
        b'{"index":{"_id":"1"}}\n{"x":1}\n'
        b'{"index":{"_id":""}}\n{"x":1}\n'
        b'{"index":{"_index":"Upper","_id":"3"}}\n{"x":1}\n'
        b'{"delete":{"_index":"i"}}\n'
    )
    errors = [a.error for a in parse_bulk(body, None)]
    assert errors[0] == (400, "illegal_argument_exception", "index is missing")
    assert errors[1] == (400, "illegal_argument_exception", "index is missing")
    assert errors[2] is not None and errors[2][1] == "invalid_index_name_exception"
    assert errors[3] == (400, "illegal_argument_exception", "id is missing")
    assert parse_bulk(b'{"index":{"_id":""}}\n{}\n', "i")[0].error == (
        400,
        "illegal_argument_exception",
        "if _id is specified it must not be empty",
    )


def test_index_and_id_rules() -> None:
    assert check_target("orders-2024.05", "1") is None
    for bad in ("Orders", "_x", "-x", "a b", "a/b", "a:b", "..", "x" * 256):
        refusal = check_target(bad, "")  # the name is checked before the id
        assert refusal is not None and refusal.type == "invalid_index_name_exception", bad
    refusal = check_target("ok", "")
    assert refusal is not None and refusal.reason == "if _id is specified it must not be empty"
    assert check_id("ä/ b:😀") is None
    assert check_id("é" * 256) is None  # 512 bytes is still allowed
    problem = check_id("é" * 257)
    assert problem is not None and "514" in problem[2]


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


def test_store_versions_count_each_write_even_within_one_batch(tmp_path) -> None:
    with Store(tmp_path / "r.sqlite") as store:
        ops = [WriteOp("index", "i", "x", f'{{"n":{n}}}') for n in range(3)]
        assert [(r.status, r.version) for r in store.write(ops)] == [(201, 1), (200, 2), (200, 3)]
        assert store.get("i", "x") == (3, '{"n":2}')
        assert store.count("i") == 1
        assert store.count("nope") is None
        assert store.ids("nope") is None


def test_parse_count_query() -> None:
    assert parse_count_query(b"") == (None, [])
    assert parse_count_query(b'{"query":{"match_all":{}}}') == (None, [])
    body = b'{"query":{"range":{"ts":{"gte":"2024-01-01","lt":"2024-02-01","format":"x"}}}}'
    assert parse_count_query(body) == ("ts", [("gte", "2024-01-01"), ("lt", "2024-02-01")])
    assert parse_count_query(b'{"query":{"range":{"n":{"gt":1,"lte":5}}}}') == (
        "n",
        [("gt", 1), ("lte", 5)],
    )
    for bad in (
        b'{"query":{"term":{"a":1}}}',
        b'{"query":{"range":{"n":{"near":1}}}}',
        b'{"query":{"range":{"n":{"gte":[1]}}}}',
        b"{oops",
    ):
        with pytest.raises(ProtocolError):
            parse_count_query(bad)


# --- CLI argument handling (in-process; it returns before binding a port) ---------------


def test_cli_bad_values_are_one_line_and_exit_2(capsys) -> None:
    assert main(["--rate-429", "1.5"]) == 2
    assert capsys.readouterr().err == "receiver: --rate-429 must be between 0 and 1 (got 1.5)\n"
    assert main(["--outage-after", "-3"]) == 2
    assert capsys.readouterr().err == "receiver: --outage-after must be 0 or more (got -3)\n"
    assert main(["--latency-ms", "soon"]) == 2
    assert capsys.readouterr().err == "receiver: --latency-ms must be a number (got 'soon')\n"
    assert main(["--port", "70000"]) == 2
    assert capsys.readouterr().err == "receiver: --port must be between 0 and 65535 (got 70000)\n"
    assert main(["--reject-field", "status"]) == 2
    assert "--reject-field needs --reject-value" in capsys.readouterr().err
    assert main(["--no-such-flag"]) == 2
    assert capsys.readouterr().err == "receiver: unrecognized arguments: --no-such-flag\n"


def test_cli_help_exits_0(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--rate-429" in out and "exposes the receiver" in out
