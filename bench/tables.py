"""The results table, the goals and the context a reader needs to trust them.

The same markdown is printed and written to ``bench/RESULTS.md``: the machine
(CPU, RAM, versions), the date and command, the settings that shape throughput,
every measurement, and each goal's ratio with met / not met.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.engine_report import engine_part
from bench.goals import Verdict
from bench.plan import DESCRIPTIONS
from bench.prefect_db import DATABASE
from bench.provenance import git_state
from bench.runner import Result

PACKAGES = (
    "prefect",
    "etlhelper",
    "aiohttp",
    "orjson",
    "psycopg2-binary",
    "requests",
    "janus",
    "opensearch-py",
    "elasticsearch",
)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            models = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
    except OSError:
        models = []
    return f"{models[0] if models else platform.processor() or 'unknown'} x {os.cpu_count()}"


def ram() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def postgres_version() -> str:
    try:
        from bench.data import pg_connect

        conn = pg_connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW server_version")
                return str(cur.fetchone()[0])
        finally:
            conn.close()
    except Exception as exc:
        return f"unknown ({type(exc).__name__})"


def versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


@dataclass
class RunInfo:
    """When, how and on which code a benchmark run happened."""

    mode: str
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    load_at_start: str = field(default_factory=load)
    git_at_start: str = field(default_factory=git_state)
    git_at_end: str = ""
    seconds: float = 0.0


def machine(info: RunInfo) -> list[str]:
    code = f"- code: {info.git_at_start}"
    if info.git_at_end != info.git_at_start:
        code += f" at the start; {info.git_at_end} at the end"
    return [
        f"- date: {info.started:%Y-%m-%d %H:%M} UTC",
        f"- command: `{shlex.join([Path(sys.executable).name, '-m', 'bench', *sys.argv[1:]])}`",
        code,
        f"- CPU: {cpu_model()}; RAM: {ram()}",
        f"- Python {platform.python_version()}, PostgreSQL {postgres_version()}",
        f"- packages: {versions()}",
        f"- load average (1/5/15 min): {info.load_at_start} at the start, {load()} at the end",
    ]


def code_changes(results: list[Result]) -> list[str]:
    """Say which runs measured which version when the sources changed mid-run."""
    versions = list(dict.fromkeys(result.code for result in results))
    if len(versions) == 1:
        return [
            f"The measured sources (db2api/, flows/, tasks/) did not change during the run "
            f"(digest {versions[0]})."
        ]
    if not versions:
        return []
    groups = [
        f"{version}: {', '.join(r.run.key for r in results if r.code == version)}"
        for version in versions
    ]
    return [
        "**The measured sources (db2api/, flows/, tasks/) changed during this run**; a ratio "
        "between runs of different versions compares code, not only methods. Source digest "
        "per run: " + "; ".join(groups) + "."
    ]


def limits_of(results: list[Result], contestant: str) -> dict[str, Any]:
    """The job settings a db2api contestant reported (empty if it did not run)."""
    for result in results:
        extra = result.data.get("extra", {})
        if result.run.contestant == contestant and "chunk_size" in extra:
            return dict(extra)
    return {}


def settings(results: list[Result]) -> list[str]:
    bulk, item = limits_of(results, "db2api-bulk"), limits_of(results, "db2api-item")
    limits = bulk or item
    lines = []
    if limits:
        concurrency = " / ".join(
            f"{found['concurrency']} ({mode})"
            for mode, found in (("bulk", bulk), ("item", item))
            if found
        )
        lines.append(
            f"- db2api (project defaults): window {limits['window']} (P3: one window longer "
            f"than the range), chunk_size {limits['chunk_size']}, concurrency {concurrency}, "
            f"windows_in_flight {limits['windows_in_flight']}, bulk caps "
            f"{limits['bulk_docs']} docs / {limits['bulk_bytes'] / 2**20:.0f} MiB"
        )
    lines += [
        "- recipe: one query over the range, etlhelper default cursor, 5,000-row chunks; "
        "method 2 with aiohttp's default connector (100 connections) and with "
        "`TCPConnector(limit=concurrency)`",
        "- target: the bundled receiver (SQLite store in a temp dir), emptied before every "
        "run; 0 ms or 10 ms added per request",
        "- Prefect: `prefect server start` on this machine with its history in PostgreSQL "
        f"(database `{DATABASE}`, re-created per full run), as Prefect advises for a "
        "self-hosted server; its SQLite default answered the flow's own calls with 503 "
        "(database locked) under 730 task runs",
        "- before every run the bench waits (up to 2 min) until the receiver and the Prefect "
        "server are idle: after a flow run the server works through its events for a while",
        "- every run is a fresh subprocess; peak RSS is its VmHWM; seconds exclude "
        "interpreter start-up and imports (and, for upload-only, building the documents); "
        "CPU s is the contestant's own (all threads), receiver CPU s the receiver's during the "
        "run; Prefect CPU s the local Prefect server's during a flow run + while it catches up "
        "after it (until idle); load is the 1-minute load average when the run started",
        "- P6's runs cover empty daily windows (2024 onwards, after the data set's last row): "
        "their documents column counts windows; the flow runs as a nightly catching up (a job "
        "name of its own, so neither the ledger nor its journal knows a window; no `force`)",
        "- db2api jobs set `date_field`, as the demo does, so bulk mode also checks each "
        "window's count at the target (`_count` over the window); upload-only holds every "
        "document at once, so its RSS is not a claim",
    ]
    rounds = sorted({run.key.split("#")[1] for run in (r.run for r in results) if "#" in run.key})
    if rounds:
        lines.append(
            f"- the runs behind P1a, P2a, P4, P5 and P6 ran {int(rounds[-1])} times back to back "
            "(rounds `#2`, `#3`, ...): their ratios moved across the bounds from one run to the "
            "next on this shared machine, so those goals take the median of the rounds and "
            "show the spread"
        )
    return lines


def results_table(results: list[Result]) -> list[str]:
    lines = [
        "| run | contestant | latency | documents | seconds | docs/s | peak RSS MiB | CPU s "
        "| receiver CPU s | Prefect CPU s | load |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for result in results:
        run = result.run
        if run.engine:
            continue  # in the engines' own table
        what = DESCRIPTIONS.get(run.contestant, run.contestant)
        if not result.ok:
            lines.append(
                f"| {run.key} | {what} | {run.latency} | {run.docs:,} | failed: "
                f"{result.error.replace('|', '/')} | | | | | | {result.load:.1f} |"
            )
            continue
        data = result.data
        lines.append(
            f"| {run.key} | {what} | {run.latency} | {data['docs']:,} | {data['seconds']:.2f} "
            f"| {data['docs_per_s']:,.0f} | {data['peak_rss_mib']:.1f} "
            f"| {data['cpu_seconds']:.1f} | {receiver_cpu(result)} | {server_cpu(result)} "
            f"| {result.load:.1f} |"
        )
    return lines


def receiver_cpu(result: Result) -> str:
    return f"{result.data['receiver_cpu_seconds']:.1f}" if result.run.sends else "-"


def server_cpu(result: Result) -> str:
    """The Prefect server's CPU during the run + after it, until idle ("-": no server)."""
    if "server_cpu_seconds" not in result.data:
        return "-"
    during, after = result.data["server_cpu_seconds"], result.data["server_cpu_after_seconds"]
    return f"{during:.1f} + {after:.1f}"


def verdict_table(verdicts: list[Verdict]) -> list[str]:
    lines = ["| goal | claim | measured (this run) | result |", "|---|---|---|---|"]
    lines += [f"| {v.goal} | {v.claim} | {v.measured} | **{v.label}** |" for v in verdicts]
    return lines


def markdown(results: list[Result], verdicts: list[Verdict], info: RunInfo) -> str:
    met = sum(1 for v in verdicts if v.met)
    measured = sum(1 for v in verdicts if v.met is not None)
    parts = [
        "# db2api benchmark results",
        f"{info.mode} run, {info.seconds / 60:.1f} min in total. Goals met: {met} of "
        f"{measured} measured. Ratios between contestants of this one run are the claims; "
        "absolute numbers move with the load of this shared machine.",
        *code_changes(results),
        "## Machine\n\n" + "\n".join(machine(info)),
        "## Settings\n\n" + "\n".join(settings(results)),
        "## Results\n\n" + "\n".join(results_table(results)),
        *engine_part(results),
        "## Goals\n\n" + "\n".join(verdict_table(verdicts)),
        "Reproduce with `make bench` (full) or `make bench ARGS=--quick`; "
        "`python -m bench --help` lists the options.",
    ]
    return "\n\n".join(parts) + "\n"
