"""The engine section: rotated rounds per node, its selection, and its targets."""

from __future__ import annotations

from bench.goals import evaluate
from bench.plan import ENGINE_ROUND, Run, engine_plan, full_plan, rotated, select
from bench.runner import Result
from bench.settings import QUICK


def test_each_round_starts_one_contestant_later() -> None:
    rounds = [[suffix for suffix, _ in rotated(ENGINE_ROUND, number)] for number in (1, 2, 3)]
    assert rounds[0] == ["bulk", "unproven", "streaming", "parallel", "ceiling-4", "ceiling-8"]
    assert rounds[1] == ["unproven", "streaming", "parallel", "ceiling-4", "ceiling-8", "bulk"]
    assert rounds[2][0] == "streaming" and rounds[2][-1] == "unproven"


def test_an_engine_runs_contiguously_after_its_warm_up() -> None:
    runs = engine_plan(QUICK, repeats=3)
    engines = [run.engine for run in runs]
    assert engines == sorted(engines, key=engines.index)  # each engine's runs in one block
    for prefix in ("os", "es"):
        keys = [run.key for run in runs if run.key.startswith(f"{prefix}:")]
        assert keys[0] == f"{prefix}:warm-up"
        assert keys[1:7] == [f"{prefix}:{suffix}" for suffix, _ in ENGINE_ROUND]
        assert keys[7] == f"{prefix}:unproven#2" and keys[12] == f"{prefix}:bulk#2"
        assert keys[13] == f"{prefix}:streaming#3"
    assert len({run.key for run in runs}) == len(runs)


def test_the_engines_section_brings_extract_only_along() -> None:
    runs = select(full_plan(QUICK, repeats=2), "engines")
    assert {run.key for run in runs if not run.engine} == {"extract", "extract#2"}
    assert {run.engine for run in runs} == {None, "opensearch", "elasticsearch"}
    opensearch = select(full_plan(QUICK, repeats=1), "opensearch")
    assert {run.engine for run in opensearch} == {None, "opensearch"}


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


def test_an_engine_that_could_not_run_says_why() -> None:
    skipped = Result(Run("os:bulk", "db2api-bulk", None, 1000, "opensearch"), skipped="run `setup`")
    met, said = verdict([skipped], "P7-os")
    assert met is None and "os:bulk, not measured: run `setup`" in said
