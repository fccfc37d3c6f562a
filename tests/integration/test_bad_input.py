"""Bad input, one row per mistake: the exact line the user sees, and nothing lost.

Each case runs where the user would meet it: the command line (`db2api.cli.main`,
its stderr/stdout captured at the file-descriptor level) for a bad range, job file
or setting; the pipeline (`transfer_range`) for what only shows once rows move,
reading the run's fatal error or the dead-letter file. Every case asserts the one
line word for word, that it is one line without a traceback, and, where rows
moved, that the target plus the dead letters hold exactly the source.

PostgreSQL cases that must fail to log in use a user and database that are not the
test role's (`reader_x`, `warehouse`): the test role's password is its own name,
and a known password is masked wherever it appears, user names included.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from db2api.cli import main
from db2api.errors import Db2apiError
from db2api.job import Job
from db2api.receiver import ReceiverProcess
from db2api.records.deadletters import iter_dead_letters
from db2api.records.document import Document
from db2api.run.catalog import BUNDLED, job_names
from db2api.run.report import RunSummary
from db2api.run.window import transfer_range
from db2api.targets import es_bulk as bulk
from tests.conftest import PG_PASSWORD_ENV, sqlite_ids
from tests.support.jobs import postgres_job, sqlite_job, to_document, with_target
from tests.support.real_answers import Answer
from tests.support.scripted import ScriptedTarget
from tests.support.scripted import Seen as Request
from tests.support.tls import SelfSigned, self_signed

pytestmark = pytest.mark.timeout(120)
LONDON = ZoneInfo("Europe/London")
DAY = ("2024-01-01", "2024-01-02")
PG_JOB = '''
from etlhelper import DbParams
from db2api.job import Env, Job, Source, Target

job = Job(
    name={name!r},
    source=Source(
        db=DbParams(dbtype="PG", host={host}, port="5432", dbname="warehouse", user="reader_x"),
        password_env={password_env!r},
    ),
    sql="""{sql}""",
    id="reading_id",
    target=Target(url="http://127.0.0.1:9", index="readings"),
    window={window!r},
    timezone={timezone!r},
)
'''
GOOD_SQL = "SELECT * FROM readings WHERE measured_at >= %(start)s AND measured_at < %(end)s"
SQLITE_JOB = """
from etlhelper import DbParams
from db2api.job import Env, Job, Secret, Source, Target
{imports}
job = Job(
    name={name!r},
    source=Source(db=DbParams(dbtype="SQLITE", filename={sqlite!r})),
    sql="SELECT * FROM readings WHERE measured_at >= :start AND measured_at < :end",
    id="reading_id",
    target=Target(url={url!r}, index="readings", {target}),
    {job}
)
"""


@dataclass
class Seen:
    """What one case showed the user, and what became of the rows."""

    message: str
    output: str = ""  # everything else printed: must hold no traceback
    exit: int | None = None
    source: set[str] | None = None  # set when rows moved: stored + dead must equal it
    stored: set[str] = field(default_factory=set)
    dead: set[str] = field(default_factory=set)
    dead_expected: set[str] = field(default_factory=set)
    values: dict[str, Any] = field(default_factory=dict)  # e.g. URLs of scripted targets


@dataclass
class Ctx:
    tmp: Path
    jobs: Path
    sqlite: Path
    rx: ReceiverProcess
    tls: ReceiverProcess
    cert: SelfSigned
    capfd: pytest.CaptureFixture[str]
    request: pytest.FixtureRequest

    @property
    def values(self) -> dict[str, Any]:
        return {
            "jobs": self.jobs,
            "sqlite": self.sqlite,
            "url": self.rx.url,
            "tls_url": self.tls.url,
            "bundled": BUNDLED,
            "known": ", ".join(job_names()),
        }


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory: pytest.TempPathFactory) -> SelfSigned:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_receiver(
    tls_pair: SelfSigned, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReceiverProcess]:
    data = tmp_path_factory.mktemp("tls-receiver") / "docs.sqlite"
    with ReceiverProcess(data=data, tls=tls_pair.pair) as process:
        yield process


@pytest.fixture
def ctx(
    tmp_path: Path,
    sqlite_source: Path,
    target: ReceiverProcess,
    tls_receiver: ReceiverProcess,
    tls_pair: SelfSigned,
    dead_letter_dir: Path,
    capfd: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Ctx:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    monkeypatch.setenv("DB2API_JOBS_PATH", str(jobs))  # restored after the test
    monkeypatch.delenv("DB2API_NO_SUCH_PASSWORD", raising=False)
    monkeypatch.delenv("WAREHOUSE_HOST", raising=False)
    tls_receiver.reset()
    return Ctx(tmp_path, jobs, sqlite_source, target, tls_receiver, tls_pair, capfd, request)


# --- how each case runs -------------------------------------------------------------------


def write_pg_job(ctx: Ctx, name: str, **fields: str) -> None:
    values = {
        "name": name,
        "host": '"127.0.0.1"',
        "password_env": PG_PASSWORD_ENV,
        "sql": GOOD_SQL,
        "window": "1d",
        "timezone": "UTC",
        **fields,
    }
    (ctx.jobs / f"{name}.py").write_text(PG_JOB.format(**values))


def write_sqlite_job(
    ctx: Ctx, name: str, target: str = "", job: str = "", imports: str = "", url: str = ""
) -> None:
    values = {"name": name, "sqlite": str(ctx.sqlite), "url": url or ctx.rx.url}
    text = SQLITE_JOB.format(**values, target=target, job=job, imports=imports)
    (ctx.jobs / f"{name}.py").write_text(text)


def cli(ctx: Ctx, *args: str, line: str = "db2api") -> Seen:
    """Run the command; the message is the last line starting with ``line``."""
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    out, err = ctx.capfd.readouterr()
    said = [text for text in (out + err).splitlines() if text.startswith(line)]
    return Seen(said[-1] if said else "(nothing)", out + err, code)


def cli_run(ctx: Ctx, job: str) -> Seen:
    """`db2api run JOB` over one day of 2024: the range every job-file case uses."""
    return cli(ctx, "run", job, "--start", "2024-01-01", "--end", "2024-01-02")


def cli_flow(ctx: Ctx, *args: str, line: str = "db2api", **env: str) -> Seen:
    """`db2api` in its own process, through a real flow run of the bundled demo job, against
    the session's Prefect test server (in-process, Prefect's console handler would keep
    writing to the previous test's captured stream)."""
    ctx.request.getfixturevalue("prefect_harness")
    from prefect.settings import PREFECT_API_URL

    environ = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "DB2API_DEMO_DB": str(ctx.sqlite),
        "DB2API_DEMO_MODE": "bulk",
        **env,
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "db2api"), *args],
        env=environ,
        cwd=ctx.tmp,
        capture_output=True,
        text=True,
        timeout=90,
    )
    output = result.stdout + result.stderr
    said = [text for text in output.splitlines() if text.startswith(line)]
    return Seen(said[-1] if said else "(nothing)", output, result.returncode)


