"""A user job's deployments as plain data, and `db2api deploy`'s refusals, before any server."""

from __future__ import annotations

from pathlib import Path

from etlhelper import DbParams

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
