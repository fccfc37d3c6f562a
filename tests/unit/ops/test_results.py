"""The check's table: one aligned line per check, never a secret."""

from __future__ import annotations

from db2api.ops.results import Result, fail, ok, passed, render, skip
from db2api.scrub import SCRUBBER


def test_the_table_is_one_aligned_line_per_check() -> None:
    results = [
        ok("job", "demo: SQLITE -> bulk 'readings'"),
        fail("target reachable", "cannot reach target http://127.0.0.1:9"),
        skip("target auth", "not reachable"),
    ]
    assert render(results) == (
        "check             result  detail\n"
        "job               ok      demo: SQLITE -> bulk 'readings'\n"
        "target reachable  FAIL    cannot reach target http://127.0.0.1:9\n"
        "target auth       skip    not reachable"
    )
    assert not passed(results)
    assert passed([results[0], results[2]])


def test_a_detail_line_never_shows_a_secret_and_stays_one_line() -> None:
    SCRUBBER.add("hunter2-long-password")
    result = Result("source connect", "FAIL", "login hunter2-long-password\nrefused")
    assert result.detail == "login *** refused"
