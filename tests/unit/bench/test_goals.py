"""Prefect's cost against Prefect itself: P4 by client CPU, P5 and P6 per window of bare Prefect."""

from __future__ import annotations

from bench.goals import evaluate
from bench.plan import Run, full_plan
from bench.runner import Result
from bench.settings import QUICK
from tests.support.bench_results import measured


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


def results(
    rates: dict[str, list[float]], cpu: dict[str, list[float]] | None = None
) -> list[Result]:
    """Results of the OpenSearch rounds: ``rates[suffix][round - 1]`` docs/s, 1,000 docs."""
    found = []
    for suffix, values in rates.items():
        for number, value in enumerate(values, start=1):
            key = f"os:{suffix}" if number == 1 else f"os:{suffix}#{number}"
            seconds = (cpu or {}).get(suffix, [1.0] * len(values))[number - 1]
            data = {"docs": 1000, "docs_per_s": value, "cpu_seconds": seconds, "seconds": 1.0}
            found.append(Result(Run(key, suffix, None, 1000, "opensearch"), data))
    return found


def verdict(found: list[Result], name: str) -> tuple[bool | None, str]:
    (chosen,) = [v for v in evaluate(found) if v.goal == name]
    return chosen.met, chosen.measured


def test_p7_compares_with_the_faster_helper_round_by_round() -> None:
    rates = {"bulk": [100.0, 90.0, 120.0], "streaming": [80.0, 100.0, 60.0]}
    rates["parallel"] = [110.0, 80.0, 100.0]
    met, said = verdict(results(rates), "P7-os")
    assert met is False  # rounds 100/110, 90/100, 120/100: median 0.91
    assert "median 0.91 x of 3" in said
    rates["bulk"] = [120.0, 90.0, 120.0]  # 1.09, 0.90, 1.20: median 1.09
    assert verdict(results(rates), "P7-os")[0] is True


def test_p8_and_p9_take_proof_off_against_helper_and_ceiling() -> None:
    rates = {"unproven": [120.0], "streaming": [90.0], "parallel": [100.0]}
    rates |= {"ceiling-4": [150.0], "ceiling-8": [210.0]}
    assert verdict(results(rates), "P8-os")[0] is True  # 1.20 x the faster helper
    met, said = verdict(results(rates), "P9-os")
    assert met is False and "0.57 x" in said  # 120 of the better ceiling, 210
    rates["ceiling-8"] = [200.0]
    assert verdict(results(rates), "P9-os")[0] is True  # 0.60 x


def test_p10_divides_cpu_per_document_by_extract_onlys() -> None:
    found = results({"bulk": [1.0, 1.0, 1.0]}, cpu={"bulk": [1.2, 1.4, 1.3]})
    extract = {"docs": 1000, "docs_per_s": 1.0, "cpu_seconds": 1.0, "seconds": 1.0}
    found.append(Result(Run("extract", "extract-only", None, 1000), extract))
    met, said = verdict(found, "P10-os")
    assert met is True and "median 1.30 x of 3" in said
    found[2].data["cpu_seconds"] = 1.5  # rounds 1.2, 1.4, 1.5: median 1.4
    assert verdict(found, "P10-os")[0] is False


def test_p10_says_what_its_figure_is_made_of_when_the_read_path_and_the_ceiling_ran() -> None:
    found = results({"bulk": [1.0], "ceiling-4": [1.0]}, cpu={"bulk": [1.5], "ceiling-4": [0.2]})
    for key, contestant, seconds in (("extract", "extract-only", 1.0), ("read", "read-path", 1.2)):
        data = {"docs": 1000, "docs_per_s": 1.0, "cpu_seconds": seconds, "seconds": 1.0}
        found.append(Result(Run(key, contestant, None, 1000), data))
    met, said = verdict(found, "P10-os")
    assert met is False
    assert "its parts, measured apart: read path 1.20 x + sending prebuilt bodies 0.20 x" in said
    assert "bodies 0.20 x = 1.40 x" in said
    found[-1].data["cpu_seconds"] = 1.0
    assert (
        "read path 1.00 x + sending prebuilt bodies 0.20 x = 1.20 x" in verdict(found, "P10-os")[1]
    )
    assert "parts" not in verdict(found[:1] + found[2:], "P10-os")[1]  # no ceiling: not said
    off = {"docs": 1000, "docs_per_s": 1.0, "cpu_seconds": 1.4, "seconds": 1.0}
    found.append(Result(Run("os:unproven", "db2api-bulk-unproven", None, 1000, "opensearch"), off))
    said = verdict(found, "P10-os")[1]  # proof on 1.5 - off 1.4: the read-back's own 0.10 x
    assert "bodies 0.20 x + the read-back 0.10 x = 1.30 x" in said


def test_an_engine_that_could_not_run_says_why() -> None:
    skipped = Result(Run("os:bulk", "db2api-bulk", None, 1000, "opensearch"), skipped="run `setup`")
    met, said = verdict([skipped], "P7-os")
    assert met is None and "os:bulk, not measured: run `setup`" in said


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