def letters(summary: RunSummary) -> list[dict[str, Any]]:
    path = Path(summary.dead_letter_file)
    return list(iter_dead_letters(path)) if path.exists() else []


def run(ctx: Ctx, job: Job, start: str = DAY[0], end: str = DAY[1]) -> tuple[RunSummary, Seen]:
    """The pipeline; the message is the run's fatal error (or the raised one)."""
    try:
        summary = asyncio.run(transfer_range(job, start, end))
    except Db2apiError as exc:
        return RunSummary(job.name, start, end, job.target.mode), Seen(str(exc))
    dead = letters(summary)
    seen = Seen(summary.fatal, "\n".join(summary.lines() + summary.failed))
    seen.dead = {str(letter["id"]) for letter in dead}
    return summary, seen


def rejected(ctx: Ctx, job: Job, bad_id: str, dead_expected: set[str], mode: str = "bulk") -> Seen:
    """Run and read the dead letter of ``bad_id``: its reason is the message."""
    job = replace(job, target=replace(job.target, mode=mode))
    summary, seen = run(ctx, job)
    [letter] = [d for d in letters(summary) if str(d["id"]) == bad_id]
    seen.message = letter["reason"]
    seen.source = sqlite_ids(ctx.sqlite, *DAY)
    seen.stored = set(ctx.rx.ids("readings"))
    seen.dead_expected = dead_expected
    assert summary.fatal == "" and summary.total("dead") == len(dead_expected)
    return seen


def on_rows(ids: set[int], change: Callable[[dict[str, Any]], None]) -> Callable[..., Any]:
    def transform(row: dict[str, Any]) -> dict[str, Any]:
        document = to_document(row)
        if row["reading_id"] in ids:
            change(document)
        return document

    return transform


def item_job(ctx: Ctx, **target: Any) -> Job:
    """One request at a time, so the first request (document 1) is the one that fails."""
    job = sqlite_job(str(ctx.sqlite), ctx.rx.url, "item", concurrency=1, windows_in_flight=1)
    return with_target(job, **target) if target else job


def fatal_run(ctx: Ctx, job: Job, **faults: Any) -> Seen:
    ctx.rx.set_faults(**faults)
    _, seen = run(ctx, job)
    assert seen.dead == set(), "a run-wide error is not a per-document dead letter"
    return seen


# --- the cases ----------------------------------------------------------------------------


def reversed_range(ctx: Ctx) -> Seen:
    write_pg_job(ctx, "good")
    return cli(ctx, "run", "good", "--start", "2024-01-05", "--end", "2024-01-01")


def empty_range(ctx: Ctx) -> Seen:
    write_pg_job(ctx, "good")
    return cli(ctx, "run", "good", "--start", "2024-01-05", "--end", "2024-01-05")


def not_a_date(ctx: Ctx) -> Seen:
    write_pg_job(ctx, "good")
    return cli(ctx, "run", "good", "--start", "2024-13-01", "--end", "2024-02-01")


def unknown_job(ctx: Ctx) -> Seen:
    write_pg_job(ctx, "good")
    return cli_run(ctx, "nosuch")


def missing_job_file(ctx: Ctx) -> Seen:
    return cli_run(ctx, f"{ctx.jobs}/missing.py")


def syntax_error(ctx: Ctx) -> Seen:
    (ctx.jobs / "broken.py").write_text("from db2api.job import Job\njob = Job(\n")
    return cli_run(ctx, "broken")


def no_job_defined(ctx: Ctx) -> Seen:
    (ctx.jobs / "nojob.py").write_text("from db2api.job import Job\n\nJOB = None\n")
    return cli_run(ctx, "nojob")


def job_file_raises(ctx: Ctx) -> Seen:
    (ctx.jobs / "crashes.py").write_text('import os\nHOST = os.environ["WAREHOUSE_HOST"]\n')
    return cli_run(ctx, "crashes")


def name_mismatch(ctx: Ctx) -> Seen:
    write_pg_job(ctx, "other")
    (ctx.jobs / "other.py").rename(ctx.jobs / "renamed.py")
    return cli_run(ctx, "renamed")


def sql_without_binds(ctx: Ctx) -> Seen:
    write_pg_job(ctx, "nobinds", sql="SELECT * FROM readings")
    return cli_run(ctx, "nobinds")


def wrong_paramstyle(ctx: Ctx) -> Seen:
    write_pg_job(ctx, "colon", sql="SELECT * FROM readings WHERE t >= :start AND t < :end")
    return cli_run(ctx, "colon")


def unknown_timezone(ctx: Ctx) -> Seen:
    write_pg_job(ctx, "tz", timezone="Europe/Lodnon")
    return cli_run(ctx, "tz")


def bad_window_length(ctx: Ctx) -> Seen:
    write_pg_job(ctx, "win", window="1 day")
    return cli_run(ctx, "win")


def missing_password_variable(ctx: Ctx) -> Seen:
    write_pg_job(ctx, "nopw", password_env="DB2API_NO_SUCH_PASSWORD")
    return cli_run(ctx, "nopw")


def missing_setting_variable(ctx: Ctx) -> Seen:
    write_pg_job(ctx, "envhost", host='Env("WAREHOUSE_HOST", help="the warehouse database host")')
    return cli_run(ctx, "envhost")


def sql_syntax_error(ctx: Ctx) -> Seen:
    sql = "SELEC reading_id FROM readings WHERE measured_at >= :start AND measured_at < :end"
    job = replace(sqlite_job(str(ctx.sqlite), ctx.rx.url), name="bad-sql", sql=sql)
    _, seen = run(ctx, job)
    return seen


def wrong_password(ctx: Ctx) -> Seen:
    monkeypatch = ctx.request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("BAD_INPUT_PASSWORD", "not-the-password")
    params = {"host": "127.0.0.1", "port": "5432", "dbname": "warehouse", "user": "reader_x"}
    _, seen = run(ctx, postgres_job(params, "BAD_INPUT_PASSWORD", ctx.rx.url))
    assert "not-the-password" not in seen.output
    return seen


