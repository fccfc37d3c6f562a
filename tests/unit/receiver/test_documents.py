"""The document APIs' handlers over a real socket: writes, reads by id and counts."""

from __future__ import annotations

from db2api.receiver.state import STATE

from .conftest import Serve


async def test_a_document_is_written_read_and_its_source_left_out_on_request(
    serve: Serve,
) -> None:
    client = await serve()
    resp = await client.put("/logs/_doc/1", json={"n": 1, "tag": "a"})
    assert resp.status == 201 and (await resp.json())["result"] == "created"
    found = await (await client.get("/logs/_doc/1")).json()
    assert (found["_version"], found["_source"]) == (1, {"n": 1, "tag": "a"})
    lean = await (await client.get("/logs/_doc/1?_source=false")).json()
    assert lean["found"] is True and "_source" not in lean
    fields = await (await client.get("/logs/_doc/1?_source=tag")).json()
    assert fields["_source"] == {"tag": "a"}


async def test_create_conflicts_and_an_unchanged_update_is_a_noop(serve: Serve) -> None:
    client = await serve()
    await client.put("/logs/_create/1", json={"n": 1})
    again = await client.put("/logs/_create/1", json={"n": 2})
    assert again.status == 409
    assert (await again.json())["error"]["type"] == "version_conflict_engine_exception"
    changed = await client.post("/logs/_update/1", json={"doc": {"m": 1}})
    assert (await changed.json())["result"] == "updated"
    same = await client.post("/logs/_update/1", json={"doc": {"m": 1}})
    assert (await same.json())["result"] == "noop"
    assert client.server.app[STATE].stats.docs_written == 2  # the create and the update


async def test_deleting_a_missing_document_answers_not_found(serve: Serve) -> None:
    client = await serve()
    resp = await client.delete("/logs/_doc/9")
    assert resp.status == 404 and (await resp.json())["result"] == "not_found"


async def test_mget_fails_only_the_entries_of_a_missing_index(serve: Serve) -> None:
    client = await serve()
    await client.put("/logs/_doc/1", json={"n": 1})
    body = {"docs": [{"_index": "logs", "_id": "1"}, {"_index": "nope", "_id": "1"}]}
    docs = (await (await client.post("/_mget", json=body)).json())["docs"]
    assert docs[0]["found"] is True and docs[0]["_source"] == {"n": 1}
    assert docs[1]["error"]["type"] == "index_not_found_exception"


async def test_count_within_a_range_and_of_a_missing_index(serve: Serve) -> None:
    client = await serve()
    for n in range(5):
        await client.put(f"/logs/_doc/{n}", json={"n": n})
    query = {"query": {"range": {"n": {"gte": 1, "lt": 4}}}}
    assert (await (await client.post("/logs/_count", json=query)).json())["count"] == 3
    missing = await client.post("/nope/_count", json={})
    assert missing.status == 404
    assert (await missing.json())["error"]["type"] == "index_not_found_exception"
