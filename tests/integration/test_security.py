"""Secrets stay secret, TLS is checked, the receiver stays local, SQL takes binds.

The main test runs three failing jobs the way a user would (`db2api run` in its own
process) with every logger at DEBUG, against the session's Prefect test server, and
then reads back everything a run leaves behind: stdout, stderr, the logs the server
keeps for the run, its artifacts, its flow and task state messages and the
dead-letter files. No secret may appear in any of it, in plain text or as the
base64 of an HTTP Basic header.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil
import pytest
from aiohttp import web

from db2api.cli import main
from db2api.errors import JobError
from db2api.job import Env, Target
from db2api.receiver import ReceiverProcess
from db2api.run.window import transfer_range
from tests.conftest import PG_PASSWORD_ENV
from tests.support.jobs import postgres_job, sqlite_job, with_target
from tests.support.tls import SelfSigned, self_signed

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_SECRET = "Pg-Secret-7f3a9c21-source"
API_KEY = "ApiKey-Secret-4b8e19d0-target"
BASIC = "svc-writer:Basic-Secret-91c2e6aa"
HEADER_LITERAL = "Hdr-Literal-Secret-3c9d0e"
HEADER_ENV = "Hdr-Env-Secret-81fa2b"
HEADER_BLOCK = "Hdr-Block-Secret-55e0c4"
SECRETS = {
    "database password": PG_SECRET,
    "API key": API_KEY,
    "Basic credential": BASIC,
    "Basic password": BASIC.split(":", 1)[1],
    "Basic header": base64.b64encode(BASIC.encode()).decode(),
    "literal header value": HEADER_LITERAL,
    "header value from Env": HEADER_ENV,
    "header value from a Secret block": HEADER_BLOCK,
}
# Spaces, quotes, a backslash, '=' and non-ASCII: the role .ci/setup-postgres creates.
AWKWARD_USER = "db2api_awkward"
AWKWARD_PASSWORD = "Pg awkward 'q' \"dq\" back\\slash a=b dé-7f3a"
JOB_FILE = '''
import logging
import os
import sys

from etlhelper import DbParams
from db2api.job import Env, Job, Secret, Source, Target

# etlhelper at DEBUG logs the SQL, its parameters and the connection. Its records come
# from the reader thread, outside any Prefect run context, so Prefect neither shows
# nor stores them: print them to stderr. Added once (the file loads twice per run), on
# the first load, before db2api installs its log scrubbing on every handler.
etl_log = logging.getLogger("etlhelper")
if os.environ.get("DB2API_SEC_DEBUG_TO_STDERR") and not any(
    h.get_name() == "job-debug" for h in etl_log.handlers
):
    etl_log.setLevel(logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name("job-debug")
    handler.setFormatter(logging.Formatter("etlhelper %(levelname)s %(message)s"))
    etl_log.addHandler(handler)


def to_document(row):
    return {{key: (str(value) if key == "measured_at" else value) for key, value in row.items()}}


job = Job(
    name={name!r},
    source=Source(db=DbParams(**{db!r}), password_env={password_env!r}),
    sql="""{sql}""",
    id="reading_id",
    transform=to_document,
    target=Target(
        url={url!r}, index="readings", mode={mode!r}, auth_env="DB2API_SEC_AUTH",
        auth_scheme={scheme!r}, timeout=10, headers={headers},
    ),
    concurrency=4,
)
'''
SQLITE_SQL = "SELECT * FROM readings WHERE measured_at >= :start AND measured_at < :end"
PG_SQL = "SELECT * FROM readings WHERE measured_at >= %(start)s AND measured_at < %(end)s"


class EchoTarget:
    """A careless API: every write is refused with 400, and the error text echoes the
    request's Authorization header and the document it was sent."""

    def __init__(self, status: int = 400) -> None:
        self.status = status
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = (await request.read()).decode()[:200]
        echoed = ", ".join(
            f"{name}: {request.headers.get(name)}"
            for name in ("Authorization", "X-Api-Key", "X-Env-Key", "X-Block-Key")
            if name in request.headers
        )
        reason = f"cannot index {body} (request headers: {echoed})"
        error = {"type": "mapper_parsing_exception", "reason": reason}
        return web.json_response({"error": error, "status": self.status}, status=self.status)

    async def _start(self) -> int:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        return int(self.runner.addresses[0][1])

    def __enter__(self) -> EchoTarget:
        self.thread.start()
        port = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def echo_target() -> Iterator[EchoTarget]:
    with EchoTarget() as echo:
        yield echo


@pytest.fixture
def echo_401() -> Iterator[EchoTarget]:
    with EchoTarget(status=401) as echo:
        yield echo


