"""The one-process `serve.py` takes its schedules from prefect.yaml, not a copy of them."""

from __future__ import annotations

from pathlib import Path

from deployments.serve import nightly_schedules


def test_served_schedules_are_prefect_yamls_active_nightly_ones() -> None:
    # Both are off in prefect.yaml: sensors until its SENSORS_* variables are set,
    # the demo until someone switches it on to try.
    assert nightly_schedules() == {}


def test_an_active_schedule_without_timezone_is_utc(tmp_path: Path) -> None:
    spec = tmp_path / "prefect.yaml"
    spec.write_text(
        "deployments:\n"
        "  - name: nightly-demo\n"
        "    parameters: {job: demo}\n"
        "    schedules: [{cron: '0 3 * * *'}]\n"
        "  - name: backfill-demo\n"
        "    parameters: {job: demo}\n"
    )
    assert nightly_schedules(spec) == {"demo": ("0 3 * * *", "UTC")}
