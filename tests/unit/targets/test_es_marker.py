"""A document is owned by a job only if it carries exactly that job's marker."""

from __future__ import annotations

import pytest

from db2api.targets.es_marker import is_owned


@pytest.mark.parametrize(
    ("source", "owned"),
    [
        ({"_db2api": {"job": "unit"}}, True),
        ({"_db2api": {"job": "unit-2"}}, False),
        ({"_db2api": "unit"}, False),
        ({}, False),
        (None, False),
    ],
)
def test_only_documents_carrying_exactly_this_job_are_owned(source, owned):
    assert is_owned(source, "unit") is owned
