"""The performance targets, computed from the numbers of one run.

Each target is a ratio between contestants measured in the same run (absolute
numbers move with the machine's load; ratios are the claims). A target whose
inputs did not run, or failed, is "not measured" rather than guessed.
"""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from bench.plan import repeat_key
from bench.runner import Result


@dataclass(frozen=True)
class Verdict:
    target: str
    claim: str
    measured: str
    met: bool | None  # None: not measured in this run

    @property
    def label(self) -> str:
        return {True: "met", False: "NOT MET", None: "not measured"}[self.met]


class Missing(Exception):
    """A result a target needs is absent or failed."""


class Lookup:
    """The results of one benchmark run by key, and the rounds of repeated groups."""

    def __init__(self, results: list[Result]) -> None:
        self.found = {result.run.key: result for result in results}

    def __call__(self, key: str) -> Result:
        result = self.found.get(key)
        if result is not None and result.skipped:
            raise Missing(f"{key}, not measured: {result.skipped}")
        if result is None or not result.ok:
            raise Missing(f"{key} (not run or failed)")
        return result

    def rounds(self, *keys: str) -> list[tuple[Result, ...]]:
        """Each round in which every one of ``keys`` ran and succeeded (at least the first)."""
        found = [tuple(self(key) for key in keys)]
        number = 2
        while repeat_key(keys[0], number) in self.found:
            with contextlib.suppress(Missing):
                found.append(tuple(self(repeat_key(key, number)) for key in keys))
            number += 1
        return found


def lookup(results: list[Result]) -> Lookup:
    return Lookup(results)


def median_of(values: list[float], unit: Callable[[float], str]) -> tuple[float, str]:
    """The median of the rounds, and how to say it with their spread."""
    middle = statistics.median(values)
    if len(values) == 1:
        return middle, unit(middle)
    return middle, (
        f"median {unit(middle)} of {len(values)} back-to-back rounds "
        f"(spread {unit(min(values))} to {unit(max(values))})"
    )


def rate(get: Lookup, key: str) -> float:
    return get(key).get("docs_per_s")


def p1_limit(get: Lookup) -> Verdict:
    rounds = get.rounds("bulk@0", "extract", "upload@0")
    ratios = [
        bulk.get("docs_per_s") / min(extract.get("docs_per_s"), upload.get("docs_per_s"))
        for bulk, extract, upload in rounds
    ]
    ratio, said = median_of(ratios, lambda value: f"{value:.2f} x")
    bulk, extract, upload = (result.get("docs_per_s") for result in rounds[0])
    return Verdict(
        "P1a",
        "bulk end-to-end (PG -> receiver, 0 ms) >= 0.8 x min(extract-only, upload-only)",
        f"bulk {bulk:,.0f} docs/s; extract-only {extract:,.0f}, upload-only {upload:,.0f} "
        f"(first round); to the slower half: {said}",
        ratio >= 0.8,
    )


def p1_recipe(get: Lookup) -> Verdict:
    bulk, gather = rate(get, "bulk@0"), rate(get, "gather@0")
    ratio = bulk / gather
    return Verdict(
        "P1b",
        "bulk end-to-end (0 ms) >= 10 x recipe method 2 (0 ms)",
        f"bulk {bulk:,.0f} docs/s, method 2 {gather:,.0f} docs/s: {ratio:.1f} x",
        ratio >= 10,
    )


def p2_capped(get: Lookup) -> Verdict:
    rounds = get.rounds("item@10", "gather-cap@10")
    ratios = [item.get("docs_per_s") / capped.get("docs_per_s") for item, capped in rounds]
    ratio, said = median_of(ratios, lambda value: f"{value:.2f} x")
    item, capped = rate(get, "item@10"), rate(get, "gather-cap@10")
    limit = get("gather-cap@10").data.get("extra", {}).get("connection_limit", "?")
    return Verdict(
        "P2a",
        "item mode (10 ms) >= 1.3 x recipe method 2 at the same connection cap (10 ms)",
        f"item {item:,.0f} docs/s, method 2 with limit={limit} {capped:,.0f} docs/s "
        f"(first round): {said}",
        ratio >= 1.3,
    )


def p2_sequential(get: Lookup) -> Verdict:
    item, sequential = rate(get, "item@10"), rate(get, "seq@10")
    ratio = item / sequential
    return Verdict(
        "P2b",
        "item mode (10 ms) >= 50 x recipe method 1 (10 ms)",
        f"item {item:,.0f} docs/s, method 1 {sequential:,.0f} docs/s: {ratio:.1f} x",
        ratio >= 50,
    )


