"""Third-party servers the tests run as real targets, each on a free loopback port.

They are installed by the project's own scripts (``.ci/setup-node-tools``,
``pyproject.toml``'s dev extras); a missing one skips its tests with the reason on a
laptop and fails them under CI.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.ci import IN_CI

ROOT = Path(__file__).resolve().parents[2]
# Both lines name their command `json-server`, and npm links whichever it installed last
# into .bin: each is run with node from its own package folder instead.
JSON_SERVER = ROOT / ".db2api" / "node" / "node_modules" / "json-server" / "lib" / "cli" / "bin.js"
# The 1.x line beside it (npm alias `json-server-1`).
JSON_SERVER_1 = ROOT / ".db2api" / "node" / "node_modules" / "json-server-1" / "lib" / "bin.js"
JSON_SERVERS = {"0.17": JSON_SERVER, "1.x": JSON_SERVER_1}


def require(path: Path, install: str) -> None:
    if path.exists():
        return
    reason = f"{path.name} is not installed at {path}: run `{install}`"
    if IN_CI:
        pytest.fail(f"under CI it must be installed: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@contextmanager
def running(
    command: Sequence[str], ready_url: str, log: Path, timeout: float = 30.0
) -> Iterator[None]:
    """Start ``command``, wait until ``ready_url`` answers, stop it at the end (bounded)."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{command[0]} exited with {process.returncode}: {log.read_text()}"
                )
            try:
                urllib.request.urlopen(ready_url, timeout=2).close()
                break
            except urllib.error.HTTPError:
                break  # it answers, if not with a 2xx
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{command[0]} did not answer {ready_url} in {timeout}s"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class JsonServer:
    """json-server over a db.json with one empty collection, ``readings``.

    ``line`` picks the 0.17 line (ids as given) or the 1.x line, which differs: it
    ignores a POSTed ``id`` and files the record under a random text id of its own,
    and a repeated query parameter (``?id=1&id=2``) matches the last value only.
    """

    def __init__(self, folder: Path, line: str = "0.17") -> None:
        self.folder = folder
        self.line = line
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    @contextmanager
    def run(self) -> Iterator[JsonServer]:
        db = self.folder / "db.json"
        db.write_text('{"readings": []}')
        where = ["--host", "127.0.0.1", "--port", str(self.port)]
        if self.line == "0.17":
            command = ["node", str(JSON_SERVER), *where, "--quiet", str(db)]
        else:
            command = ["node", str(JSON_SERVER_1), *where, str(db)]
        with running(command, f"{self.url}/readings", self.folder / "json-server.log"):
            yield self

    def readings(self) -> list[dict[str, Any]]:
        return get_json(f"{self.url}/readings")


DATASETTE = Path(sys.executable).parent / "datasette"
READINGS_TABLE = """
    CREATE TABLE readings (
        reading_id INTEGER PRIMARY KEY, sensor_id TEXT NOT NULL, borehole TEXT,
        measured_at TEXT NOT NULL, value REAL, quality TEXT
    ) STRICT
"""


class Datasette:
    """Datasette 1.0 alpha over a SQLite file ``data.db`` with a STRICT ``readings`` table.

    Its JSON write API takes ``{"rows": [...]}`` at ``/data/readings/-/upsert`` with an
    API token (``Authorization: Bearer dstok_...``) signed by the server's secret; the
    ``--root`` actor holds the write permissions.
    """

    secret = "db2api-test-secret"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = folder / "data.db"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.path = "/data/readings/-/upsert"
        self.token = ""

    @contextmanager
    def run(self) -> Iterator[Datasette]:
        with sqlite3.connect(self.db) as conn:
            conn.execute(READINGS_TABLE)
        conn.close()
        self.token = self.token_for("root")
        command = [
            str(DATASETTE), "serve", str(self.db), "--host", "127.0.0.1",
            "--port", str(self.port), "--root", "--secret", self.secret,
        ]  # fmt: skip
        with running(command, f"{self.url}/-/versions.json", self.folder / "datasette.log"):
            yield self

    def token_for(self, actor: str) -> str:
        """An API token for ``actor``, signed with this server's secret."""
        return subprocess.run(
            [str(DATASETTE), "create-token", actor, "--secret", self.secret],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()

    def rows(self) -> list[dict[str, Any]]:
        with sqlite3.connect(self.db) as conn:
            conn.row_factory = sqlite3.Row
            found = [dict(row) for row in conn.execute("SELECT * FROM readings")]
        conn.close()
        return found
