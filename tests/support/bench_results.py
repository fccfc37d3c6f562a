"""Benchmark results made up for the planned runs, for tests of the goals and tables."""

from __future__ import annotations

from bench.plan import full_plan
from bench.runner import Result
from bench.settings import QUICK


def measured(figures: dict[str, dict[str, float]], repeats: int = 1) -> list[Result]:
    """Results of the planned runs named in ``figures`` (run key -> its numbers)."""
    runs = full_plan(QUICK.with_empty_windows(100), repeats)
    return [
        Result(run, {"docs": run.docs, **figures[run.key]}) for run in runs if run.key in figures
    ]
