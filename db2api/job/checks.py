"""Refuse a job that cannot work, naming the field and the fix (run when a Job is built)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

from yarl import URL

from db2api.errors import JobError
from db2api.job.settings import MAX_NAME, NAME_PATTERN, UPSERTS, Env, Secret
from db2api.records.windows import parse_length, zone
from db2api.sources import SOURCES
from db2api.targets import KINDS
from db2api.targets.es_reconcile import check_reconcile
from db2api.targets.readback import PROVES

if TYPE_CHECKING:
    from db2api.job.spec import Job


def check(job: Job) -> None:
    """Refuse a job that cannot work, naming the field and the fix."""

    fail = _failer(job)
    if not isinstance(job.name, str) or not NAME_PATTERN.match(job.name):
        raise JobError(
            f"job name {job.name!r} is not valid: use lower-case letters, digits, '-' or '_'"
        )
    if len(job.name) > MAX_NAME:
        raise JobError(
            f"job name {job.name[:24]!r}… is {len(job.name)} characters long: use at most "
            f"{MAX_NAME} (Prefect Variables named after the job hold at most 255)"
        )
    if job.source.dbtype not in SOURCES:
        fail(f"source dbtype {job.source.dbtype!r} is not supported: use one of {sorted(SOURCES)}")
    if job.source.password_env and job.source.password_secret:
        fail("set source.password_env or source.password_secret, not both")
    check_binds(job)
    if isinstance(job.id, str | list | tuple) and not job.id:
        fail("id is empty: name the column (or columns) that identify a row, or a function")
    if not (isinstance(job.id, str | list | tuple) or callable(job.id)):
        fail(f"id must be a column name, a list of column names or a function (got {job.id!r})")
    if job.transform is not None and not callable(job.transform):
        fail("transform must be a function taking a row dict and returning a document dict")
    for name in ("chunk_size", "concurrency", "windows_in_flight"):
        value = getattr(job, name)
        if name == "concurrency" and value is None:
            continue  # the target kind's default
        if not isinstance(value, int) or value < 1:
            fail(f"{name} must be a whole number of at least 1 (got {value!r})")
    limit = job.max_dead_fraction
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int | float) or not 0 < limit <= 1
    ):
        fail(
            f"max_dead_fraction must be a number above 0 and at most 1 (got {limit!r}), e.g. "
            "0.1 stops the run after a window that dead-lettered more than 10% of its rows"
        )
    try:
        parse_length(job.window)
        if job.lag is not None:
            parse_length(job.lag, "lag")
        zone(job.timezone)
        zone(job.source.timezone)
    except Exception as exc:
        fail(str(exc))
    check_target(job)


def _failer(job: Job) -> Callable[[str], NoReturn]:
    def fail(message: str) -> NoReturn:
        raise JobError(f"job {job.name!r}: {message}")

    return fail


def check_binds(job: Job) -> None:
    kind = job.source.kind
    kind.check_sql(job.sql, _failer(job))
    between = rf"\bBETWEEN\s+{re.escape(kind.start_bind)}\s+AND\s+{re.escape(kind.end_bind)}"
    if re.search(between, job.sql, re.IGNORECASE):
        _failer(job)(
            f"SQL selects BETWEEN {kind.start_bind} AND {kind.end_bind}, which reads a row on "
            f"the boundary in two windows: select with >= {kind.start_bind} AND "
            f"< {kind.end_bind}, not BETWEEN"
        )


def check_target(job: Job) -> None:
    target = job.target
    fail = _failer(job)
    if target.mode not in KINDS:
        fail(
            f"target mode must be one of {', '.join(repr(name) for name in KINDS)} "
            f"(got {target.mode!r})"
        )
    if target.auth_env and target.auth_secret:
        fail("set target.auth_env or target.auth_secret, not both")
    if target.upsert not in UPSERTS:
        fail(
            f"target.upsert must be one of {', '.join(repr(name) for name in UPSERTS)} "
            f"(got {target.upsert!r})"
        )
    if target.upsert != "none" and not KINDS[target.mode].takes_upsert:
        fail(
            f"target.upsert {target.upsert!r} works one document at a time: "
            "use mode='item', or leave upsert at 'none'"
        )
    check_proof_settings(job)
    KINDS[target.mode].check(target, fail)
    timeout = target.timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        fail(
            f"target.timeout must be a number of seconds above 0 (got {timeout!r}): a request "
            "without a time limit can hang the run; the default is 30"
        )
    for name, value in dict(target.headers).items():
        if not isinstance(name, str) or not isinstance(value, str | Env | Secret):
            fail(
                f"target.headers[{name!r}] must map a header name to a string, Env(...) or "
                f"Secret(...) (got {type(value).__name__})"
            )
    if target.reconcile:
        check_reconcile(job, KINDS[target.mode], fail)
    if isinstance(target.url, str):
        check_url(target.url, job.name)


def check_proof_settings(job: Job) -> None:
    target, fail = job.target, _failer(job)
    if target.prove not in PROVES or not isinstance(target.prove, bool | str):
        fail(
            "target.prove must be True (read acknowledged ids back), 'content' (ids and "
            f"fields) or False (take the target's word), got {target.prove!r}"
        )
    if not isinstance(target.id_field, str) or not target.id_field:
        fail(f"target.id_field must name the document field with the id (got {target.id_field!r})")
    if not KINDS[target.mode].takes_prove_path and (
        target.prove_path is not None or target.prove == "content"
    ):
        fail(
            f"{target.mode} mode proves ids with _mget: leave target.prove_path unset and "
            "target.prove at True (or False)"
        )


def check_url(url: str, job: str) -> str:
    """The target URL without surrounding blanks or a trailing '/', or a one-line refusal."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise JobError(
            f"job {job!r}: target URL {_safe_url(url)!r} is not an http(s) URL: "
            "write e.g. https://search.example.org:9200"
        )
    if parts.username or parts.password:
        raise JobError(
            f"job {job!r}: target URL contains credentials; move them to target.auth_env "
            "or target.auth_secret so they stay out of logs"
        )
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        raise JobError(
            f"job {job!r}: target URL {_safe_url(url)!r} contains a space or control "
            "character: remove it, or percent-encode it (%20) if the path really has one"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise JobError(
            f"job {job!r}: target URL {_safe_url(url)!r} has a port that is not a number "
            "from 0 to 65535: write e.g. https://search.example.org:9200"
        ) from None
    if not url.isascii():  # requests send URLs as already encoded
        url = str(URL(url))
    return url.rstrip("/")


def _safe_url(url: str) -> str:
    # Greedy up to the last "@" before the path: a raw "@" in a password stays hidden.
    return re.sub(r"//[^/]*@", "//***@", url)
