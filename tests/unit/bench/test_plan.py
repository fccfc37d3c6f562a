"""The engine section: rotated rounds per node, its selection, and its targets."""

from __future__ import annotations

from bench.plan import ENGINE_ROUND, REPEATED, engine_plan, full_plan, rotated, select
from bench.settings import FULL, QUICK


def test_p6_runs_cover_empty_windows_and_expect_nothing_stored() -> None:
    runs = {run.key: run for run in full_plan(FULL.with_empty_windows(200))}
    empty = [runs[key] for key in REPEATED["P6"]]
    assert [run.docs for run in empty] == [200, 200, 200]
    assert runs["plain-empty"].stores == runs["flow-empty"].stores == 0  # nothing stored
    assert not runs["floor-empty"].sends and runs["flow-empty"].needs_prefect
    assert runs["flow-tiny"].stores == runs["flow-tiny"].docs
    assert [run.key for run in select(list(runs.values()), "flow-empty")] == ["flow-empty"]


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


def test_the_engines_section_brings_extract_only_and_the_read_path_along() -> None:
    runs = select(full_plan(QUICK, repeats=2), "engines")
    assert {run.key for run in runs if not run.engine} == {"extract", "extract#2", "read", "read#2"}
    assert {run.engine for run in runs} == {None, "opensearch", "elasticsearch"}
    opensearch = select(full_plan(QUICK, repeats=1), "opensearch")
    assert {run.engine for run in opensearch} == {None, "opensearch"}


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