HEADERS = (
    f'{{"X-Api-Key": {HEADER_LITERAL!r}, "X-Env-Key": Env("DB2API_SEC_HEADER"), '
    '"X-Block-Key": Secret("db2api-sec-header")}'
)


def write_job(folder: Path, name: str, **values: Any) -> None:
    values.setdefault("headers", "{}")
    (folder / f"{name}.py").write_text(JOB_FILE.format(name=name, **values))


async def everything_the_server_keeps(prefix: str) -> dict[str, str]:
    """Per run: its logs, artifacts and state messages (flow and tasks), as text."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )

    kept: dict[str, str] = {}
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=prefix))
        )
        for run in runs:
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id]))
            )
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
            )
            tasks = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
            )
            parts = [f"{log.level} {log.name}: {log.message}" for log in logs]
            parts += [f"artifact {a.key}: {a.description} {a.data}" for a in artifacts]
            parts += [f"flow state: {run.state.message if run.state else ''}"]
            parts += [f"task {t.name}: {t.state.message if t.state else ''}" for t in tasks]
            parts += [f"parameters: {run.parameters}"]
            kept[run.name] = "\n".join(parts)
    return kept


@pytest.mark.usefixtures("prefect_harness")
async def test_no_secret_reaches_logs_artifacts_states_or_dead_letters(
    postgres_source: dict[str, Any],
    sqlite_source: Path,
    target: ReceiverProcess,
    echo_target: EchoTarget,
    echo_401: EchoTarget,
    tmp_path: Path,
) -> None:
    from prefect.blocks.system import Secret as SecretBlock
    from prefect.settings import PREFECT_API_URL

    await SecretBlock(value=HEADER_BLOCK).asave("db2api-sec-header", overwrite=True)

    jobs, dead = tmp_path / "jobs", tmp_path / "dead-letters"
    jobs.mkdir()
    pg_db = {"dbtype": "PG", **postgres_source}
    # 1. The database refuses the (distinctive) password.
    write_job(
        jobs,
        "sec-source",
        db=pg_db,
        password_env="DB2API_SEC_PG_PASSWORD",
        sql=PG_SQL,
        url=target.url,
        mode="bulk",
        scheme="ApiKey",
    )
    # 2. The database lets us in; the target refuses the (distinctive) API key: 401.
    write_job(
        jobs,
        "sec-target",
        db=pg_db,
        password_env=PG_PASSWORD_ENV,
        sql=PG_SQL,
        url=target.url,
        mode="item",
        scheme="ApiKey",
    )
    # 3. The target refuses each document with 400, echoing the Basic credential.
    write_job(
        jobs,
        "sec-echo",
        db={"dbtype": "SQLITE", "filename": str(sqlite_source)},
        password_env=None,
        sql=SQLITE_SQL,
        url=echo_target.url,
        mode="item",
        scheme="Basic",
    )
    # 4. Header secrets (a literal, an Env, a Secret block) echoed in every 400 reason ...
    sqlite_db = {"dbtype": "SQLITE", "filename": str(sqlite_source)}
    write_job(
        jobs,
        "sec-headers",
        db=sqlite_db,
        password_env=None,
        sql=SQLITE_SQL,
        url=echo_target.url,
        mode="item",
        scheme="ApiKey",
        headers=HEADERS,
    )
    # 5. ... and in the 401 that stops the run (terminal, states, logs, events).
    write_job(
        jobs,
        "sec-headers-401",
        db=sqlite_db,
        password_env=None,
        sql=SQLITE_SQL,
        url=echo_401.url,
        mode="bulk",
        scheme="ApiKey",
        headers=HEADERS,
    )
    target.set_faults(require_auth="ApiKey the-right-key")
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_LOGGING_LEVEL": "DEBUG",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "etlhelper,db2api,aiohttp",
        "DB2API_JOBS_PATH": str(jobs),
        "DB2API_DEAD_LETTER_DIR": str(dead),
        "DB2API_SEC_PG_PASSWORD": PG_SECRET,
        # Only the `db2api run` subprocesses turn etlhelper's DEBUG output on, not
        # whatever else happens to load these job files.
        "DB2API_SEC_DEBUG_TO_STDERR": "1",
    }
    runs = {
        "sec-source": {**env, "DB2API_SEC_AUTH": API_KEY},
        "sec-target": {**env, "DB2API_SEC_AUTH": API_KEY},
        "sec-echo": {**env, "DB2API_SEC_AUTH": BASIC},
        "sec-headers": {**env, "DB2API_SEC_AUTH": API_KEY, "DB2API_SEC_HEADER": HEADER_ENV},
        "sec-headers-401": {**env, "DB2API_SEC_AUTH": API_KEY, "DB2API_SEC_HEADER": HEADER_ENV},
    }
    processes = {
        name: subprocess.Popen(
            [str(BIN / "db2api"), "run", name, "--start", "2024-01-01", "--end", "2024-01-02"],
            cwd=tmp_path,
            env=run_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, run_env in runs.items()
    }
    output: dict[str, str] = {}
    try:
        for name, process in processes.items():
            out, err = process.communicate(timeout=120)
            output[name] = f"exit {process.returncode}\n{out}\n{err}"
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()

    kept = await everything_the_server_keeps("sec-")
    letters = {str(path): path.read_text() for path in dead.rglob("*") if path.is_file()}
    everything = {**output, **kept, **letters}

    # The runs really failed in the three ways, at DEBUG, and left these traces.
    assert "password authentication failed" in output["sec-source"]
    assert "HTTP 401 from PUT" in output["sec-target"]
    assert all(text.startswith("exit 1") for text in output.values()), output
    assert len(kept) == 5 and all(re.search(r"^10 prefect", t, re.M) for t in kept.values())
    assert "HTTP 401 from POST" in output["sec-headers-401"]
    assert "X-Api-Key: ***, X-Env-Key: ***, X-Block-Key: ***" in output["sec-headers-401"]
    for name in ("sec-target", "sec-echo"):  # etlhelper's DEBUG lines were there to leak
        assert "etlhelper DEBUG Fetching:" in output[name]
        assert "against:" in output[name] and "readings WHERE measured_at" in output[name]
    # The connection etlhelper logs shows its DSN with the password masked.
    assert re.search(r"dsn: '[^']*password=(xxx|\*\*\*) ", output["sec-target"])
    assert len(letters) == 2
    [echo_letters] = [text for path, text in letters.items() if "/sec-echo/" in path]
    assert "cannot index" in echo_letters and "Authorization: ***" in echo_letters
    [header_letters] = [text for text in letters.values() if "X-Block-Key" in text]
    assert "Authorization: ***, X-Api-Key: ***, X-Env-Key: ***, X-Block-Key: ***" in header_letters
    leaks = [
        f"{what} in {where}"
        for where, text in everything.items()
        for what, secret in SECRETS.items()
        if secret in text
    ]
    assert leaks == []


def test_a_target_url_with_credentials_is_refused_without_repeating_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    monkeypatch.setenv("DB2API_JOBS_PATH", str(jobs))
    url = "https://elastic:Url-Secret-55d1@x@search.example.org:9200"
    write_job(
        jobs,
        "creds",
        db={"dbtype": "SQLITE", "filename": "x.sqlite"},
        password_env=None,
        sql=SQLITE_SQL,
        url=url,
        mode="bulk",
        scheme="ApiKey",
    )

    code = main(["run", "creds", "--start", "2024-01-01", "--end", "2024-01-02"])

    out, err = capfd.readouterr()
    assert code == 2
    assert err.strip() == (
        f"db2api: error: job file {jobs}/creds.py: job 'creds': target URL contains "
        "credentials; move them to target.auth_env or target.auth_secret so they stay out of logs"
    )
    assert "Url-Secret-55d1" not in out + err and "elastic" not in out + err


def test_credentials_in_a_url_from_the_environment_are_refused_when_the_run_starts(
    sqlite_source: Path, monkeypatch: pytest.MonkeyPatch, dead_letter_dir: Path
) -> None:
    monkeypatch.setenv("DB2API_SEC_URL", "http://elastic:Env-Url-Secret-0c3e@127.0.0.1:9")
    job = with_target(
        sqlite_job(str(sqlite_source), "http://127.0.0.1:9"), url=Env("DB2API_SEC_URL")
    )

    with pytest.raises(JobError) as caught:
        asyncio.run(transfer_range(job, "2024-01-01", "2024-01-02"))

    assert str(caught.value) == (
        "job 'test-sqlite': target URL contains credentials; move them to target.auth_env "
        "or target.auth_secret so they stay out of logs"
    )


@pytest.fixture(scope="module")
def self_signed_receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverProcess]:
    pair: SelfSigned = self_signed(tmp_path_factory.mktemp("tls"))
    with ReceiverProcess(tls=pair.pair) as process:
        yield process


def test_tls_verification_is_on_by_default(
    sqlite_source: Path, self_signed_receiver: ReceiverProcess, dead_letter_dir: Path
) -> None:
    assert Target(url="https://x", index="i").verify_tls is True
    job = sqlite_job(str(sqlite_source), self_signed_receiver.url)
    assert job.target.verify_tls and job.target.ca_file is None

    summary = asyncio.run(transfer_range(job, "2024-01-01", "2024-01-02"))

    assert summary.fatal.startswith(
        f"TLS to {self_signed_receiver.url} failed: certificate verify failed: "
        "self-signed certificate: set target.ca_file"
    )
    assert self_signed_receiver.ids("readings") == {}


def test_the_receiver_listens_on_loopback_only_by_default(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "db2api.receiver", "--port", "0", "--data", str(tmp_path / "r.db")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        match = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)", first)
        assert match, first
        listening = [
            c.laddr
            for c in psutil.Process(process.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        assert [(a.ip, a.port) for a in listening] == [("127.0.0.1", int(match.group(1)))]
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def etlhelper_debug() -> Iterator[Records]:
    logger, handler = logging.getLogger("etlhelper"), Records()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.mark.parametrize("dbtype", ["PG", "SQLITE"])
def test_window_bounds_reach_the_database_only_as_bind_parameters(
    request: pytest.FixtureRequest,
    sqlite_source: Path,
    target: ReceiverProcess,
    dead_letter_dir: Path,
    etlhelper_debug: Records,
    dbtype: str,
) -> None:
    """etlhelper logs, at DEBUG, the SQL it executes and the parameters apart from it:
    the SQL keeps its placeholders, the bounds travel as parameters."""
    if dbtype == "PG":
        params = request.getfixturevalue("postgres_source")
        job = postgres_job(params, PG_PASSWORD_ENV, target.url)
        binds = ("%(start)s", "%(end)s")
    else:
        job = sqlite_job(str(sqlite_source), target.url)
        binds = (":start", ":end")

    summary = asyncio.run(transfer_range(job, "2024-01-01", "2024-01-02"))

    assert summary.ok
    [fetching] = [m for m in etlhelper_debug.messages if m.startswith("Fetching:")]
    sql, _, rest = fetching.partition("with parameters:")
    parameters, _, _ = rest.partition("against:")
    assert all(bind in sql for bind in binds)
    assert "2024" not in sql
    assert "2024" in parameters and "'start'" in parameters and "'end'" in parameters


def test_a_password_with_spaces_quotes_backslash_equals_and_non_ascii_connects(
    postgres: dict[str, Any],
    target: ReceiverProcess,
    dead_letter_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The password reaches PostgreSQL as a parameter, not spliced into a DSN."""
    import psycopg2

    try:
        psycopg2.connect(
            **{**postgres, "user": AWKWARD_USER}, password=AWKWARD_PASSWORD, connect_timeout=5
        ).close()
    except psycopg2.OperationalError as exc:
        reason = f"role {AWKWARD_USER} cannot log in ({exc}); run `sudo bash .ci/setup-postgres`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    monkeypatch.setenv("DB2API_SEC_AWKWARD", AWKWARD_PASSWORD)
    sql = (
        "SELECT n AS reading_id, %(start)s::timestamptz + n * interval '1 hour' AS measured_at "
        "FROM generate_series(0, 2) AS n WHERE %(start)s < %(end)s"
    )
    job = postgres_job(
        {**postgres, "user": AWKWARD_USER}, "DB2API_SEC_AWKWARD", target.url, transform=None
    )
    job = replace(job, sql=sql, date_field=None)

    summary = asyncio.run(transfer_range(job, "2024-01-01", "2024-01-03"))

    assert summary.ok, summary.fatal or summary.failed
    assert set(target.ids("readings")) == {"0", "1", "2"}


async def test_a_redirect_to_another_origin_carries_neither_documents_nor_keys(
    sqlite_source: Path, dead_letter_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.real_answers import Answer
    from tests.support.scripted import ScriptedTarget

    monkeypatch.setenv("DB2API_SEC_HEADER", HEADER_ENV)
    ok = Answer(201, {"Content-Type": "application/json"}, b"{}", "test", "")
    async with ScriptedTarget(lambda n, r: ok) as elsewhere:
        moved = Answer(307, {"Location": f"{elsewhere.url}/steal"}, b"", "test", "")
        async with ScriptedTarget(lambda n, r: moved) as first:
            job = with_target(
                sqlite_job(str(sqlite_source), first.url, "item"),
                headers={"X-Api-Key": HEADER_LITERAL, "X-Env-Key": Env("DB2API_SEC_HEADER")},
            )
            summary = await transfer_range(job, "2024-01-01", "2024-01-02")

    assert elsewhere.seen == []
    assert summary.fatal.startswith(f"target answered PUT {first.url}/readings/_doc/")
    assert f"with HTTP 307, a redirect to {elsewhere.url}/steal: " in summary.fatal
    assert HEADER_LITERAL not in summary.fatal and HEADER_ENV not in summary.fatal
