"""README "Your own job", step by step: a user's job checked, run, deployed, run by a
worker that never heard of it, backfilled and reported on.

The job ``orders`` lives in a folder of its own (PostgreSQL table -> json-server); its
file is the README's code block, read from the README, and each command's output is
held against the columns the README shows that do not change from day to day, so the
page cannot drift from what runs here (run with ``-s`` to see the output). The server
is `prefect server start` with the pool from ``deployments/setup.py``; the worker is
started without ``DB2API_JOBS_PATH``: it learns the folder from the deployments' job
variables only.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PG_PASSWORD_ENV
from tests.support.servers import JSON_SERVER, get_json, require, running
from tests.support.stack import BIN, ROOT, Stack, midnight, today

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
DAY = timedelta(days=1)
TOKEN = "orders-token-not-for-deployments"  # must never reach a deployment
README = ROOT / "README.md"
JOB_MARKER = "# ~/my-jobs/orders.py\n"


def walkthrough() -> str:
    """The README's section "Your own job", the steps this test follows."""
    text = README.read_text()
    return text[text.index("## Your own job\n") :].split("\n## ", 1)[0]


def readme_block(first_line: str) -> str:
    """The section's fenced block that starts with ``first_line`` (the line included)."""
    pattern = r"^```\w*\n(" + re.escape(first_line) + r".*?)^```"
    found = re.findall(pattern, walkthrough(), re.M | re.S)
    assert len(found) == 1, f"the README walkthrough has {len(found)} blocks at {first_line!r}"
    return found[0]


def shown(command: str) -> list[str]:
    """The output the section shows under the line ``$ command…``, up to the next command."""
    lines: list[str] = []
    fenced = False
    for line in walkthrough().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced:
            lines.append(line)
    [at] = [n for n, line in enumerate(lines) if line.startswith(f"$ {command}")]
    after = lines[at + 1 :]
    return after[: next((n for n, line in enumerate(after) if line.startswith("$ ")), len(after))]


class OrdersStack(Stack):
    """The worker's environment: the job's variables, and no DB2API_JOBS_PATH."""

    def __init__(self, *args: Any, jobs: Path, job_env: dict[str, str]) -> None:
        super().__init__(*args)
        self.jobs = jobs
        self.job_env = job_env

    @property
    def env(self) -> dict[str, str]:
        env = {**super().env, **self.job_env}
        env.pop("DB2API_JOBS_PATH", None)
        return env


@pytest.fixture(scope="module")
def orders_table(postgres: dict[str, Any]) -> Iterator[dict[str, int]]:
    """Two orders an hour for the last six days; yields order id -> day index (0 = 6 days ago)."""
    import psycopg2

    conn = psycopg2.connect(password=os.environ[PG_PASSWORD_ENV], **postgres)
    start = midnight(today() - 6 * DAY)
    # Ids from 1: json-server gives a document with id 0 an id of its own.
    rows = [
        (n, f"c{n % 7}", n * 1.5, start + timedelta(minutes=30 * (n - 1)))
        for n in range(1, 6 * 24 * 2 + 1)
    ]
    with conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS orders")
        cur.execute(
            "CREATE TABLE orders (order_id integer PRIMARY KEY, customer text, "
            "total numeric, placed_at timestamptz NOT NULL)"
        )
        cur.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s)", rows)
    yield {n: int((at - start) / DAY) for n, _, _, at in rows}
    with conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS orders")
    conn.close()


