"""Rows become documents with deterministic ids; a row that cannot is dead-lettered alone, naming
why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from etlhelper import DbParams

from db2api.job import Job, Source, Target
from db2api.read.build import DocumentBuilder, id_function
from db2api.records.deadletters import DeadLetter
from db2api.records.document import MAX_ID_BYTES, Rejected
from tests.support.jobs import reconciling_job, unit_job

NAN = float("nan")


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


def test_reconciling_jobs_mark_their_documents_and_others_do_not():
    rows = [{"id": 1, "at": "x"}]
    marked = DocumentBuilder(reconciling_job()).build(0, rows).documents[0]
    plain = DocumentBuilder(unit_job()).build(0, rows).documents[0]
    assert orjson.loads(marked.body) == {"id": 1, "at": "x", "_db2api": {"job": "unit"}}
    assert orjson.loads(plain.body) == {"id": 1, "at": "x"}
