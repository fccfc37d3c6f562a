"""What one transfer is: source, SQL, transform, document id, target and limits.

A job is one small Python file in ``jobs/`` that builds a :class:`Job`. Everything
that differs between machines (hosts, URLs, passwords, API keys) is read from the
environment or a Prefect Secret block *when the job runs*, never stored in the file,
so listing or loading a job never needs production credentials.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any, Literal, NoReturn
from urllib.parse import urlsplit

from etlhelper import DbParams
from yarl import URL

from db2api.errors import JobError
from db2api.retry import RetryPolicy
from db2api.sources import SOURCES, SourceKind
from db2api.windows import parse_length, zone

Row = dict[str, Any]
Transform = Callable[[Row], Mapping[str, Any]]
IdSpec = str | Sequence[str] | Callable[[Row], Any]
Mode = Literal["bulk", "item", "batch"]
Upsert = Literal["none", "put-or-post", "post-or-put"]
UPSERTS: tuple[str, ...] = ("none", "put-or-post", "post-or-put")
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")  # what Prefect allows in a Variable's name
MAX_NAME = 200  # db2api-ledgershard-<job>-<slot>-<n> within Prefect's 255


@dataclass(frozen=True)
class Env:
    """A setting read from an environment variable when the job runs."""

    name: str
    default: str | None = None
    help: str = ""

    def resolve(self, job: str) -> str:
        value = os.environ.get(self.name, self.default)
        if value is None:
            what = f" ({self.help})" if self.help else ""
            raise JobError(
                f"environment variable {self.name} is not set{what}: export it before "
                f"running job {job!r}"
            )
        return value


@dataclass(frozen=True)
class Secret:
    """A setting read from a Prefect Secret block when the job runs (e.g. a header value)."""

    block: str


Setting = str | Env
HeaderValue = str | Env | Secret


def resolve(value: Any, job: str) -> Any:
    return value.resolve(job) if isinstance(value, Env) else value


@dataclass(frozen=True)
class Source:
    """A database reached through etlhelper, with where its password lives."""

    db: DbParams
    password_env: str | None = None
    password_secret: str | None = None
    # Naive datetimes in rows, and window bounds sent to the database, are in this zone.
    timezone: str = "UTC"
    # How window bounds are bound: aware datetimes (timestamptz), naive datetimes in
    # `timezone` (Oracle DATE/TIMESTAMP), or text 'YYYY-MM-DD HH:MM:SS' (SQLite).
    bounds: Literal["aware", "naive", "text"] | None = None

    @property
    def dbtype(self) -> str:
        return str(self.db["dbtype"]).upper()

    @property
    def kind(self) -> SourceKind:
        return SOURCES[self.dbtype]

    @property
    def bound_style(self) -> str:
        return self.bounds or self.kind.default_bounds

    def describe(self, job: str) -> str:
        """Where the source is, without any secret, for error messages."""
        params = {k: resolve(v, job) for k, v in self.db.items() if k != "dbtype"}
        return self.kind.describe(params)


@dataclass(frozen=True)
class Target:
    """Where documents go, and how: ``mode`` names the target kind (``db2api.targets``).

    ``bulk``: Elasticsearch / OpenSearch ``_bulk`` NDJSON capped by ``bulk_docs`` and
    ``bulk_bytes``, with ``op_type`` ``index`` (overwrite) or ``create`` (write once,
    data streams). ``item``: a plain HTTP API, one request per document (``method`` +
    ``path``, where ``{index}`` and ``{id}`` are filled in; for an API that creates
    nothing on PUT, ``upsert`` falls back between ``PUT path`` and ``POST
    collection_path``, see :mod:`db2api.targets.http_item`). ``batch``: a plain HTTP
    API taking a JSON array of up to ``bulk_docs`` documents per request at ``path``
    (wrapped as ``{batch_wrap: [...]}`` if set; per-document results read from the
    response field ``batch_items`` if set).
    """

    url: Setting
    index: str
    mode: Mode = "bulk"
    method: str | None = None  # item: PUT; batch: POST
    path: str = "/{index}/_doc/{id}"
    upsert: Upsert = "none"
    collection_path: str | None = None  # default: path without its trailing "/{id}"
    bulk_docs: int = 1000
    bulk_bytes: int = 5 * 1024 * 1024
    op_type: Literal["index", "create"] = "index"
    # Read every acknowledged id back before a window counts as done: bulk with _mget,
    # item with GET of prove_path (default: path), batch with GET of prove_path (no
    # default: without it a batch target's word is taken, and the run says so).
    # "content" also compares the fields sent with those read back (item and batch).
    prove: bool | Literal["content"] = True
    prove_path: str | None = None  # item/batch: "{id}", "name={ids*}" or "{ids}" (readback)
    id_field: str = "id"  # item/batch: the document field holding the id (POST, look-ups)
    batch_wrap: str | None = None
    batch_items: str | None = None
    auth_env: str | None = None
    auth_secret: str | None = None
    auth_scheme: str = "ApiKey"
    # Values may be Env(...) or Secret("block"); every value is masked in what a run writes.
    headers: Mapping[str, HeaderValue] = field(default_factory=dict)
    timeout: float = 30.0
    verify_tls: bool = True
    ca_file: str | None = None  # a private CA's certificate (PEM), instead of turning checks off
    # bulk: delete this job's documents the source no longer returns, window by window
    # (db2api.targets.es_reconcile); refused when more than this share would go.
    reconcile: bool = False
    max_delete_fraction: float = 0.1

    def __post_init__(self) -> None:
        if self.method is None:
            from db2api.targets import KINDS

            kind = KINDS.get(self.mode)
            object.__setattr__(self, "method", kind.default_method if kind else "PUT")


@dataclass(frozen=True)
class Job:
    name: str
    source: Source
    sql: str
    id: IdSpec
    target: Target
    transform: Transform | None = None
    window: str | timedelta = "1d"
    timezone: str = "UTC"
    chunk_size: int = 5000
    # Requests in flight for the whole run. Default: 8 _bulk requests (each carries up
    # to bulk_docs documents), or 64 single-document requests in item mode, where
    # throughput is latency-bound. The adaptive limit lowers it when the target pushes back.
    concurrency: int | None = None
    # Windows worked on at once (each with its own query and source connection), so
    # one window's query, tail and completeness check overlap the others' uploads.
    # Measured on 1M rows in daily windows: 2 -> 39k docs/s, 4 -> 52k, 6 -> 58k.
    windows_in_flight: int = 4
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    date_field: str | None = None
    first_start: date | None = None
    lag: str | timedelta | None = None
    dead_letter_dir: str = "dead-letters"
    # Stop the run after a window that dead-lettered more than this share of its rows.
    max_dead_fraction: float | None = None
    # Bump to make re-runs send windows again even though the SQL and code are unchanged.
    version: str = "1"

    def __post_init__(self) -> None:
        check(self)
        if self.concurrency is None:
            from db2api.targets import kind_of

            object.__setattr__(self, "concurrency", kind_of(self.target).default_concurrency)

    @property
    def window_length(self) -> timedelta:
        return parse_length(self.window)

    @cached_property
    def fingerprint(self) -> str:
        """Changes when what a window sends changes, so its cache entry goes stale."""
        from db2api.targets import kind_of

        parts = [
            self.version,
            " ".join(self.sql.split()),
            _code(self.transform),
            _code(self.id) if callable(self.id) else repr(self.id),
            repr(self.target.url),
            *kind_of(self.target).fingerprint(self.target),
            self.source.timezone,
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def _code(fn: object) -> str:
    if fn is None:
        return "-"
    try:
        return inspect.getsource(fn)  # type: ignore[arg-type]
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        return repr((code.co_code, code.co_consts)) if code else repr(fn)


def check(job: Job) -> None:
    """Refuse a job that cannot work, naming the field and the fix."""

    fail = _failer(job)
    if not isinstance(job.name, str) or not _NAME.match(job.name):
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
    from db2api.targets import KINDS

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
        from db2api.targets.es_reconcile import check_reconcile

        check_reconcile(job, KINDS[target.mode], fail)
    if isinstance(target.url, str):
        check_url(target.url, job.name)


def check_proof_settings(job: Job) -> None:
    from db2api.targets import KINDS
    from db2api.targets.readback import PROVES

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
