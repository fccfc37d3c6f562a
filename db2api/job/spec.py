"""What one transfer is: source, SQL, transform, document id, target and limits.

A job is one small Python file in ``jobs/`` that builds a :class:`Job`. Everything
that differs between machines (hosts, URLs, passwords, API keys) is read from the
environment or a Prefect Secret block *when the job runs*, never stored in the file,
so listing or loading a job never needs production credentials.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Literal

from etlhelper import DbParams

from db2api.job.checks import check
from db2api.job.settings import (
    HeaderValue,
    IdSpec,
    Mode,
    Setting,
    Transform,
    Upsert,
    resolve,
)
from db2api.records.windows import parse_length
from db2api.sources import SOURCES, SourceKind
from db2api.targets import KINDS, kind_of
from db2api.transport.retry import RetryPolicy


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
            object.__setattr__(self, "concurrency", kind_of(self.target).default_concurrency)

    @property
    def window_length(self) -> timedelta:
        return parse_length(self.window)

    @cached_property
    def fingerprint(self) -> str:
        """Changes when what a window sends changes: a new delivery key, so done windows
        are sent again (:func:`db2api.records.ledger.delivery_key`)."""
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
