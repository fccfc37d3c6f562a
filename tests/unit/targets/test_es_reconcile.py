"""Reconcile's guards: the mapping it needs, the refusals, and the lag a window settles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from db2api.targets.es_reconcile import cutoff, mapping_problem, refusal

KEYWORD_JOB = {"_db2api": {"properties": {"job": {"type": "keyword"}}}}


@pytest.mark.parametrize(
    ("properties", "problem"),
    [
        ({"at": {"type": "date"}, **KEYWORD_JOB}, None),
        ({"at": {"type": "date_nanos"}, **KEYWORD_JOB}, None),
        (
            {"at": {"type": "text"}, **KEYWORD_JOB},
            "date_field 'at' is mapped as text (it needs date)",
        ),
        (
            {"at": {"type": "date"}, "_db2api": {"properties": {"job": {"type": "text"}}}},
            "_db2api.job is mapped as text (it needs keyword)",
        ),
        (
            {},
            "date_field 'at' is not mapped (it needs date) and _db2api.job is not mapped "
            "(it needs keyword)",
        ),
    ],
)
def test_reconcile_needs_a_date_field_and_a_keyword_marker(
    properties: dict[str, object], problem: str | None
) -> None:
    found = mapping_problem({"properties": properties}, "idx", "at")
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(f"index idx: {problem}: map them")


def test_a_dotted_date_field_is_found_inside_objects() -> None:
    mappings = {"properties": {"meta": {"properties": {"at": {"type": "date"}}}, **KEYWORD_JOB}}
    assert mapping_problem(mappings, "idx", "meta.at") is None


W = "2024-01-01T00:00:00Z/2024-01-02T00:00:00Z"

FLAG = "(flow parameter max_delete_fraction)"


@pytest.mark.parametrize(
    ("rows", "held", "gone", "limit", "refused"),
    [
        (576, 576, 0, 0.1, None),
        (570, 576, 6, 0.1, None),
        (
            518,
            576,
            58,
            0.1,
            "58 of the 576 documents of job j in the target (10%) are no "
            "longer returned by the source, more than max_delete_fraction 0.1; nothing deleted: "
            "check the SQL, or if they really are gone, run this range again with "
            f"--max-delete-fraction 0.11 {FLAG}",
        ),
        (518, 576, 58, 0.11, None),
        (
            0,
            3,
            3,
            0.1,
            "the source returned 0 rows but the target holds 3 documents of job j "
            "there; nothing deleted: check the SQL, or if the rows really are gone, run this "
            f"range again with --max-delete-fraction 1 {FLAG}",
        ),
        (0, 3, 3, 1.0, None),
        (0, 0, 0, 0.1, None),
        (
            5,
            5,
            5,
            0.0,
            "5 of the 5 documents of job j in the target (100%) are no longer "
            "returned by the source, more than max_delete_fraction 0; nothing deleted: check the "
            f"SQL, or if they really are gone, run this range again with --max-delete-fraction 1 "
            f"{FLAG}",
        ),
    ],
)
def test_guards(rows, held, gone, limit, refused):
    said = refusal(W, "j", rows, held, gone, limit)
    assert said == (f"window {W}: {refused}" if refused else None)


def test_a_window_settles_lag_after_now():
    now = datetime(2024, 1, 10, 2, 15, tzinfo=UTC)
    assert cutoff(now, None) == now
    assert cutoff(now, "2d") == datetime(2024, 1, 8, 2, 15, tzinfo=UTC)
