"""The bench repeats the runs of straddling targets back to back and takes the median."""

from __future__ import annotations

from bench.plan import REPEATED, full_plan, select
from bench.runner import Result
from bench.settings import QUICK
from bench.targets import evaluate


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


def test_a_repeated_target_is_the_median_of_its_rounds() -> None:
    seconds = {"flow@0": 30.0, "plain@0": 20.0, "flow@0#2": 11.0, "plain@0#2": 10.0}
    seconds |= {"flow@0#3": 22.0, "plain@0#3": 20.0}
    results = [
        Result(run, {"seconds": seconds[run.key], "docs": run.docs})
        for run in full_plan(QUICK, repeats=3)
        if run.key in seconds
    ]
    (p4,) = [verdict for verdict in evaluate(results) if verdict.target == "P4"]
    assert p4.met  # rounds 1.50, 1.10, 1.10: the median is within 1.15
    assert "median 1.10 x of 3 back-to-back rounds (spread 1.10 x to 1.50 x)" in p4.measured
