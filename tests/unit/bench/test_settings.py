"""The benchmark's settings refuse what cannot be measured."""

from __future__ import annotations

import pytest

from bench.settings import FULL


def test_empty_windows_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="--empty-windows must be at least 1"):
        FULL.with_empty_windows(0)
