"""Read a window with etlhelper in a worker thread, hand chunks over a bounded queue.

The database driver blocks, so ``iter_chunks`` runs in its own thread and builds
documents there; the event loop only uploads. The queue holds at most
``max_ready`` chunks: when uploads fall behind, the thread waits (backpressure),
so memory stays bounded whatever the window's size.

What differs between databases (binds, bounds, cursors, session settings) is
the source kind's (``db2api.sources``); what a chunk becomes before it is sent is
the target kind's (``db2api.targets``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import janus
from etlhelper import iter_chunks
from etlhelper.exceptions import ETLHelperConnectionError, ETLHelperExtractError

from db2api.errors import Db2apiError, SourceError, SourceLost
from db2api.job import Job, resolve
from db2api.read.build import DocumentBuilder
from db2api.records.document import Chunk
from db2api.records.windows import Window, zone
from db2api.targets import kind_of

Connection = Any


def lazy_dict_row_factory(cursor: Any) -> Callable[[tuple[Any, ...]], dict[str, Any]]:
    """Like etlhelper's dict rows, but reads column names at the first row.

    A server-side cursor has no ``description`` until it has fetched something.
    """
    names: list[str] = []

    def create_row(row: tuple[Any, ...]) -> dict[str, Any]:
        if not names:
            names.extend(column[0] for column in cursor.description)
        return dict(zip(names, row, strict=True))

    return create_row


def bind_parameters(job: Job, window: Window) -> dict[str, Any] | tuple[Any, ...]:
    """The window's bounds in the form the source's column type compares with."""
    tz = zone(job.source.timezone)
    style = job.source.bound_style
    kind = job.source.kind

    def bound(moment: datetime) -> Any:
        if style == "aware":
            return moment
        return kind.bound(moment.astimezone(tz).replace(tzinfo=None), style)  # type: ignore[arg-type]

    return kind.bind(bound(window.start), bound(window.end))


def connect(job: Job, password: str | None) -> Connection:
    """Open the source connection, translating driver errors into one line."""
    source = job.source
    kind = source.kind
    params = {key: resolve(value, job.name) for key, value in source.db.items()}
    where = source.describe(job.name)
    kind.before_connect(params, job.chunk_size, job.name)
    variable = source.password_env
    if password is None and variable:
        password = os.environ.get(variable)
        if password is None:
            raise SourceError(
                f"password environment variable {variable} is not set (job {job.name!r}): "
                f"export it, or name a Prefect Secret block in source.password_secret"
            )
    try:
        conn = kind.connect(params, password, job.name)
    except ETLHelperConnectionError as exc:
        detail = _first_line(str(exc.__context__ or exc))
        raise SourceError(
            f"cannot connect to {where} (job {job.name!r}): {detail}; check host, port, "
            "user and password, and that the database is up"
        ) from None
    kind.after_connect(conn)
    return conn


class ConnectionPool:
    """Source connections kept open across the windows of a run.

    Logging in costs milliseconds per window (SCRAM on PostgreSQL, a session on
    Oracle); a run of hundreds of windows would spend seconds on it. A connection
    is used by one window at a time and dropped if its window failed.
    """

    def __init__(self, job: Job, password: str | None) -> None:
        self.job = job
        self.password = password
        self.opened = 0
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        # Window readers reuse threads too: starting one per window waits on the GIL.
        self.threads = ThreadPoolExecutor(
            max_workers=job.windows_in_flight + 1, thread_name_prefix=f"db2api-read-{job.name}"
        )

    def take(self) -> Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        conn = connect(self.job, self.password)
        with self._lock:
            self.opened += 1
        return conn

    def give(self, conn: Connection, healthy: bool) -> None:
        if healthy and not getattr(conn, "closed", False):
            with self._lock:
                self._idle.append(conn)
                return
        with contextlib.suppress(Exception):
            conn.close()

    def close(self) -> None:
        self.threads.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()


def _first_line(text: str) -> str:
    """A driver message in one line: its first line, plus the OS reason some add below it."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return "no detail"
    cause = next((line for line in lines[1:] if line.startswith("[Errno")), "")
    return f"{lines[0].rstrip('.')} ({cause})" if cause else lines[0]


def explain_extract_error(job: Job, exc: ETLHelperExtractError) -> SourceError:
    kind = job.source.kind
    style, start, end = kind.paramstyle, kind.start_bind, kind.end_bind
    detail = _first_line(str(exc.__context__ or exc))
    sql = " ".join(job.sql.split())
    return SourceError(
        f"SQL failed on {job.source.describe(job.name)} (job {job.name!r}): {detail}. "
        f"This source needs paramstyle {style} with binds {start} and {end}. SQL: {sql[:300]}"
    )


async def iter_window_chunks(
    job: Job, window: Window, pool: ConnectionPool | None = None, max_ready: int = 2
) -> AsyncIterator[Chunk]:
    """Yield the window's chunks while the next ones are read in a thread."""
    queue: janus.Queue[Chunk | BaseException] = janus.Queue(maxsize=max_ready)
    builder = DocumentBuilder(job, window)
    target = job.target
    kind = kind_of(target)

    def build(number: int, rows: Any) -> Chunk:
        chunk = builder.build(number, rows)
        chunk.prepared = kind.prepare(chunk.documents, target)
        return chunk

    parameters = bind_parameters(job, window)
    own_pool = pool is None
    source = pool or ConnectionPool(job, None)

    def produce() -> None:
        try:
            conn = source.take()
            healthy = False
            chunks: Any = None
            try:
                chunks = iter_chunks(
                    job.sql,
                    conn,
                    parameters=parameters,
                    row_factory=lazy_dict_row_factory,
                    chunk_size=job.chunk_size,
                )
                for number, rows in enumerate(chunks, start=1):
                    queue.sync_q.put(build(number, rows))
                healthy = True
                outside = builder.outside_error()
                if outside is not None:
                    raise outside
            finally:
                if chunks is not None:  # a job error mid-window: let go of the cursor now
                    with contextlib.suppress(Exception):
                        chunks.close()
                source.give(conn, healthy and not own_pool)
        except janus.SyncQueueShutDown:
            return  # the consumer stopped listening
        except ETLHelperExtractError as exc:
            _offer(queue, explain_extract_error(job, exc))
        except BaseException as exc:
            _offer(queue, exc)
        queue.shutdown()

    # The reader runs in this task's context, so its log records (etlhelper's too)
    # belong to the Prefect task run that reads the window.
    context = contextvars.copy_context()
    reader = asyncio.get_running_loop().run_in_executor(source.threads, context.run, produce)
    try:
        while True:
            try:
                item = await queue.async_q.get()
            except janus.AsyncQueueShutDown:
                return
            if isinstance(item, BaseException):
                if isinstance(item, Db2apiError):
                    raise item
                what = (
                    f"reading {job.source.describe(job.name)} failed (job {job.name!r}): "
                    f"{type(item).__name__}: {_first_line(str(item))}"
                )
                if job.source.kind.is_connection_lost(item):
                    raise SourceLost(what) from item
                # Not a lost connection: the same read would fail again, so no retry.
                raise SourceError(
                    f"{what}; this is not a lost connection, so the window is not retried: "
                    "fix the cause and run the range again"
                ) from item
            yield item
    finally:
        queue.shutdown(immediate=True)
        # Wait for the reader to let go of its connection (a long fetch finishes first).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(reader), 30)
        if own_pool:
            source.close()
        await queue.aclose()


def _offer(queue: janus.Queue[Any], item: BaseException) -> None:
    with contextlib.suppress(janus.SyncQueueShutDown):
        queue.sync_q.put(item)
