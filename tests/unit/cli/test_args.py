"""Option values are checked by argparse types, with one line naming what was expected."""

from __future__ import annotations

import pytest

from db2api.cli import main


def test_check_refuses_a_sample_of_no_rows(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check", "demo", "--rows", "0"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.endswith(
        "db2api check: error: argument --rows: '0' is not a whole number of at least 1\n"
    )


@pytest.mark.parametrize("value", ["-3", "x", "1.5"])
def test_deadletters_show_wants_a_whole_number(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["deadletters", "demo", "--show", value])

    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "db2api deadletters: error: argument --show: expected a whole number of letters, "
        f"got {value!r}"
    )