def unreachable_database(ctx: Ctx) -> Seen:
    params = {"host": "127.0.0.1", "port": "9", "dbname": "warehouse", "user": "reader_x"}
    monkeypatch = ctx.request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("BAD_INPUT_PASSWORD", "not-the-password")
    _, seen = run(ctx, postgres_job(params, "BAD_INPUT_PASSWORD", ctx.rx.url))
    return seen


def unreachable_api_cli(ctx: Ctx) -> Seen:
    return cli_flow(
        ctx,
        "run",
        "demo",
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-02",
        DB2API_DEMO_URL="http://127.0.0.1:9",
    )


def unauthorised_cli(ctx: Ctx) -> Seen:
    ctx.rx.set_faults(require_auth="ApiKey the-right-key")
    return cli_flow(
        ctx,
        "run",
        "demo",
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-02",
        line="run failed:",
        DB2API_DEMO_URL=ctx.rx.url,
    )


def wrong_api_key(ctx: Ctx) -> Seen:
    monkeypatch = ctx.request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("BAD_INPUT_API_KEY", "the-wrong-key")
    job = item_job(ctx, auth_env="BAD_INPUT_API_KEY")
    seen = fatal_run(ctx, job, require_auth="ApiKey the-right-key")
    assert "the-wrong-key" not in seen.message + seen.output
    return seen


def forbidden(ctx: Ctx) -> Seen:
    return fatal_run(ctx, sqlite_job(str(ctx.sqlite), ctx.rx.url), status_override=403)


def no_such_index(ctx: Ctx) -> Seen:
    return fatal_run(ctx, item_job(ctx), status_override=404)


def index_refusal(**faults: Any) -> Callable[[Ctx], Seen]:
    """Every _bulk item refused for the index's sake: the run stops, nothing dead-lettered."""

    def case(ctx: Ctx) -> Seen:
        job = sqlite_job(str(ctx.sqlite), ctx.rx.url, windows_in_flight=1, concurrency=1)
        job = with_target(job, bulk_docs=50)
        seen = fatal_run(ctx, job, **faults)
        assert ctx.rx.ids("readings") == {}, "nothing reached the index"
        stats = ctx.rx.stats()
        assert (stats["requests"], stats["bulk_items"]) == (1, 50), "stopped after one batch"
        return seen

    return case


def not_json_bulk(ctx: Ctx) -> Seen:
    return fatal_run(ctx, sqlite_job(str(ctx.sqlite), ctx.rx.url), non_json=True)


def not_json_item(ctx: Ctx) -> Seen:
    seen = fatal_run(ctx, item_job(ctx), non_json=True)
    assert ctx.rx.ids("readings") == {}
    return seen


def tls_unverified(ctx: Ctx) -> Seen:
    return fatal_run(ctx, sqlite_job(str(ctx.sqlite), ctx.tls.url))


def ca_file_missing(ctx: Ctx) -> Seen:
    job = with_target(sqlite_job(str(ctx.sqlite), ctx.tls.url), ca_file=f"{ctx.tmp}/no-ca.pem")
    return fatal_run(ctx, job)


def oversized_document(ctx: Ctx) -> Seen:
    job = sqlite_job(str(ctx.sqlite), ctx.rx.url, transform=on_rows({7}, padded))
    return rejected(ctx, with_target(job, bulk_bytes=4096), "7", {"7"})


def padded(document: dict[str, Any]) -> None:
    document["notes"] = "x" * 5000


def nan_value(ctx: Ctx) -> Seen:
    transform = on_rows({5}, lambda d: d.update(value=float("nan")))
    return rejected(ctx, sqlite_job(str(ctx.sqlite), ctx.rx.url, transform=transform), "5", {"5"})


def infinity_nested(ctx: Ctx) -> Seen:
    transform = on_rows({6}, lambda d: d.update(stats={"max": float("inf")}))
    job = sqlite_job(str(ctx.sqlite), ctx.rx.url, transform=transform)
    return rejected(ctx, job, "6", {"6"}, mode="item")


def decimal_nan(ctx: Ctx) -> Seen:
    transform = on_rows({8, 9}, lambda d: d.update(value=Decimal("NaN")))
    job = sqlite_job(str(ctx.sqlite), ctx.rx.url, transform=transform)
    return rejected(ctx, job, "8", {"8", "9"})


def transform_raises(ctx: Ctx) -> Seen:
    def picky(row: dict[str, Any]) -> dict[str, Any]:
        if row["reading_id"] == 11:
            raise ValueError("reading 11 is implausible")
        return to_document(row)

    job = sqlite_job(str(ctx.sqlite), ctx.rx.url, transform=picky)
    return rejected(ctx, job, "11", {"11"})


def header_env_missing(ctx: Ctx) -> Seen:
    write_sqlite_job(ctx, "hdr", target='headers={"X-Api-Key": Env("BAD_INPUT_HEADER_KEY")}')
    return cli_run(ctx, "hdr")


def timeout_zero(ctx: Ctx) -> Seen:
    write_sqlite_job(ctx, "notime", target="timeout=0")
    return cli_run(ctx, "notime")


def url_with_a_space(ctx: Ctx) -> Seen:
    write_sqlite_job(ctx, "spaced", url="http://127.0.0.1:92 00")
    return cli_run(ctx, "spaced")


def lag_zero(ctx: Ctx) -> Seen:
    write_sqlite_job(ctx, "nolag", job='lag="0d",')
    return cli_run(ctx, "nolag")


def helper_syntax_error(ctx: Ctx) -> Seen:
    (ctx.tmp / "helpers").mkdir()
    (ctx.tmp / "helpers" / "shapes.py").write_text("def shape(row:\n    return row\n")
    imports = f"import sys\nsys.path.insert(0, {str(ctx.tmp / 'helpers')!r})\nimport shapes\n"
    write_sqlite_job(ctx, "helped", imports=imports)
    return cli_run(ctx, "helped")


def job_file_exits(ctx: Ctx) -> Seen:
    (ctx.jobs / "quits.py").write_text("import sys\n\nsys.exit(3)\n")
    seen = cli_run(ctx, "quits")
    listed = cli(ctx, "jobs", line="quits")
    assert listed.exit == 0 and listed.message == f"quits        BROKEN: {seen.message[15:]}"
    return seen