@pytest.fixture(scope="module")
def orders_stack(
    tmp_path_factory: pytest.TempPathFactory, postgres: dict[str, Any], orders_table: Any
) -> Iterator[OrdersStack]:
    from db2api.orchestration.prefect_server import server_process
    from tests.support.servers import free_port

    require(JSON_SERVER, "bash .ci/setup-node-tools")
    home = tmp_path_factory.mktemp("deploy-orders")
    jobs = home / "my-jobs"
    jobs.mkdir()
    (jobs / "orders.py").write_text(readme_block(JOB_MARKER))
    port = free_port()
    (home / "db.json").write_text('{"orders": []}')
    command = ["node", str(JSON_SERVER), "--host", "127.0.0.1", "--port", str(port), "--quiet"]
    api = f"http://127.0.0.1:{port}"
    with (
        running([*command, str(home / "db.json")], f"{api}/orders", home / "json-server.log"),
        server_process(home, log=home / "server.log") as url,
    ):
        job_env = {
            "ORDERS_PG_HOST": postgres["host"],
            "ORDERS_PG_PORT": str(postgres["port"]),
            "ORDERS_PG_DB": postgres["dbname"],
            "ORDERS_PG_USER": postgres["user"],
            "ORDERS_PG_PASSWORD": os.environ[PG_PASSWORD_ENV],
            "ORDERS_API_URL": api,
            "ORDERS_API_TOKEN": TOKEN,
        }
        stack = OrdersStack(home, url, home / "unused.sqlite", api, jobs=jobs, job_env=job_env)
        stack.run(str(BIN / "python"), "deployments/setup.py")
        yield stack


@pytest.fixture
def client_on(orders_stack: OrdersStack) -> Iterator[OrdersStack]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: orders_stack.api_url}):
        yield orders_stack


