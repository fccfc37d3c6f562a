"""Item mode against a real third-party REST server: json-server 0.17.4 (npm).

json-server has no upsert. What it answered here (0.17.4, `db.json` = ``{"readings": []}``):

- ``PUT /readings/1`` with ``{"id":1,"v":1}``, id 1 absent: ``404``, body ``{}``
  (``application/json``), nothing stored.
- ``POST /readings`` with ``{"id":1,"v":1}``, id 1 absent: ``201``, body
  ``{"id": 1, "v": 1}``, ``Location: http://127.0.0.1:<port>/readings/1``.
- ``POST /readings`` with ``{"id":1,"v":2}``, id 1 present: ``500``, ``text/html``,
  body ``Error: Insert failed, duplicate id`` followed by a Node stack trace
  (``at Function.insert (.../lodash-id/src/index.js:49:18)`` ...). The same for
  ``{"id":"1"}``: ids compare as text.
- ``PUT /readings/1`` with ``{"id":1,"v":3}``, id 1 present: ``200``, body
  ``{"id": 1, "v": 3}`` (the document replaced whole).

json-server 1.0.0-beta.15 (the 1.x line, npm) differs: a POSTed ``id`` is ignored and
the record filed under a random text id (``{"id": "stoCWs77zTQ", "v": 1}``), a PUT to
an absent id answers 404 ``{"error": "Not Found"}``, and ``?id=a&id=b`` matches the last
value only. No strategy writes to it by id: db2api stops at the first POST answer.

So ``upsert="put-or-post"`` is the strategy for 0.17: PUT, and on 404 POST. A 500
is not a clear "exists" signal, so ``post-or-put`` does not switch on it (it
switches on 409 only): against json-server it retries the 500, and as nothing is
decided the run stops as "target unavailable" once ``give_up_after`` is spent, with
nothing dead-lettered (shown below). ``post-or-put`` itself is shown against a scripted API that
answers 409.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from db2api.errors import TargetError
from db2api.job import Job, Row, Target
from db2api.records.deadletters import iter_dead_letters
from db2api.records.document import Document
from db2api.run.window import transfer_range
from db2api.targets.http_item import HttpItem
from db2api.transport.http import open_session
from db2api.transport.limiter import Limiter
from db2api.transport.retry import RetryPolicy
from tests.conftest import sqlite_ids
from tests.support.jobs import sqlite_job, to_document
from tests.support.lying_api import LyingApi
from tests.support.real_answers import Answer
from tests.support.scripted import Respond, ScriptedTarget, Seen
from tests.support.servers import JSON_SERVER, JSON_SERVERS, JsonServer, require

START, END = "2024-01-01", "2024-01-03"  # two days: 1,152 rows


@pytest.fixture
def json_server(tmp_path: Path) -> Iterator[JsonServer]:
    require(JSON_SERVER, "bash .ci/setup-node-tools")
    with JsonServer(tmp_path).run() as server:
        yield server


@pytest.fixture(params=sorted(JSON_SERVERS))
def any_json_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JsonServer]:
    """Each json-server line the project installs: 0.17 and 1.x."""
    require(JSON_SERVERS[request.param], "bash .ci/setup-node-tools")
    with JsonServer(tmp_path, request.param).run() as server:
        yield server


def with_id(row: Row) -> dict[str, Any]:
    """json-server takes a document's id from its body on POST."""
    return {"id": row["reading_id"], **to_document(row)}


def rest_job(source: Path, url: str, **target: Any) -> Job:
    settings = {"path": "/{index}/{id}", "upsert": "put-or-post", **target}
    job = sqlite_job(str(source), url, "item", transform=with_id)
    return replace(job, target=replace(job.target, **settings))


def dead_letters(path: str) -> list[dict[str, Any]]:
    return list(iter_dead_letters(Path(path))) if Path(path).exists() else []