def scripted_run(
    ctx: Ctx, respond: Callable[[int, Request], Answer], make: Callable[[str], Job]
) -> tuple[RunSummary, Seen, list[Request]]:
    """The pipeline against a loopback server answering from ``respond``."""

    async def go() -> tuple[RunSummary, Seen, list[Request]]:
        async with ScriptedTarget(respond) as server:
            job = make(server.url)
            summary = await transfer_range(job, *DAY)
        seen = Seen(summary.fatal, "\n".join(summary.lines() + summary.failed))
        seen.values["scripted"] = server.url
        seen.dead = {str(letter["id"]) for letter in letters(summary)}
        return summary, seen, server.seen

    return asyncio.run(go())


def answer(status: int, body: bytes = b"", **headers: str) -> Answer:
    return Answer(status, {"Content-Type": "application/json", **headers}, body, "test", "")


def bulk_answer(seen: Request, item: dict[str, Any], errors: bool = False) -> Answer:
    """``item`` for every document sent, under the action and ``_id`` it was sent with."""
    items = [
        {action: {"_index": "readings", **item, "_id": doc_id}} for action, doc_id in seen.bulk_sent
    ]
    return answer(200, orjson.dumps({"took": 1, "errors": errors, "items": items}))


def redirect_cross_origin(ctx: Ctx) -> Seen:
    """A 307 to another origin: never followed, so neither documents nor key go there."""

    async def go() -> Seen:
        async with ScriptedTarget(lambda n, r: answer(201, b"{}")) as elsewhere:
            moved = f"{elsewhere.url}/readings/_doc/1?sig=tok3n"
            respond = lambda n, r: answer(307, b"", Location=moved)  # noqa: E731
            async with ScriptedTarget(respond) as server:
                job = with_target(
                    item_job(ctx), url=server.url, headers={"X-Api-Key": "k-redirect-1234"}
                )
                summary = await transfer_range(job, *DAY)
        assert elsewhere.seen == [], "nothing went to the other origin"
        assert len(server.seen) == 1, "the run stopped at the first answer"
        seen = Seen(summary.fatal, "\n".join(summary.lines() + summary.failed))
        seen.values.update(scripted=server.url, elsewhere=elsewhere.url)
        return seen

    return asyncio.run(go())


def redirect_bulk(ctx: Ctx) -> Seen:
    location = "https://search.example.org/_bulk"
    job = lambda url: sqlite_job(  # noqa: E731
        str(ctx.sqlite), url, windows_in_flight=1, concurrency=1
    )
    _, seen, requests = scripted_run(ctx, lambda n, r: answer(301, Location=location), job)
    assert [r.method for r in requests] == ["POST"], "no GET to the new address"
    return seen


def bulk_status_not_a_number(ctx: Ctx) -> Seen:
    def respond(number: int, seen: Request) -> Answer:
        return bulk_answer(seen, {"_id": "1", "status": "abc"})

    job = lambda url: sqlite_job(str(ctx.sqlite), url, windows_in_flight=1)  # noqa: E731
    return scripted_run(ctx, respond, job)[1]


def bulk_ok_flag_over_failed_items(ctx: Ctx) -> Seen:
    """`"errors": false` over items answered 400: the items decide, nothing is acknowledged."""

    def respond(number: int, seen: Request) -> Answer:
        return bulk_answer(seen, {"_id": "1", "status": 400})

    job = lambda url: sqlite_job(  # noqa: E731
        str(ctx.sqlite), url, windows_in_flight=1, concurrency=1
    )
    summary, seen, requests = scripted_run(ctx, respond, job)
    assert summary.total("acked") == 0 and seen.dead == set()
    assert len(requests) == 2, "stopped after two batches failed whole"
    return seen


def dot_ids(ctx: Ctx) -> Seen:
    """Ids '.' and '..' stay one path segment each: never another resource."""
    ids = {1: "..", 2: "."}
    job = lambda url: sqlite_job(  # noqa: E731
        str(ctx.sqlite),
        url,
        "item",
        id=lambda row: ids.get(row["reading_id"], str(row["reading_id"])),
    )
    summary, seen, requests = scripted_run(ctx, lambda n, r: answer(201, b"{}"), job)
    assert summary.ok and summary.total("acked") == len(sqlite_ids(ctx.sqlite, *DAY))
    paths = sorted(f"{r.method} {r.path}" for r in requests if r.path.endswith(("%2E", "/")))
    seen.message = "; ".join(paths)
    return seen


def undecodable_text(ctx: Ctx) -> Seen:
    """Invalid UTF-8 in 2 of 20 rows of a TEXT column: those two rows are dead letters."""
    path = ctx.tmp / "latin1.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE readings (reading_id INTEGER, measured_at TEXT, txt TEXT)")
        for n in range(1, 21):
            text = "caf\xe9".encode("latin-1") if n in (4, 17) else f"note {n}".encode()
            conn.execute(
                "INSERT INTO readings VALUES (?, ?, CAST(? AS TEXT))",
                (n, f"2024-01-01 {n:02}:00:00", text),
            )
    sql = "SELECT * FROM readings WHERE measured_at >= :start AND measured_at < :end"
    job = replace(sqlite_job(str(path), ctx.rx.url), sql=sql, transform=None, date_field=None)
    summary, seen = run(ctx, job)
    [letter] = [d for d in letters(summary) if str(d["id"]) == "4"]
    assert letter["document"] == {
        "reading_id": 4,
        "measured_at": "2024-01-01 04:00:00",
        "txt": "caf\\xe9",
    }
    assert summary.fatal == "" and not summary.failed
    seen.message = letter["reason"]
    seen.source = {str(n) for n in range(1, 21)}
    seen.stored = set(ctx.rx.ids("readings"))
    seen.dead_expected = {"4", "17"}
    return seen


def transform_exits(ctx: Ctx) -> Seen:
    def quits(row: dict[str, Any]) -> dict[str, Any]:
        if row["reading_id"] == 12:
            sys.exit(4)
        return to_document(row)

    job = sqlite_job(str(ctx.sqlite), ctx.rx.url, transform=quits)
    return rejected(ctx, job, "12", {"12"})


