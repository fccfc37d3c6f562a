"""Whose fault a `_bulk` item error is: the one document (a dead letter) or the index or key
(the run stops with the fix)."""

from __future__ import annotations

import pytest

from db2api.targets.batching import ItemResult
from db2api.targets.es_triage import index_problem, is_document_level


@pytest.mark.parametrize(
    ("error", "reason", "op_type", "document_level"),
    [
        ("mapper_parsing_exception", "failed to parse field [v]", "index", True),
        ("document_parsing_exception", "[1:6] failed to parse", "create", True),
        ("strict_dynamic_mapping_exception", "mapping set to strict", "index", True),
        ("illegal_argument_exception", "Limit of total fields [1000] exceeded", "index", True),
        (
            "illegal_argument_exception",
            "mapper [v] cannot be changed from long to text",
            "index",
            True,
        ),
        ("illegal_argument_exception", "only write ops with an op_type of create", "index", False),
        ("version_conflict_engine_exception", "version conflict", "index", True),
        # a create meeting its id is the document already there, not a refusal of it
        ("version_conflict_engine_exception", "document already exists", "create", False),
        ("index_not_found_exception", "no such index [r]", "index", False),
        (
            "cluster_block_exception",
            "index [r] blocked by: [FORBIDDEN/8/index write]",
            "index",
            False,
        ),
        ("", "", "index", False),
    ],
)
def test_only_errors_known_to_concern_the_document_are_document_level(
    error: str, reason: str, op_type: str, document_level: bool
) -> None:
    assert is_document_level(ItemResult(400, error, reason), op_type) is document_level


@pytest.mark.parametrize(
    ("status", "error", "reason", "fix"),
    [
        (404, "index_not_found_exception", "no such index [r]", "create the index r "),
        (403, "security_exception", "action [indices:data/write/bulk] is unauthorized", "grant"),
        (401, "", "", "grant the API key"),
        (400, "invalid_index_name_exception", "must be lowercase", "fix target.index"),
        (
            400,
            "illegal_argument_exception",
            "only write ops with an op_type of create",
            "data stream",
        ),
        (429, "cluster_block_exception", "[FORBIDDEN/12/index read-only / allow delete]", "disk"),
        (
            403,
            "cluster_block_exception",
            "blocked by: [FORBIDDEN/8/index write (api)]",
            "write block",
        ),
        (403, "cluster_block_exception", "blocked by: [FORBIDDEN/5/index read-only]", "is blocked"),
        (400, "index_closed_exception", "closed", "is closed: open it"),
    ],
)
def test_an_index_or_key_problem_names_its_fix(
    status: int, error: str, reason: str, fix: str
) -> None:
    assert fix in (index_problem(ItemResult(status, error, reason), "r") or "")


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        (400, "mapper_parsing_exception", "failed to parse field [v]"),
        (409, "version_conflict_engine_exception", "version conflict"),
        (400, "illegal_argument_exception", "Limit of total fields [1000] exceeded"),
        (500, "", "no error type"),
    ],
)
def test_a_document_problem_is_no_index_problem(status: int, error: str, reason: str) -> None:
    assert index_problem(ItemResult(status, error, reason), "r") is None
