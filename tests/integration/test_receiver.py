"""The local receiver as a user runs it: a real subprocess on 127.0.0.1, real sockets.

One receiver serves the module; every test starts from no documents, no faults and
zeroed stats. Tests that need their own process (restarts, CLI flags) start one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
import pytest

from db2api.receiver import ReceiverClient, ReceiverError, ReceiverProcess

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverProcess]:
    with ReceiverProcess(tmp_path_factory.mktemp("receiver") / "receiver.sqlite") as proc:
        yield proc


@pytest.fixture
def rx(shared: ReceiverProcess) -> ReceiverProcess:
    shared.set_faults()
    shared.reset()
    return shared


async def call(
    method: str, url: str, body: Any = None, timeout: float = 10.0, **headers: str
) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
    """One request on a fresh connection: (status, JSON or text, headers)."""
    data = body if isinstance(body, bytes) else None if body is None else orjson.dumps(body)
    connector = aiohttp.TCPConnector(force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.request(
            method, url, data=data, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as resp,
    ):
        raw = await resp.read()
        is_json = resp.content_type == "application/json"
        return resp.status, orjson.loads(raw) if is_json else raw.decode(), resp.headers


def ndjson(*pairs: Any) -> bytes:
    return b"".join(p if isinstance(p, bytes) else orjson.dumps(p) + b"\n" for p in pairs)


def doc_url(rx: ReceiverProcess, index: str, doc_id: str) -> str:
    return f"{rx.url}/{index}/_doc/{quote(doc_id, safe='')}"


async def wait_until(predicate: Any, deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while not predicate():
        assert time.monotonic() < end, "condition not reached before the deadline"
        await asyncio.sleep(0.05)


# --- Elasticsearch behaviour ---------------------------------------------------------------


async def test_info(rx: ReceiverProcess) -> None:
    status, body, _ = await call("GET", rx.url + "/")
    assert status == 200
    assert body["name"] == "db2api-receiver" and body["version"]["number"].startswith("8.")
    assert body["tagline"] == "You Know, for Search"


async def test_put_creates_then_updates_and_get_returns_the_document(rx: ReceiverProcess) -> None:
    url = doc_url(rx, "orders", "1")
    status, body, _ = await call("PUT", url, {"total": 5})
    assert status == 201
    assert body["result"] == "created" and body["_version"] == 1 and body["_id"] == "1"
    assert body["_shards"] == {"total": 1, "successful": 1, "failed": 0}
    status, body, _ = await call("POST", url, {"total": 6})
    assert (status, body["result"], body["_version"]) == (200, "updated", 2)
    status, body, _ = await call("GET", url)
    assert status == 200
    assert body["found"] is True and body["_version"] == 2 and body["_source"] == {"total": 6}
    status, body, _ = await call("GET", doc_url(rx, "orders", "nope"))
    assert (status, body["found"]) == (404, False)
    status, body, _ = await call("POST", f"{rx.url}/orders/_doc", {"total": 7})
    assert status == 201 and len(body["_id"]) == 32
    assert rx.ids("orders") == {"1": 2, body["_id"]: 1}
    assert rx.get("orders", "1") == {"total": 6} and rx.get("orders", "nope") is None


async def test_concurrent_puts_each_committed_once_with_their_own_answer(
    rx: ReceiverProcess,
) -> None:
    """Single-document writes that arrive together share a commit; answers stay per request."""
    rx.set_faults(latency_ms=5)  # hold requests so that many overlap
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

        async def put(doc_id: str, n: int) -> tuple[int, dict[str, Any]]:
            async with session.put(doc_url(rx, "burst", doc_id), json={"n": n}) as resp:
                return resp.status, await resp.json()

        answers = await asyncio.gather(
            *(put(f"d{i}", i) for i in range(300)), *(put("same", i) for i in range(20))
        )
    assert rx.stats()["peak_in_flight"] > 1
    distinct = answers[:300]
    assert [status for status, _ in distinct] == [201] * 300
    assert [body["_id"] for _, body in distinct] == [f"d{i}" for i in range(300)]
    same = answers[300:]
    assert sorted(body["_version"] for _, body in same) == list(range(1, 21))
    assert Counter(body["result"] for _, body in same) == {"created": 1, "updated": 19}
    stored = rx.ids("burst")
    assert len(stored) == 301 and stored["same"] == 20
    assert rx.get("burst", "d299") == {"n": 299}


async def test_ids_with_slashes_colons_spaces_and_unicode(rx: ReceiverProcess) -> None:
    ids = ["a/b", "x:y", "with space", "ünï/cødé 😀", "100%", "q?x=1#f"]
    for doc_id in ids:
        status, body, _ = await call("PUT", doc_url(rx, "weird", doc_id), {"id": doc_id})
        assert (status, body["_id"]) == (201, doc_id)
    bulk = ndjson(*[p for i in ids for p in ({"index": {"_id": "bulk-" + i}}, {"id": i})])
    status, body, _ = await call("POST", f"{rx.url}/weird/_bulk", bulk)
    assert status == 200 and body["errors"] is False
    assert rx.ids("weird") == dict.fromkeys(ids + ["bulk-" + i for i in ids], 1)
    assert all(rx.get("weird", i) == {"id": i} for i in ids)


async def test_bulk_mixes_ok_and_failed_items_in_order(rx: ReceiverProcess) -> None:
    body = ndjson(
        {"index": {"_index": "b", "_id": "1"}},
        {"n": 1},
        {"index": {"_index": "b", "_id": "2"}},
        b'{"n": oops}\n',
        {"index": {"_index": "Upper", "_id": "3"}},  # an index name no engine takes
        {"n": 3},
        {"create": {"_index": "b", "_id": "1"}},
        {"n": 4},
        {"index": {"_index": "b", "_id": "1"}},
        {"n": 5},
        {"create": {"_index": "b", "_id": "6"}},
        {"n": 6},
    )
    status, resp, _ = await call("POST", rx.url + "/_bulk", body)
    assert status == 200 and resp["errors"] is True
    items = [next(iter(item.items())) for item in resp["items"]]
    assert [(op, item["_id"], item["status"]) for op, item in items] == [
        ("index", "1", 201),
        ("index", "2", 400),
        ("index", "3", 400),
        ("create", "1", 409),
        ("index", "1", 200),
        ("create", "6", 201),
    ]
    assert items[1][1]["error"]["type"] == "mapper_parsing_exception"
    assert items[2][1]["error"]["type"] == "invalid_index_name_exception"
    assert items[3][1]["error"]["type"] == "version_conflict_engine_exception"
    assert items[4][1]["_version"] == 2 and items[4][1]["result"] == "updated"
    assert rx.ids("b") == {"1": 2, "6": 1}
    assert rx.get("b", "1") == {"n": 5}


async def test_malformed_ndjson_fails_the_whole_request(rx: ReceiverProcess) -> None:
    body = ndjson({"index": {"_id": "1"}}, {"n": 1}) + b"{not json\n" + ndjson({"n": 2})
    status, resp, _ = await call("POST", rx.url + "/m/_bulk", body)
    assert status == 400 and resp["status"] == 400
    assert resp["error"]["type"] == "x_content_parse_exception"
    assert rx.ids("m") == {}


async def test_non_json_document_is_a_mapper_parsing_exception(rx: ReceiverProcess) -> None:
    status, resp, _ = await call("PUT", doc_url(rx, "m", "1"), b"name=x")
    assert status == 400 and resp["error"]["type"] == "mapper_parsing_exception"
    status, resp, _ = await call("PUT", doc_url(rx, "Upper", "1"), {"a": 1})
    assert status == 400 and resp["error"]["type"] == "invalid_index_name_exception"


async def test_count_with_and_without_range(rx: ReceiverProcess) -> None:
    days = [f"2024-05-{d:02d}T10:00:00Z" for d in range(1, 11)]
    body = ndjson(*[p for n, ts in enumerate(days) for p in ({"index": {}}, {"ts": ts, "n": n})])
    status, _, _ = await call("POST", rx.url + "/c/_bulk", body)
    assert status == 200
    assert rx.count("c") == 10
    assert rx.count("c", "ts", gte="2024-05-03T00:00:00Z", lt="2024-05-06T00:00:00Z") == 3
    assert rx.count("c", "ts", gte="2024-05-09") == 2
    assert rx.count("c", "n", gte=2, lt=5) == 3
    query = {"query": {"range": {"n": {"gt": 2, "lte": 5}}}}
    status, resp, _ = await call("POST", rx.url + "/c/_count", query)
    assert (status, resp["count"]) == (200, 3)
    status, resp, _ = await call("GET", rx.url + "/c/_count")
    assert (status, resp["count"]) == (200, 10)
    status, resp, _ = await call("GET", rx.url + "/missing/_count")
    assert status == 404 and resp["error"]["type"] == "index_not_found_exception"
    assert rx.count("missing") == 0
    status, resp, _ = await call("GET", rx.url + "/missing/_ids")
    assert status == 404 and rx.ids("missing") == {}


async def test_documents_survive_restart_and_kill(tmp_path: Path) -> None:
    data = tmp_path / "sub" / "durable.sqlite"  # the parent directory is created
    with ReceiverProcess(data) as proc:
        body = ndjson(*[p for i in range(500) for p in ({"index": {"_id": str(i)}}, {"i": i})])
        status, resp, _ = await call("POST", proc.url + "/d/_bulk", body)
        assert status == 200 and not resp["errors"]
        last_seq_no = resp["items"][-1]["index"]["_seq_no"]
        assert proc.restart().returncode is None  # running again
        assert proc.ids("d") == {str(i): 1 for i in range(500)}
        status, resp, _ = await call("PUT", doc_url(proc, "d", "7"), {"i": "again"})
        assert (status, resp["_version"]) == (200, 2)
        assert resp["_seq_no"] > last_seq_no
        os.kill(proc.pid, signal.SIGKILL)  # no clean shutdown: what was answered is on disk
        proc.restart()
        assert proc.count("d") == 500
        assert proc.get("d", "7") == {"i": "again"}
        with sqlite3.connect(data) as db:
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert db.execute("SELECT COUNT(*) FROM docs WHERE idx = 'd'").fetchone() == (500,)


# --- faults, seen from the client -----------------------------------------------------------


async def test_429_with_retry_after(rx: ReceiverProcess) -> None:
    rx.set_faults(rate_429=1, retry_after=7)
    status, resp, headers = await call("PUT", doc_url(rx, "f", "1"), {"a": 1})
    assert status == 429 and headers["Retry-After"] == "7"
    assert resp["error"]["type"] == "es_rejected_execution_exception"
    assert rx.stats()["faults"]["429"] == 1
    assert rx.ids("f") == {}


async def test_503(rx: ReceiverProcess) -> None:
    rx.set_faults(rate_503=1)
    status, resp, _ = await call("POST", rx.url + "/f/_bulk", ndjson({"index": {}}, {"a": 1}))
    assert status == 503 and resp["status"] == 503
    assert rx.stats()["faults"]["503"] == 1 and rx.count("f") == 0


async def test_reset_drops_the_connection(rx: ReceiverProcess) -> None:
    rx.set_faults(rate_reset=1)
    with pytest.raises(aiohttp.ClientConnectionError):
        await call("PUT", doc_url(rx, "f", "1"), {"a": 1})
    stats = rx.stats()
    assert stats["faults"]["reset"] >= 1 and stats["by_status"] == {}
    assert rx.ids("f") == {}


async def test_hang_outlasts_a_short_client_timeout_then_answers(rx: ReceiverProcess) -> None:
    rx.set_faults(rate_hang=1, hang_seconds=3)
    with pytest.raises(asyncio.TimeoutError):
        await call("GET", rx.url + "/", timeout=0.5)
    # The client gave up first: the request is still held, unanswered.
    stats = rx.stats()
    assert stats["in_flight"] == 1 and stats["faults"]["hang"] == 1
    assert stats["by_status"] == {}
    await wait_until(lambda: rx.stats()["in_flight"] == 0)  # the hang ends with a 200
    assert rx.stats()["by_status"] == {"200": 1}


async def test_outage_window(rx: ReceiverProcess) -> None:
    rx.set_faults(outage_seconds=1.0)
    status, resp, _ = await call("GET", rx.url + "/")
    assert status == 503 and "outage" in resp["error"]["reason"]
    statuses: list[int] = []

    def poll() -> int:
        statuses.append(rx.request("GET", "/")[0])
        return statuses[-1]

    await wait_until(lambda: poll() == 200, deadline=5)
    # Down first, then up for good: every answer before the first 200 was the outage's 503.
    assert set(statuses[:-1]) <= {503} and poll() == 200
    assert rx.stats()["faults"]["outage"] == 1 + statuses.count(503)
    # A window that starts later: fine first, then down, and still down.
    rx.set_faults(outage_after_seconds=1.0, outage_seconds=60)
    rx.reset_stats()
    statuses.clear()
    assert poll() == 200
    await wait_until(lambda: poll() == 503, deadline=5)
    assert set(statuses[1:-1]) <= {200} and poll() == 503
    assert rx.stats()["faults"]["outage"] == statuses.count(503) == 2


async def test_outage_refuse_mode_resets_connections(rx: ReceiverProcess) -> None:
    rx.set_faults(outage_seconds=60, outage_mode="refuse")
    with pytest.raises(aiohttp.ClientConnectionError):
        await call("GET", rx.url + "/")
    assert rx.stats()["faults"]["outage"] >= 1


async def test_bulk_item_faults_follow_the_seed(rx: ReceiverProcess) -> None:
    body = ndjson(*[p for i in range(1000) for p in ({"index": {"_id": str(i)}}, {"amount": i})])

    async def statuses(index: str) -> list[int]:
        rx.set_faults(bulk_item_429=0.2, bulk_item_400=0.1, seed=42)
        status, resp, _ = await call("POST", f"{rx.url}/{index}/_bulk", body)
        assert status == 200 and resp["errors"] is True
        return [item["index"]["status"] for item in resp["items"]]

    first = await statuses("s1")
    counts = Counter(first)
    assert 150 <= counts[429] <= 250 and 60 <= counts[400] <= 140
    assert counts[201] == 1000 - counts[429] - counts[400]
    assert rx.ids("s1") == {str(i): 1 for i, s in enumerate(first) if s == 201}
    stats = rx.stats()
    assert stats["faults"]["bulk_item_429"] == counts[429]
    assert stats["faults"]["bulk_item_400"] == counts[400]
    assert stats["bulk_items"] == 1000 and stats["docs_written"] == counts[201]
    assert await statuses("s2") == first  # same seed, same faults, same items


async def test_reject_rule(rx: ReceiverProcess) -> None:
    rx.set_faults(reject_field="status", reject_value="bad")
    status, resp, _ = await call("PUT", doc_url(rx, "r", "x1"), {"status": "bad"})
    assert status == 400 and resp["error"]["type"] == "mapper_parsing_exception"
    assert resp["error"]["reason"] == (
        "failed to parse field [status] of type [keyword] in document with id 'x1'"
    )
    body = ndjson(
        {"index": {"_id": "a"}},
        {"status": "ok"},
        {"index": {"_id": "b"}},
        {"status": "bad"},
        {"index": {"_id": "c"}},
        {"status": "ok"},
    )
    status, resp, _ = await call("POST", rx.url + "/r/_bulk", body)
    assert status == 200
    assert [i["index"]["status"] for i in resp["items"]] == [201, 400, 201]
    assert "[status]" in resp["items"][1]["index"]["error"]["reason"]
    assert rx.ids("r") == {"a": 1, "c": 1}
    assert rx.stats()["faults"]["rule_400"] == 2


async def test_require_auth(rx: ReceiverProcess) -> None:
    secret = "Bearer s3cr3t-t0ken"
    rx.set_faults(require_auth=secret)
    status, resp, headers = await call("PUT", doc_url(rx, "a", "1"), {"a": 1})
    assert status == 401 and resp["error"]["type"] == "security_exception"
    assert "missing authentication credentials" in resp["error"]["reason"]
    assert "WWW-Authenticate" in headers
    status, resp, _ = await call(
        "PUT", doc_url(rx, "a", "1"), {"a": 1}, Authorization="Bearer wrong"
    )
    assert status == 401 and "s3cr3t" not in orjson.dumps(resp).decode()
    status, _, _ = await call("PUT", doc_url(rx, "a", "1"), {"a": 1}, Authorization=secret)
    assert status == 201
    # control routes need no credentials and never show the secret
    assert "s3cr3t" not in orjson.dumps([rx.faults(), rx.stats()]).decode()
    assert rx.stats()["faults"]["auth"] == 2
    assert rx.ids("a") == {"1": 1}


@pytest.mark.parametrize(
    ("code", "type_"), [(404, "index_not_found_exception"), (500, "exception")]
)
async def test_status_override(rx: ReceiverProcess, code: int, type_: str) -> None:
    rx.set_faults(status_override=code)
    for method, path in (("GET", "/"), ("PUT", "/o/_doc/1"), ("POST", "/_bulk")):
        status, resp, _ = await call(method, rx.url + path, {"a": 1})
        assert (status, resp["status"], resp["error"]["type"]) == (code, code, type_)
    assert rx.stats()["by_status"] == {str(code): 3}


async def test_non_json(rx: ReceiverProcess) -> None:
    rx.set_faults(non_json=True)
    status, body, headers = await call("POST", rx.url + "/_bulk", ndjson({"index": {}}, {}))
    assert (status, body) == (200, "<html>proxy</html>")
    assert headers["Content-Type"].startswith("text/html")


async def test_latency_and_peak_in_flight(rx: ReceiverProcess) -> None:
    rx.set_faults(latency_ms=400)
    requests = asyncio.gather(*(call("GET", rx.url + "/") for _ in range(5)))
    # The latency holds all five in the receiver at once, none answered yet.
    await wait_until(lambda: rx.stats()["in_flight"] == 5, deadline=5)
    assert rx.stats()["by_status"] == {}
    results = await requests
    assert [r[0] for r in results] == [200] * 5
    stats = rx.stats()
    assert stats["peak_in_flight"] >= 5 and stats["in_flight"] == 0
    assert stats["requests"] == 5 and stats["by_status"] == {"200": 5}


async def test_stats_and_resets(rx: ReceiverProcess) -> None:
    await call("PUT", doc_url(rx, "st", "1"), {"a": 1})
    await call("POST", rx.url + "/st/_bulk", ndjson({"index": {}}, {"a": 2}, {"index": {}}, b"x\n"))
    await call("GET", doc_url(rx, "st", "missing"))
    stats = rx.stats()
    assert stats["requests"] == 3
    assert stats["by_status"] == {"201": 1, "200": 1, "404": 1}
    assert stats["docs_written"] == 2 and stats["bulk_items"] == 2
    assert set(stats["faults"]) >= {"429", "503", "reset", "hang", "outage", "auth"}
    assert not any(stats["faults"].values())
    rx.reset_stats()
    assert rx.stats()["requests"] == 0 and rx.count("st") == 2
    rx.set_faults(rate_429=0.5)
    rx.reset()
    assert rx.count("st") == 0 and rx.stats()["requests"] == 0
    assert rx.faults()["rate_429"] == 0.5  # a reset keeps the faults


async def test_put_faults_validates_and_keeps_the_old_config(rx: ReceiverProcess) -> None:
    rx.set_faults(rate_503=0.25)
    status, resp = rx.request("PUT", "/_faults", {"rate_429": 1.5})
    assert status == 400
    assert resp["error"]["reason"] == "rate_429 must be between 0 and 1 (got 1.5)"
    status, resp = rx.request("PUT", "/_faults", {"rate_4299": 1})
    assert status == 400 and "rate_4299 is not a fault setting" in resp["error"]["reason"]
    assert rx.faults()["rate_503"] == 0.25
    with pytest.raises(ReceiverError, match="rate_429 must be between 0 and 1"):
        rx.set_faults(rate_429=2)


# --- the process and its CLI ------------------------------------------------------------------


def run_cli(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "db2api.receiver", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def test_cli_help() -> None:
    done = run_cli("--help")
    assert done.returncode == 0 and "--rate-429" in done.stdout and done.stderr == ""


def test_cli_bad_value_is_one_line() -> None:
    done = run_cli("--rate-429", "1.5")
    assert done.returncode == 2
    assert done.stderr == "receiver: --rate-429 must be between 0 and 1 (got 1.5)\n"
    assert done.stdout == ""


def test_cli_occupied_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("--port", str(port), "--data", str(tmp_path / "r.sqlite"))
    assert done.returncode == 1
    assert done.stderr == (
        f"receiver: cannot listen on 127.0.0.1:{port}: address already in use; "
        "pick another --port or 0 for a free one\n"
    )


async def test_cli_flags_set_the_faults(tmp_path: Path) -> None:
    args = ["--rate-503", "1", "--seed", "3", "--require-auth", "Basic c2VjcmV0"]
    args += ["--reject-field", "status", "--reject-value", "5", "--outage-mode", "refuse"]
    with ReceiverProcess(tmp_path / "r.sqlite", args=[*args, "--access-log"]) as proc:
        faults = proc.faults()
        assert (faults["rate_503"], faults["seed"], faults["outage_mode"]) == (1, 3, "refuse")
        assert (faults["reject_field"], faults["reject_value"]) == ("status", "5")
        assert faults["require_auth"] == "<redacted>"
        assert proc.request("GET", "/")[0] == 503
        await wait_until(lambda: '"GET / HTTP/1.1" 503' in proc.stderr)
        assert "c2VjcmV0" not in proc.stderr


async def test_helper_reads_bypass_faults_and_stats(rx: ReceiverProcess) -> None:
    await call("PUT", doc_url(rx, "h", "1"), {"a": 1})
    rx.set_faults(rate_503=1, latency_ms=30_000)
    # Reads that waited out the latency would time out: these answer, and are not counted.
    impatient = ReceiverClient(rx.url, timeout=5.0)
    assert impatient.count("h") == 1 and impatient.get("h", "1") == {"a": 1}
    stats = rx.stats()
    assert stats["requests"] == 1 and stats["in_flight"] == 0  # only the PUT
    rx.set_faults(rate_503=1)
    status, _ = rx.request("PUT", "/h/_doc/2", {"a": 2}, {"X-Receiver-Bypass": "1"})
    assert status == 503  # writes cannot bypass


def test_process_is_gone_after_the_block_even_on_error(tmp_path: Path) -> None:
    proc = ReceiverProcess(tmp_path / "r.sqlite")
    with pytest.raises(RuntimeError, match="boom"), proc:
        pid, port = proc.pid, proc.port
        assert proc.request("GET", "/")[0] == 200
        raise RuntimeError("boom")
    assert not proc.running and proc.returncode == 0  # SIGTERM is a clean exit
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass
    assert "Traceback" not in proc.stderr
    with pytest.raises(ReceiverError, match="not running"):
        _ = proc.url


def test_startup_failure_is_reported_with_the_receivers_message(tmp_path: Path) -> None:
    proc = ReceiverProcess(tmp_path / "r.sqlite", args=["--rate-429", "2"])
    with pytest.raises(ReceiverError, match=r"--rate-429 must be between 0 and 1 \(got 2\)"):
        proc.start()
    assert not proc.running
    proc.close()


def test_stop_falls_back_to_sigkill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("db2api.receiver.process._TERM_GRACE", 0.5)
    with ReceiverProcess(tmp_path / "r.sqlite") as proc:
        os.kill(proc.pid, signal.SIGSTOP)  # a stopped process cannot act on SIGTERM
    assert proc.returncode == -signal.SIGKILL
