"""The type of the in-process receiver fixture ``serve`` (tests/unit/receiver/conftest.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import test_utils

Serve = Callable[..., Awaitable[test_utils.TestClient]]
