"""Which values of CI make the suite insist on PostgreSQL and the browser."""

from __future__ import annotations

import pytest

from tests.support.ci import in_ci


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "True", "yes", "YES", " true "])
def test_ci_counts_as_ci_for_1_true_and_yes(value: str) -> None:
    assert in_ci({"CI": value}) is True


@pytest.mark.parametrize("value", ["", "0", "false", "no", "off"])
def test_other_values_or_no_ci_are_a_laptop(value: str) -> None:
    assert in_ci({"CI": value}) is False
    assert in_ci({}) is False