def short_secret(ctx: Ctx) -> Seen:
    """A header value of 4 characters ('2024'): masked only where it stands alone, so the
    dead letter's document keeps its dates, and the run warns once."""

    def picky(row: dict[str, Any]) -> dict[str, Any]:
        if row["reading_id"] == 13:
            raise ValueError("reading 13 is implausible")
        return to_document(row)

    records = ctx.request.getfixturevalue("db2api_log")
    job = sqlite_job(str(ctx.sqlite), ctx.rx.url, transform=picky)
    seen = rejected(ctx, with_target(job, headers={"X-Pin": "2024"}), "13", {"13"})
    [letter] = iter_dead_letters(next((ctx.tmp / "dead-letters").rglob("*.jsonl")))
    assert letter["document"]["measured_at"].startswith("2024-01-01 ")
    warnings = [r.getMessage() for r in records.records if "shorter than 8" in r.getMessage()]
    assert warnings == [
        "job 'test-sqlite': header X-Pin is shorter than 8 characters, so masked only where "
        "the whole value stands alone, not inside other text: use a longer secret"
    ]
    return seen


def password_with_a_space(ctx: Ctx) -> Seen:
    """The password goes to the driver as a parameter: no part of it reaches the message."""
    monkeypatch = ctx.request.getfixturevalue("monkeypatch")
    password = "two words 'quoted' back\\slash a=b dé"
    monkeypatch.setenv("BAD_INPUT_PASSWORD", password)
    params = {"host": "127.0.0.1", "port": "5432", "dbname": "warehouse", "user": "reader_x"}
    _, seen = run(ctx, postgres_job(params, "BAD_INPUT_PASSWORD", ctx.rx.url))
    for part in ("words", "quoted", "slash", "a=b", "dé"):
        assert part not in seen.message + seen.output
    return seen


