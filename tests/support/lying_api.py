"""A REST API that lies, for the read-back proof: it acknowledges and keeps nothing, or
keeps another body. Served by :class:`tests.support.scripted.ScriptedTarget` (aiohttp
on a loopback port), so the real sink, session and retry loop meet it.

- ``PUT /things/{id}`` or ``POST /things`` (one record, its ``id`` in the body): 201
  with the record echoed, as json-server does;
- ``POST /things/_batch`` with a JSON array: 200 ``{"ok": true}``;
- ``GET /things/{id}``: 200 with the record kept, else 404 ``{}``;
- ``GET /things?id=1&id=2``: a JSON array of the records kept (json-server 0.17's look-up).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from tests.support.real_answers import Answer
from tests.support.scripted import Seen

JSON = {"content-type": "application/json"}


class LyingApi:
    """``keeps``: "all" (honest), "nothing" (acknowledges, stores nothing) or "altered"
    (stores each record with ``value`` set to -1)."""

    def __init__(self, keeps: str = "all") -> None:
        self.keeps = keeps
        self.held: dict[str, dict[str, Any]] = {}

    def _keep(self, record: dict[str, Any]) -> None:
        if self.keeps == "nothing":
            return
        if self.keeps == "altered":
            record = {**record, "value": -1}
        self.held[str(record["id"])] = record

    def __call__(self, _number: int, seen: Seen) -> Answer:
        parts = urlsplit(seen.path)
        if seen.method in ("PUT", "POST") and parts.path == "/things/_batch":
            for record in orjson.loads(seen.body):
                self._keep(record)
            return Answer(200, JSON, b'{"ok": true}', "", "")
        if seen.method in ("PUT", "POST"):
            record = orjson.loads(seen.body)
            self._keep(record)
            return Answer(201, JSON, seen.body, "", "")
        if seen.method == "GET" and parts.path == "/things":
            ids = parse_qs(parts.query).get("id", [])
            found = [self.held[i] for i in ids if i in self.held]
            return Answer(200, JSON, orjson.dumps(found), "", "")
        if seen.method == "GET" and parts.path.startswith("/things/"):
            record = self.held.get(unquote(parts.path.removeprefix("/things/")))
            if record is None:
                return Answer(404, JSON, b"{}", "", "")
            return Answer(200, JSON, orjson.dumps(record), "", "")
        return Answer(405, JSON, b'{"error": "method not allowed"}', "", "")
