"""SQLite: a file; bounds as text 'YYYY-MM-DD HH:MM:SS', the way dates are usually stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from db2api.errors import SourceError
from db2api.sources.base import Bounds, SourceKind


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

    def describe(self, params: dict[str, Any]) -> str:
        return f"{self.dbtype} {params['filename']}"
