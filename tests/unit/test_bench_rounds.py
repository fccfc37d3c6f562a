"""The bench repeats the runs of straddling goals back to back and takes the median."""

from __future__ import annotations

from bench.goals import evaluate
from bench.plan import REPEATED, full_plan, select
from bench.runner import Result
from bench.settings import QUICK


def test_repeated_groups_run_back_to_back() -> None:
    keys = [run.key for run in full_plan(QUICK, repeats=3)]
    for group in REPEATED.values():
        first = keys.index(group[0])
        rounds = [f"{key}#{n}" if n > 1 else key for n in (1, 2, 3) for key in group]
        assert keys[first : first + len(rounds)] == rounds
    assert len(keys) == len(set(keys))


def test_selecting_a_run_key_selects_its_rounds() -> None:
    runs = select(full_plan(QUICK, repeats=2), "flow@0")
    assert [run.key for run in runs] == ["flow@0", "flow@0#2"]


def test_a_repeated_goal_is_the_median_of_its_rounds() -> None:
    cpu = {"flow@0": 30.0, "plain@0": 20.0, "flow@0#2": 12.0, "plain@0#2": 10.0}
    cpu |= {"flow@0#3": 24.0, "plain@0#3": 20.0}
    results = [
        Result(run, {"cpu_seconds": cpu[run.key], "seconds": 1.0, "docs": run.docs})
        for run in full_plan(QUICK, repeats=3)
        if run.key in cpu
    ]
    (p4,) = [verdict for verdict in evaluate(results) if verdict.goal == "P4"]
    assert p4.met  # rounds 1.50, 1.20, 1.20: the median is within 1.25
    assert "median 1.20 x of 3 back-to-back rounds (spread 1.20 x to 1.50 x)" in p4.measured
