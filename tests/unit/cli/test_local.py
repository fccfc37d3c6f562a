"""The command line hands the receiver's options to the receiver, and only to it."""

from __future__ import annotations

import pytest

from db2api.cli import main


def test_receiver_help_is_the_receivers_own(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["receiver", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: db2api receiver")
    assert "--latency-ms" in out


def test_receiver_bad_flag_is_one_line_from_the_receiver(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["receiver", "--port", "70000"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--port must be between 0 and 65535" in err
    assert len(err.splitlines()) == 1
