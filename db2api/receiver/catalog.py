"""The indices created with ``PUT /{index}``: their settings, mappings and aliases, kept durably.

An index also exists while it holds documents (writes auto-create it, as Elasticsearch
does with ``action.auto_create_index`` on), so only explicitly created indices are
recorded here. The definitions live in the same SQLite file as the documents, so a
restarted receiver still knows them and ``DELETE /{index}`` drops both in one
transaction; a copy in memory (``defined``) lets the event loop check a ``_bulk``
against a mapping without a trip to the database thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class IndexDefinition:
    """What ``PUT /{index}`` declared; settings are flat (``index.number_of_shards``: "1")."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)
    aliases: dict[str, Any] = field(default_factory=dict)
    created_ms: int = 0

    def to_json(self) -> str:
        parts = {"settings": self.settings, "mappings": self.mappings, "aliases": self.aliases}
        return json.dumps({**parts, "created_ms": self.created_ms}, ensure_ascii=False)

    @classmethod
    def from_json(cls, name: str, text: str) -> IndexDefinition:
        return cls(name, **json.loads(text))


class IndexCatalog:
    """The ``indices`` table of a :class:`~db2api.receiver.store.Store` (mixed into it).

    Methods that change it run on the store's one worker thread and hold its lock,
    so a mapping update reads and writes the definition without a race.
    """

    _conn: sqlite3.Connection
    _lock: threading.Lock
    defined: dict[str, IndexDefinition]

    def _open_catalog(self) -> None:
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS indices (name TEXT PRIMARY KEY, definition TEXT NOT NULL)"
        )
        rows = self._conn.execute("SELECT name, definition FROM indices").fetchall()
        self.defined = {name: IndexDefinition.from_json(name, text) for name, text in rows}

    def _has_documents(self, index: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM docs WHERE idx = ? LIMIT 1", (index,))
        return row.fetchone() is not None

    def create_index(self, definition: IndexDefinition, documents_count: bool = True) -> bool:
        """Record a new index; ``False`` if it exists already.

        ``documents_count=False`` ignores documents without a definition (the
        ``index_missing`` fault hides auto-created indices), so creating such an
        index adopts its documents.
        """
        with self._lock:
            name = definition.name
            if name in self.defined or (documents_count and self._has_documents(name)):
                return False
            self._conn.execute(
                "INSERT INTO indices (name, definition) VALUES (?, ?)", (name, definition.to_json())
            )
            self.defined[name] = definition
            return True

    def update_definition(
        self, index: str, change: Callable[[IndexDefinition], IndexDefinition]
    ) -> IndexDefinition:
        """Apply ``change`` (which may raise to refuse it) to the index's definition.

        An auto-created index (documents, no definition) starts from an empty one.
        """
        with self._lock:
            current = self.defined.get(index) or IndexDefinition(index)
            updated = replace(change(current), name=index)
            self._conn.execute(
                "INSERT INTO indices (name, definition) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET definition = excluded.definition",
                (index, updated.to_json()),
            )
            self.defined[index] = updated
            return updated

    def drop_index(self, index: str) -> bool:
        """Delete the index's documents and definition together; ``False`` if neither existed."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                docs = self._conn.execute("DELETE FROM docs WHERE idx = ?", (index,)).rowcount
                defs = self._conn.execute("DELETE FROM indices WHERE name = ?", (index,)).rowcount
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            self.defined.pop(index, None)
            return bool(docs or defs)

    def _clear_catalog(self) -> None:
        """Forget every definition; the caller holds the lock (``Store.clear``)."""
        self._conn.execute("DELETE FROM indices")
        self.defined = {}
