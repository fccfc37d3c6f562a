"""The data set, the run sizes and the places the benchmark uses.

The data set is fixed (1,000,000 rows over 2023); a run picks the first N rows by
time, so every size is a prefix of the same rows and ``--rows`` never rebuilds
anything. Rows are evenly spaced (31.536 s apart), so the range that holds
exactly the first N rows is known without a query: ``[START, range_end(N))``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".db2api" / "bench"  # git-ignored: data file, logs, Prefect history
SQLITE_FILE = WORK / "readings.sqlite"
RESULTS_FILE = ROOT / "bench" / "RESULTS.md"

ROWS = 1_000_000
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_SECONDS = int((END - START).total_seconds())  # 31,536,000
TABLE = "bench_readings"
TINY_TABLE = "bench_tiny"  # one row per day: windows that cost orchestration only
INDEX = "bench"  # the receiver index every contestant writes to

PG_PASSWORD_ENV = "DB2API_TEST_PG_PASSWORD"
PG_PARAMS = {
    "host": os.environ.get("DB2API_TEST_PG_HOST", "127.0.0.1"),
    "port": os.environ.get("DB2API_TEST_PG_PORT", "5432"),
    "dbname": os.environ.get("DB2API_TEST_PG_DB", "db2api_test"),
    "user": os.environ.get("DB2API_TEST_PG_USER", "db2api"),
}
# The test database's password as .ci/setup-postgres sets it, then the one it set
# before; DB2API_TEST_PG_PASSWORD overrides both (bench.data picks the one that works).
KNOWN_PG_PASSWORDS = ("db2api-test-pw", "db2api")


def pg_password() -> str:
    """The password, also left in the environment, where etlhelper reads it."""
    return os.environ.setdefault(PG_PASSWORD_ENV, KNOWN_PG_PASSWORDS[0])


def offset_seconds(index: int) -> int:
    """Seconds after START of the row at 0-based ``index`` (whole seconds, all distinct)."""
    return index * SPAN_SECONDS // ROWS


def range_end(rows: int) -> datetime:
    """The exclusive end of the range holding exactly the first ``rows`` rows."""
    if not 0 < rows <= ROWS:
        raise ValueError(f"rows must be between 1 and {ROWS:,} (got {rows:,})")
    return START + timedelta(seconds=offset_seconds(rows))


@dataclass(frozen=True)
class Sizes:
    """Documents per contestant.

    ``rows`` is what db2api, extract-only and upload-only move. Per-document
    contestants are bounded by requests in flight / latency, so they get fewer
    documents: their rate, not their duration, is the result.
    """

    rows: int
    per_item: int  # db2api item mode and recipe method 2, 0 ms
    per_item_slow: int  # the same at 10 ms
    sequential: int  # recipe method 1, 0 ms
    sequential_slow: int  # recipe method 1, 10 ms
    tiny_windows: int  # P5: windows of one row each
    empty_windows: int  # P6: daily windows with no row, a nightly catching up

    @property
    def small_rows(self) -> int:
        """P3's small window: a tenth of the big one (100,000 of 1,000,000)."""
        return max(1, self.rows // 10)

    def with_empty_windows(self, windows: int) -> Sizes:
        """``--empty-windows``: how many empty daily windows P6's runs cover."""
        if windows < 1:
            raise ValueError(f"--empty-windows must be at least 1 (got {windows})")
        return replace(self, empty_windows=windows)

    def with_rows(self, rows: int) -> Sizes:
        """``--rows``: cap every count at ``rows``."""
        range_end(rows)  # validates
        return replace(
            self,
            rows=rows,
            per_item=min(self.per_item, rows),
            per_item_slow=min(self.per_item_slow, rows),
            sequential=min(self.sequential, rows),
            sequential_slow=min(self.sequential_slow, rows),
        )


FULL = Sizes(
    rows=1_000_000,
    per_item=50_000,
    per_item_slow=20_000,
    sequential=3_000,
    sequential_slow=500,
    tiny_windows=365,
    empty_windows=1000,
)
QUICK = Sizes(
    rows=20_000,
    per_item=5_000,
    per_item_slow=1_000,
    sequential=300,
    sequential_slow=100,
    tiny_windows=60,
    empty_windows=60,
)
LATENCIES = (0, 10)  # ms the receiver adds to every request
