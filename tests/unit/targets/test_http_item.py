"""Item mode's upsert strategies: which request goes first, and which answer switches."""

from __future__ import annotations

import pytest

from db2api.job import Target
from db2api.targets.http_item import (
    POST_TO_COLLECTION,
    PUT_BY_ID,
    HttpItem,
    Step,
    collection_path,
    fallback,
    first_step,
)


def item(**changes) -> Target:
    return Target(url="http://127.0.0.1:3000", index="readings", mode="item", **changes)


@pytest.mark.parametrize(
    ("upsert", "status", "then"),
    [
        ("put-or-post", 404, POST_TO_COLLECTION),  # json-server: PUT to an id it lacks
        ("put-or-post", 200, None),
        ("put-or-post", 409, None),
        ("put-or-post", 500, None),
        ("put-or-post", 503, None),  # retried as it is, not switched
        ("post-or-put", 409, PUT_BY_ID),
        ("post-or-put", 201, None),
        ("post-or-put", 404, None),
        ("post-or-put", 500, None),  # json-server's duplicate id: no clear signal
        ("post-or-put", 422, None),
        ("none", 404, None),
        ("none", 409, None),
    ],
)
def test_only_the_strategys_own_signal_switches_the_request(upsert, status, then):
    assert fallback(upsert, status) == then


@pytest.mark.parametrize(
    ("settings", "step"),
    [
        ({}, Step("PUT", by_id=True)),
        ({"method": "post", "path": "/{index}"}, Step("POST", by_id=True)),
        ({"upsert": "put-or-post", "path": "/{index}/{id}"}, PUT_BY_ID),
        ({"upsert": "post-or-put", "path": "/{index}/{id}"}, POST_TO_COLLECTION),
    ],
)
def test_the_first_request(settings, step):
    assert first_step(item(**settings)) == step


@pytest.mark.parametrize(
    ("settings", "collection"),
    [
        ({"path": "/{index}/{id}"}, "/{index}"),
        ({"path": "/api/v1/{index}/{id}"}, "/api/v1/{index}"),
        ({"path": "/{id}"}, "/"),
        ({"path": "/{index}/{id}.json"}, None),
        ({"path": "/{index}/{id}/doc", "collection_path": "/{index}/new"}, "/{index}/new"),
    ],
)
def test_the_collection_is_the_path_without_its_id_unless_named(settings, collection):
    assert collection_path(item(**settings)) == collection


def test_the_strategy_is_part_of_what_a_window_sends():
    kind = HttpItem()
    plain = kind.fingerprint(item(path="/{index}/{id}"))
    upsert = kind.fingerprint(item(path="/{index}/{id}", upsert="put-or-post"))
    elsewhere = kind.fingerprint(
        item(path="/{index}/{id}", upsert="put-or-post", collection_path="/new")
    )

    assert len({tuple(plain), tuple(upsert), tuple(elsewhere)}) == 3
