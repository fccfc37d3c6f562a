"""Rows to documents: deterministic encoding, ids, rejects and duplicates in a chunk."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
import pytest
from etlhelper import DbParams

from db2api.job import Job, Source, Target
from db2api.read.build import DocumentBuilder, id_function
from db2api.records.deadletters import DeadLetter
from db2api.records.document import MAX_ID_BYTES, Rejected, encode

LONDON = ZoneInfo("Europe/London")
NAN = float("nan")
INF = float("inf")


def make_job(tmp_path, **changes) -> Job:
    fields = {
        "name": "unit",
        "source": Source(db=DbParams(dbtype="SQLITE", filename=str(tmp_path / "source.sqlite"))),
        "sql": "SELECT * FROM readings WHERE measured_at >= :start AND measured_at < :end",
        "id": "reading_id",
        "target": Target(url="http://127.0.0.1:9200", index="readings"),
        **changes,
    }
    return Job(**fields)


def decoded(body: bytes):
    return orjson.loads(body)


# --- encode -----------------------------------------------------------------------


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


# --- id_function ----------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("spec", "row", "document", "expected"),
    [
        ("reading_id", {"reading_id": 42}, {}, "42"),
        ("reading_id", {"reading_id": "abc"}, {}, "abc"),
        (
            ["sensor_id", "measured_at"],
            {"sensor_id": "S1", "measured_at": "2024-01-01"},
            {},
            "S1:2024-01-01",
        ),
        (("a", "b", "c"), {"a": 1, "b": 2, "c": 3}, {}, "1:2:3"),
        ("at", {"at": datetime(2024, 1, 1, 12, tzinfo=UTC)}, {}, "2024-01-01T12:00:00+00:00"),
        # Decimals are normalised, so 1.50 and 1.5 name the same row.
        ("n", {"n": Decimal("1.50")}, {}, "1.5"),
        ("n", {"n": Decimal("100")}, {}, "100"),
        # A column missing from the row is looked up in the built document.
        ("doc_id", {"x": 1}, {"doc_id": "from-doc"}, "from-doc"),
        # The row wins over the document.
        ("k", {"k": "row"}, {"k": "doc"}, "row"),
        # A function of the row.
        (lambda row: f"{row['a']}-{row['b']}", {"a": 1, "b": 2}, {}, "1-2"),
        (lambda row: row["a"] * 10, {"a": 4}, {}, "40"),
    ],
)
def test_id_function_builds_ids(spec, row, document, expected):
    assert id_function(spec)(row, document) == expected


@pytest.mark.parametrize(
    ("spec", "row", "column"),
    [
        ("reading_id", {"reading_id": None}, "reading_id"),
        ("reading_id", {"other": 1}, "reading_id"),
        (["a", "b"], {"a": 1, "b": None}, "b"),
    ],
)
def test_a_null_or_missing_id_column_is_rejected(spec, row, column):
    with pytest.raises(Rejected) as caught:
        id_function(spec)(row, {})

    assert str(caught.value) == f"id column {column!r} is NULL or missing"


def test_a_callable_id_returning_none_is_rejected():
    with pytest.raises(Rejected):
        id_function(lambda row: row.get("missing"))({"a": 1}, {})


# --- DocumentBuilder --------------------------------------------------------------------


def test_rows_become_documents_with_ids_and_bodies(tmp_path):
    builder = DocumentBuilder(make_job(tmp_path))
    rows = [{"reading_id": i, "value": i * 1.5} for i in range(3)]

    chunk = builder.build(4, rows)

    assert chunk.number == 4
    assert chunk.rows == 3
    assert [d.id for d in chunk.documents] == ["0", "1", "2"]
    assert [d.decoded() for d in chunk.documents] == rows
    assert chunk.rejects == []
    assert chunk.duplicates == 0


def test_duplicates_in_a_chunk_keep_the_last_and_are_counted(tmp_path):
    builder = DocumentBuilder(make_job(tmp_path))
    rows = [
        {"reading_id": 1, "v": "first"},
        {"reading_id": 2, "v": "only"},
        {"reading_id": 1, "v": "second"},
        {"reading_id": 3, "v": NAN},  # rejected
        {"reading_id": 1, "v": "third"},
    ]

    chunk = builder.build(0, rows)

    assert {d.id: d.decoded()["v"] for d in chunk.documents} == {"1": "third", "2": "only"}
    # The surviving duplicate takes the position of its last occurrence.
    assert [d.id for d in chunk.documents] == ["2", "1"]
    assert chunk.duplicates == 2
    assert [r.id for r in chunk.rejects] == ["3"]
    assert chunk.rows == len(chunk.documents) + len(chunk.rejects) + chunk.duplicates == 5


def test_a_transform_that_raises_dead_letters_only_that_row(tmp_path):
    def transform(row):
        if row["reading_id"] == 2:
            raise ValueError("bad depth")
        return {"id": row["reading_id"], "depth": row["depth"]}

    builder = DocumentBuilder(make_job(tmp_path, transform=transform))
    rows = [{"reading_id": i, "depth": i} for i in range(1, 4)]

    chunk = builder.build(0, rows)

    assert [d.id for d in chunk.documents] == ["1", "3"]
    assert chunk.rejects == [
        DeadLetter(
            id="2",
            document={"reading_id": 2, "depth": 2},
            status=None,
            error="ValueError",
            reason="transform raised ValueError('bad depth')",
        )
    ]
    assert chunk.rows == 3


def test_a_rejected_row_has_no_id_when_none_can_be_derived(tmp_path):
    builder = DocumentBuilder(make_job(tmp_path, id="doc_id", transform=lambda row: 1 / 0))

    chunk = builder.build(0, [{"x": 1}])

    (reject,) = chunk.rejects
    assert reject.id is None
    assert reject.error == "ZeroDivisionError"
    assert reject.reason == "transform raised ZeroDivisionError('division by zero')"


@pytest.mark.parametrize(
    ("result", "kind"),
    [(None, "NoneType"), ([1, 2], "list"), ("text", "str"), (3, "int")],
)
def test_a_transform_returning_a_non_dict_is_rejected(tmp_path, result, kind):
    builder = DocumentBuilder(make_job(tmp_path, transform=lambda row: result))

    chunk = builder.build(0, [{"reading_id": 9}])

    assert chunk.documents == []
    assert [(r.id, r.error, r.reason) for r in chunk.rejects] == [
        ("9", "Rejected", f"transform returned {kind}, not a dict")
    ]


@pytest.mark.parametrize(
    ("doc_id", "accepted"),
    [
        ("a" * MAX_ID_BYTES, True),
        ("a" * (MAX_ID_BYTES + 1), False),
        # Counted in UTF-8 bytes, not characters: 256 x 2 bytes fits, 257 does not.
        ("é" * 256, True),
        ("é" * 257, False),
    ],
)
def test_ids_over_512_bytes_are_rejected(tmp_path, doc_id, accepted):
    builder = DocumentBuilder(make_job(tmp_path))

    chunk = builder.build(0, [{"reading_id": doc_id}])

    if accepted:
        assert [d.id for d in chunk.documents] == [doc_id]
        assert chunk.rejects == []
    else:
        assert chunk.documents == []
        assert [(r.id, r.reason) for r in chunk.rejects] == [
            (doc_id, f"id is longer than {MAX_ID_BYTES} bytes")
        ]


def test_a_null_id_column_is_dead_lettered_with_the_row(tmp_path):
    builder = DocumentBuilder(make_job(tmp_path))

    chunk = builder.build(0, [{"reading_id": None, "v": 1}, {"reading_id": 5, "v": 2}])

    assert [d.id for d in chunk.documents] == ["5"]
    assert chunk.rejects == [
        DeadLetter(
            id=None,
            document={"reading_id": None, "v": 1},
            status=None,
            error="Rejected",
            reason="id column 'reading_id' is NULL or missing",
        )
    ]


def test_the_builder_reads_naive_datetimes_in_the_source_zone(tmp_path):
    source = Source(
        db=DbParams(dbtype="SQLITE", filename=str(tmp_path / "s.sqlite")),
        timezone="Europe/London",
    )
    builder = DocumentBuilder(make_job(tmp_path, source=source))

    chunk = builder.build(0, [{"reading_id": 1, "at": datetime(2024, 7, 1, 12, 0)}])

    assert chunk.documents[0].decoded() == {"reading_id": 1, "at": "2024-07-01T11:00:00Z"}


def test_a_rejected_row_with_unencodable_values_is_still_stored_safely(tmp_path):
    builder = DocumentBuilder(make_job(tmp_path))

    chunk = builder.build(0, [{"reading_id": 1, "odd": object(), "nan": NAN}])

    (reject,) = chunk.rejects
    assert reject.id == "1"
    assert reject.document["reading_id"] == 1
    assert reject.document["odd"].startswith("<object object at")
    orjson.dumps(reject.document)  # the dead-letter payload is JSON-safe


@pytest.mark.parametrize(
    ("raised", "reason"),
    [
        (SystemExit(4), "transform raised SystemExit(4)"),
        (KeyboardInterrupt(), "transform raised KeyboardInterrupt()"),
        (GeneratorExit(), "transform raised GeneratorExit()"),
    ],
)
def test_a_transform_raising_anything_dead_letters_only_that_row(tmp_path, raised, reason):
    def transform(row):
        if row["reading_id"] == 2:
            raise raised
        return row

    builder = DocumentBuilder(make_job(tmp_path, transform=transform))

    chunk = builder.build(0, [{"reading_id": i} for i in range(1, 4)])

    assert [d.id for d in chunk.documents] == ["1", "3"]
    [reject] = chunk.rejects
    assert (reject.id, reject.error, reject.reason) == ("2", type(raised).__name__, reason)


def test_text_that_is_not_utf8_dead_letters_the_row_naming_the_column(tmp_path):
    """SQLite hands such text over with its bad bytes as lone surrogates (surrogateescape)."""
    bad = b"caf\xe9 au lait".decode("utf-8", "surrogateescape")
    builder = DocumentBuilder(make_job(tmp_path))
    rows = [{"reading_id": 1, "txt": "ok"}, {"reading_id": 2, "txt": bad}]

    chunk = builder.build(0, rows)

    assert [d.id for d in chunk.documents] == ["1"]
    [reject] = chunk.rejects
    assert (reject.id, reject.error) == ("2", "Undecodable")
    assert reject.reason == (
        "column 'txt' is not valid UTF-8 (b'caf\\xe9 au lait'): fix the value at the source, "
        "or decode the column in the transform"
    )
    assert reject.document == {"reading_id": 2, "txt": "caf\\xe9 au lait"}
    orjson.dumps(reject.document)


def test_an_undecodable_column_the_transform_drops_does_not_reject_the_row(tmp_path):
    bad = b"\xff".decode("utf-8", "surrogateescape")
    builder = DocumentBuilder(make_job(tmp_path, transform=lambda row: {"id": row["reading_id"]}))

    chunk = builder.build(0, [{"reading_id": 1, "txt": bad}])

    assert [d.id for d in chunk.documents] == ["1"] and chunk.rejects == []