def db2api(stack: OrdersStack, *args: str, status: int = 0) -> str:
    """A db2api command in the user's shell, where DB2API_JOBS_PATH names their folder.

    Its output, or its error output when it should fail with ``status``.
    """
    import subprocess

    command = [str(BIN / "db2api"), *args]
    env = {**stack.env, "DB2API_JOBS_PATH": str(stack.jobs)}
    result = subprocess.run(
        command, cwd=stack.jobs, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == status, f"{command} exited {result.returncode}\n{result.stderr}"
    return result.stdout if status == 0 else result.stderr


def stored(stack: OrdersStack) -> dict[int, dict[str, Any]]:
    return {int(doc["id"]): doc for doc in get_json(f"{stack.target_url}/orders")}


async def test_the_readme_walkthrough_from_check_to_status(
    client_on: OrdersStack, orders_table: dict[int, int]
) -> None:
    from prefect import get_client

    from tests.integration.test_deployments import wait_final

    stack = client_on
    day = [(today() - n * DAY).isoformat() for n in range(7)]  # day[n]: n days ago
    backfill = ["backfill", "orders", "--start", day[6], "--end", day[3], "--per", "day"]
    assert db2api(stack, *backfill, status=2) == (
        "db2api: error: deployment 'transfer/backfill-orders' does not exist: run `db2api "
        "deploy orders` (a job of your own) or `prefect deploy --all` from the project folder "
        "(the bundled jobs; see README, Nightly)\n"
    )

    def ids(first: int, last: int) -> set[int]:
        return {n for n, at in orders_table.items() if first <= at < last}

    # 2. check: every line the README shows, with the same result.
    out = db2api(stack, "check", "orders")
    print(f"$ db2api check orders\n{out}")
    table = [line[:28] for line in out.splitlines()]  # the check and result columns
    assert table == [line[:28] for line in shown("db2api check orders")]
    assert "FAIL" not in out and table[0] == "check               result  "

    # 3. a first run: one day, three days ago.
    out = db2api(stack, "run", "orders", "--start", day[3], "--end", day[2])
    print(f"$ db2api run orders --start {day[3]} --end {day[2]}\n{out}")
    assert set(stored(stack)) == ids(3, 4)
    summary = [line.split()[0] for line in out.splitlines()]
    assert "dead letters 0" in out and "proof        48 of 48 documents read back" in out
    assert summary[:7] == [line.split()[0] for line in shown("db2api run orders")][:7]

    # 4. deploy (the pool came from deployments/setup.py in the fixture).
    out = db2api(stack, "deploy", "orders")
    print(f"$ db2api deploy orders\n{out}")
    again = db2api(stack, "deploy", "orders")  # idempotent: updates, creates nothing new
    assert out == again
    assert out.splitlines() == [
        "transfer/nightly-orders  queue nightly, 15 2 * * * UTC paused",
        "transfer/run-orders  queue nightly",
        "transfer/backfill-orders  queue backfill",
        f"3 deployments of job orders on {stack.api_url}",
    ]
    assert shown("db2api deploy orders")[:3] == out.splitlines()[:3]

    async with get_client() as client:
        found = {d.name: d for d in await client.read_deployments() if d.name.endswith("-orders")}
    assert sorted(found) == ["backfill-orders", "nightly-orders", "run-orders"]
    nightly = found["nightly-orders"]
    [schedule] = nightly.schedules
    assert not schedule.active and schedule.schedule.cron == "15 2 * * *"  # type: ignore[union-attr]
    assert nightly.global_concurrency_limit and nightly.global_concurrency_limit.limit == 1
    assert nightly.entrypoint == "flows/transfer.py:transfer"
    names = ",".join(n for n in stack.job_env if n.startswith("ORDERS_"))
    for deployment in found.values():
        assert deployment.job_variables == {
            "env": {"DB2API_JOBS_PATH": str(stack.jobs), "DB2API_NEEDS_ENV": names}
        }
        dumped = deployment.model_dump_json()
        assert TOKEN not in dumped and stack.target_url not in dumped
        assert "orders" in json.dumps(deployment.parameter_openapi_schema)
    assert [d.work_queue_name for d in found.values()].count("backfill") == 1

    # 5. a worker without DB2API_JOBS_PATH; 6. run-orders from the watermark to today.
    with stack.worker("orders-worker", limit=2) as log:
        assert "DB2API_JOBS_PATH" not in stack.env
        command = ["deployment", "run", "transfer/run-orders", "--watch", "--watch-interval", "1"]
        out = stack.run(str(BIN / "prefect"), *command, timeout=180).stdout
        print(f"$ prefect {' '.join(command)}\n{out}")
        done = "Flow run finished successfully in 'Completed'."
        assert done in out, f"{out}\n{log.read_text()[-3000:]}"
        assert shown("prefect deployment run transfer/run-orders")[-1] == done
        assert set(stored(stack)) == ids(3, 6)  # step 3's day, then up to today

        # 7. a backfill of the three days before, one part a day.
        out = db2api(stack, *backfill)
        print(f"$ db2api {' '.join(backfill)}\n{out}")
        assert "3 parts: 3 new flow runs, 0 already there" in out
        run_ids = re.findall(r"\b[0-9a-f]{8}-[0-9a-f-]{27}\b", out)
        assert await wait_final(run_ids) == ["COMPLETED"] * 3
    assert set(stored(stack)) == ids(0, 6)
    assert shown("db2api backfill orders")[-1] == "3 parts: 3 new flow runs, 0 already there"

    # 8. status.
    out = db2api(stack, "status", "orders")
    print(f"$ db2api status orders\n{out}")
    status = out.splitlines()
    back, now = midnight(today() - 6 * DAY), midnight(today())
    assert status[:4] == [
        "job           orders",
        f"watermark     {now:%Y-%m-%dT%H:%M:%SZ}",
        f"delivered     [{back:%Y-%m-%dT%H:%M:%SZ}, {now:%Y-%m-%dT%H:%M:%SZ})",
        "gaps          none",
    ]
    assert status[4] == (
        f"target        {stack.target_url} item index orders path /{{index}}/{{id}}: "
        f"watermark {now:%Y-%m-%dT%H:%M:%SZ}, gaps none"
    )
    assert status[5].startswith("last run      Completed ")
    assert status[6:] == ["dead letters  0 open", "next run      paused (nightly-orders)"]
    assert [line[:14] for line in shown("db2api status orders")] == [line[:14] for line in status]

    db2api(stack, "deploy", "orders", "--enable", "--nightly", "15 2 * * *", "--timezone", "UTC")
    due = midnight(today()) + timedelta(hours=2, minutes=15)
    due += DAY if datetime.now(UTC) >= due else timedelta(0)
    assert db2api(stack, "status", "orders").splitlines()[-1] == (
        f"next run      {due:%Y-%m-%dT%H:%M:%SZ} (nightly-orders)"
    )
