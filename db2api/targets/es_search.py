"""This job's documents in one window, as the target holds them: ``_search`` pages.

The query is a ``bool`` filter of a ``range`` on the job's ``date_field`` over the
window's ``[start, end)`` and a ``term`` on the job marker; ``_source: false``
(only ids are read) and no total count. Pages follow each other with
``search_after`` on the sort values of the last hit, never ``from``/``size``,
which Elasticsearch refuses past 10,000 hits (``index.max_result_window``). See
Elasticsearch's "Paginate search results"
(https://www.elastic.co/docs/reference/elasticsearch/rest-apis/paginate-search-results)
and the response shape in elastic/elasticsearch-specification,
``specification/_global/search/examples/200_response/SearchResponseExample1.yaml``.

The sort is the date field, then Lucene's ``_doc`` as a tiebreaker. Without a
point in time, documents of equal date on different shards can be skipped at a
page boundary: such a document is then not deleted this time, which is the safe
side (a page can never *add* an id that is not there).

The index is refreshed first, so what the window just wrote is visible to search
(Elasticsearch's search is near-real-time; ``_mget`` is not).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from db2api.errors import TargetError
from db2api.records.windows import Window, iso
from db2api.targets.answers import failed
from db2api.targets.base import Outcome
from db2api.targets.es_marker import term

if TYPE_CHECKING:
    from db2api.targets.elasticsearch import BulkSink

PAGE = 5000  # hits per request: well under index.max_result_window (10,000)


def search_body(date_field: str, job: str, window: Window, after: list[Any] | None) -> dict:
    """One page's request: this job's documents whose date lies in the window."""
    body: dict[str, Any] = {
        "size": PAGE,
        "_source": False,
        "track_total_hits": False,
        "query": {
            "bool": {
                "filter": [
                    {"range": {date_field: {"gte": iso(window.start), "lt": iso(window.end)}}},
                    term(job),
                ]
            }
        },
        "sort": [{date_field: "asc"}, {"_doc": "asc"}],
    }
    if after is not None:
        body["search_after"] = after
    return body


def read_page(body: bytes, where: str) -> tuple[dict[str, str], list[Any] | None]:
    """(id -> the index holding it, sort values of the last hit) from a search answer."""
    try:
        payload = orjson.loads(body)
        hits = payload["hits"]["hits"]
        found = {str(hit["_id"]): str(hit["_index"]) for hit in hits}
        last = hits[-1].get("sort") if hits else None
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError, AttributeError):
        raise TargetError(
            f"the answer of {where} is not an Elasticsearch search response "
            f"({body[:80]!r}): check that target.url points at Elasticsearch or OpenSearch"
        ) from None
    if hits and not isinstance(last, list):
        raise TargetError(
            f"the hits of {where} carry no sort values, so search_after cannot page: check "
            "that target.url points at Elasticsearch or OpenSearch"
        )
    return found, last


async def find_held(sink: BulkSink, job: str, date_field: str, window: Window) -> dict[str, str]:
    """Every id of ``job``'s documents the target holds in ``window``, with its index."""
    index = sink.target.index
    outcome = Outcome()
    refreshed = await sink.call("POST", f"/{index}/_refresh", None, outcome)
    if refreshed.status >= 300:
        what = f"refreshing index {index} at {sink.base_url} before reconciling"
        fix = (
            f": grant the API key the maintenance privilege on {index}, or turn "
            "target.reconcile off"
        )
        raise failed(what, refreshed, fix)
    where = f"POST {sink.base_url}/{index}/_search"
    held: dict[str, str] = {}
    after: list[Any] | None = None
    while True:
        body = search_body(date_field, job, window, after)
        response = await sink.call("POST", f"/{index}/_search", body, outcome)
        if response.status >= 300:
            what = f"searching index {index} for job {job}'s documents in window {window.key}"
            fix = f": check that date_field {date_field!r} is a date field of {index}"
            raise failed(what, response, f"{fix}; nothing was deleted")
        page, after = read_page(response.body, where)
        held.update(page)
        if len(page) < PAGE or after is None:
            return held
