"""Receivers served in-process on real 127.0.0.1 sockets, for the handler modules' tests.

In-process so a test reads the same counters the handlers write, and starts in
milliseconds; the sockets are real, so requests go through aiohttp's parser and the
response hooks exactly as a job's would (``tests/integration`` runs the subprocess).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import test_utils, web

from db2api.receiver.app import create_app
from db2api.receiver.faults import Faults
from db2api.receiver.store import Store

Serve = Callable[..., Awaitable[test_utils.TestClient]]


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Serve]:
    """Start a receiver with the given fault settings; returns an aiohttp test client."""
    clients: list[test_utils.TestClient] = []
    stores: list[Store] = []

    async def start(**faults: Any) -> test_utils.TestClient:
        store = Store(tmp_path / f"receiver-{len(stores)}.sqlite")
        stores.append(store)
        server = test_utils.TestServer(create_app(store, Faults(**faults)), host="127.0.0.1")
        client = test_utils.TestClient(server)
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()
    for store in stores:
        store.close()


@pytest.fixture
def receiver_url(tmp_path: Path) -> Iterator[str]:
    """A receiver on its own thread's event loop, for synchronous (urllib) callers."""
    ready = threading.Event()
    served: dict[str, Any] = {}

    async def run() -> None:
        with Store(tmp_path / "receiver.sqlite") as store:
            runner = web.AppRunner(create_app(store))
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            served["url"] = f"http://127.0.0.1:{runner.addresses[0][1]}"
            served["loop"], served["stop"] = asyncio.get_running_loop(), asyncio.Event()
            ready.set()
            try:
                await served["stop"].wait()
            finally:
                await runner.cleanup()

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the in-process receiver did not start"
    yield served["url"]
    served["loop"].call_soon_threadsafe(served["stop"].set)
    thread.join(10)
