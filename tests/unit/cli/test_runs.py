"""`run` and `check` refuse bad options and unknown jobs in one line before anything runs."""

from __future__ import annotations

import pytest

from db2api.cli import main


def test_unknown_option_elsewhere_is_still_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", "demo", "--start", "2024-01-01", "--end", "2024-01-02", "--bogus"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_a_delete_fraction_out_of_range_is_one_line_before_anything_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", "demo", "--max-delete-fraction", "1.5"]) == 2
    assert capsys.readouterr().err == (
        "db2api: error: --max-delete-fraction (flow parameter max_delete_fraction) must be a "
        "number from 0 to 1 (got 1.5), e.g. 0.1 for 10%\n"
    )


def test_check_of_an_unknown_job_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "nope"]) == 2
    assert capsys.readouterr().err.startswith(
        "db2api: error: unknown job 'nope': known jobs are demo, sensors; add nope.py"
    )