async def test_put_or_post_stores_every_row_once(
    json_server: JsonServer, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    summary = await transfer_range(rest_job(sqlite_source, json_server.url), START, END)

    stored = [str(doc["id"]) for doc in json_server.readings()]
    assert len(stored) == len(set(stored)), "json-server holds an id twice"
    assert set(stored) == sqlite_ids(sqlite_source, START, END)
    assert summary.ok and summary.total("dead") == 0
    # Every document: a PUT answered 404, a POST answered 201, the read-back GET 200.
    assert summary.total("requests") == 3 * len(stored)
    assert summary.total("proven") == len(stored)


async def test_a_second_put_or_post_run_changes_nothing(
    json_server: JsonServer, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    job = rest_job(sqlite_source, json_server.url)
    await transfer_range(job, START, END)
    first = json_server.readings()

    summary = await transfer_range(job, START, END)

    assert json_server.readings() == first
    # Every id is there now: one PUT each, answered 200, no POST, and the read-back GET.
    assert summary.ok and summary.total("acked") == summary.total("proven") == len(first)
    assert summary.total("requests") == 2 * len(first)


async def test_plain_put_stops_the_run_on_the_first_404_naming_the_fix(
    json_server: JsonServer, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    job = rest_job(sqlite_source, json_server.url, upsert="none")

    summary = await transfer_range(job, START, END)

    assert not summary.ok and "\n" not in summary.fatal
    assert summary.fatal.startswith(f"HTTP 404 from PUT {json_server.url}/readings/")
    assert summary.fatal.endswith(
        "({}): no such path or index: check target.url and target.index / target.path, "
        "or, for an API that answers 404 to a PUT of a new id, set "
        "target.upsert='put-or-post'"
    )
    assert json_server.readings() == []
    assert dead_letters(summary.dead_letter_file) == [], "a misconfiguration is no dead letter"


async def test_post_or_put_cannot_tell_json_servers_duplicate_500_from_an_outage(
    json_server: JsonServer, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    brief = RetryPolicy(give_up_after=2, base_delay=0.01, max_delay=0.05)
    job = rest_job(sqlite_source, json_server.url, upsert="post-or-put")
    job = replace(job, retry=brief)
    first = await transfer_range(job, START, "2024-01-02")
    assert first.ok, "into an empty collection every POST creates"
    stored = json_server.readings()

    again = await transfer_range(job, START, "2024-01-02")

    assert dead_letters(again.dead_letter_file) == [], "a 500 is never a dead letter"
    assert again.unavailable and not again.ok
    assert again.fatal.startswith(f"target {json_server.url} unavailable since ")
    assert "500 x" in again.fatal
    assert again.fatal.endswith(
        "nothing was lost; 1 windows from 2024-01-01T00:00:00Z will be sent by the next run"
    )
    assert json_server.readings() == stored


# --- post-or-put against an API that answers 409 for an id it has -------------------


class ConflictApi:
    """POST creates (201) or answers 409 for a known id; PUT replaces (200) a known id."""

    def __init__(self, known: set[str]) -> None:
        self.known = set(known)

    def __call__(self, _number: int, seen: Seen) -> Answer:
        json = {"content-type": "application/json"}
        if seen.method == "POST" and seen.path == "/things":
            doc_id = str(orjson.loads(seen.body)["id"])
            if doc_id in self.known:
                return Answer(409, json, b'{"error":"id exists"}', "", "")
            self.known.add(doc_id)
            return Answer(201, json, seen.body, "", "")
        if seen.method == "PUT" and seen.path.removeprefix("/things/") in self.known:
            return Answer(200, json, seen.body, "", "")
        if seen.method == "GET" and seen.path.removeprefix("/things/") in self.known:
            return Answer(200, json, b"{}", "", "")
        return Answer(404, json, b"{}", "", "")


async def send(api: Respond, upsert: str, ids: list[str]) -> tuple[Any, list[Seen]]:
    policy = RetryPolicy(give_up_after=10, base_delay=0.01, max_delay=0.01)
    documents = [Document(i, orjson.dumps({"id": i})) for i in ids]
    async with ScriptedTarget(api) as server:
        target = Target(
            url=server.url, index="things", mode="item", path="/{index}/{id}", upsert=upsert
        )
        async with open_session(1, 10) as session:
            sink = HttpItem().sink(session, server.url, target, policy, Limiter(1), "")
            outcome = await sink.send(documents)
    return outcome, server.seen


async def test_post_or_put_puts_the_ids_the_api_already_has():
    outcome, seen = await send(ConflictApi({"b"}), "post-or-put", ["a", "b"])

    assert (outcome.acked, outcome.dead, outcome.retries, outcome.proven) == (2, [], 0, 2)
    assert [(s.method, s.path) for s in seen if s.method != "GET"] == [
        ("POST", "/things"),
        ("POST", "/things"),
        ("PUT", "/things/b"),
    ]


async def test_only_the_first_answer_switches_the_second_decides():
    """PUT 404 then POST 409 (the id appeared in between): the 409 dead-letters it."""

    def respond(_number: int, seen: Seen) -> Answer:
        if seen.method == "POST":
            return Answer(
                409, {"content-type": "application/json"}, b'{"error":"id exists"}', "", ""
            )
        return Answer(404, {"content-type": "application/json"}, b"{}", "", "")

    outcome, seen = await send(respond, "put-or-post", ["a"])

    assert [(s.method, s.path) for s in seen] == [("PUT", "/things/a"), ("POST", "/things")]
    [letter] = outcome.dead
    assert (letter.id, letter.status, letter.reason) == ("a", 409, "HTTP 409: id exists")


# --- what db2api proves of what the API acknowledged -------------------------------


def without_id(row: Row) -> dict[str, Any]:
    """The README's REST pattern, tried as a user would: no ``id`` in the document."""
    return to_document(row)


@pytest.mark.parametrize("transform", [with_id, without_id], ids=["id-in-document", "no-id"])
async def test_put_or_post_ends_non_zero_or_stores_every_record_under_its_own_id(
    any_json_server: JsonServer, sqlite_source: Path, dead_letter_dir: Path, transform: Any
) -> None:
    """Without the id in the document, json-server 0.17 filed each POST under an id of
    its own and later PUTs overwrote other records; 1.x does so even with it."""
    server = any_json_server
    job = replace(rest_job(sqlite_source, server.url), transform=transform)
    source = sqlite_ids(sqlite_source, START, END)

    summary = await transfer_range(job, START, END)

    stored = [str(record["id"]) for record in server.readings()]  # the server's own data
    if summary.ok:
        assert sorted(stored) == sorted(source), "every record under its own id, once"
    else:
        assert "\n" not in summary.fatal and dead_letters(summary.dead_letter_file) == []
    if transform is without_id:  # refused before the first request: nothing stored
        assert not summary.ok and stored == []
        assert summary.fatal.startswith("document ") and summary.fatal.endswith(
            f"has no field 'id', and upsert 'put-or-post' POSTs new records to "
            f"{server.url}/readings, where the API files a record under the id in its body: "
            "put the id in the document (field 'id') in the transform, or set "
            "target.id_field to the field that holds it"
        )
    elif server.line == "0.17":
        assert summary.ok and summary.total("proven") == len(source)
    else:  # 1.x files the first POSTs under ids of its own: the run stops there
        assert summary.fatal.startswith("the API stored the record under id ")
        assert summary.fatal.endswith(
            f"(POST {server.url}/readings): put the id in the document (field 'id') or use "
            "method PUT; an API that picks its own ids on POST cannot be written to by id"
        )
        # Each window stops at its first misfiled answer: only POSTs already under way
        # (a window's workers) can have reached the server.
        assert set(stored).isdisjoint(source)
        assert 1 <= len(stored) <= job.concurrency * len(summary.windows)


async def test_json_servers_batched_look_up_proves_a_hundred_ids_per_request(
    json_server: JsonServer, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    job = rest_job(sqlite_source, json_server.url, prove_path="/{index}?id={ids*}")

    summary = await transfer_range(job, START, END)

    source = sqlite_ids(sqlite_source, START, END)
    assert summary.ok and summary.total("proven") == len(source)
    look_ups = sum(-(-w.rows // 100) for w in summary.windows)  # one chunk per window
    assert summary.total("requests") == 2 * len(source) + look_ups


async def test_content_proof_passes_where_json_server_keeps_what_was_sent(
    json_server: JsonServer, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    job = rest_job(sqlite_source, json_server.url, prove="content")

    summary = await transfer_range(job, START, END)

    assert summary.ok and summary.total("proven") == len(sqlite_ids(sqlite_source, START, END))


def lying_job(source: Path, url: str, **target: Any) -> Job:
    settings = {"index": "things", "path": "/{index}/{id}", **target}
    job = sqlite_job(str(source), url, "item", transform=with_id)
    return replace(job, target=replace(job.target, **settings))


@pytest.mark.parametrize(
    ("keeps", "prove", "says"),
    [
        ("nothing", True, "the API acknowledged 576 documents it does not hold "),
        ("nothing", "content", "the API acknowledged 576 documents it does not hold "),
        ("altered", "content", "the API holds 576 documents other than sent, "),
    ],
    ids=["stores-nothing", "stores-nothing-content", "stores-another-body"],
)
async def test_a_lying_api_fails_every_window_and_dead_letters_nothing(
    sqlite_source: Path, dead_letter_dir: Path, keeps: str, prove: Any, says: str
) -> None:
    async with ScriptedTarget(LyingApi(keeps)) as server:
        summary = await transfer_range(
            lying_job(sqlite_source, server.url, prove=prove), START, END
        )

    assert not summary.ok and summary.fatal == ""
    assert [report.proven for report in summary.windows] == [0, 0]
    for report in summary.windows:
        assert report.error.startswith(f"AccountingError: {says}")
        assert "the window is not complete and runs again next time" in report.error
    assert dead_letters(summary.dead_letter_file) == [], "the API refused nothing"


async def test_the_content_proof_names_the_field_the_api_changed(
    sqlite_source: Path, dead_letter_dir: Path
) -> None:
    async with ScriptedTarget(LyingApi("altered")) as server:
        job = lying_job(sqlite_source, server.url, prove="content")
        summary = await transfer_range(job, START, "2024-01-02")

    [report] = summary.windows
    assert "(id 1: field 'value' is -1, sent " in report.error
    assert report.error.endswith(
        "if the API rewrites those fields on purpose, set target.prove=True to prove the ids only"
    )


async def test_an_honest_api_passes_the_same_proofs(
    sqlite_source: Path, dead_letter_dir: Path
) -> None:
    async with ScriptedTarget(LyingApi("all")) as server:
        for prove_path in (None, "/{index}?id={ids*}"):
            job = lying_job(sqlite_source, server.url, prove="content", prove_path=prove_path)
            summary = await transfer_range(job, START, END)
            assert summary.ok and summary.total("proven") == summary.total("acked") == 1152


async def test_an_api_that_cannot_be_read_back_is_trusted_with_one_warning_and_counted(
    sqlite_source: Path, dead_letter_dir: Path
) -> None:
    import logging

    said: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("db2api").addHandler(handler)

    def write_only(_number: int, seen: Seen) -> Answer:
        if seen.method == "GET":
            return Answer(405, {"content-type": "text/plain"}, b"Method Not Allowed", "", "")
        return Answer(200, {"content-type": "application/json"}, seen.body, "", "")

    try:
        async with ScriptedTarget(write_only) as server:
            summary = await transfer_range(lying_job(sqlite_source, server.url), START, END)
    finally:
        logging.getLogger("db2api").removeHandler(handler)

    assert summary.ok and summary.total("acked") == 1152 and summary.total("proven") == 0
    [warning] = [line for line in said if "cannot be read back" in line]
    assert warning.startswith(f"target {server.url} answers GET /things/{{id}} with HTTP 405: ")
    [line] = [line for line in summary.lines() if line.startswith("proof")]
    assert line.endswith("; 1152 on the target's word (see the log)")


async def test_documents_without_their_id_are_refused_before_any_request() -> None:
    policy = RetryPolicy(give_up_after=10, base_delay=0.01, max_delay=0.01)
    documents = [Document(i, orjson.dumps({"value": 1})) for i in ("a", "b")]
    async with ScriptedTarget(LyingApi()) as server:
        target = Target(
            url=server.url, index="things", mode="item", path="/{index}/{id}", upsert="put-or-post"
        )
        async with open_session(1, 10) as session:
            sink = HttpItem().sink(session, server.url, target, policy, Limiter(1), "")
            with pytest.raises(TargetError) as caught:
                await sink.send(documents)

    assert server.seen == [], "not even the PUT"
    assert caught.value.message.startswith("document a has no field 'id', and upsert ")


async def test_a_document_that_lacks_its_id_mid_chunk_stops_the_run_before_its_post(
    json_server: JsonServer, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    victim = sorted(sqlite_ids(sqlite_source, START, "2024-01-02"), key=int)[300]

    def mostly_with_id(row: Row) -> dict[str, Any]:
        return to_document(row) if str(row["reading_id"]) == victim else with_id(row)

    job = replace(rest_job(sqlite_source, json_server.url), transform=mostly_with_id)
    summary = await transfer_range(job, START, "2024-01-02")

    assert summary.fatal.startswith(f"document {victim} has no field 'id', and upsert ")
    stored = [str(record["id"]) for record in json_server.readings()]
    assert victim not in stored and set(stored) <= sqlite_ids(sqlite_source, START, "2024-01-02")


@pytest.mark.parametrize(
    "answer", [b"[]", b'{"id": 0, "value": 1}'], ids=["empty-array", "another-record"]
)
async def test_a_2xx_look_up_that_shows_no_record_of_the_id_is_not_proof(
    sqlite_source: Path, dead_letter_dir: Path, answer: bytes
) -> None:
    """Some APIs answer 200 with an empty list, or a fallback record, for an unknown id."""

    def respond(_number: int, seen: Seen) -> Answer:
        body = answer if seen.method == "GET" else seen.body
        return Answer(200, {"content-type": "application/json"}, body, "", "")

    async with ScriptedTarget(respond) as server:
        summary = await transfer_range(lying_job(sqlite_source, server.url), START, "2024-01-02")

    [report] = summary.windows
    assert report.error.startswith(
        "AccountingError: the API acknowledged 576 documents it does not hold when read back "
    )


async def test_a_batch_api_that_stores_nothing_is_caught_by_the_batched_look_up(
    sqlite_source: Path, dead_letter_dir: Path
) -> None:
    job = sqlite_job(str(sqlite_source), "http://127.0.0.1:9", "batch", transform=with_id)
    async with ScriptedTarget(LyingApi("nothing")) as server:
        settings = {"url": server.url, "index": "things", "path": "/{index}/_batch"}
        job = replace(job, target=replace(job.target, prove_path="/{index}?id={ids*}", **settings))
        summary = await transfer_range(job, START, "2024-01-02")

    [report] = summary.windows
    assert report.error.startswith(
        "AccountingError: the API acknowledged 576 documents it does not hold when read back "
        f"with GET {server.url}/things?id={{ids*}} (ids: 1; 2; 3; 4; 5 (first 5))"
    )
    assert dead_letters(summary.dead_letter_file) == []


async def test_a_key_that_may_write_but_not_read_stops_the_run_naming_the_fix(
    sqlite_source: Path, dead_letter_dir: Path
) -> None:
    def respond(_number: int, seen: Seen) -> Answer:
        if seen.method == "GET":
            return Answer(403, {"content-type": "application/json"}, b'{"error":"read"}', "", "")
        return Answer(200, {"content-type": "application/json"}, seen.body, "", "")

    async with ScriptedTarget(respond) as server:
        summary = await transfer_range(lying_job(sqlite_source, server.url), START, "2024-01-02")

    assert summary.fatal.startswith(
        f"reading back delivered documents with GET {server.url}/things/"
    )
    assert summary.fatal.endswith(
        "failed with HTTP 403 (read): the credentials may not read: grant read access to the "
        "key, or set target.prove=False to take the API's word"
    )
