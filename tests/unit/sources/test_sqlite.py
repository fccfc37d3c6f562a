"""SQLite: a missing file is refused before connecting; text that is not UTF-8 is read, not
raised, so the document builder can dead-letter the row naming the column."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from db2api.errors import SourceError
from db2api.sources import SOURCES


def test_a_missing_file_is_refused_in_one_line_naming_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sqlite"

    with pytest.raises(SourceError) as caught:
        SOURCES["SQLITE"].before_connect({"filename": str(missing)}, 1000, "unit")

    assert caught.value.message == (
        f"SQLite file {missing} does not exist (job 'unit'): check source filename, or build "
        "the demo database with `db2api demo --build-only`"
    )


def test_an_existing_file_passes(tmp_path: Path) -> None:
    present = tmp_path / "here.sqlite"
    sqlite3.connect(present).close()

    assert SOURCES["SQLITE"].before_connect({"filename": str(present)}, 1000, "unit") is None


def test_text_that_is_not_utf8_keeps_its_bytes_as_surrogates() -> None:
    conn = sqlite3.connect(":memory:")
    SOURCES["SQLITE"].after_connect(conn)

    (value,) = conn.execute("SELECT CAST(x'6361ff66e9' AS TEXT)").fetchone()

    assert value == "ca\udcfff\udce9"
    assert value.encode("utf-8", "surrogateescape") == b"ca\xfff\xe9"
