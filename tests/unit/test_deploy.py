"""A user job's deployments as plain data, and `db2api deploy`'s refusals, before any server."""

from __future__ import annotations

from pathlib import Path

import pytest
from etlhelper import DbParams

from db2api.cli import main
from db2api.job import Env, Source, Target
from db2api.orchestration.deploy import deployment_specs, env_names, missing_env
from tests.support.jobs import unit_job


def env_job() -> object:
    return unit_job(
        name="orders",
        timezone="Europe/London",
        source=Source(
            db=DbParams(
                dbtype="PG", host=Env("ORDERS_PG_HOST", "h"), port=5432, dbname="d", user="u"
            ),
            password_env="ORDERS_PG_PASSWORD",
        ),
        sql="SELECT * FROM orders WHERE t >= %(start)s AND t < %(end)s",
        target=Target(
            url=Env("ORDERS_API_URL"),
            index="orders",
            auth_env="ORDERS_API_TOKEN",
            headers={"X-Tenant": Env("ORDERS_TENANT"), "X-Plain": "shop"},
        ),
    )


def test_env_names_are_every_variable_the_job_reads() -> None:
    assert env_names(env_job()) == [  # type: ignore[arg-type]
        "ORDERS_PG_HOST",
        "ORDERS_PG_PASSWORD",
        "ORDERS_API_URL",
        "ORDERS_API_TOKEN",
        "ORDERS_TENANT",
    ]
    assert env_names(unit_job()) == []


def test_missing_env_skips_set_ones_and_those_with_a_default() -> None:
    job = env_job()
    assert missing_env(job, {"ORDERS_API_URL": "http://x", "ORDERS_TENANT": ""}) == [  # type: ignore[arg-type]
        "ORDERS_PG_PASSWORD",
        "ORDERS_API_TOKEN",
        "ORDERS_TENANT",
    ]


def test_a_variable_with_a_default_is_never_missing() -> None:
    job = unit_job(target=Target(url=Env("UNIT_URL", "http://127.0.0.1:9200"), index="i"))
    assert env_names(job) == ["UNIT_URL"]
    assert missing_env(job, {}) == []
    assert missing_env(unit_job(target=Target(url=Env("UNIT_URL"), index="i")), {}) == ["UNIT_URL"]


def test_specs_mirror_prefect_yaml_with_the_folder_and_variable_names() -> None:
    nightly, manual, backfill = deployment_specs(env_job(), Path("/jobs"))  # type: ignore[arg-type]

    assert [nightly.name, manual.name, backfill.name] == [
        "nightly-orders",
        "run-orders",
        "backfill-orders",
    ]
    assert [s.queue for s in (nightly, manual, backfill)] == ["nightly", "nightly", "backfill"]
    assert nightly.tags == ["db2api", "job:orders", "nightly"]
    assert backfill.tags == ["db2api", "job:orders", "backfill"]
    assert all(s.parameters == {"job": "orders"} for s in (nightly, manual, backfill))
    assert nightly.concurrency_limit == 1 and manual.concurrency_limit is None
    [schedule] = nightly.schedules
    assert (schedule.cron, schedule.timezone, schedule.active) == (
        "15 2 * * *",
        "Europe/London",
        False,
    )
    assert manual.schedules == backfill.schedules == []
    assert manual.job_variables == {
        "env": {
            "DB2API_JOBS_PATH": "/jobs",
            "DB2API_NEEDS_ENV": "ORDERS_PG_HOST,ORDERS_PG_PASSWORD,ORDERS_API_URL,"
            "ORDERS_API_TOKEN,ORDERS_TENANT",
        }
    }


def test_cron_timezone_and_enable_reach_the_nightly_schedule() -> None:
    nightly = deployment_specs(unit_job(), Path("/j"), "0 5 * * 1", "UTC", enable=True)[0]
    [schedule] = nightly.schedules
    assert (schedule.cron, schedule.timezone, schedule.active) == ("0 5 * * 1", "UTC", True)
    assert nightly.job_variables == {"env": {"DB2API_JOBS_PATH": "/j"}}


def write_job(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(body)
    return path


ORDERS = """
from etlhelper import DbParams
from db2api.job import Job, Source, Target
job = Job(
    name="orders",
    source=Source(db=DbParams(dbtype="PG", host="h", port=5432, dbname="d", user="u"),
                  password_env="ORDERS_DEPLOY_TEST_PW"),
    sql="SELECT * FROM orders WHERE t >= %(start)s AND t < %(end)s",
    id="order_id",
    target=Target(url="http://127.0.0.1:9", index="orders", mode="item"),
)
"""


def test_a_job_file_that_does_not_load_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_job(tmp_path / "jobs", "broken", "from db2api.job import Job\njob = Job(\n")
    monkeypatch.setenv("DB2API_JOBS_PATH", str(path.parent))

    assert main(["deploy", "broken"]) == 2

    assert capsys.readouterr().err == (
        f"db2api: error: job file {path} has a syntax error at line 2: '(' was never closed\n"
    )


def test_variables_unset_where_deploy_runs_refuse_the_deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_job(tmp_path / "jobs", "orders", ORDERS)
    monkeypatch.setenv("DB2API_JOBS_PATH", str(tmp_path / "jobs"))
    monkeypatch.delenv("ORDERS_DEPLOY_TEST_PW", raising=False)

    assert main(["deploy", "orders"]) == 2

    assert capsys.readouterr().err == (
        "db2api: error: job 'orders' reads ORDERS_DEPLOY_TEST_PW, not set here: export it "
        "where you deploy and on the workers' machines (a deployment carries the names, "
        "never the values)\n"
    )


def test_deploy_without_a_server_names_the_url_and_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.support.servers import free_port

    write_job(tmp_path / "jobs", "orders", ORDERS)
    monkeypatch.setenv("DB2API_JOBS_PATH", str(tmp_path / "jobs"))
    monkeypatch.setenv("ORDERS_DEPLOY_TEST_PW", "pw")
    url = f"http://127.0.0.1:{free_port()}/api"

    with temporary_settings(updates={PREFECT_API_URL: url}):
        assert main(["deploy", "orders"]) == 2

    assert capsys.readouterr().err == (
        f"db2api: error: no Prefect server answers at {url} (ConnectError): start one with "
        "`prefect server start` or set PREFECT_API_URL to yours\n"
    )


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (
            ["--nightly", "61 2 * * *"],
            "--nightly '61 2 * * *' is not a cron expression: give five fields, minute hour "
            "day-of-month month day-of-week, e.g. '15 2 * * *'",
        ),
        (
            ["--timezone", "Mars/Base"],
            "unknown timezone 'Mars/Base': use an IANA name such as 'UTC' or 'Europe/London'",
        ),
    ],
)
def test_a_schedule_prefect_would_refuse_is_one_line_before_any_server(
    flags: list[str],
    error: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_job(tmp_path / "jobs", "orders", ORDERS)
    monkeypatch.setenv("DB2API_JOBS_PATH", str(tmp_path / "jobs"))
    monkeypatch.setenv("ORDERS_DEPLOY_TEST_PW", "pw")

    assert main(["deploy", "orders", *flags]) == 2

    assert capsys.readouterr().err == f"db2api: error: {error}\n"
