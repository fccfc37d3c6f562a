"""The check's documents part: where a run would dead-letter a sample row or stop its window,
the check fails naming the row (by number and id) and the fix."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from db2api.job import Target
from db2api.ops.check_documents import check_date_field, check_ids, check_size, check_transform
from db2api.records.windows import Window
from tests.support.jobs import unit_job

WINDOW = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))


def explode(row: dict[str, Any]) -> dict[str, Any]:
    raise KeyError("colour")


@pytest.mark.parametrize(
    ("transform", "status", "detail"),
    [
        (None, "ok", "2 rows -> 2 documents"),
        (lambda row: {**row, "x": 1}, "ok", "2 rows -> 2 documents"),
        (
            explode,
            "FAIL",
            "row 1 (id 7) of the sample: transform raised KeyError: 'colour'; a run "
            "dead-letters every such row: fix the transform",
        ),
        (
            lambda row: [row["id"]],
            "FAIL",
            "row 1 (id 7) of the sample: transform returned list, not a dict",
        ),
    ],
)
def test_the_transform_runs_on_every_sample_row(transform, status: str, detail: str) -> None:
    rows = [{"id": 7, "at": "2024-01-01"}, {"id": 8, "at": "2024-01-01"}]

    result, sample = check_transform(unit_job(transform=transform), rows)

    assert (result.status, result.detail) == (status, detail)
    assert len(sample) == (2 if status == "ok" else 0)


@pytest.mark.parametrize(
    ("documents", "status", "detail"),
    [
        ([{"id": 1}, {"id": 2}], "ok", "every document has one (first: 1)"),
        (
            [{"id": 1}, {"other": 2}],
            "FAIL",
            "row 2 of the sample: ",
        ),
        ([{"id": "x" * 513}], "FAIL", "row 1: id is longer than 512 bytes"),
    ],
)
def test_every_sample_document_needs_an_id_a_target_takes(
    documents: list[dict[str, Any]], status: str, detail: str
) -> None:
    result = check_ids(unit_job(), [(document, document) for document in documents])

    assert result.status == status
    assert result.detail.startswith(detail)


@pytest.mark.parametrize(
    ("at", "status", "detail"),
    [
        ("2024-01-01T12:00:00", "ok", "'at' in every document, inside the window"),
        (None, "FAIL", "row 1 (id 1): 'at' holds 'None', not a date or time"),
        ("soon", "FAIL", "row 1 (id 1): 'at' holds 'soon', not a date or time"),
        ("2024-01-02T00:00:00", "FAIL", "row 1 (id 1): at 2024-01-02T00:00:00Z is outside"),
    ],
)
def test_the_date_field_of_each_sample_document_is_inside_the_window(
    at: object, status: str, detail: str
) -> None:
    document = {"id": 1, "at": at}

    result = check_date_field(unit_job(date_field="at"), [(document, document)], WINDOW)

    assert result.status == status
    assert result.detail.startswith(detail)


def test_a_date_field_missing_from_the_documents_names_the_fields_they_have() -> None:
    document = {"id": 1, "when": "2024-01-01"}

    result = check_date_field(unit_job(date_field="at"), [(document, document)], WINDOW)

    assert (
        result.detail
        == "'at' is not in the documents (row 1 (id 1) has id, when): name one of those"
    )


def test_without_a_date_field_the_rows_are_not_checked() -> None:
    assert check_date_field(unit_job(), [], WINDOW).status == "skip"


@pytest.mark.parametrize(
    ("bulk_bytes", "status", "detail"),
    [
        (10_000, "ok", "largest 1115 bytes (id 2), within target.bulk_bytes 10000"),
        (1024, "FAIL", "id 2: document needs"),
    ],
)
def test_the_largest_sample_document_must_fit_the_targets_byte_cap(
    bulk_bytes: int, status: str, detail: str
) -> None:
    job = unit_job(target=Target(url="http://127.0.0.1:9200", index="i", bulk_bytes=bulk_bytes))
    sample = [({"id": 1}, {"id": 1, "v": "small"}), ({"id": 2}, {"id": 2, "v": "x" * 1100})]

    result, documents = check_size(job, sample)

    assert result.status == status
    assert result.detail.startswith(detail)
    assert [document.id for document in documents] == ["1", "2"]
