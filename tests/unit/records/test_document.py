"""Values encode to their JSON form exactly and deterministically; what has none rejects the
document.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
import pytest

from db2api.records.document import Rejected, encode

LONDON = ZoneInfo("Europe/London")

NAN = float("nan")

INF = float("inf")


def decoded(body: bytes):
    return orjson.loads(body)


@pytest.mark.parametrize(
    ("value", "source_tz", "expected"),
    [
        (datetime(2024, 7, 1, 12, 0, tzinfo=UTC), UTC, '"2024-07-01T12:00:00Z"'),
        (datetime(2024, 7, 1, 12, 0, tzinfo=UTC), LONDON, '"2024-07-01T12:00:00Z"'),
        # Naive datetimes are read as UTC by default ...
        (datetime(2024, 7, 1, 12, 0), UTC, '"2024-07-01T12:00:00Z"'),
        # ... and in the source zone otherwise: 12:00 BST is 11:00 UTC, 12:00 GMT is 12:00.
        (datetime(2024, 7, 1, 12, 0), LONDON, '"2024-07-01T11:00:00Z"'),
        (datetime(2024, 1, 15, 12, 0), LONDON, '"2024-01-15T12:00:00Z"'),
        (datetime(2024, 7, 1, 0, 30), LONDON, '"2024-06-30T23:30:00Z"'),
        (datetime(2024, 7, 1, 12, 0, 0, 250000), UTC, '"2024-07-01T12:00:00.250000Z"'),
        (date(2024, 2, 29), UTC, '"2024-02-29"'),
        (time(12, 30, 5), UTC, '"12:30:05"'),
        (Decimal("12345678901234567890.123456789"), UTC, "12345678901234567890.123456789"),
        (Decimal("0.10"), UTC, "0.10"),
        (Decimal("-7"), UTC, "-7"),
        (Decimal("1E+3"), UTC, "1E+3"),
        (b"\x00\xffhi", UTC, '"AP9oaQ=="'),
        (bytearray(b"abc"), UTC, '"YWJj"'),
        (None, UTC, "null"),
        (True, UTC, "true"),
        (1.5, UTC, "1.5"),
        ("tëxt", UTC, '"tëxt"'),
        ([1, None, "a"], UTC, '[1,null,"a"]'),
    ],
)
def test_values_encode_to_their_json_form(value, source_tz, expected):
    body = encode({"v": value}, source_tz)

    assert body == ('{"v":' + expected + "}").encode()


def test_decimal_digits_survive_exactly():
    value = Decimal("12345678901234567890.123456789")

    body = encode({"amount": value})

    # Every digit as written, where a float would keep about 17 significant digits.
    assert body == b'{"amount":12345678901234567890.123456789}'


@pytest.mark.parametrize(
    ("source_tz", "expected"),
    [
        # The fast path (UTC source) keeps a transform-built offset: the same instant.
        (UTC, b'{"t":"2024-07-01T12:00:00+01:00"}'),
        (LONDON, b'{"t":"2024-07-01T11:00:00Z"}'),
    ],
)
def test_aware_datetimes_are_utc_except_on_the_utc_fast_path(source_tz, expected):
    value = datetime(2024, 7, 1, 12, 0, tzinfo=LONDON)

    assert encode({"t": value}, source_tz) == expected


@pytest.mark.parametrize("source_tz", [UTC, LONDON])
def test_aware_non_utc_datetimes_keep_their_instant(source_tz):
    value = datetime(2024, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=1)))

    text = decoded(encode({"t": value}, source_tz))["t"]

    assert datetime.fromisoformat(text.replace("Z", "+00:00")) == value


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"value": NAN}, "value"),
        ({"value": INF}, "value"),
        ({"value": -INF}, "value"),
        ({"ok": 1, "reading": {"depth": NAN}}, "reading.depth"),
        ({"points": [1.0, 2.0, INF]}, "points[2]"),
        ({"a": {"b": [{"c": 1}, {"c": NAN}]}}, "a.b[1].c"),
        ({"pair": (0.5, NAN)}, "pair[1]"),
    ],
)
@pytest.mark.parametrize("source_tz", [UTC, LONDON])
def test_nan_and_infinity_reject_the_document_naming_the_field(document, where, source_tz):
    with pytest.raises(Rejected) as caught:
        encode(document, source_tz)

    assert str(caught.value) == (
        f"field {where} is NaN or Infinity, which JSON cannot carry: "
        "map it to null or a string in the transform"
    )


def test_a_real_null_next_to_finite_floats_is_not_rejected():
    body = encode({"value": None, "depth": 1.5, "nested": {"x": None, "y": [0.0, None]}})

    assert decoded(body) == {"value": None, "depth": 1.5, "nested": {"x": None, "y": [0.0, None]}}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (
            Decimal("NaN"),
            "field v is NaN or Infinity, which JSON cannot carry: "
            "map it to null or a string in the transform",
        ),
        (
            Decimal("-Infinity"),
            "field v is NaN or Infinity, which JSON cannot carry: "
            "map it to null or a string in the transform",
        ),
        (object(), "cannot encode as JSON: Type is not JSON serializable: object"),
        (
            timedelta(seconds=5),
            "cannot encode as JSON: Type is not JSON serializable: datetime.timedelta",
        ),
        (2**70, "cannot encode as JSON: Integer exceeds 64-bit range"),
    ],
)
def test_values_without_a_json_form_are_rejected(value, reason):
    with pytest.raises(Rejected) as caught:
        encode({"v": value})

    assert str(caught.value) == reason


@pytest.mark.parametrize(
    ("source_tz", "at"), [(UTC, "2024-07-01T12:00:00Z"), (LONDON, "2024-07-01T11:00:00Z")]
)
def test_encoding_is_deterministic(source_tz, at):
    def document():
        return {
            "id": 7,
            "at": datetime(2024, 7, 1, 12, 0),
            "amount": Decimal("1.10"),
            "blob": b"\x01\x02",
            "tags": ["a", "b"],
            "nested": {"z": None, "a": date(2024, 1, 1)},
        }

    first = encode(document(), source_tz)

    assert all(encode(document(), source_tz) == first for _ in range(5))
    assert decoded(first)["at"] == at


def test_bytes_round_trip_through_base64():
    raw = bytes(range(256))

    assert base64.b64decode(decoded(encode({"b": raw}))["b"]) == raw


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # In a DST gap (clocks forward) and in the repeated hour (clocks back, first pass).
        (datetime(2024, 3, 31, 2, 30), "2024-03-31T01:30:00Z"),
        (datetime(2024, 10, 27, 1, 30), "2024-10-27T00:30:00Z"),
        (datetime(2024, 10, 27, 1, 30, fold=1), "2024-10-27T01:30:00Z"),
    ],
)
def test_naive_times_around_london_clock_changes(value, expected):
    assert decoded(encode({"t": value}, LONDON))["t"] == expected
