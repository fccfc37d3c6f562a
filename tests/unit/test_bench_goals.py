"""Prefect's cost against Prefect itself: P4 by client CPU, P5 and P6 per window of bare Prefect."""

from __future__ import annotations

import pytest

from bench.goals import evaluate
from bench.plan import REPEATED, full_plan, select
from bench.runner import Result
from bench.settings import FULL, QUICK
from bench.tables import results_table


def measured(figures: dict[str, dict[str, float]], repeats: int = 1) -> list[Result]:
    """Results of the planned runs named in ``figures`` (run key -> its numbers)."""
    runs = full_plan(QUICK.with_empty_windows(100), repeats)
    return [
        Result(run, {"docs": run.docs, **figures[run.key]}) for run in runs if run.key in figures
    ]


def goal(results: list[Result], name: str) -> tuple[bool | None, str]:
    (found,) = [verdict for verdict in evaluate(results) if verdict.goal == name]
    return found.met, found.measured


def test_p4_divides_client_cpu_and_reports_wall_clock_and_server_cpu_beside_it() -> None:
    flow = {"cpu_seconds": 13.0, "seconds": 40.0, "server_cpu_seconds": 31.0}
    flow["server_cpu_after_seconds"] = 4.0
    figures = {"flow@0": flow, "plain@0": {"cpu_seconds": 10.0, "seconds": 20.0}}
    met, said = goal(measured(figures), "P4")
    assert met is False  # 1.30 x the plain path's CPU, however its wall clock compares
    assert "1.30 x" in said and "wall clock 40.0 s vs 20.0 s: 2.00 x" in said
    assert "flow@0 31.0 s (+4.0 s catching up after)" in said
    figures["flow@0"]["cpu_seconds"] = 12.5
    assert goal(measured(figures), "P4")[0] is True  # 1.25 x


def test_p5_is_orchestration_per_window_over_bare_prefects() -> None:
    figures = {
        "flow-tiny": {"seconds": 6.0},
        "plain-tiny": {"seconds": 1.0},
        "floor-tiny": {"seconds": 3.0},
    }
    met, said = goal(measured(figures), "P5")
    assert met is False  # (6 - 1) / 3 = 1.67 x
    windows = QUICK.tiny_windows
    assert "1.67 x" in said and f"bare Prefect {3000 / windows:.1f} ms/window" in said
    figures["flow-tiny"]["seconds"] = 5.5  # (5.5 - 1) / 3 = 1.5 x
    assert goal(measured(figures), "P5")[0] is True


def test_p6_is_an_empty_windows_whole_cost_over_bare_prefects_and_shows_the_plain_path() -> None:
    figures = {
        "flow-empty": {"seconds": 4.0},
        "floor-empty": {"seconds": 2.0},
        "plain-empty": {"seconds": 0.5},
    }
    met, said = goal(measured(figures), "P6")
    assert met is False  # 2.00 x
    assert "2.00 x" in said and "the flow 40.0 ms/window, bare Prefect 20.0 ms/window" in said
    assert "the plain path's (its query, no Prefect) 5.0 ms/window" in said
    figures["flow-empty"]["seconds"] = 3.0
    assert goal(measured(figures), "P6")[0] is True


def test_p6_takes_the_median_of_its_back_to_back_rounds() -> None:
    figures = {"flow-empty": {"seconds": 4.0}, "floor-empty": {"seconds": 2.0}}
    figures |= {"flow-empty#2": {"seconds": 2.8}, "floor-empty#2": {"seconds": 2.0}}
    figures |= {"flow-empty#3": {"seconds": 2.6}, "floor-empty#3": {"seconds": 2.0}}
    met, said = goal(measured(figures, repeats=3), "P6")
    assert met is True and "median 1.40 x of 3 back-to-back rounds" in said


def test_a_goal_without_its_floor_is_not_measured() -> None:
    met, said = goal(measured({"flow-empty": {"seconds": 4.0}}), "P6")
    assert met is None and "floor-empty" in said


def test_p6_runs_cover_empty_windows_and_expect_nothing_stored() -> None:
    runs = {run.key: run for run in full_plan(FULL.with_empty_windows(200))}
    empty = [runs[key] for key in REPEATED["P6"]]
    assert [run.docs for run in empty] == [200, 200, 200]
    assert runs["plain-empty"].stores == runs["flow-empty"].stores == 0  # nothing stored
    assert not runs["floor-empty"].sends and runs["flow-empty"].needs_prefect
    assert runs["flow-tiny"].stores == runs["flow-tiny"].docs
    assert [run.key for run in select(list(runs.values()), "flow-empty")] == ["flow-empty"]


def test_empty_windows_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="--empty-windows must be at least 1"):
        FULL.with_empty_windows(0)


def test_the_results_table_shows_the_prefect_servers_cpu_during_and_after_a_run() -> None:
    flow = {"seconds": 2.0, "docs_per_s": 50.0, "peak_rss_mib": 100.0, "cpu_seconds": 1.0}
    flow |= {
        "receiver_cpu_seconds": 0.1,
        "server_cpu_seconds": 3.2,
        "server_cpu_after_seconds": 1.5,
    }
    plain = {key: value for key, value in flow.items() if not key.startswith("server")}
    rows = results_table(measured({"flow-empty": flow, "plain-empty": plain}))
    assert rows[2].endswith("| 0.1 | - | 0.0 |")  # no server for the plain path
    assert "| 3.2 + 1.5 |" in rows[3]
