"""A dry run builds what would be sent and keeps a few samples, shortened, for people."""

from __future__ import annotations

import orjson
import pytest

from db2api.records.document import Document
from db2api.scrub import MASK, SCRUBBER
from db2api.targets import kind_of
from db2api.write.dryrun import SAMPLES, DrySink, elide
from tests.support.job_fields import make_target


@pytest.mark.parametrize(
    ("value", "sample"),
    [
        ("short", "short"),
        ("x" * 120, "x" * 120),
        ("x" * 121, "x" * 60 + "…(+61 chars)"),
        (list(range(10)), list(range(10))),
        (list(range(12)), [*range(10), "…(+2 items)"]),
        ({"a": {"b": "y" * 200}}, {"a": {"b": "y" * 60 + "…(+140 chars)"}}),
        (3.5, 3.5),
        (None, None),
    ],
)
def test_a_sample_cuts_long_strings_and_lists_at_any_depth(value: object, sample: object) -> None:
    assert elide(value) == sample


async def test_a_dry_run_keeps_the_first_documents_as_samples_and_sends_nothing() -> None:
    target = make_target(mode="bulk", bulk_docs=2)
    kind = kind_of(target)
    documents = [Document(str(n), orjson.dumps({"n": n, "t": "z" * 130})) for n in range(5)]

    outcome = await DrySink(target, kind).send(documents, kind.prepare(documents, target))

    assert (outcome.requests, outcome.acked, outcome.dead) == (3, 5, [])
    assert outcome.samples == [
        {"id": str(n), "document": {"n": n, "t": "z" * 60 + "…(+70 chars)"}} for n in range(SAMPLES)
    ]


def test_a_sample_never_shows_a_secret_the_run_knows() -> None:
    SCRUBBER.add("hunter2-long-password")

    assert elide({"note": "key hunter2-long-password here"}) == {"note": f"key {MASK} here"}
