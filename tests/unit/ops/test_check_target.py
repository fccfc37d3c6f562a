"""The check's target part without a target: the headers a run would send (secret values
masked, Prefect Secret blocks not read) and how an auth refusal is worded."""

from __future__ import annotations

import pytest

from db2api.errors import Db2apiError
from db2api.job import Env, Secret, Target
from db2api.ops.check_target import NotRead, absent, accepted, refused, resolve_headers
from db2api.scrub import MASK, SCRUBBER
from tests.support.jobs import unit_job

URL = "http://127.0.0.1:9200"


def job_with(**target: object):
    return unit_job(target=Target(url=URL, index="i", **target))  # type: ignore[arg-type]


def test_the_headers_a_run_sends_are_resolved_and_secret_values_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UNIT_KEY", "key-from-the-environment")
    monkeypatch.setenv("UNIT_TENANT", "tenant-value-1")
    job = job_with(
        auth_env="UNIT_KEY",
        auth_scheme="ApiKey",
        headers={"X-Tenant": Env("UNIT_TENANT"), "Accept": "application/json"},
    )

    headers, where = resolve_headers(job)

    assert headers == {
        "X-Tenant": "tenant-value-1",
        "Accept": "application/json",
        "Authorization": "ApiKey key-from-the-environment",
    }
    assert where == "UNIT_KEY, UNIT_TENANT"
    assert SCRUBBER("sent key-from-the-environment and tenant-value-1") == f"sent {MASK} and {MASK}"
    assert SCRUBBER("accepts application/json") == "accepts application/json"


def test_an_unset_key_variable_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNIT_KEY", raising=False)

    with pytest.raises(Db2apiError) as caught:
        resolve_headers(job_with(auth_env="UNIT_KEY"))

    assert str(caught.value) == (
        "environment variable UNIT_KEY (the target API key for job 'unit') is not set: export it"
    )


@pytest.mark.parametrize(
    "target", [{"auth_secret": "es-key"}, {"headers": {"X-Key": Secret("es-key")}}]
)
def test_a_prefect_secret_block_is_named_not_read(target: dict[str, object]) -> None:
    with pytest.raises(NotRead, match=r"Prefect Secret block 'es-key', which check does not"):
        resolve_headers(job_with(**target))


@pytest.mark.parametrize(
    ("status", "where", "detail"),
    [
        (
            401,
            "",
            "HTTP 401 from GET /i: the target wants credentials and none were sent: set "
            "target.auth_env",
        ),
        (401, "UNIT_KEY", "HTTP 401 from GET /i: the target refused the credentials in UNIT_KEY"),
        (
            403,
            "UNIT_KEY",
            "HTTP 403 from GET /i: the credentials in UNIT_KEY may not use this index or path: "
            "check the API key's privileges",
        ),
    ],
)
def test_a_refusal_names_where_the_credentials_live(status: int, where: str, detail: str) -> None:
    result = refused(status, "GET /i", where)

    assert (result.status, result.detail) == ("FAIL", detail)


@pytest.mark.parametrize(
    ("where", "detail"),
    [
        ("UNIT_KEY", "credentials in UNIT_KEY accepted: GET /i answered 200"),
        ("", "none needed: GET /i answered 200"),
    ],
)
def test_an_accepted_request_says_whose_credentials(where: str, detail: str) -> None:
    assert accepted(where, "GET /i", 200).detail == detail


def test_an_absent_index_names_auto_create() -> None:
    assert absent(URL, "i").detail == (
        f"i is absent at {URL}: create it or check auto-create (action.auto_create_index)"
    )