def p3_ceiling(get: Lookup) -> Verdict:
    big = get("p3-big")
    peak = big.get("peak_rss_mib")
    reference = ""
    with contextlib.suppress(Missing):
        reference = (
            f" (etlhelper's default cursor: {get('p3-default').get('peak_rss_mib'):.0f} MiB)"
        )
    return Verdict(
        "P3a",
        f"peak RSS of one {big.run.docs:,}-row window (bulk, 0 ms) <= 150 MiB",
        f"{peak:.1f} MiB{reference}",
        peak <= 150,
    )


def p3_flat(get: Lookup) -> Verdict:
    big, small = get("p3-big"), get("p3-small")
    change = big.get("peak_rss_mib") / small.get("peak_rss_mib") - 1
    return Verdict(
        "P3b",
        f"peak RSS of the {big.run.docs:,}-row window within +-15 % of the "
        f"{small.run.docs:,}-row window's",
        f"{big.get('peak_rss_mib'):.1f} vs {small.get('peak_rss_mib'):.1f} MiB: {change:+.1%}",
        abs(change) <= 0.15,
    )


def p4_flow(get: Lookup) -> Verdict:
    rounds = get.rounds("flow@0", "plain@0")
    if any(flow.data["docs"] != plain.data["docs"] for flow, plain in rounds):
        raise Missing("flow@0 and plain@0 moved different document counts")
    ratios = [flow.get("seconds") / plain.get("seconds") for flow, plain in rounds]
    ratio, said = median_of(ratios, lambda value: f"{value:.2f} x")
    flow, plain = rounds[0]
    return Verdict(
        "P4",
        f"Prefect flow time <= 1.15 x plain-function time over {plain.run.docs:,} rows",
        f"flow {flow.get('seconds'):.1f} s, transfer_range {plain.get('seconds'):.1f} s "
        f"(first round): {said}",
        ratio <= 1.15,
    )


P5_BOUND_MS = 6.0


def p5_per_window(get: Lookup) -> Verdict:
    rounds = get.rounds("flow-tiny", "plain-tiny")
    windows = rounds[0][0].run.docs
    costs = [
        (flow.get("seconds") - plain.get("seconds")) / windows * 1000 for flow, plain in rounds
    ]
    overhead, said = median_of(costs, lambda value: f"{value:.1f} ms/window")
    flow, plain = rounds[0]
    return Verdict(
        "P5",
        f"<= {P5_BOUND_MS:.0f} ms orchestration per window ({windows} windows of 1 row)",
        f"flow {flow.get('seconds'):.2f} s, plain {plain.get('seconds'):.2f} s (first round): "
        f"orchestration {said}; {flow.get('seconds') / windows * 1000:.1f} ms/window "
        f"in total through the flow{prefect_floor(get, windows)}",
        overhead <= P5_BOUND_MS,
    )


def prefect_floor(get: Lookup, windows: int) -> str:
    """Prefect's own time per window in this run (its two task runs, nothing inside)."""
    try:
        rounds = get.rounds("floor-tiny")
    except Missing:
        return ""
    floors = [floor.get("seconds") / windows * 1000 for (floor,) in rounds]
    _, said = median_of(floors, lambda value: f"{value:.1f} ms/window")
    return f"; Prefect alone (2 empty task runs per window, floor-tiny): {said}"


CHECKS: list[tuple[str, str, Callable[[Lookup], Verdict]]] = [
    ("P1a", "bulk >= 0.8 x min(extract-only, upload-only)", p1_limit),
    ("P1b", "bulk >= 10 x recipe method 2 (0 ms)", p1_recipe),
    ("P2a", "item (10 ms) >= 1.3 x recipe method 2 at the same cap", p2_capped),
    ("P2b", "item (10 ms) >= 50 x recipe method 1", p2_sequential),
    ("P3a", "1M-row window peak RSS <= 150 MiB", p3_ceiling),
    ("P3b", "1M-row window peak within +-15 % of the 100k-row window", p3_flat),
    ("P4", "flow time <= 1.15 x plain-function time", p4_flow),
    ("P5", f"<= {P5_BOUND_MS:.0f} ms orchestration per window", p5_per_window),
]


def all_checks() -> list[tuple[str, str, Callable[[Lookup], Verdict]]]:
    from bench.engine_goals import engine_checks  # it builds on this module's helpers

    return CHECKS + engine_checks()


def evaluate(results: list[Result]) -> list[Verdict]:
    get = lookup(results)
    verdicts = []
    for name, claim, check in all_checks():
        try:
            verdicts.append(check(get))
        except Missing as missing:
            verdicts.append(Verdict(name, claim, f"needs {missing}", None))
    return verdicts
