"""Env values are read from the environment when the job runs, naming the variable if missing."""

from __future__ import annotations

import pytest

from db2api.errors import JobError
from db2api.job import Env, resolve


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            Env("UNIT_DB_HOST", help="Oracle host"),
            "environment variable UNIT_DB_HOST is not set (Oracle host): "
            "export it before running job 'sensors'",
        ),
        (
            Env("UNIT_DB_HOST"),
            "environment variable UNIT_DB_HOST is not set: export it before running job 'sensors'",
        ),
    ],
)
def test_env_resolve_names_the_variable_and_the_job(monkeypatch, env, message):
    monkeypatch.delenv("UNIT_DB_HOST", raising=False)

    with pytest.raises(JobError) as caught:
        env.resolve("sensors")

    assert caught.value.message == message


@pytest.mark.parametrize(
    ("environ", "env", "expected"),
    [
        ({"UNIT_DB_HOST": "db.example.org"}, Env("UNIT_DB_HOST"), "db.example.org"),
        ({"UNIT_DB_HOST": "db.example.org"}, Env("UNIT_DB_HOST", "fallback"), "db.example.org"),
        ({}, Env("UNIT_DB_HOST", "fallback"), "fallback"),
        ({"UNIT_DB_HOST": ""}, Env("UNIT_DB_HOST", "fallback"), ""),
    ],
)
def test_env_resolve_reads_the_environment_then_the_default(monkeypatch, environ, env, expected):
    monkeypatch.delenv("UNIT_DB_HOST", raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)

    assert env.resolve("unit") == expected
    assert resolve(env, "unit") == expected
    assert resolve("plain", "unit") == "plain"