CONNECT_HINT = "check host, port, user and password, and that the database is up"
REFUSE_REDIRECT = (
    "db2api never follows redirects, so documents and credentials go only to target.url: "
    "point target.url at the final address"
)
NOT_ES = "check that target.url points at an Elasticsearch/OpenSearch-compatible API"
CASES = [
    pytest.param(
        reversed_range,
        "db2api: error: range is reversed: end 2024-01-01T00:00:00Z is before start "
        "2024-01-05T00:00:00Z; swap --start and --end",
        2,
        id="reversed-range",
    ),
    pytest.param(
        empty_range,
        "db2api: error: range is empty: start and end are both 2024-01-05T00:00:00Z; the end "
        "is exclusive, so use an end after the start",
        2,
        id="zero-length-range",
    ),
    pytest.param(
        not_a_date,
        "db2api run: error: argument --start: '2024-13-01' is not a date: write YYYY-MM-DD or "
        "YYYY-MM-DDTHH:MM[:SS][+HH:MM]",
        2,
        id="not-a-date",
    ),
    pytest.param(
        unknown_job,
        "db2api: error: unknown job 'nosuch': known jobs are {known}; add nosuch.py defining "
        "`job = Job(...)` to {bundled} or to a folder in DB2API_JOBS_PATH",
        2,
        id="unknown-job",
    ),
    pytest.param(
        missing_job_file,
        "db2api: error: job file {jobs}/missing.py does not exist",
        2,
        id="missing-job-file",
    ),
    pytest.param(
        syntax_error,
        "db2api: error: job file {jobs}/broken.py has a syntax error at line 2: "
        "'(' was never closed",
        2,
        id="job-file-syntax-error",
    ),
    pytest.param(
        no_job_defined,
        "db2api: error: job file {jobs}/nojob.py defines no `job = Job(...)`",
        2,
        id="job-file-without-job",
    ),
    pytest.param(
        job_file_raises,
        "db2api: error: job file {jobs}/crashes.py failed to load at line 2: "
        "KeyError: 'WAREHOUSE_HOST'",
        2,
        id="job-file-raises",
    ),
    pytest.param(
        name_mismatch,
        "db2api: error: job file {jobs}/renamed.py names its job 'other': rename the file to "
        "other.py or the job to 'renamed', so runs and caches are filed under one name",
        2,
        id="job-name-not-file-name",
    ),
    pytest.param(
        sql_without_binds,
        "db2api: error: job file {jobs}/nobinds.py: job 'nobinds': SQL for PG must use the "
        "binds %(start)s and %(end)s (paramstyle pyformat); missing %(start)s, %(end)s: write "
        "e.g. WHERE t >= %(start)s AND t < %(end)s",
        2,
        id="sql-without-start-end-binds",
    ),
    pytest.param(
        wrong_paramstyle,
        "db2api: error: job file {jobs}/colon.py: job 'colon': SQL for PG must use the binds "
        "%(start)s and %(end)s (paramstyle pyformat); missing %(start)s, %(end)s (it uses "
        ":start, which is another database's style): write e.g. WHERE t >= %(start)s AND "
        "t < %(end)s",
        2,
        id="colon-binds-in-postgresql-sql",
    ),
    pytest.param(
        unknown_timezone,
        "db2api: error: job file {jobs}/tz.py: job 'tz': unknown timezone 'Europe/Lodnon': use "
        "an IANA name such as 'UTC' or 'Europe/London'",
        2,
        id="unknown-timezone",
    ),
    pytest.param(
        bad_window_length,
        "db2api: error: job file {jobs}/win.py: job 'win': window length '1 day' is not "
        "understood: write a number and a unit, e.g. '1d', '6h', '15m'",
        2,
        id="window-length-not-understood",
    ),
    pytest.param(
        missing_password_variable,
        "db2api: error: environment variable DB2API_NO_SUCH_PASSWORD (the source password for "
        "job 'nopw') is not set: export it, or store it in a Prefect Secret block and name "
        "that block in the job",
        2,
        id="missing-password-variable",
    ),
    pytest.param(
        missing_setting_variable,
        "db2api: error: environment variable WAREHOUSE_HOST is not set (the warehouse database "
        "host): export it before running job 'envhost'",
        2,
        id="missing-setting-variable",
    ),
    pytest.param(
        sql_syntax_error,
        "SQL failed on SQLITE {sqlite} (job 'bad-sql'): near \"SELEC\": syntax error. This "
        "source needs paramstyle named with binds :start and :end. SQL: SELEC reading_id FROM "
        "readings WHERE measured_at >= :start AND measured_at < :end",
        None,
        id="sql-syntax-error",
    ),
    pytest.param(
        wrong_password,
        "cannot connect to PG reader_x@127.0.0.1:5432/warehouse (job 'test-postgres'): "
        'connection to server at "127.0.0.1", port 5432 failed: FATAL: password '
        f'authentication failed for user "reader_x"; {CONNECT_HINT}',
        None,
        id="wrong-password",
    ),
    pytest.param(
        unreachable_database,
        "cannot connect to PG reader_x@127.0.0.1:9/warehouse (job 'test-postgres'): "
        f'connection to server at "127.0.0.1", port 9 failed: Connection refused; {CONNECT_HINT}',
        None,
        id="unreachable-database",
    ),
    pytest.param(
        unreachable_api_cli,
        "db2api: error: cannot reach target http://127.0.0.1:9 for job 'demo': connection "
        "refused; check that it is running and that target.url is right",
        2,
        id="unreachable-api",
    ),
    pytest.param(
        unauthorised_cli,
        "run failed: HTTP 401 from POST {url}/_bulk (security_exception: missing "
        "authentication credentials for REST request [/_bulk]): the target refused the "
        "credentials: check target.auth_env (no credentials were sent)",
        1,
        id="401-no-credentials",
    ),
    pytest.param(
        wrong_api_key,
        "HTTP 401 from PUT {url}/readings/_doc/1 (security_exception: unable to authenticate "
        "with provided authentication credentials for REST request [/readings/_doc/1]): the "
        "target refused the credentials: check the API key in BAD_INPUT_API_KEY",
        None,
        id="401-wrong-api-key",
    ),
    pytest.param(
        forbidden,
        "HTTP 403 from POST {url}/_bulk (security_exception: status 403 forced by "
        "status_override): the credentials may not write here: check the API key's privileges",
        None,
        id="403",
    ),
    pytest.param(
        index_refusal(index_missing=True),
        "index readings at {url} refused writes: HTTP 404 index_not_found_exception: no such "
        "index [readings] and [action.auto_create_index] is [false]: create the index readings "
        "(or an index template that matches it) before sending, or allow the cluster to create "
        "it (action.auto_create_index); nothing was dead-lettered, the window runs again next "
        "time",
        None,
        id="bulk-index-not-found",
    ),
    pytest.param(
        index_refusal(no_privileges=True),
        "index readings at {url} refused writes: HTTP 403 security_exception: action "
        "[indices:data/write/bulk[s]] is unauthorized for user [_anonymous] with effective "
        "roles [] on indices [readings], this action is granted by the index privileges "
        "[create_doc,create,delete,index,write,all]: grant the API key the create_doc or index "
        "privilege on readings, or fix the key the job sends (target.auth_env / "
        "target.auth_secret); nothing was dead-lettered, the window runs again next time",
        None,
        id="bulk-no-privileges",
    ),
    pytest.param(
        index_refusal(data_stream=True),
        "index readings at {url} refused writes: HTTP 400 illegal_argument_exception: only "
        "write ops with an op_type of create are allowed in data streams: readings is a data "
        "stream, which only takes create: set target.op_type='create'; nothing was "
        "dead-lettered, the window runs again next time",
        None,
        id="bulk-data-stream-needs-create",
    ),
    pytest.param(
        index_refusal(read_only="flood_stage"),
        "index readings at {url} refused writes: HTTP 429 cluster_block_exception: index "
        "[readings] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage "
        "watermark, index has read-only-allow-delete block];: the cluster's disk passed its "
        "flood-stage watermark and readings was made read-only: free disk space; the block "
        "lifts itself when usage falls (or remove index.blocks.read_only_allow_delete); nothing "
        "was dead-lettered, the window runs again next time",
        None,
        id="bulk-flood-stage",
    ),
    pytest.param(
        index_refusal(read_only="write_block"),
        "index readings at {url} refused writes: HTTP 403 cluster_block_exception: index "
        "[readings] blocked by: [FORBIDDEN/8/index write (api)];: readings has a write block: "
        "remove index.blocks.write when writes may resume; nothing was dead-lettered, the "
        "window runs again next time",
        None,
        id="bulk-write-block",
    ),
    pytest.param(
        no_such_index,
        "HTTP 404 from PUT {url}/readings/_doc/1 (index_not_found_exception: status 404 forced "
        "by status_override): no such path or index: check target.url and target.index / "
        "target.path, or, for an API that answers 404 to a PUT of a new id, set "
        "target.upsert='put-or-post'",
        None,
        id="404-index",
    ),
    pytest.param(
        not_json_bulk,
        "target answered POST {url}/_bulk with something that is not JSON "
        "('<html>proxy</html>'): check that target.url points at an "
        "Elasticsearch/OpenSearch-compatible API",
        None,
        id="non-json-bulk",
    ),
    pytest.param(
        not_json_item,
        "target answered PUT {url}/readings/_doc/1 with an HTML page, not an API response "
        "('<html>proxy</html>'): check that target.url points at the API itself, not at a "
        "proxy or login page",
        None,
        id="non-json-item",
    ),
    pytest.param(
        tls_unverified,
        "TLS to {tls_url} failed: certificate verify failed: self-signed certificate: set "
        "target.ca_file to the PEM certificate of the CA that signed it (or install that CA "
        "in the system store); verify_tls=False turns the check off if you accept the risk",
        None,
        id="tls-self-signed",
    ),
    pytest.param(
        ca_file_missing,
        "target.ca_file {tmp}/no-ca.pem cannot be read (No such file or directory): give the "
        "path of the PEM certificate of the CA that signed the target's certificate",
        None,
        id="tls-ca-file-missing",
    ),
    pytest.param(
        oversized_document,
        "document needs {size_7} bytes in a request body, over target.bulk_bytes (4096): raise "
        "the cap or slim the document in the transform",
        None,
        id="document-over-bulk-byte-cap",
    ),
    pytest.param(
        nan_value,
        "field value is NaN or Infinity, which JSON cannot carry: map it to null or a string "
        "in the transform",
        None,
        id="nan",
    ),
    pytest.param(
        infinity_nested,
        "field stats.max is NaN or Infinity, which JSON cannot carry: map it to null or a "
        "string in the transform",
        None,
        id="infinity-nested-item-mode",
    ),
    pytest.param(
        decimal_nan,
        "field value is NaN or Infinity, which JSON cannot carry: map it to null or a string "
        "in the transform",
        None,
        id="decimal-nan",
    ),
    pytest.param(
        transform_raises,
        "transform raised ValueError('reading 11 is implausible')",
        None,
        id="transform-raises-on-one-row",
    ),
    pytest.param(
        header_env_missing,
        "db2api: error: environment variable BAD_INPUT_HEADER_KEY is not set: export it before "
        "running job 'hdr'",
        2,
        id="header-from-unset-env",
    ),
    pytest.param(
        timeout_zero,
        "db2api: error: job file {jobs}/notime.py: job 'notime': target.timeout must be a "
        "number of seconds above 0 (got 0): a request without a time limit can hang the run; "
        "the default is 30",
        2,
        id="timeout-zero",
    ),
    pytest.param(
        url_with_a_space,
        "db2api: error: job file {jobs}/spaced.py: job 'spaced': target URL "
        "'http://127.0.0.1:92 00' contains a space or control character: remove it, or "
        "percent-encode it (%20) if the path really has one",
        2,
        id="url-with-a-space",
    ),
    pytest.param(
        lag_zero,
        "db2api: error: job file {jobs}/nolag.py: job 'nolag': lag '0d' must be positive: "
        "leave lag unset to re-read nothing, or write e.g. '2d'",
        2,
        id="lag-zero",
    ),
    pytest.param(
        helper_syntax_error,
        "db2api: error: job file {jobs}/helped.py imports {tmp}/helpers/shapes.py, which has a "
        "syntax error at line 1: '(' was never closed",
        2,
        id="syntax-error-in-an-imported-helper",
    ),
    pytest.param(
        job_file_exits,
        "db2api: error: job file {jobs}/quits.py called sys.exit(3) at line 3 while loading: a "
        "job file only defines `job = Job(...)`; raise an exception to refuse",
        2,
        id="job-file-calls-sys-exit",
    ),
    pytest.param(
        redirect_cross_origin,
        "target answered PUT {scripted}/readings/_doc/1 with HTTP 307, a redirect to "
        f"{{elsewhere}}/readings/_doc/1?…: {REFUSE_REDIRECT}",
        None,
        id="307-to-another-origin",
    ),
    pytest.param(
        redirect_bulk,
        "target answered POST {scripted}/_bulk with HTTP 301, a redirect to "
        f"https://search.example.org/_bulk: {REFUSE_REDIRECT}",
        None,
        id="301-on-bulk",
    ),
    pytest.param(
        bulk_status_not_a_number,
        "target's _bulk response at {scripted}/_bulk has an item without a valid status "
        "({{'index': {{'_index': 'readings', '_id': '1', 'status': 'abc'}}}}): check that "
        "target.url points at an Elasticsearch/OpenSearch-compatible API",
        None,
        id="bulk-item-status-not-a-number",
    ),
    pytest.param(
        bulk_ok_flag_over_failed_items,
        "index readings at {scripted}: every item of 2 batches in a row failed with HTTP 400 "
        "error: the target gave no reason for this item; this looks like a problem with the "
        "index or the key, not the documents: fix it and run again (the window was not "
        "completed and runs again)",
        None,
        id="bulk-errors-false-over-failed-items",
    ),
    pytest.param(
        dot_ids,
        "GET /readings/_doc/%2E; GET /readings/_doc/%2E%2E; PUT /readings/_doc/%2E; "
        "PUT /readings/_doc/%2E%2E",
        None,
        id="ids-dot-and-dot-dot",
    ),
    pytest.param(
        undecodable_text,
        "column 'txt' is not valid UTF-8 (b'caf\\xe9'): fix the value at the source, or "
        "decode the column in the transform",
        None,
        id="sqlite-text-not-utf8-in-2-of-20-rows",
    ),
    pytest.param(
        transform_exits,
        "transform raised SystemExit(4)",
        None,
        id="transform-calls-sys-exit-on-one-row",
    ),
    pytest.param(
        short_secret,
        "transform raised ValueError('reading 13 is implausible')",
        None,
        id="secret-shorter-than-8-characters",
    ),
    pytest.param(
        password_with_a_space,
        "cannot connect to PG reader_x@127.0.0.1:5432/warehouse (job 'test-postgres'): "
        'connection to server at "127.0.0.1", port 5432 failed: FATAL: password '
        f'authentication failed for user "reader_x"; {CONNECT_HINT}',
        None,
        id="password-with-spaces-quotes-backslash-equals-non-ascii",
    ),
]


