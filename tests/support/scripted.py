"""A loopback HTTP server that answers from a script: real bodies, replayed over sockets.

Each request is recorded (method, path, body) and answered by ``respond(number,
request)``, so a test can replay answers quoted from Elasticsearch's documentation
or bug reports through the real sink, connection pool and parser.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson
from aiohttp import web

from tests.support.real_answers import Answer


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    body: bytes
    accept_encoding: str = ""  # what the client asked of the answer's encoding

    @property
    def bulk_items(self) -> int:
        """Documents in a ``_bulk`` body: two lines each."""
        return self.body.count(b"\n") // 2

    @property
    def bulk_sent(self) -> list[tuple[str, str]]:
        """(action, ``_id``) of every action line of a ``_bulk`` body, in order."""
        lines = self.body.split(b"\n")[0:-1:2]
        pairs = []
        for line in lines:
            ((action, meta),) = orjson.loads(line).items()
            pairs.append((action, str(meta.get("_id"))))
        return pairs


Respond = Callable[[int, Seen], Answer]


class ScriptedTarget:
    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.seen: list[Seen] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        encoding = request.headers.get("Accept-Encoding", "")
        seen = Seen(request.method, request.path_qs, await request.read(), encoding)
        self.seen.append(seen)
        answer = self.respond(len(self.seen), seen)
        headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
        return web.Response(status=answer.status, body=answer.body, headers=headers)

    async def __aenter__(self) -> ScriptedTarget:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
