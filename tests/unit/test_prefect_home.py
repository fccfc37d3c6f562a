"""Which Prefect home every command uses: PREFECT_HOME when set, else ~/.prefect."""

from __future__ import annotations

from pathlib import Path

import pytest

from db2api.orchestration.prefect_server import history_location, prefect_home


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
