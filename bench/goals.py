"""The performance goals, computed from the numbers of one run.

Each goal is a ratio between contestants measured in the same run (absolute
numbers move with the machine's load; ratios are the claims). A goal whose
inputs did not run, or failed, is "not measured" rather than guessed.

Prefect's cost is measured against Prefect itself: P4 compares the flow's client
CPU with the plain path's over the same rows, P5 and P6 the flow's cost per
window with bare Prefect's (the same task runs per window, doing nothing). They
replace the absolute bounds of earlier runs ("flow time <= 1.15 x plain time",
"<= 6 ms orchestration per window"), which a busier machine or another Prefect
release moved by itself.
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
    goal: str
    claim: str
    measured: str
    met: bool | None  # None: not measured in this run

    @property
    def label(self) -> str:
        return {True: "met", False: "NOT MET", None: "not measured"}[self.met]


class Missing(Exception):
    """A result a goal needs is absent or failed."""


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


P4_BOUND = 1.25
P5_BOUND = 1.5
P6_BOUND = 1.5


def times(value: float) -> str:
    return f"{value:.2f} x"


def per_window_ms(value: float) -> str:
    return f"{value:.1f} ms/window"


def per_window(seconds: list[float], windows: int) -> str:
    """The rounds' median milliseconds per window, said with their spread."""
    return median_of([value / windows * 1000 for value in seconds], per_window_ms)[1]


def server_cpu(results: tuple[Result, ...] | list[Result]) -> str:
    """The co-located Prefect server's CPU during the runs (and its catch-up after them)."""
    said = []
    for result in results:
        during = result.data.get("server_cpu_seconds")
        if during is not None:
            after = result.data.get("server_cpu_after_seconds", 0.0)
            said.append(f"{result.run.key} {during:.1f} s (+{after:.1f} s catching up after)")
    return f"; the Prefect server's CPU: {', '.join(said)}" if said else ""


def p4_flow(get: Lookup) -> Verdict:
    rounds = get.rounds("flow@0", "plain@0")
    if any(flow.data["docs"] != plain.data["docs"] for flow, plain in rounds):
        raise Missing("flow@0 and plain@0 moved different document counts")
    ratios = [flow.get("cpu_seconds") / plain.get("cpu_seconds") for flow, plain in rounds]
    ratio, said = median_of(ratios, times)
    _, wall = median_of(
        [flow.get("seconds") / plain.get("seconds") for flow, plain in rounds], times
    )
    flow, plain = rounds[0]
    return Verdict(
        "P4",
        f"the flow's client CPU <= {P4_BOUND} x the plain path's (transfer_range) over "
        f"{plain.run.docs:,} rows",
        f"client CPU flow {flow.get('cpu_seconds'):.1f} s, plain {plain.get('cpu_seconds'):.1f} s "
        f"(first round): {said}; wall clock {flow.get('seconds'):.1f} s vs "
        f"{plain.get('seconds'):.1f} s: {wall}{server_cpu([flow for flow, _ in rounds])}",
        ratio <= P4_BOUND,
    )


def p5_per_window(get: Lookup) -> Verdict:
    rounds = get.rounds("flow-tiny", "plain-tiny", "floor-tiny")
    windows = rounds[0][0].run.docs
    ratios = [
        (flow.get("seconds") - plain.get("seconds")) / floor.get("seconds")
        for flow, plain, floor in rounds
    ]
    ratio, said = median_of(ratios, times)
    orchestration = per_window(
        [flow.get("seconds") - plain.get("seconds") for flow, plain, _ in rounds], windows
    )
    bare = per_window([floor.get("seconds") for *_, floor in rounds], windows)
    return Verdict(
        "P5",
        f"orchestration per window (flow minus plain path, {windows} windows of 1 row) <= "
        f"{P5_BOUND} x bare Prefect's (2 empty task runs per window)",
        f"{said}; orchestration {orchestration}, bare Prefect {bare}"
        f"{server_cpu([flow for flow, *_ in rounds])}",
        ratio <= P5_BOUND,
    )


def p6_empty_window(get: Lookup) -> Verdict:
    rounds = get.rounds("flow-empty", "floor-empty")
    windows = rounds[0][0].run.docs
    ratios = [flow.get("seconds") / floor.get("seconds") for flow, floor in rounds]
    ratio, said = median_of(ratios, times)
    cost = per_window([flow.get("seconds") for flow, _ in rounds], windows)
    bare = per_window([floor.get("seconds") for _, floor in rounds], windows)
    plain = ""
    with contextlib.suppress(Missing):
        own = per_window([found.get("seconds") for (found,) in get.rounds("plain-empty")], windows)
        plain = f"; the plain path's (its query, no Prefect) {own}"
    return Verdict(
        "P6",
        f"an empty window through the flow ({windows:,} empty days, a nightly catching up) "
        f"<= {P6_BOUND} x bare Prefect's per window (1 empty task run)",
        f"{said}; the flow {cost}, bare Prefect {bare}{plain}"
        f"{server_cpu([flow for flow, _ in rounds])}",
        ratio <= P6_BOUND,
    )


CHECKS: list[tuple[str, str, Callable[[Lookup], Verdict]]] = [
    ("P1a", "bulk >= 0.8 x min(extract-only, upload-only)", p1_limit),
    ("P1b", "bulk >= 10 x recipe method 2 (0 ms)", p1_recipe),
    ("P2a", "item (10 ms) >= 1.3 x recipe method 2 at the same cap", p2_capped),
    ("P2b", "item (10 ms) >= 50 x recipe method 1", p2_sequential),
    ("P3a", "1M-row window peak RSS <= 150 MiB", p3_ceiling),
    ("P3b", "1M-row window peak within +-15 % of the 100k-row window", p3_flat),
    ("P4", f"flow client CPU <= {P4_BOUND} x the plain path's", p4_flow),
    ("P5", f"orchestration per window <= {P5_BOUND} x bare Prefect's", p5_per_window),
    ("P6", f"an empty window <= {P6_BOUND} x bare Prefect's per window", p6_empty_window),
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
