"""The receiver's documents, kept in one SQLite file so they survive a restart.

A test can kill the receiver mid-job and check that a resumed job neither lost nor
duplicated documents, so storage is keyed by (index, id) exactly like Elasticsearch
and every bulk request is one transaction. WAL with ``synchronous=NORMAL`` survives a
killed process (not a power cut), which is the durability a local stand-in needs and
keeps bulk writes fast. The class is synchronous and thread-safe; the app runs it on a
single worker thread so SQLite never blocks the event loop.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from db2api.errors import Db2apiError
from db2api.receiver.catalog import IndexCatalog
from db2api.receiver.writes import WriteOp, WriteResult, merge_documents

_CHUNK = 499  # ids per "IN (...)" query: plus the index that is 500 parameters
_UPSERT = (
    "INSERT INTO docs(idx, id, body, version, seq_no) VALUES (?, ?, ?, 1, ?) "
    "ON CONFLICT(idx, id) DO UPDATE SET body = excluded.body, version = docs.version + 1, "
    "seq_no = excluded.seq_no"
)
RANGE_OPERATORS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}


class StoreError(Db2apiError):
    """The data file cannot be opened or used."""


class StoredDoc(NamedTuple):
    """One stored document as a read by id answers it (``_version``, ``_source``, ``_seq_no``)."""

    version: int
    body: str
    seq_no: int


class Store(IndexCatalog):
    """Documents per (index, id) with a version that counts the writes to that id."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout = 5000")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS docs (idx TEXT NOT NULL, id TEXT NOT NULL, "
                "body TEXT NOT NULL, version INTEGER NOT NULL, "
                "seq_no INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (idx, id))"
            )
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(docs)")}
            if "seq_no" not in columns:  # a data file written before reads showed _seq_no
                self._conn.execute("ALTER TABLE docs ADD COLUMN seq_no INTEGER NOT NULL DEFAULT 0")
            row = self._conn.execute("SELECT COALESCE(SUM(version), 0) FROM docs").fetchone()
            self._open_catalog()
        except (OSError, sqlite3.Error) as exc:
            why = exc.strerror.lower() if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StoreError(
                f"cannot open data file {self.path}: {why}; pick another --data path"
            ) from exc
        # Carry on counting after a restart so _seq_no keeps growing like in Elasticsearch.
        self._seq_no = int(row[0]) - 1
        self._indexed: set[str] = set()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def write(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply the writes in order, in one transaction, reporting created/updated and versions.

        The versions are read up front (a few indexed look-ups) and then tracked in
        memory, so the upserts can go to SQLite in one ``executemany`` per run.
        """
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                results = self._write(ops)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return results

    def _write(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        versions = self._versions(ops)
        results: list[WriteResult] = []
        upserts: list[tuple[str, str, str, int]] = []
        for op, index, doc_id, body, upsert in ops:
            key = (index, doc_id)
            current = versions.get(key)
            if op in ("delete", "update") and upserts:  # keep the order of writes to one id
                self._conn.executemany(_UPSERT, upserts)
                upserts = []
            if op == "delete":
                if current is None:
                    results.append(WriteResult(404, "not_found", 1, self._next_seq_no()))
                    continue
                self._conn.execute("DELETE FROM docs WHERE idx = ? AND id = ?", key)
                versions[key] = None
                results.append(WriteResult(200, "deleted", current + 1, self._next_seq_no()))
                continue
            if op == "create" and current is not None:
                results.append(WriteResult(409, "conflict", current, -1))
                continue
            if op == "update":
                assert body is not None, "an update needs a partial document"
                if current is None and upsert is None:
                    results.append(WriteResult(404, "document_missing", 0, -1))
                    continue
                if current is not None:
                    merged, stored_seq_no = self._merged(key, body)
                    if merged is None:  # nothing changes: Elasticsearch's noop detection
                        results.append(WriteResult(200, "noop", current, stored_seq_no))
                        continue
                    body = merged
                else:
                    body = upsert
            assert body is not None, "index and create need a body"
            version = 1 if current is None else current + 1
            versions[key] = version
            seq_no = self._next_seq_no()
            upserts.append((index, doc_id, body, seq_no))
            created = current is None
            results.append(
                WriteResult(
                    201 if created else 200, "created" if created else "updated", version, seq_no
                )
            )
        if upserts:
            self._conn.executemany(_UPSERT, upserts)
        return results

    def _merged(self, key: tuple[str, str], partial: str) -> tuple[str | None, int]:
        """(the stored document with ``partial`` merged in, or ``None`` if nothing changes;
        its stored ``_seq_no``, which a noop answers as both engines do)."""
        stored, seq_no = self._conn.execute(
            "SELECT body, seq_no FROM docs WHERE idx = ? AND id = ?", key
        ).fetchone()
        before = json.loads(stored)
        after = merge_documents(before, json.loads(partial))
        return (None if after == before else json.dumps(after, ensure_ascii=False)), seq_no

    def _next_seq_no(self) -> int:
        self._seq_no += 1
        return self._seq_no

    def _versions(self, ops: Iterable[WriteOp]) -> dict[tuple[str, str], int | None]:
        by_index: dict[str, set[str]] = {}
        for op in ops:
            by_index.setdefault(op.index, set()).add(op.id)
        versions: dict[tuple[str, str], int | None] = {}
        for index, id_set in by_index.items():
            for doc_id, version in self._stored_versions(index, list(id_set)).items():
                versions[(index, doc_id)] = version
        return versions

    def _stored_versions(self, index: str, ids: Sequence[str]) -> dict[str, int]:
        """Versions of those ``ids`` that exist; caller holds the lock."""
        return dict(self._rows_by_id("version", index, ids))

    def get(self, index: str, doc_id: str) -> StoredDoc | None:
        """The stored document (version, raw JSON body, sequence number) or ``None``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT version, body, seq_no FROM docs WHERE idx = ? AND id = ?", (index, doc_id)
            ).fetchone()
        return None if row is None else StoredDoc(*row)

    def documents(
        self, index: str, ids: Sequence[str], *, bodies: bool = True
    ) -> dict[str, StoredDoc]:
        """id -> stored document for those ``ids`` that exist (for ``_mget``).

        Without ``bodies`` (``_source=false``) only versions and sequence numbers are read,
        and each body is ``"{}"``.
        """
        columns = "version, body, seq_no" if bodies else "version, '{}', seq_no"
        with self._lock:
            rows = self._rows_by_id(columns, index, ids)
        return {doc_id: StoredDoc(*stored) for doc_id, *stored in rows}

    def _rows_by_id(self, columns: str, index: str, ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """(id, *columns) of those ``ids`` that exist, a few indexed look-ups.

        The caller holds the lock.
        """
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            rows += self._conn.execute(
                f"SELECT id, {columns} FROM docs WHERE idx = ? AND id IN ({marks})",
                (index, *chunk),
            )
        return rows

    def index_exists(self, index: str) -> bool:
        with self._lock:
            return self._index_exists(index)

    def _index_exists(self, index: str) -> bool:
        return index in self.defined or self._has_documents(index)

    def count(
        self,
        index: str,
        field: str | None = None,
        bounds: Sequence[tuple[str, str | int | float]] = (),
    ) -> int | None:
        """Documents in ``index`` (``None`` if it has none), optionally within a range.

        ``bounds`` are (``gte``/``gt``/``lte``/``lt``, value) pairs compared with the
        field's JSON value, so ISO-8601 strings compare as text and numbers as numbers.
        """
        sql = "SELECT COUNT(*) FROM docs WHERE idx = ?"
        params: list[object] = [index]
        if field is not None:
            # The path is inlined (validated by json_path) so SQLite can use the
            # expression index: a range count must not scan every stored document.
            expression = f"json_extract(body, '{json_path(field)}')"
            self._index_field(expression)
            for op, value in bounds:
                sql += f" AND {expression} {RANGE_OPERATORS[op]} ?"
                params.append(value)
        with self._lock:
            (count,) = self._conn.execute(sql, params).fetchone()
            if count == 0 and not self._index_exists(index):
                return None
        return int(count)

    def select(self, sql: str, params: Sequence[object], indexed: Sequence[str] = ()) -> list[Any]:
        """Rows of a read-only query (the search builds it), indexing those field expressions."""
        for expression in indexed:
            self._index_field(expression)
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _index_field(self, expression: str) -> None:
        """Index a counted field once, as Elasticsearch has every field indexed."""
        if expression in self._indexed:
            return
        name = "docs_f_" + hashlib.sha1(expression.encode()).hexdigest()[:12]
        with self._lock:
            self._conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON docs (idx, {expression})")
        self._indexed.add(expression)

    def ids(self, index: str) -> dict[str, int] | None:
        """Every id in ``index`` with its version, or ``None`` if there is no such index."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, version FROM docs WHERE idx = ?", (index,)
            ).fetchall()
        return dict(rows) if rows or index in self.defined else None

    def clear(self) -> int:
        """Delete every document and index definition; returns how many documents there were."""
        with self._lock:
            self._clear_catalog()
            return self._conn.execute("DELETE FROM docs").rowcount


def json_path(field: str) -> str:
    """SQLite JSON path for a dotted field name (``a.b`` is ``b`` inside object ``a``)."""
    parts = field.split(".")
    if any(not part or '"' in part or "'" in part for part in parts):
        raise ValueError(f"field name {field!r} cannot be used in a range query")
    return "$" + "".join(f'."{part}"' for part in parts)
