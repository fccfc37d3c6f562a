"""The commands that talk to a Prefect server (deploy, status) fail in one line before reaching
one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from db2api.cli import main


def test_status_without_a_server_says_which_url_it_tried(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.support.servers import free_port

    monkeypatch.setenv("DB2API_DEAD_LETTER_DIR", str(tmp_path))
    url = f"http://127.0.0.1:{free_port()}/api"
    with temporary_settings(updates={PREFECT_API_URL: url}):
        assert main(["status", "demo"]) == 0
    assert capsys.readouterr().out == (
        "job           demo\n"
        "dead letters  0 open\n"
        f"no Prefect server answers at {url} (ConnectError): start one with `prefect server "
        "start` (or set PREFECT_API_URL) to see watermarks, runs and schedules\n"
    )


def test_status_of_an_unknown_job_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DB2API_JOBS_PATH", raising=False)
    assert main(["status", "nosuchjob"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("db2api: error: unknown job 'nosuchjob': known jobs are demo, sensors")
    assert err.count("\n") == 1


def test_every_job_shows_and_a_broken_one_says_why(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.support.servers import free_port

    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "aaa.py").write_text("job = 1\n")
    monkeypatch.setenv("DB2API_JOBS_PATH", str(tmp_path / "jobs"))
    monkeypatch.setenv("DB2API_DEAD_LETTER_DIR", str(tmp_path))
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}):
        assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("job ")] == [
        "job           demo",
        "job           sensors",
        f"job           aaa BROKEN: job file {tmp_path / 'jobs' / 'aaa.py'} defines no "
        "`job = Job(...)`",
    ]


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
