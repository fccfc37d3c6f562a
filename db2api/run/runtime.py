"""Everything one run shares: secrets, the HTTP session, the sink, the dead-letter file.

Built once per run on the flow's event loop and handed to every window, so there
is one connection pool and one concurrency limit however many windows and chunks
are in flight.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from db2api.errors import JobError
from db2api.job import Job, Secret, check_url, resolve
from db2api.log import run_logger
from db2api.read.extract import ConnectionPool
from db2api.records.deadletters import (
    DeadLetterFile,
    check_writable,
    dead_letter_folder,
    deletions_path,
)
from db2api.records.resolutions import dead_letter_files
from db2api.scrub import SCRUBBER
from db2api.targets import DocumentSink, TargetKind, kind_of
from db2api.targets.es_reconcile import Reconciler
from db2api.transport.http import open_session
from db2api.transport.limiter import Limiter
from db2api.write.dryrun import DrySink
from db2api.write.reach import PLAIN_HEADERS, auth_header, preflight


class Tally:
    """Figures of the whole run so far, while windows are still running."""

    __slots__ = ("acked", "dead", "dry_run", "retries", "rows")

    def __init__(self, dry_run: bool = False) -> None:
        self.rows = self.acked = self.dead = self.retries = 0
        self.dry_run = dry_run

    def line(self, state: str = "", retries: int | None = None) -> str:
        """``retries``: the sink's own count, which includes sends still waiting on the target."""
        if self.dry_run:
            return f"so far: {self.rows:,} rows read, {self.acked:,} would be sent (dry run)"
        return (
            f"so far: {self.rows:,} rows read, {self.acked:,} acknowledged, "
            f"{self.dead:,} dead letters, {self.retries if retries is None else retries:,} retries"
            + (f"; {state}" if state else "")
        )


class Runtime:
    __slots__ = (
        "dead_letters",
        "had_letters",
        "job",
        "kind",
        "limiter",
        "password",
        "pool",
        "reconciler",
        "sink",
        "tally",
        "url",
    )

    def __init__(
        self,
        job: Job,
        url: str,
        password: str | None,
        sink: DocumentSink,
        limiter: Limiter,
        dead_letters: DeadLetterFile,
    ) -> None:
        self.job = job
        self.url = url
        self.password = password
        self.sink = sink
        self.limiter = limiter
        self.dead_letters = dead_letters
        self.pool = ConnectionPool(job, password)
        self.kind: TargetKind = kind_of(job.target)
        self.tally = Tally(dry_run=isinstance(sink, DrySink))
        self.reconciler: Reconciler | None = None  # target.reconcile: deletes reach the target
        # Dead-letter files of earlier runs, which ids delivered now may resolve: looked
        # up once per run (the windows of a catch-up would each ask the folder again).
        self.had_letters = bool(dead_letter_files(dead_letter_folder(job)))


#: Reads a Prefect Secret block by name (raising JobError when there is none); the
#: orchestration layer installs it (:mod:`db2api.orchestration.secrets`), so a plain run
#: never imports Prefect.
BlockReader = Callable[[str, str], Awaitable[str]]
_block_reader: BlockReader | None = None


def use_secret_blocks(reader: BlockReader) -> None:
    """Install how a named Secret block is read (the orchestration layer does)."""
    global _block_reader
    _block_reader = reader


async def read_secret(env: str | None, block: str | None, what: str) -> str | None:
    """A secret from an environment variable or a Prefect Secret block."""
    if env:
        value = os.environ.get(env)
        if value is None:
            raise JobError(
                f"environment variable {env} ({what}) is not set: export it, or store it in "
                "a Prefect Secret block and name that block in the job instead"
            )
    elif block:
        if _block_reader is None:
            raise JobError(
                f"Prefect Secret block {block!r} ({what}) is read through Prefect: run the job "
                "with `db2api run` or the transfer flow (or import db2api.orchestration "
                "first), or name an environment variable instead"
            )
        value = await _block_reader(block, what)
    else:
        return None
    SCRUBBER.add(value)
    return value


async def resolve_headers(job: Job) -> tuple[dict[str, str], dict[str, str]]:
    """The target's headers as sent, and the values among them to mask (by header name)."""
    headers: dict[str, str] = {}
    secret: dict[str, str] = {}
    for name, value in job.target.headers.items():
        if isinstance(value, Secret):
            what = f"header {name} for job {job.name!r}"
            text = await read_secret(None, value.block, what) or ""
        else:
            text = str(resolve(value, job.name))
        headers[name] = text
        if name.lower() not in PLAIN_HEADERS:
            secret[f"header {name}"] = text
    return headers, secret


