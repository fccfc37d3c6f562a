"""A dry run counts the requests, acks and dead letters a real send would make."""

from __future__ import annotations

import pytest

from db2api.targets import kind_of
from tests.support.documents import sized_documents
from tests.support.job_fields import make_target


@pytest.mark.parametrize(
    ("mode", "requests", "acked", "dead"),
    [("bulk", 2, 4, 0), ("item", 4, 4, 0), ("batch", 2, 4, 0)],
)
def test_a_dry_run_counts_the_requests_a_real_send_would_make(mode, requests, acked, dead):
    t = make_target(mode=mode, bulk_docs=2, path="/r/{id}" if mode == "item" else "/r")
    kind = kind_of(t)
    documents = sized_documents(10, 10, 10, 10)

    outcome = kind.dry_run(documents, kind.prepare(documents, t), t)

    assert (outcome.requests, outcome.acked, len(outcome.dead)) == (requests, acked, dead)
    assert outcome.bytes > sum(len(d.body) for d in documents) or mode == "item"
