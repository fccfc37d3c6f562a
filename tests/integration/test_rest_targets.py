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

So ``upsert="put-or-post"`` is the strategy for it: PUT, and on 404 POST. A 500
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

from db2api.deadletters import iter_dead_letters
from db2api.documents import Document
from db2api.http import open_session
from db2api.job import Job, Row, Target
from db2api.limiter import Limiter
from db2api.pipeline import transfer_range
from db2api.retry import RetryPolicy
from db2api.targets.http_item import HttpItem
from tests.conftest import sqlite_ids
from tests.support.jobs import sqlite_job, to_document
from tests.support.real_answers import Answer
from tests.support.scripted import Respond, ScriptedTarget, Seen
from tests.support.servers import JSON_SERVER, JsonServer, require

START, END = "2024-01-01", "2024-01-03"  # two days: 1,152 rows


@pytest.fixture
def json_server(tmp_path: Path) -> Iterator[JsonServer]:
    require(JSON_SERVER, "bash .ci/setup-node-tools")
    with JsonServer(tmp_path).run() as server:
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
    # Every document: a PUT answered 404, then a POST answered 201.
    assert summary.total("requests") == 2 * len(stored)


async def test_a_second_put_or_post_run_changes_nothing(
    json_server: JsonServer, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    job = rest_job(sqlite_source, json_server.url)
    await transfer_range(job, START, END)
    first = json_server.readings()

    summary = await transfer_range(job, START, END)

    assert json_server.readings() == first
    # Every id is there now: one PUT each, answered 200, and no POST.
    assert summary.ok and summary.total("requests") == summary.total("acked") == len(first)


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

    assert (outcome.acked, outcome.dead, outcome.retries) == (2, [], 0)
    assert [(s.method, s.path) for s in seen] == [
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
