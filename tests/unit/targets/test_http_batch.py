"""Batch bodies are JSON arrays (or wrapped arrays) within both caps."""

from __future__ import annotations

import orjson
import pytest

from db2api.targets.http_batch import Batch, body, iter_batches
from tests.support.documents import sized_documents
from tests.support.job_fields import make_target


def test_batch_bodies_are_json_arrays_or_wrapped_arrays():
    two = sized_documents(10, 12)
    assert body(two, None) == b"[" + two[0].body + b"," + two[1].body + b"]"
    assert orjson.loads(body(two, "rows")) == {"rows": [orjson.loads(d.body) for d in two]}
    assert body([], None) == b"[]"


@pytest.mark.parametrize("wrap", [None, "rows"])
def test_batches_respect_both_caps_and_leave_an_oversized_document_bare(wrap):
    overhead = len(body([], wrap))
    cap = 1024
    documents = sized_documents(100, 100, 100, cap, 100)
    items = list(
        iter_batches(
            documents, make_target(mode="batch", bulk_docs=2, bulk_bytes=cap, batch_wrap=wrap)
        )
    )

    shapes = [[d.id for d in i.documents] if isinstance(i, Batch) else i.id for i in items]
    assert shapes == [["0", "1"], "3", ["2", "4"]]
    for item in items:
        if isinstance(item, Batch):
            assert len(item.body) <= cap
            assert len(item.body) >= overhead


def test_batches_fill_up_to_the_byte_cap_exactly():
    # Three 340-byte documents, two commas and the brackets: exactly 1024 bytes.
    documents = sized_documents(340, 340, 340, 340)
    items = list(iter_batches(documents, make_target(mode="batch", bulk_docs=100, bulk_bytes=1024)))

    assert [len(i.documents) for i in items] == [3, 1]
    assert len(items[0].body) == 1024
