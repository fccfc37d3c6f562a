"""Which contestants run, in what order, at which latency, with how many documents.

Order matters on a noisy 2-core machine: the runs a target compares are kept
close together (P1's halves and the bulk run first, P2's pair back to back at
10 ms, P4's plain run right before the flow, P5's and P6's trios last), and the Prefect
server only runs during the flow contestants, so its background work does not
load the others. The groups of targets whose ratio has straddled its bound from
one run to the next (:data:`REPEATED`) run several times in a row; the target
is the median of the rounds, reported with their spread.

The engine section comes last: per engine (one node at a time), a warm-up, then
the contestants in rounds whose order rotates (A B C D, B C D A, ...), so no
contestant always runs first on a fresh index or last on a tired node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from bench.settings import Sizes

DESCRIPTIONS = {
    "extract-only": "extract only: PG -> documents, nothing sent",
    "read-path": "db2api dry run: read, build, nothing sent",
    "upload-only": "upload only: prebuilt documents via BulkSink",
    "db2api-bulk": "db2api bulk mode (transfer_range)",
    "db2api-bulk-reconcile": "db2api bulk mode, target.reconcile on (nothing to delete)",
    "db2api-item": "db2api item mode (transfer_range)",
    "db2api-bulk-sqlite": "db2api bulk mode, SQLite source",
    "recipe-seq": "recipe 1: requests.post per document",
    "recipe-gather": "recipe 2: gather per chunk (aiohttp default, 100 conns)",
    "recipe-gather-cap": "recipe 2: gather per chunk, limit = db2api concurrency",
    "one-window": "db2api bulk, one window (P3)",
    "default-cursor": "etlhelper default cursor, one window, nothing sent",
    "flow-bulk": "Prefect transfer flow, bulk",
    "plain-tiny": "transfer_range, 1 row per window",
    "flow-tiny": "Prefect transfer flow, 1 row per window",
    "prefect-floor": "bare Prefect: 2 empty task runs per window",
    "plain-empty": "transfer_range, empty daily windows (no row)",
    "prefect-floor-empty": "bare Prefect: 1 empty task run per window",
    "flow-empty": "Prefect transfer flow, empty daily windows, a nightly catching up",
    "db2api-bulk-unproven": "db2api bulk mode, target.prove off (no _mget read-back)",
    "streaming-bulk": "official client: helpers.streaming_bulk",
    "parallel-bulk": "official client: helpers.parallel_bulk",
    "ceiling-4": "ceiling: prebuilt _bulk bodies, 4 in flight",
    "ceiling-8": "ceiling: prebuilt _bulk bodies, 8 in flight",
}
#: The search engines, each with its short key prefix and the name reports use.
ENGINES = {"opensearch": ("os", "OpenSearch"), "elasticsearch": ("es", "Elasticsearch")}
#: One round on a node, by run key suffix: rotated from round to round (A B C D, B C D A, ...).
ENGINE_ROUND = (
    ("bulk", "db2api-bulk"),  # prove on, as shipped
    ("unproven", "db2api-bulk-unproven"),
    ("streaming", "streaming-bulk"),
    ("parallel", "parallel-bulk"),
    ("ceiling-4", "ceiling-4"),
    ("ceiling-8", "ceiling-8"),
)
WARM_UP_ROWS = 200_000  # the throwaway run that warms a fresh node's JIT and caches
PREFECT = frozenset(
    {"flow-bulk", "flow-tiny", "prefect-floor", "flow-empty", "prefect-floor-empty"}
)
# Send nothing: no receiver needed, nothing to count at it.
SILENT = frozenset(
    {"extract-only", "read-path", "default-cursor", "prefect-floor", "prefect-floor-empty"}
)
#: Their documents are windows with no row: the receiver must hold none after them.
EMPTY = frozenset({"plain-empty", "flow-empty"})
#: Targets whose ratio moved across its bound between runs on this shared machine:
#: their runs go back to back several times, and the target takes the median.
REPEATED: dict[str, tuple[str, ...]] = {
    "P1a": ("extract", "read", "upload@0", "bulk@0"),  # read: one of P10's parts, by its reference
    "P2a": ("item@10", "gather-cap@10"),
    "P4": ("plain@0", "flow@0"),
    "P5": ("plain-tiny", "floor-tiny", "flow-tiny"),
    "P6": ("plain-empty", "floor-empty", "flow-empty"),
}


#: The receiver section's runs the engine targets' CPU per document is compared with.
CPU_REFERENCES = frozenset({"extract", "read"})


@dataclass(frozen=True)
class Run:
    key: str  # unique in a run; the targets look results up by it
    contestant: str
    latency_ms: int | None  # what the receiver adds per request; None: nothing is sent
    docs: int
    engine: str | None = None  # a real search node (ENGINES) instead of the receiver

    @property
    def sends(self) -> bool:
        return self.contestant not in SILENT

    @property
    def stores(self) -> int:
        """Documents the receiver holds after the run (an empty window's run stores none)."""
        return 0 if self.contestant in EMPTY else self.docs

    @property
    def needs_prefect(self) -> bool:
        return self.contestant in PREFECT

    @property
    def latency(self) -> str:
        if self.engine:
            return ENGINES[self.engine][1]
        return "-" if self.latency_ms is None else f"{self.latency_ms} ms"


def repeat_key(key: str, number: int) -> str:
    """The key of the ``number``-th (1-based) run of a repeated group: ``flow@0#2``."""
    return key if number == 1 else f"{key}#{number}"


def base_key(key: str) -> str:
    return key.split("#", 1)[0]


def with_repeats(runs: list[Run], repeats: int) -> list[Run]:
    """Run each group of :data:`REPEATED` ``repeats`` times, the rounds back to back."""
    by_key = {run.key: run for run in runs}
    planned = []
    for run in runs:
        planned.append(run)
        for group in REPEATED.values():
            if run.key == group[-1] and all(key in by_key for key in group):
                for number in range(2, repeats + 1):
                    planned += [replace(by_key[key], key=repeat_key(key, number)) for key in group]
    return planned


def full_plan(sizes: Sizes, repeats: int = 1) -> list[Run]:
    return with_repeats(single_plan(sizes), repeats) + engine_plan(sizes, repeats)


def rotated(items: tuple[tuple[str, str], ...], number: int) -> list[tuple[str, str]]:
    """Round ``number`` (1-based) starts one later than the round before: A B C, B C A, ..."""
    shift = (number - 1) % len(items)
    return list(items[shift:] + items[:shift])


def engine_plan(sizes: Sizes, repeats: int) -> list[Run]:
    """Per engine: a warm-up, ``repeats`` rotated rounds, then recipe method 2 once.

    One engine's runs are contiguous, so its node runs only for them.
    """
    planned = []
    for engine, (prefix, _) in ENGINES.items():
        warm = min(WARM_UP_ROWS, sizes.rows)
        planned.append(Run(f"{prefix}:warm-up", "db2api-bulk", None, warm, engine))
        for number in range(1, repeats + 1):
            planned += [
                Run(repeat_key(f"{prefix}:{suffix}", number), contestant, None, sizes.rows, engine)
                for suffix, contestant in rotated(ENGINE_ROUND, number)
            ]
        planned.append(Run(f"{prefix}:gather", "recipe-gather", None, sizes.per_item, engine))
    return planned


def single_plan(sizes: Sizes) -> list[Run]:
    n = sizes.rows
    return [
        Run("extract", "extract-only", None, n),
        Run("read", "read-path", None, n),
        Run("upload@0", "upload-only", 0, n),
        Run("bulk@0", "db2api-bulk", 0, n),
        Run("reconcile@0", "db2api-bulk-reconcile", 0, n),  # bulk@0's pair: its cost
        Run("gather@0", "recipe-gather", 0, sizes.per_item),
        Run("gather-cap@0", "recipe-gather-cap", 0, sizes.per_item),
        Run("item@0", "db2api-item", 0, sizes.per_item),
        Run("seq@0", "recipe-seq", 0, sizes.sequential),
        Run("bulk-sqlite@0", "db2api-bulk-sqlite", 0, n),
        Run("p3-big", "one-window", 0, n),
        Run("p3-small", "one-window", 0, sizes.small_rows),
        Run("p3-default", "default-cursor", None, n),
        Run("item@10", "db2api-item", 10, sizes.per_item_slow),
        Run("gather-cap@10", "recipe-gather-cap", 10, sizes.per_item_slow),
        Run("gather@10", "recipe-gather", 10, sizes.per_item_slow),
        Run("seq@10", "recipe-seq", 10, sizes.sequential_slow),
        Run("bulk@10", "db2api-bulk", 10, n),
        Run("plain@0", "db2api-bulk", 0, n),  # P4's baseline, right next to the flow
        Run("flow@0", "flow-bulk", 0, n),
        Run("plain-tiny", "plain-tiny", 0, sizes.tiny_windows),
        Run("floor-tiny", "prefect-floor", None, sizes.tiny_windows),  # P5's floor
        Run("flow-tiny", "flow-tiny", 0, sizes.tiny_windows),
        Run("plain-empty", "plain-empty", 0, sizes.empty_windows),  # P6: db2api's own share
        Run("floor-empty", "prefect-floor-empty", None, sizes.empty_windows),  # P6's floor
        Run("flow-empty", "flow-empty", 0, sizes.empty_windows),
    ]


def section(name: str) -> Callable[[Run], bool] | None:
    """``engines`` (both nodes) or one engine's name: its runs, and extract-only's and the
    read path's, whose CPU per document the engine targets compare with."""
    if name == "engines":
        return lambda run: run.engine is not None or base_key(run.key) in CPU_REFERENCES
    if name in ENGINES:
        return lambda run: run.engine == name or base_key(run.key) in CPU_REFERENCES
    return None


def select(runs: list[Run], only: str | None) -> list[Run]:
    """``--only``: sections, contestant names or run keys, comma-separated.

    A contestant's name selects it wherever it runs (the receiver and both engines).
    """
    if not only:
        return runs
    wanted = {name.strip() for name in only.split(",") if name.strip()}
    known = {run.contestant for run in runs} | {base_key(run.key) for run in runs}
    sections = {name: found for name in wanted if (found := section(name))}
    unknown = sorted(wanted - known - set(sections))
    if unknown:
        raise ValueError(
            f"--only: unknown {', '.join(unknown)}; sections are engines, "
            f"{', '.join(ENGINES)}; contestants are "
            f"{', '.join(sorted({run.contestant for run in runs}))} "
            f"and run keys {', '.join(dict.fromkeys(base_key(run.key) for run in runs))}"
        )
    return [
        run
        for run in runs
        if run.contestant in wanted
        or base_key(run.key) in wanted
        or any(inside(run) for inside in sections.values())
    ]
