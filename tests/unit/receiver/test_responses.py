"""Answers over a real socket: ``filter_path`` cuts successful ones, never a whole error."""

from __future__ import annotations

from tests.support.receivers import Serve


async def test_filter_path_cuts_a_successful_answer_and_the_last_one_given_wins(
    serve: Serve,
) -> None:
    client = await serve()
    await client.put("/logs/_doc/1", json={"n": 1})
    resp = await client.get("/logs/_count?filter_path=-_shards")
    assert (resp.status, await resp.json()) == (200, {"count": 1})
    resp = await client.get("/logs/_count?filter_path=count&filter_path=_shards.total")
    assert await resp.json() == {"_shards": {"total": 1}}
    resp = await client.get("/logs/_doc/1?filter_path=nothing")
    assert (resp.status, await resp.json()) == (200, {})
    resp = await client.get("/logs/_doc/9?filter_path=found")  # a 404 that is no error
    assert (resp.status, await resp.json()) == (404, {"found": False})
    resp = await client.get("/logs/_doc/1?filter_path=")
    assert set(await resp.json()) >= {"_index", "_id", "_source"}


async def test_an_error_answer_is_never_filtered(serve: Serve) -> None:
    client = await serve(status_override=429)
    resp = await client.get("/logs/_count?filter_path=count")
    body = await resp.json()
    assert resp.status == 429 and body["error"]["type"] == "es_rejected_execution_exception"
    client = await serve()
    resp = await client.get("/missing/_count?filter_path=count")
    body = await resp.json()
    assert (resp.status, body["status"]) == (404, 404)
    assert body["error"]["root_cause"][0]["resource.id"] == "missing"


async def test_a_path_no_api_serves_answers_a_bare_reason_as_both_engines_do(
    serve: Serve,
) -> None:
    client = await serve()
    resp = await client.get("/_nothing/here?filter_path=status")
    reason = "no handler found for uri [/_nothing/here?filter_path=status] and method [GET]"
    assert (resp.status, await resp.json()) == (400, {"error": reason})
