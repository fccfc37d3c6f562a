"""Full collections skip the heap a run starts with, until the last run going on ends."""

from __future__ import annotations

import gc

from db2api.run.heap import frozen_heap


def test_the_heap_is_frozen_while_a_run_goes_on_and_handed_back_after() -> None:
    before = [object()]  # a tracked object, on the heap before the run
    assert gc.get_freeze_count() == 0

    with frozen_heap():
        assert gc.get_freeze_count() > 0
        assert not any(obj is before for obj in gc.get_objects()), "left out of collections"

    assert gc.get_freeze_count() == 0  # garbage among them can be collected again


def test_a_run_ending_leaves_the_heap_frozen_while_another_still_runs() -> None:
    with frozen_heap():
        with frozen_heap():
            pass
        assert gc.get_freeze_count() > 0, "the outer run's heap was handed back too early"
    assert gc.get_freeze_count() == 0


def test_the_heap_is_handed_back_when_a_run_raises() -> None:
    try:
        with frozen_heap():
            raise RuntimeError("window failed")
    except RuntimeError:
        pass
    assert gc.get_freeze_count() == 0
