"""The control routes: faults, stats and reset, never faulted and never counted."""

from __future__ import annotations

from db2api.receiver.faults import REDACTED
from db2api.receiver.state import STATE

from .conftest import Serve


async def test_faults_are_replaced_whole_and_the_secret_never_shown(serve: Serve) -> None:
    client = await serve(rate_429=0.5)
    resp = await client.put("/_faults", json={"require_auth": "Basic c2VjcmV0", "rate_503": 1})
    shown = await resp.json()
    assert resp.status == 200
    assert shown["rate_503"] == 1 and shown["rate_429"] == 0.0  # unnamed ones go back to off
    assert shown["require_auth"] == REDACTED
    assert (await (await client.get("/_faults")).json()) == shown
    assert client.server.app[STATE].faults.require_auth == "Basic c2VjcmV0"


async def test_a_bad_fault_body_is_refused_in_one_line_and_changes_nothing(serve: Serve) -> None:
    client = await serve(rate_429=0.5)
    for body, problem in ((b"[1]", "body"), (b'{"rate_429": 2}', "rate_429"), (b"{", "")):
        resp = await client.put("/_faults", data=body)
        error = (await resp.json())["error"]
        assert resp.status == 400 and error["type"] == "illegal_argument_exception"
        assert "\n" not in error["reason"] and problem in error["reason"]
    assert client.server.app[STATE].faults.rate_429 == 0.5


async def test_reset_deletes_documents_and_zeroes_the_counters(serve: Serve) -> None:
    client = await serve()
    await client.put("/logs/_doc/1", json={"n": 1})
    await client.put("/logs/_doc/2", json={"n": 2})
    assert (await (await client.get("/logs/_ids")).json()) == {"ids": {"1": 1, "2": 1}}
    stats = await (await client.get("/_stats")).json()
    assert (stats["requests"], stats["docs_written"]) == (2, 2)  # control routes not counted
    resp = await client.post("/_reset")
    assert await resp.json() == {"acknowledged": True, "deleted": 2}
    assert (await client.get("/logs/_ids")).status == 404
    stats = await (await client.get("/_stats")).json()
    assert (stats["requests"], stats["docs_written"], stats["by_status"]) == (0, 0, {})