def bulk_size(ctx: Ctx, reading_id: int, change: Callable[[dict[str, Any]], None]) -> int:
    with sqlite3.connect(ctx.sqlite) as conn:
        conn.row_factory = sqlite3.Row
        row = dict(
            conn.execute("SELECT * FROM readings WHERE reading_id = ?", (reading_id,)).fetchone()
        )
    document = to_document(row)
    change(document)
    doc = Document(str(reading_id), orjson.dumps(document))
    return bulk.entry_size(bulk.action_line("readings", doc.id), doc)


@pytest.mark.parametrize(("case", "expected", "exit_code"), CASES)
def test_bad_input_gets_one_clear_line_and_loses_nothing(
    ctx: Ctx, case: Callable[[Ctx], Seen], expected: str, exit_code: int | None
) -> None:
    seen = case(ctx)

    values = {**ctx.values, "tmp": ctx.tmp, **seen.values}
    if "{size_7}" in expected:
        values["size_7"] = bulk_size(ctx, 7, padded)
    assert seen.message == expected.format(**values)
    assert "\n" not in seen.message
    assert "Traceback" not in seen.output + seen.message
    assert seen.exit == exit_code
    if seen.source is not None:
        assert seen.dead == seen.dead_expected, "exactly the bad rows are dead-lettered"
        assert seen.stored | seen.dead == seen.source, "every other row was delivered"
        assert not seen.stored & seen.dead


# --- not errors, but input that is easy to get wrong ---------------------------------------


