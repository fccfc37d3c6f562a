"""What every Elasticsearch route goes through: counters, injected faults, ES-shaped errors."""

from __future__ import annotations

from db2api.receiver.data_routes import BYPASS_HEADER
from db2api.receiver.state import STATE

from .conftest import Serve

BYPASS = {BYPASS_HEADER: "1"}


async def test_a_forced_status_is_answered_and_counted_but_a_bypassed_read_is_neither(
    serve: Serve,
) -> None:
    client = await serve(status_override=503)
    resp = await client.get("/logs/_count", headers=BYPASS)
    assert resp.status == 404  # handled normally: no such index yet
    stats = client.server.app[STATE].stats
    assert (stats.requests, stats.by_status) == (0, {})
    resp = await client.get("/logs/_count")
    body = await resp.json()
    assert resp.status == 503
    assert body["error"]["type"] == "exception"
    assert body["error"]["reason"] == "status 503 forced by status_override"
    assert (stats.requests, stats.by_status) == (1, {"503": 1})
    assert stats.faults["status_override"] == 1


async def test_a_proxy_page_carries_no_product_header_and_elasticsearch_answers_do(
    serve: Serve,
) -> None:
    client = await serve(non_json=True)
    page = await client.get("/")
    assert page.content_type == "text/html" and await page.text() == "<html>proxy</html>"
    assert "X-Elastic-Product" not in page.headers
    checked = await client.get("/", headers=BYPASS)
    assert checked.headers["X-Elastic-Product"] == "Elasticsearch"


async def test_authentication_is_asked_for_and_the_right_header_passes(serve: Serve) -> None:
    client = await serve(require_auth="Basic dXNlcjpwdw==")
    missing = await client.get("/")
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"] == 'Basic realm="security" charset="UTF-8"'
    reason = (await missing.json())["error"]["reason"]
    assert reason == "missing authentication credentials for REST request [/]"
    wrong = await client.get("/", headers={"Authorization": "Basic d3Jvbmc="})
    assert (await wrong.json())["error"]["reason"].startswith("unable to authenticate")
    right = await client.get("/", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert right.status == 200
    assert client.server.app[STATE].stats.faults["auth"] == 2


async def test_a_request_refused_as_a_whole_gets_the_elasticsearch_error_body(
    serve: Serve,
) -> None:
    client = await serve()
    resp = await client.post("/_bulk", data=b"")
    assert resp.status == 400
    assert await resp.json() == {
        "error": {
            "root_cause": [{"type": "parse_exception", "reason": "request body is required"}],
            "type": "parse_exception",
            "reason": "request body is required",
        },
        "status": 400,
    }


async def test_an_index_the_faults_refuse_refuses_single_documents_but_not_checks(
    serve: Serve,
) -> None:
    client = await serve(read_only="write_block")
    resp = await client.put("/logs/_doc/1", json={"n": 1})
    assert resp.status == 403
    assert (await resp.json())["error"]["type"] == "cluster_block_exception"
    assert client.server.app[STATE].stats.faults["read_only"] == 1
    checked = await client.get("/logs/_doc/1", headers=BYPASS)
    assert checked.status == 404 and (await checked.json())["found"] is False
