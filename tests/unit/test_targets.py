"""Target kinds: what each checks, builds ahead and counts in a dry run."""

from __future__ import annotations

import orjson
import pytest
from etlhelper import DbParams

from db2api.job import Job, Source, Target
from db2api.records.document import Document
from db2api.targets import KINDS, kind_of
from db2api.targets.http_batch import Batch, body, iter_batches

SQL = "SELECT * FROM r WHERE t >= :start AND t < :end"


def docs(*sizes: int) -> list[Document]:
    """Documents whose bodies are exactly ``size`` bytes (size >= 10)."""
    out = []
    for number, size in enumerate(sizes):
        encoded = orjson.dumps({"v": "x" * (size - 8)})
        assert len(encoded) == size
        out.append(Document(str(number), encoded))
    return out


def target(**changes) -> Target:
    return Target(**{"url": "http://127.0.0.1:9200", "index": "readings", **changes})


def test_every_kind_is_registered_under_the_name_jobs_use():
    assert list(KINDS) == ["bulk", "item", "batch"]
    assert all(kind.name == name for name, kind in KINDS.items())


@pytest.mark.parametrize(("mode", "concurrency"), [("bulk", 8), ("item", 64), ("batch", 8)])
def test_a_job_without_concurrency_takes_its_kinds_default(mode, concurrency):
    job = Job(
        name="unit",
        source=Source(db=DbParams(dbtype="SQLITE", filename="x.sqlite")),
        sql=SQL,
        id="id",
        target=target(mode=mode, path="/records/{id}" if mode == "item" else "/records"),
    )
    assert job.concurrency == concurrency


def test_batch_bodies_are_json_arrays_or_wrapped_arrays():
    two = docs(10, 12)
    assert body(two, None) == b"[" + two[0].body + b"," + two[1].body + b"]"
    assert orjson.loads(body(two, "rows")) == {"rows": [orjson.loads(d.body) for d in two]}
    assert body([], None) == b"[]"


@pytest.mark.parametrize("wrap", [None, "rows"])
def test_batches_respect_both_caps_and_leave_an_oversized_document_bare(wrap):
    overhead = len(body([], wrap))
    cap = 1024
    documents = docs(100, 100, 100, cap, 100)
    items = list(
        iter_batches(documents, target(mode="batch", bulk_docs=2, bulk_bytes=cap, batch_wrap=wrap))
    )

    shapes = [[d.id for d in i.documents] if isinstance(i, Batch) else i.id for i in items]
    assert shapes == [["0", "1"], "3", ["2", "4"]]
    for item in items:
        if isinstance(item, Batch):
            assert len(item.body) <= cap
            assert len(item.body) >= overhead


def test_batches_fill_up_to_the_byte_cap_exactly():
    # Three 340-byte documents, two commas and the brackets: exactly 1024 bytes.
    documents = docs(340, 340, 340, 340)
    items = list(iter_batches(documents, target(mode="batch", bulk_docs=100, bulk_bytes=1024)))

    assert [len(i.documents) for i in items] == [3, 1]
    assert len(items[0].body) == 1024


@pytest.mark.parametrize(
    ("mode", "requests", "acked", "dead"),
    [("bulk", 2, 4, 0), ("item", 4, 4, 0), ("batch", 2, 4, 0)],
)
def test_a_dry_run_counts_the_requests_a_real_send_would_make(mode, requests, acked, dead):
    t = target(mode=mode, bulk_docs=2, path="/r/{id}" if mode == "item" else "/r")
    kind = kind_of(t)
    documents = docs(10, 10, 10, 10)

    outcome = kind.dry_run(documents, kind.prepare(documents, t), t)

    assert (outcome.requests, outcome.acked, len(outcome.dead)) == (requests, acked, dead)
    assert outcome.bytes > sum(len(d.body) for d in documents) or mode == "item"
