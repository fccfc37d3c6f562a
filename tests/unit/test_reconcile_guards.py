"""Reconciliation's pure parts: the job check, the guards, the search body, the marker."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from db2api.errors import JobError, TargetError
from db2api.job import Target
from db2api.read.build import DocumentBuilder
from db2api.receiver.protocol import ProtocolError
from db2api.receiver.search import parse_search
from db2api.records.deadletters import deletions_path
from db2api.records.windows import Window
from db2api.run.report import RunSummary, WindowReport
from db2api.targets.es_marker import is_owned
from db2api.targets.es_reconcile import cutoff, refusal
from db2api.targets.es_search import read_page, search_body
from tests.support.jobs import unit_job

W = "2024-01-01T00:00:00Z/2024-01-02T00:00:00Z"
FLAG = "(flow parameter max_delete_fraction)"


def reconciling(**target: object):
    return unit_job(
        date_field="at",
        target=Target(url="http://127.0.0.1:9200", index="i", reconcile=True, **target),
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"target": Target(url="http://127.0.0.1:1", index="i", mode="item", reconcile=True)},
            "job 'unit': target.reconcile needs an Elasticsearch/OpenSearch target "
            "(mode='bulk'), not mode='item': set mode='bulk' or turn reconcile off",
        ),
        (
            {"target": Target(url="http://127.0.0.1:1", index="i", reconcile=True)},
            "job 'unit': target.reconcile needs the job's date_field (the document field "
            "holding the row's time, which the SQL selects windows on): set date_field",
        ),
        (
            {
                "date_field": "at",
                "target": Target(
                    url="http://127.0.0.1:1", index="i", reconcile=True, max_delete_fraction=1.5
                ),
            },
            "job 'unit': target.max_delete_fraction must be a number from 0 to 1 (got 1.5), "
            "e.g. 0.1 for 10%",
        ),
    ],
)
def test_the_job_check_refuses_reconcile_where_it_cannot_work(changes, message):
    with pytest.raises(JobError) as caught:
        unit_job(**changes)
    assert caught.value.message == message


def test_reconciling_changes_the_fingerprint_so_done_windows_get_the_marker():
    plain = unit_job(date_field="at")
    assert reconciling().fingerprint != plain.fingerprint


def test_reconciling_jobs_mark_their_documents_and_others_do_not():
    rows = [{"id": 1, "at": "x"}]
    marked = DocumentBuilder(reconciling()).build(0, rows).documents[0]
    plain = DocumentBuilder(unit_job()).build(0, rows).documents[0]
    assert orjson.loads(marked.body) == {"id": 1, "at": "x", "_db2api": {"job": "unit"}}
    assert orjson.loads(plain.body) == {"id": 1, "at": "x"}


@pytest.mark.parametrize(
    ("source", "owned"),
    [
        ({"_db2api": {"job": "unit"}}, True),
        ({"_db2api": {"job": "unit-2"}}, False),
        ({"_db2api": "unit"}, False),
        ({}, False),
        (None, False),
    ],
)
def test_only_documents_carrying_exactly_this_job_are_owned(source, owned):
    assert is_owned(source, "unit") is owned


@pytest.mark.parametrize(
    ("rows", "held", "gone", "limit", "refused"),
    [
        (576, 576, 0, 0.1, None),
        (570, 576, 6, 0.1, None),
        (
            518,
            576,
            58,
            0.1,
            "58 of the 576 documents of job j in the target (10%) are no "
            "longer returned by the source, more than max_delete_fraction 0.1; nothing deleted: "
            "check the SQL, or if they really are gone, run this range again with "
            f"--max-delete-fraction 0.11 {FLAG}",
        ),
        (518, 576, 58, 0.11, None),
        (
            0,
            3,
            3,
            0.1,
            "the source returned 0 rows but the target holds 3 documents of job j "
            "there; nothing deleted: check the SQL, or if the rows really are gone, run this "
            f"range again with --max-delete-fraction 1 {FLAG}",
        ),
        (0, 3, 3, 1.0, None),
        (0, 0, 0, 0.1, None),
        (
            5,
            5,
            5,
            0.0,
            "5 of the 5 documents of job j in the target (100%) are no longer "
            "returned by the source, more than max_delete_fraction 0; nothing deleted: check the "
            f"SQL, or if they really are gone, run this range again with --max-delete-fraction 1 "
            f"{FLAG}",
        ),
    ],
)
def test_guards(rows, held, gone, limit, refused):
    said = refusal(W, "j", rows, held, gone, limit)
    assert said == (f"window {W}: {refused}" if refused else None)


def test_a_window_settles_lag_after_now():
    now = datetime(2024, 1, 10, 2, 15, tzinfo=UTC)
    assert cutoff(now, None) == now
    assert cutoff(now, "2d") == datetime(2024, 1, 8, 2, 15, tzinfo=UTC)


def test_the_deletions_file_sits_beside_the_dead_letters():
    assert str(deletions_path("/x/unit/20240101T000000Z_ab.jsonl")) == (
        "/x/unit/20240101T000000Z_ab.deleted.jsonl"
    )


def test_the_search_asks_for_ids_of_this_job_in_the_window_and_pages_with_search_after():
    window = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
    first = search_body("at", "unit", window, None)
    assert first == {
        "size": 5000,
        "_source": False,
        "track_total_hits": False,
        "query": {
            "bool": {
                "filter": [
                    {
                        "range": {
                            "at": {"gte": "2024-01-01T00:00:00Z", "lt": "2024-01-02T00:00:00Z"}
                        }
                    },
                    {"term": {"_db2api.job": "unit"}},
                ]
            }
        },
        "sort": [{"at": "asc"}, {"_doc": "asc"}],
    }
    assert "from" not in first
    assert search_body("at", "unit", window, [1704067200000, 7])["search_after"] == [
        1704067200000,
        7,
    ]


def test_a_search_page_gives_ids_with_their_index_and_the_last_sort_values():
    body = orjson.dumps(
        {
            "hits": {
                "hits": [
                    {"_index": ".ds-x-1", "_id": "a", "_score": None, "sort": [1, 0]},
                    {"_index": ".ds-x-2", "_id": "b", "_score": None, "sort": [1, 3]},
                ]
            }
        }
    )
    assert read_page(body, "POST u") == ({"a": ".ds-x-1", "b": ".ds-x-2"}, [1, 3])
    assert read_page(b'{"hits": {"hits": []}}', "POST u") == ({}, None)


@pytest.mark.parametrize(
    "body", [b"<html>", b'{"count": 3}', b'{"hits": {"hits": [{"_index": "i", "_id": "a"}]}}']
)
def test_an_answer_that_is_not_a_search_response_stops_the_run(body):
    with pytest.raises(TargetError) as caught:
        read_page(body, "POST http://127.0.0.1:9/i/_search")
    assert "check that target.url points at Elasticsearch or OpenSearch" in caught.value.message


@pytest.mark.parametrize(
    ("body", "query", "reason"),
    [
        (
            b'{"size": 10000, "from": 1}',
            {},
            "Result window is too large, from + size must be "
            "less than or equal to: [10000] but was [10001].",
        ),
        (
            b'{"sort": ["t"], "search_after": [1], "from": 5}',
            {},
            "[from] parameter must be set to 0 when [search_after] is used",
        ),
        (
            b'{"sort": ["t"], "search_after": [1, 2]}',
            {},
            "search_after has 2 values but sort has 1",
        ),
        (
            b'{"query": {"match": {"a": 1}}}',
            {},
            "the receiver's _search understands match_all, bool, ids, range and term, not [match]",
        ),
        (b"{}", {"size": "20000"}, "Result window is too large"),
    ],
)
def test_the_receivers_search_refuses_what_elasticsearch_refuses(body, query, reason):
    with pytest.raises(ProtocolError) as caught:
        parse_search(body, query)
    assert caught.value.status == 400
    assert str(caught.value.body()["error"]["reason"]).startswith(reason)


def summary(*windows, dry_run=False):
    return RunSummary(
        "unit",
        "2024-01-01",
        "2024-01-03",
        "bulk",
        list(windows),
        dead_letter_file="dl/unit/t_x.jsonl",
        reconcile=True,
        dry_run=dry_run,
    )


def test_the_summary_says_how_many_were_deleted_and_where_they_were_written():
    run = summary(WindowReport(W, rows=5, acked=5, deleted=2), WindowReport(W, deleted=1))
    assert (
        "deleted      3 documents the source no longer returns  -> dl/unit/t_x.deleted.jsonl"
        in (run.lines())
    )
    assert summary(WindowReport(W), dry_run=True).lines()[6] == (
        "would delete 0 documents the source no longer returns"
    )
    assert WindowReport(W, rows=5, acked=5, deleted=2).row()["deleted"] == 2
