"""The results table shows what was measured beside each goal."""

from __future__ import annotations

from bench.tables import results_table
from tests.support.bench_results import measured


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
