"""The report's section on real search nodes: how they ran, and every run's numbers."""

from __future__ import annotations

import json

from bench.nodes import INDEX_SETTINGS, SETUP
from bench.plan import DESCRIPTIONS, ENGINE_ROUND, ENGINES, WARM_UP_ROWS
from bench.runner import Result


def how(results: list[Result]) -> list[str]:
    versions = {
        result.run.engine: result.data.get("engine_version", "")
        for result in results
        if result.run.engine and result.data.get("engine_version")
    }
    nodes = ", ".join(f"{ENGINES[engine][1]} {version}" for engine, version in versions.items())
    order = ", ".join(suffix for suffix, _ in ENGINE_ROUND)
    return [
        f"- nodes: {nodes or 'none started'}; one node at a time, started for its own runs "
        "and stopped after them (built from Maven Central by "
        f"`{SETUP}`)",
        f"- every run starts from an empty index `{json.dumps(INDEX_SETTINGS['settings'])}`: "
        "refresh off, "
        "as both engines advise for bulk loads, and no refresh landing at a different moment "
        "in each run; db2api's proof uses `_mget`, which is real-time (Elasticsearch "
        "refreshes the shard for it, once per chunk). After each run the "
        "bench refreshes and reads `_count`; a run whose count differs FAILS",
        f"- each node is warmed by a throwaway db2api run of up to {WARM_UP_ROWS:,} rows, then "
        f"the contestants run in rotated rounds ({order}; the next round starts one later); "
        "P7 to P10 take the median of the rounds' ratios",
        "- helpers: the official client (opensearch-py, elasticsearch 8.x) over the recipe's "
        "etlhelper rows, `chunk_size` = db2api's `bulk_docs`, `max_chunk_bytes` = its "
        "`bulk_bytes`, `parallel_bulk` with `thread_count` = db2api's bulk concurrency, "
        "`raise_on_error` on; ceiling: the same documents as prebuilt `_bulk` bodies (built "
        "before the clock), aiohttp, 4 or 8 requests in flight, no extraction, the least "
        "answer (`filter_path=errors`, not gzipped; db2api asks for its few fields, not gzipped)",
        "- client CPU is the contestant's process (all threads) per 1,000 documents; node CPU "
        "is the node's JVM (psutil) during the run; the ceiling holds every body at once, so "
        "its RSS is not a claim",
    ]


def table(results: list[Result]) -> list[str]:
    lines = [
        "| run | contestant | engine | documents | seconds | docs/s | client CPU ms / 1k docs "
        "| node CPU s | node CPU ms / 1k docs | peak RSS MiB | load |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for result in results:
        run = result.run
        if not run.engine:
            continue
        what = DESCRIPTIONS.get(run.contestant, run.contestant)
        if run.contestant == "db2api-bulk":
            what += ", target.prove on (as shipped)"
        head = f"| {run.key} | {what} | {run.latency} | {run.docs:,} "
        if result.skipped or not result.ok:
            said = (
                f"not measured: {result.skipped}" if result.skipped else f"failed: {result.error}"
            )
            lines.append(head + f"| {said.replace('|', '/')} | | | | | | {result.load:.1f} |")
            continue
        data = result.data
        thousands = data["docs"] / 1000
        lines.append(
            head + f"| {data['seconds']:.2f} | {data['docs_per_s']:,.0f} "
            f"| {data['cpu_seconds'] * 1000 / thousands:.1f} | {data['node_cpu_seconds']:.1f} "
            f"| {data['node_cpu_seconds'] * 1000 / thousands:.1f} | {data['peak_rss_mib']:.1f} "
            f"| {result.load:.1f} |"
        )
    return lines


def engine_part(results: list[Result]) -> list[str]:
    """The section, or nothing when no engine run was planned."""
    if not any(result.run.engine for result in results):
        return []
    return [
        "## Search engines\n\n" + "\n".join(how(results)),
        "\n".join(table(results)),
    ]
