"""The read-back proof's pure parts: its settings, look-up paths, and what counts as held."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import pytest

from db2api.errors import JobError
from db2api.job import Target
from db2api.targets import KINDS, kind_of
from db2api.targets.readback import ReadBack, difference, id_text, records_in
from db2api.transport.limiter import Limiter
from db2api.transport.retry import RetryPolicy
from tests.support.jobs import unit_job

URL = "http://127.0.0.1:9"


def target(mode: str = "item", **changes: Any) -> Target:
    path = {"item": "/{index}/{id}", "batch": "/{index}/_batch"}.get(mode, "/{index}/_doc/{id}")
    settings = {"path": path, **changes}
    return Target(url=URL, index="readings", mode=mode, **settings)  # type: ignore[arg-type]


def refusal(**changes: Any) -> str:
    with pytest.raises(JobError) as caught:
        unit_job(target=target(**changes))
    return caught.value.message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"prove": "ids"},
            "target.prove must be True (read acknowledged ids back), 'content' (ids and "
            "fields) or False (take the target's word), got 'ids'",
        ),
        (
            {"prove": 1},
            "target.prove must be True (read acknowledged ids back), 'content' (ids and "
            "fields) or False (take the target's word), got 1",
        ),
        ({"id_field": ""}, "target.id_field must name the document field with the id (got '')"),
        (
            {"prove_path": "readings/{id}"},
            "target.prove_path must be a path starting with '/' (got 'readings/{id}')",
        ),
        (
            {"prove_path": "/{index}"},
            "target.prove_path '/{index}' must name the ids once: '{id}' (one GET per id, e.g. "
            "'/{index}/{id}'), 'name={ids*}' (a query parameter repeated per id, e.g. "
            "'/{index}?id={ids*}') or '{ids}' (the ids joined by commas)",
        ),
        (
            {"prove_path": "/{index}/{id}?also={ids}"},
            "target.prove_path '/{index}/{id}?also={ids}' must name the ids once: '{id}' (one "
            "GET per id, e.g. '/{index}/{id}'), 'name={ids*}' (a query parameter repeated per "
            "id, e.g. '/{index}?id={ids*}') or '{ids}' (the ids joined by commas)",
        ),
        (
            {"prove_path": "/{index}/{ids*}"},
            "target.prove_path '/{index}/{ids*}': {ids*} repeats a query parameter per id and "
            "must be its whole value, e.g. '/{index}?id={ids*}'",
        ),
        (
            {"mode": "bulk", "prove_path": "/{index}/_doc/{id}"},
            "bulk mode proves ids with _mget: leave target.prove_path unset and target.prove "
            "at True (or False)",
        ),
        (
            {"mode": "bulk", "prove": "content"},
            "bulk mode proves ids with _mget: leave target.prove_path unset and target.prove "
            "at True (or False)",
        ),
        (
            {"mode": "batch", "prove": "content"},
            "target.prove='content' reads records back, and this target has no path to read "
            "them at: set target.prove_path, e.g. '/{index}/{id}'",
        ),
    ],
    ids=[
        "prove-word",
        "prove-number",
        "empty-id-field",
        "relative-path",
        "no-ids",
        "ids-twice",
        "repeat-outside-query",
        "bulk-path",
        "bulk-content",
        "batch-content-nowhere",
    ],
)
def test_proof_settings_that_cannot_work_are_refused_in_one_line(changes, message):
    assert refusal(**changes) == f"job 'unit': {message}"


@pytest.mark.parametrize(
    ("mode", "changes", "proves", "how"),
    [
        ("bulk", {}, True, "every acknowledged id looked up with POST /readings/_mget"),
        ("bulk", {"prove": False}, False, "target.prove=False"),
        ("item", {}, True, "every acknowledged id read back with GET /{index}/{id}"),
        (
            "item",
            {"prove": "content", "prove_path": "/{index}?id={ids*}"},
            True,
            "every acknowledged id read back with GET /{index}?id={ids*} and its fields compared",
        ),
        (
            "item",
            {"method": "POST", "path": "/{index}"},
            False,
            "target.path has no {id} and target.prove_path is unset",
        ),
        ("item", {"prove": False}, False, "target.prove=False"),
        ("batch", {}, False, "no target.prove_path is set"),
        (
            "batch",
            {"prove_path": "/{index}/{id}"},
            True,
            "every acknowledged id read back with GET /{index}/{id}",
        ),
    ],
)
def test_every_kind_proves_or_says_why_not(mode, changes, proves, how):
    settings = target(mode, **changes)
    assert kind_of(settings).proof(settings) == (proves, how)


async def test_a_kind_that_proves_nothing_says_so_once_per_sink():
    said: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("db2api").addHandler(handler)
    try:
        async with aiohttp.ClientSession() as session:
            KINDS["batch"].sink(session, URL, target("batch"), RetryPolicy(), Limiter(2), "")
            KINDS["item"].sink(session, URL, target("item"), RetryPolicy(), Limiter(2), "")
    finally:
        logging.getLogger("db2api").removeHandler(handler)

    assert said == [
        f"target {URL} (batch mode): acknowledged documents are not read back (no "
        "target.prove_path is set): db2api takes the target's word that it holds them"
    ]


@pytest.mark.parametrize(
    ("template", "ids", "path"),
    [
        ("/{index}?id={ids*}", ["1", "2"], "/readings?id=1&id=2"),
        ("/{index}?_limit=200&id={ids*}", ["a b", "c&d"], "/readings?_limit=200&id=a%20b&id=c%26d"),
        (
            "/d/{index}.json?_shape=array&pk__in={ids}",
            ["1", "2,3"],
            "/d/readings.json?_shape=array&pk__in=1,2%2C3",
        ),
        ("/{index}?id=in.({ids})", ["7", "8"], "/readings?id=in.(7,8)"),
    ],
)
def test_batched_look_up_paths(template, ids, path):
    class Sink:
        target = Target(url=URL, index="readings", mode="batch", prove_path=template)

    assert ReadBack(Sink(), template)._batch_path(ids) == path  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("payload", "records"),
    [
        ({"id": 1, "v": 2}, [{"id": 1, "v": 2}]),  # json-server's record
        ([{"id": 1}, 3, {"id": 2}], [{"id": 1}, {"id": 2}]),  # an array of records
        ({"ok": True, "rows": [{"reading_id": 1}]}, [{"reading_id": 1}]),  # Datasette
        ({"_id": "1", "found": True, "_source": {"v": 1}}, [{"v": 1}]),  # Elasticsearch GET
        ({"_id": "1", "found": False, "_source": {"v": 1}}, []),
        ([], []),
        ("text", None),
    ],
)
def test_the_records_a_look_up_answered(payload, records):
    assert records_in(payload) == records


@pytest.mark.parametrize(
    ("sent", "held", "what"),
    [
        ({"id": 1, "v": 1.5}, {"id": 1, "v": 1.5, "createdAt": "x"}, None),  # added fields pass
        ({"id": 1, "v": 2}, {"id": 1, "v": 2.0}, None),  # REAL column: 2 reads back 2.0
        ({"id": 1}, {"id": "1"}, None),  # ids compare as text (json-server 1.x)
        ({"id": 1, "v": 1}, {"id": 1}, "field 'v' is missing"),
        ({"id": 1, "v": 1}, {"id": 1, "v": -1}, "field 'v' is -1, sent 1"),
        ({"id": 1, "v": "1"}, {"id": 1, "v": 1}, "field 'v' is 1, sent \"1\""),
        (
            {"id": 1, "t": {"a": [1]}},
            {"id": 1, "t": {"a": [2]}},
            'field \'t\' is {"a":[2]}, sent {"a":[1]}',
        ),
        ({"id": 1}, {"id": 2}, "field 'id' is 2, sent 1"),
    ],
)
def test_what_content_proof_calls_the_same(sent, held, what):
    assert difference(sent, held, "id") == what


@pytest.mark.parametrize(
    ("value", "text"), [(1000, "1000"), (1000.0, "1000"), ("1000", "1000"), (1.5, "1.5")]
)
def test_ids_compare_as_text(value, text):
    assert id_text(value) == text
