"""The receiver's command line: flags become faults, and bad values are one line."""

from __future__ import annotations

from db2api.receiver.__main__ import main
from db2api.receiver.flags import build_parser, faults_from_args


def test_cli_bad_values_are_one_line_and_exit_2(capsys) -> None:
    assert main(["--rate-429", "1.5"]) == 2
    assert capsys.readouterr().err == "receiver: --rate-429 must be between 0 and 1 (got 1.5)\n"
    assert main(["--outage-after", "-3"]) == 2
    assert capsys.readouterr().err == "receiver: --outage-after must be 0 or more (got -3)\n"
    assert main(["--latency-ms", "soon"]) == 2
    assert capsys.readouterr().err == "receiver: --latency-ms must be a number (got 'soon')\n"
    assert main(["--port", "70000"]) == 2
    assert capsys.readouterr().err == "receiver: --port must be between 0 and 65535 (got 70000)\n"
    assert main(["--reject-field", "status"]) == 2
    assert "--reject-field needs --reject-value" in capsys.readouterr().err
    assert main(["--no-such-flag"]) == 2
    assert capsys.readouterr().err == "receiver: unrecognized arguments: --no-such-flag\n"


def test_cli_help_exits_0(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--rate-429" in out and "exposes the receiver" in out


def test_cli_flags(capsys) -> None:
    args = build_parser().parse_args(
        ["--index-missing", "--read-only", "flood_stage", "--no-privileges", "--data-stream"]
    )
    faults = faults_from_args(args)
    assert (faults.index_missing, faults.read_only, faults.no_privileges, faults.data_stream) == (
        True,
        "flood_stage",
        True,
        True,
    )
    assert main(["--read-only", "locked"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("receiver: --read-only invalid choice: 'locked'")
