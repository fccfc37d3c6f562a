"""``db2api check JOB``: what a run depends on, one line per check, nothing written.

A nightly run finds a wrong password, a renamed column or a missing index only at
02:15, after a server started and windows were planned. These checks ask the same
questions up front, in the run's order: the job loads; the source logs in and the
job's SQL runs over the most recent window (a sample of it); the sample becomes
documents with ids, dates and sizes the target takes (:mod:`db2api.ops.check_documents`);
the target answers, accepts
the credentials and has the index (:mod:`db2api.ops.check_target`); dead letters
can be written. A check that cannot be asked because an earlier one failed says
``skip`` and why. Every detail line is masked like everything a run writes.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

from etlhelper import fetchall
from etlhelper.exceptions import ETLHelperExtractError

from db2api.errors import Db2apiError, JobError
from db2api.job import Job, Row
from db2api.ops.check_documents import check_date_field, check_ids, check_size, check_transform
from db2api.ops.check_target import check_target
from db2api.ops.results import Result, fail, ok, skip
from db2api.read.extract import (
    bind_parameters,
    connect,
    explain_extract_error,
    lazy_dict_row_factory,
)
from db2api.records.deadletters import check_writable, dead_letter_folder
from db2api.records.document import Document
from db2api.records.windows import Window, to_moment, zone
from db2api.run.catalog import job_files, load_job
from db2api.run.planning import today_start
from db2api.scrub import SCRUBBER

SAMPLE_ROWS = 100


def require_known(name: str) -> None:
    """Refuse a job that does not exist (bad input, exit 2); one that is broken is a check."""
    if name.endswith(".py"):
        if not Path(name).is_file():
            raise JobError(f"job file {name} does not exist")
    elif name not in job_files():
        load_job(name)  # raises the one line naming the known jobs


def check_job(name: str) -> tuple[Result, Job | None]:
    try:
        job = load_job(name)
    except JobError as exc:
        return fail("job", str(exc)), None
    target = job.target
    return ok(
        "job",
        f"{job.name}: {job.source.dbtype} -> {target.mode} {target.index!r}, windows of "
        f"{job.window} ({job.timezone})",
    ), job


def recent_window(job: Job, end: date | datetime | None = None) -> Window:
    """The window ending at ``end`` (default: today 00:00 in the job's timezone)."""
    tz = zone(job.timezone)
    hi = to_moment(end, tz) if end is not None else today_start(job)
    lo = (hi.astimezone(tz) - job.window_length).astimezone(UTC)  # wall clock, like split()
    return Window(lo, hi)


def check_binds(job: Job) -> Result:
    kind = job.source.kind
    problems: list[str] = []

    def note(message: str) -> NoReturn:
        problems.append(message)
        raise JobError(message)

    try:
        kind.check_sql(job.sql, note)
    except JobError:
        return fail("source binds", problems[0])
    return ok(
        "source binds",
        f"paramstyle {kind.paramstyle}: {kind.start_bind} and {kind.end_bind}, bounds bound "
        f"as {job.source.bound_style}",
    )


def open_source(job: Job) -> tuple[Result, Any]:
    """Log in as a run does, with the password from the job's environment variable."""
    source = job.source
    if source.password_secret:
        return skip(
            "source connect",
            f"the password is in Prefect Secret block {source.password_secret!r}, which check "
            "does not read: set source.password_env to check the login here",
        ), None
    password = os.environ.get(source.password_env) if source.password_env else None
    SCRUBBER.add(password)
    try:
        conn = connect(job, password)
    except Db2apiError as exc:
        return fail("source connect", str(exc)), None
    except Exception as exc:  # a driver that is not installed, or fails its own way
        return fail("source connect", f"{type(exc).__name__}: {exc}"), None
    return ok("source connect", source.describe(job.name)), conn


def sample_rows(job: Job, conn: Any, window: Window, rows: int) -> tuple[Result, list[Row]]:
    """The job's SQL over ``window``, limited by the source kind to ``rows`` rows."""
    sql = job.source.kind.sample_sql(job.sql, rows)
    try:
        found = fetchall(
            sql, conn, parameters=bind_parameters(job, window), row_factory=lazy_dict_row_factory
        )
    except ETLHelperExtractError as exc:
        return fail("source SQL", str(explain_extract_error(job, exc))), []
    if not found:
        return ok(
            "source SQL",
            f"0 rows in {window}: nothing to build documents from; `db2api check "
            f"{job.name} --end DATE` tries the window ending at DATE",
        ), []
    return ok("source SQL", f"{len(found)} rows in {window} (a sample of at most {rows})"), found


def check_dead_letters(job: Job) -> Result:
    folder = dead_letter_folder(job)
    try:
        check_writable(folder)  # removes the probe and any folder it made
    except Db2apiError as exc:
        return fail("dead-letter folder", str(exc))
    return ok("dead-letter folder", f"{folder} is writable")


DOCUMENT_CHECKS = ("transform", "document ids", "date_field", "document size")


def run_checks(
    name: str, end: date | datetime | None = None, rows: int = SAMPLE_ROWS
) -> list[Result]:
    """Every check, in a run's order; raises :class:`JobError` only for an unknown job."""
    require_known(name)
    loaded, job = check_job(name)
    if job is None:
        later = ("source", "target", "dead-letter folder")
        return [loaded, *(skip(check, "the job does not load") for check in later)]
    return [loaded, *check_loaded(job, end, rows)]


def check_loaded(
    job: Job, end: date | datetime | None = None, rows: int = SAMPLE_ROWS
) -> list[Result]:
    """The checks of a job that loaded: source, documents, target, dead-letter folder."""
    results = [check_binds(job)]
    window = recent_window(job, end)
    connected, conn = open_source(job)
    results.append(connected)
    found: list[Row] = []
    if conn is None:
        results.append(skip("source SQL", "no connection"))
    else:
        try:
            queried, found = sample_rows(job, conn, window, rows)
        finally:
            conn.close()
        results.append(queried)
    documents: list[Document] = []
    if not found:
        results += [skip(check, "no sample rows") for check in DOCUMENT_CHECKS]
    else:
        built, sample = check_transform(job, found)
        results.append(built)
        if not sample:
            results += [skip(check, "no documents") for check in DOCUMENT_CHECKS[1:]]
        else:
            ids = check_ids(job, sample)
            results += [ids, check_date_field(job, sample, window)]
            if ids.status == "FAIL":
                results.append(skip("document size", "no ids"))
            else:
                sized, documents = check_size(job, sample)
                results.append(sized)
    results += asyncio.run(check_target(job, [doc.id for doc in documents]))
    results.append(check_dead_letters(job))
    return results
