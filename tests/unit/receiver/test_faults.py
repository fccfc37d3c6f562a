"""Fault settings and decisions: seeded rates, the outage window, validation, the reject rule."""

from __future__ import annotations

import pickle
import random
from collections import Counter

import pytest

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

DRAWS = 20_000


def shares(faults: Faults, since: float = 100.0) -> dict[RequestFault, float]:
    rng = faults.rng()
    counts = Counter(decide_request(faults, rng, since) for _ in range(DRAWS))
    return {fault: counts[fault] / DRAWS for fault in RequestFault}


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
