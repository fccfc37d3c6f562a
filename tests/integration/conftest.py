"""The end-to-end Prefect stack, shared by the deployment and browser tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from db2api.receiver import ReceiverProcess
from tests.support.stack import BIN, Stack, prefect_stack


@pytest.fixture(scope="session")
def e2e_stack(
    tmp_path_factory: pytest.TempPathFactory, receiver: ReceiverProcess
) -> Iterator[Stack]:
    """`prefect server start` with the pool, queues and every deployment of prefect.yaml."""
    with prefect_stack(tmp_path_factory.mktemp("prefect-e2e"), receiver.url, days=8) as stack:
        yield stack


@pytest.fixture
def stack(e2e_stack: Stack) -> Iterator[Stack]:
    """The stack, with this test process's Prefect client pointed at its server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: e2e_stack.api_url}):
        yield e2e_stack


@pytest.fixture(scope="session")
def worker(e2e_stack: Stack) -> Iterator[Path]:
    """One process worker on the pool for the rest of the session; yields its log."""
    with e2e_stack.worker("worker-1", limit=2) as log:
        yield log


@pytest.fixture
async def webhook(stack: Stack) -> AsyncIterator[asyncio.Queue[Any]]:
    """A webhook receiver on loopback, registered through deployments/setup.py."""
    received: asyncio.Queue[Any] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await received.put(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await asyncio.to_thread(
        stack.run,
        str(BIN / "python"),
        "deployments/setup.py",
        "--notify-url",
        f"http://127.0.0.1:{port}/hook",
    )
    yield received
    await runner.cleanup()
