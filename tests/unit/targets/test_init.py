"""Every target kind is registered under the name jobs use."""

from __future__ import annotations

from db2api.targets import KINDS


def test_every_kind_is_registered_under_the_name_jobs_use():
    assert list(KINDS) == ["bulk", "item", "batch"]
    assert all(kind.name == name for name, kind in KINDS.items())
