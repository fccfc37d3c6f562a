"""Which Prefect home every command uses: PREFECT_HOME when set, else ~/.prefect."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from db2api.errors import Db2apiError
from db2api.orchestration.prefect_server import (
    free_port,
    history_location,
    prefect_home,
    wait_healthy,
)


def test_prefect_home_when_set_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "elsewhere"))
    assert prefect_home() == tmp_path / "elsewhere"


def test_a_home_with_a_tilde_is_the_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PREFECT_HOME", "~/prefect-history")
    assert prefect_home() == tmp_path / "prefect-history"


@pytest.mark.parametrize("unset", [None, "", "  "])
def test_without_prefect_home_it_is_prefects_own_default(
    unset: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # the current folder plays no part
    if unset is None:
        monkeypatch.delenv("PREFECT_HOME", raising=False)
    else:
        monkeypatch.setenv("PREFECT_HOME", unset)
    assert prefect_home() == tmp_path / ".prefect"


def test_history_is_on_the_configured_server_when_there_is_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert history_location() == str(tmp_path / "prefect.db")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert history_location() == "the Prefect server at http://127.0.0.1:4200/api"


def test_waiting_for_the_server_says_it_is_still_starting(tmp_path: Path) -> None:
    # A live process that never answers /health: the wait runs to its timeout.
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    said: list[str] = []
    try:
        with pytest.raises(Db2apiError, match="did not start within"):
            wait_healthy(
                f"http://127.0.0.1:{free_port()}/api",
                process,
                tmp_path / "server.log",
                timeout=1.5,
                say=said.append,
                every=0.2,
            )
    finally:
        process.kill()
        process.wait()

    assert said, "a reminder while the server starts"
    assert all(line.startswith("still starting the local Prefect server (") for line in said)