def register_secrets(job: Job, secrets: dict[str, str | None]) -> None:
    """Mask every secret from now on; warn once about those too short to mask inside text."""
    short = [what for what, value in secrets.items() if value and not SCRUBBER.add(value)]
    if short:
        run_logger().warning(
            f"job {job.name!r}: {', '.join(short)} "
            f"{'is' if len(short) == 1 else 'are'} shorter than 8 characters, so masked only "
            "where the whole value stands alone, not inside other text: use a longer secret"
        )


def check_settings(job: Job) -> None:
    """Resolve every environment setting now, so a missing one is reported before any work."""
    headers = [value for value in job.target.headers.values() if not isinstance(value, Secret)]
    for value in (*job.source.db.values(), job.target.url, *headers):
        resolve(value, job.name)
    for variable, what in (
        (job.source.password_env, "the source password"),
        (job.target.auth_env, "the target API key"),
    ):
        if variable and variable not in os.environ:
            raise JobError(
                f"environment variable {variable} ({what} for job {job.name!r}) is not set: "
                "export it, or store it in a Prefect Secret block and name that block in the job"
            )


def dead_letter_path(job: Job, label: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return dead_letter_folder(job) / f"{stamp}_{label}.jsonl"


@asynccontextmanager
async def open_runtime(
    job: Job, label: str, dry_run: bool = False, max_delete_fraction: float | None = None
) -> AsyncIterator[Runtime]:
    """Resolve secrets, check the target answers, open the session: one per run.

    A dry run resolves everything too (so it proves the configuration) but sends
    nothing; it opens no connection to the target unless the job reconciles, when
    it searches the target to say what would be deleted.
    """
    target = job.target
    url = check_url(resolve(target.url, job.name), job.name)
    password = await read_secret(
        job.source.password_env, job.source.password_secret, f"password for job {job.name!r}"
    )
    token = await read_secret(target.auth_env, target.auth_secret, f"API key for job {job.name!r}")
    headers, secret_headers = await resolve_headers(job)
    if token is not None:
        headers["Authorization"] = auth_header(target.auth_scheme, token)
        secret_headers["the Authorization header"] = headers["Authorization"]
    register_secrets(
        job, {"the source password": password, "the target API key": token, **secret_headers}
    )
    if not target.verify_tls:
        run_logger().warning(
            f"job {job.name!r}: TLS certificate verification is OFF for {url} "
            "(target.verify_tls=False); anyone on the path can read or alter what is sent"
        )
    # Dead letters and (reconciling) deleted documents go to this folder: a run that
    # could not write them must stop before it sends anything.
    check_writable(dead_letter_folder(job))
    online = not dry_run or target.reconcile
    if online:
        await preflight(url, job.name)
    concurrency = job.concurrency or 8  # set by Job itself; `or` for type checkers
    # The floor: random 429s or a few hung requests must not pin the limit near 1.
    limiter = Limiter(concurrency, minimum=max(1, concurrency // 2))
    hint = (
        f"the API key in {target.auth_env or 'Secret ' + repr(target.auth_secret)}"
        if token is not None
        else "target.auth_env (no credentials were sent)"
    )
    dead_letters = DeadLetterFile(
        dead_letter_path(job, f"{label}-dry-run" if dry_run else label), job.name
    )
    async with AsyncExitStack() as stack:
        stack.callback(dead_letters.close)
        sink: DocumentSink
        live = None
        if online:
            session = open_session(
                concurrency, target.timeout, target.verify_tls, headers, target.ca_file
            )
            await stack.enter_async_context(session)
            live = kind_of(target).sink(session, url, target, job.retry, limiter, hint)
        sink = DrySink(target, kind_of(target)) if dry_run or live is None else live
        runtime = Runtime(job, url, password, sink, limiter, dead_letters)
        if target.reconcile and live is not None:
            deletions = DeadLetterFile(deletions_path(dead_letters.path), job.name)
            stack.callback(deletions.close)
            runtime.reconciler = Reconciler(
                job,
                live,
                deletions,
                max_delete_fraction,
                dry_run,  # type: ignore[arg-type]
            )
        stack.callback(runtime.pool.close)
        yield runtime
