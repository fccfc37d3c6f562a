"""Everything one run shares: secrets, the HTTP session, the sink, the dead-letter file.

Built once per run on the flow's event loop and handed to every window, so there
is one connection pool and one concurrency limit however many windows and chunks
are in flight.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from db2api.deadletters import DeadLetterFile, dead_letter_folder
from db2api.dryrun import DrySink
from db2api.errors import JobError, TargetError
from db2api.extract import ConnectionPool
from db2api.http import open_session
from db2api.job import Job, check_url, resolve
from db2api.limiter import Limiter
from db2api.log import run_logger
from db2api.scrub import SCRUBBER
from db2api.targets import DocumentSink, TargetKind, kind_of


class Runtime:
    __slots__ = ("dead_letters", "job", "kind", "limiter", "password", "pool", "sink", "url")

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
        from prefect.blocks.system import Secret

        try:
            secret = await Secret.aload(block)
        except ValueError as exc:
            raise JobError(
                f"Prefect Secret block {block!r} ({what}) was not found: create it in the UI "
                f"(Blocks > Secret) or with Secret(value=...).save({block!r})"
            ) from exc
        value = str(secret.get())
    else:
        return None
    SCRUBBER.add(value)
    return value


def auth_header(scheme: str, value: str) -> str:
    if scheme.lower() == "basic":
        return "Basic " + base64.b64encode(value.encode()).decode()
    return f"{scheme} {value}".strip()


async def preflight(url: str, job: str) -> None:
    """Fail in one line when nothing listens at the target, before reading any rows."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), 10)
    except (OSError, TimeoutError) as exc:
        reason = (
            "connection refused"
            if isinstance(exc, ConnectionRefusedError)
            else "host name not found"
            if isinstance(exc, socket.gaierror)
            else "timed out"
            if isinstance(exc, TimeoutError)
            else exc.strerror or type(exc).__name__
        )
        raise TargetError(
            f"cannot reach target {parts.scheme}://{parts.hostname}:{port} for job {job!r}: "
            f"{reason}; check that it is running and that target.url is right"
        ) from None
    writer.close()
    await writer.wait_closed()


def check_settings(job: Job) -> None:
    """Resolve every environment setting now, so a missing one is reported before any work."""
    for value in (*job.source.db.values(), job.target.url):
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
async def open_runtime(job: Job, label: str, dry_run: bool = False) -> AsyncIterator[Runtime]:
    """Resolve secrets, check the target answers, open the session: one per run.

    A dry run resolves everything too (so it proves the configuration) but opens
    no connection to the target and sends nothing.
    """
    target = job.target
    url = check_url(resolve(target.url, job.name), job.name)
    password = await read_secret(
        job.source.password_env, job.source.password_secret, f"password for job {job.name!r}"
    )
    token = await read_secret(target.auth_env, target.auth_secret, f"API key for job {job.name!r}")
    headers = dict(target.headers)
    if token is not None:
        headers["Authorization"] = auth_header(target.auth_scheme, token)
        SCRUBBER.add(headers["Authorization"])
    if not target.verify_tls:
        run_logger().warning(
            f"job {job.name!r}: TLS certificate verification is OFF for {url} "
            "(target.verify_tls=False); anyone on the path can read or alter what is sent"
        )
    if not dry_run:
        await preflight(url, job.name)
    concurrency = job.concurrency or 8  # set by Job itself; `or` for type checkers
    limiter = Limiter(concurrency)
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
        if dry_run:
            sink = DrySink(target, kind_of(target))
        else:
            session = open_session(
                concurrency, target.timeout, target.verify_tls, headers, target.ca_file
            )
            await stack.enter_async_context(session)
            sink = kind_of(target).sink(session, url, target, job.retry, limiter, hint)
        runtime = Runtime(job, url, password, sink, limiter, dead_letters)
        stack.callback(runtime.pool.close)
        yield runtime