def test_a_window_longer_than_the_range_is_one_short_window(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    """The choice: a 1-week window over a 2-day range is ONE window, cut at the range's end
    ([start, end) is never widened to a whole window, nor refused): `split` always ends the
    last window at `end`, so a short range is simply a short last window."""
    job = sqlite_job(str(sqlite_source), target.url, window="1w")

    summary = asyncio.run(transfer_range(job, "2024-01-01", "2024-01-03"))

    assert [r.window for r in summary.windows] == ["2024-01-01T00:00:00Z/2024-01-03T00:00:00Z"]
    assert summary.ok and "windows      1 (none done before; 0 failed)" in summary.lines()
    assert set(target.ids("readings")) == sqlite_ids(sqlite_source, "2024-01-01", "2024-01-03")


@pytest.mark.parametrize("mode", ["bulk", "item"])
def test_duplicate_ids_in_one_window_last_wins_counted_nothing_lost(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path, mode: str
) -> None:
    """An id of sensor + hour: the four readings of an hour share it. The window's rows fit
    one chunk, so the later row replaces the earlier one before anything is sent."""
    job = sqlite_job(
        str(sqlite_source),
        target.url,
        mode,
        id=lambda row: f"{row['sensor_id']}@{row['measured_at'][:13]}",
        chunk_size=5000,
    )

    summary = asyncio.run(transfer_range(job, *DAY))

    with sqlite3.connect(sqlite_source) as conn:
        rows = conn.execute(
            "SELECT sensor_id, measured_at, reading_id FROM readings "
            "WHERE measured_at >= ? AND measured_at < ? ORDER BY measured_at",
            DAY,
        ).fetchall()
    last: dict[str, int] = {}
    for sensor, at, reading in rows:
        last[f"{sensor}@{at[:13]}"] = reading  # ordered by time: the last one stays
    stored = target.ids("readings")
    [report] = summary.windows
    assert (report.rows, report.acked, report.duplicates, report.dead) == (
        len(rows),
        len(last),
        len(rows) - len(last),
        0,
    )
    assert summary.ok and set(stored) == set(last) and set(stored.values()) == {1}
    for doc_id, reading in last.items():
        document = target.get("readings", doc_id)
        assert document is not None and document["reading_id"] == reading
        assert document["measured_at"].endswith(":45:00Z")
    assert (
        f"duplicates   {len(rows) - len(last)} (same id twice in a chunk; last one sent)"
        in summary.lines()
    )


# Readings every 15 minutes (real instants), stored as naive Europe/London wall-clock
# times, as an Oracle DATE column in local time would hold them.
DST_TABLE = "bad_input_dst_readings"
DST_SQL = (
    f"SELECT reading_id, measured_local, true_utc FROM {DST_TABLE} "
    "WHERE measured_local >= %(start)s AND measured_local < %(end)s ORDER BY reading_id"
)
DST_RANGES = {
    "spring": (datetime(2024, 3, 30, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC)),
    "autumn": (datetime(2024, 10, 26, tzinfo=UTC), datetime(2024, 10, 28, tzinfo=UTC)),
}


@pytest.fixture(scope="module")
def dst_source(postgres: dict[str, Any]) -> Iterator[dict[str, Any]]:
    import psycopg2

    rows = []
    for first, last in DST_RANGES.values():
        moment = first
        while moment < last:
            local = moment.astimezone(LONDON).replace(tzinfo=None)
            rows.append((len(rows) + 1, local, moment))
            moment += timedelta(minutes=15)
    conn = psycopg2.connect(password=os.environ[PG_PASSWORD_ENV], **postgres)
    with conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {DST_TABLE}")
        cur.execute(
            f"CREATE TABLE {DST_TABLE} (reading_id integer PRIMARY KEY, "
            "measured_local timestamp without time zone, true_utc timestamptz)"
        )
        cur.executemany(f"INSERT INTO {DST_TABLE} VALUES (%s, %s, %s)", rows)
    yield postgres
    with conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {DST_TABLE}")
    conn.close()


@pytest.mark.parametrize(
    ("season", "start", "end", "counts"),
    [
        ("spring", "2024-03-30", "2024-04-02", [96, 92, 4]),
        ("autumn", "2024-10-26", "2024-10-28", [92, 100]),
    ],
)
def test_naive_local_times_across_a_dst_change_become_the_right_utc_instants(
    dst_source: dict[str, Any],
    target: ReceiverProcess,
    dead_letter_dir: Path,
    season: str,
    start: str,
    end: str,
    counts: list[int],
) -> None:
    """Day windows in Europe/London bind naive local bounds; a 23-hour and a 25-hour day
    read 92 and 100 rows, and every row is read once.

    Naive times cannot tell the two passes of the repeated autumn hour apart
    (01:00-01:59 local happens in BST, then again in GMT): such a time is read as the
    first pass (BST), the rule zoneinfo applies (fold=0). The four readings taken in
    the second pass therefore come out one hour early; every other reading is exact.
    """
    job = postgres_job(dst_source, PG_PASSWORD_ENV, target.url, id="reading_id")
    job = replace(
        job,
        name="dst",
        sql=DST_SQL,
        transform=lambda row: {
            "reading_id": row["reading_id"],
            "measured_at": row["measured_local"],
            "true_utc": row["true_utc"],
        },
        source=replace(job.source, timezone="Europe/London", bounds="naive"),
        timezone="Europe/London",
        date_field=None,
    )

    summary = asyncio.run(transfer_range(job, start, end))

    assert summary.ok, summary.failed
    assert [report.rows for report in summary.windows] == counts
    stored = target.ids("readings")
    assert len(stored) == sum(counts) == 192 and set(stored.values()) == {1}
    repeated_hour = (datetime(2024, 10, 27, 1, tzinfo=UTC), datetime(2024, 10, 27, 2, tzinfo=UTC))
    early = []
    for doc_id in stored:
        document = target.get("readings", doc_id)
        assert document is not None
        truth = datetime.fromisoformat(document["true_utc"].replace("Z", "+00:00"))
        read = datetime.fromisoformat(document["measured_at"].replace("Z", "+00:00"))
        assert document["measured_at"].endswith("Z")
        if repeated_hour[0] <= truth < repeated_hour[1]:
            early.append(truth)
            assert read == truth - timedelta(hours=1)
        else:
            assert read == truth, document
    assert len(early) == (4 if season == "autumn" else 0)


class Records(logging.Handler):
    """Collects what one logger emits (the root's handlers belong to Prefect and pytest)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def db2api_log() -> Iterator[Records]:
    logger, handler = logging.getLogger("db2api"), Records()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def test_tls_with_the_ca_file_or_with_verification_off_delivers(
    sqlite_source: Path,
    tls_receiver: ReceiverProcess,
    tls_pair: SelfSigned,
    dead_letter_dir: Path,
    db2api_log: Records,
) -> None:
    """The self-signed case fails without ca_file (see the table); with it, or with
    verify_tls=False (which logs a warning naming the risk), every row arrives."""
    tls_receiver.reset()
    job = sqlite_job(str(sqlite_source), tls_receiver.url)
    source = sqlite_ids(sqlite_source, *DAY)

    trusted = asyncio.run(transfer_range(with_target(job, ca_file=str(tls_pair.cert)), *DAY))

    assert trusted.ok and set(tls_receiver.ids("readings")) == source
    assert not [r for r in db2api_log.records if "TLS" in r.getMessage()]

    tls_receiver.reset()
    unchecked = asyncio.run(transfer_range(with_target(job, verify_tls=False), *DAY))

    assert unchecked.ok and set(tls_receiver.ids("readings")) == source
    [warning] = [r for r in db2api_log.records if "TLS" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert warning.getMessage() == (
        f"job 'test-sqlite': TLS certificate verification is OFF for {tls_receiver.url} "
        "(target.verify_tls=False); anyone on the path can read or alter what is sent"
    )
