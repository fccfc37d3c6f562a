"""SQLite: a file; bounds as text 'YYYY-MM-DD HH:MM:SS', the way dates are usually stored."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from db2api.errors import SourceError
from db2api.sources.base import Bounds, Connection, SourceKind

# TEXT that is not valid UTF-8 is read with its bad bytes kept as lone surrogates,
# instead of failing the whole fetch: the document builder then dead-letters that
# row alone, naming the column. Valid text decodes exactly as sqlite3's default.
decode_text = partial(str, encoding="utf-8", errors="surrogateescape")


class Sqlite(SourceKind):
    dbtype = "SQLITE"
    default_bounds: Bounds = "text"

    def before_connect(self, params: dict[str, Any], chunk_size: int, job: str) -> None:
        if not Path(params["filename"]).exists():
            raise SourceError(
                f"SQLite file {params['filename']} does not exist (job {job!r}): check source "
                "filename, or build the demo database with `db2api demo --build-only`"
            )

    def connect_options(self, job: str) -> dict[str, Any]:
        return {"check_same_thread": False}  # pooled: used by one window thread at a time

    def after_connect(self, conn: Connection) -> None:
        conn.text_factory = decode_text

    def describe(self, params: dict[str, Any]) -> str:
        return f"{self.dbtype} {params['filename']}"
