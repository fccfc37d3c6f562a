"""``_search``: the subset db2api and the official clients' paging use.

Understood: ``query`` of ``match_all``, ``ids``, ``range``, ``term`` (a ``.keyword`` suffix
is the same field, as under Elasticsearch's dynamic mapping), or a ``bool`` whose
``filter``/``must`` hold those; ``sort`` on fields, ``_id`` and ``_doc`` (ascending
or descending); ``search_after``; ``size`` and ``from`` (together at most 10,000,
``index.max_result_window``); ``_source`` true, false or a list of fields;
``track_total_hits``. Shapes follow Elasticsearch's docs ("Paginate search
results", https://www.elastic.co/docs/reference/elasticsearch/rest-apis/paginate-search-results)
and elastic/elasticsearch-specification,
``specification/_global/search/examples/200_response/SearchResponseExample1.yaml``.

Differences a user may meet: strings compare as text (so dates compare right when
written alike, e.g. RFC 3339 in UTC with ``Z``), and a date's sort value is the
stored string rather than epoch milliseconds; ``search_after`` takes back whatever
a hit's ``sort`` held, as clients do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from db2api.receiver.protocol import READ_SHARDS, ProtocolError, add_source, parse_json
from db2api.receiver.store import RANGE_OPERATORS, Store, json_path

MAX_RESULT_WINDOW = 10_000


@dataclass
class Search:
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    indexed: list[str] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)  # (SQL expression, asc/desc)
    after: list[Any] | None = None
    size: int = 10
    start: int = 0
    source: bool | list[str] = True
    total: bool | int = MAX_RESULT_WINDOW


def _bad(reason: str, type_: str = "parsing_exception") -> ProtocolError:
    return ProtocolError(400, type_, reason)


def _expression(name: str) -> str:
    if name == "_id":
        return "id"
    if name == "_doc":
        return "rowid"
    try:
        return f"json_extract(body, '{json_path(name)}')"
    except ValueError as exc:
        raise _bad(str(exc)) from None


def _clause(search: Search, clause: object) -> None:
    if not isinstance(clause, dict) or len(clause) != 1:
        raise _bad(f"query clause malformed: {clause!r:.80}")
    ((kind, spec),) = clause.items()
    if kind == "match_all":
        return
    if kind == "bool" and isinstance(spec, dict):
        for key, inner in spec.items():
            if key not in ("filter", "must"):
                raise _bad(f"the receiver's bool query understands filter and must, not [{key}]")
            for item in inner if isinstance(inner, list) else [inner]:
                _clause(search, item)
        return
    if kind == "ids" and isinstance(spec, dict) and isinstance(spec.get("values"), list):
        values = [str(value) for value in spec["values"]]
        search.where.append(f"id IN ({', '.join('?' * len(values))})" if values else "0")
        search.params += values
        return
    if kind not in ("range", "term") or not isinstance(spec, dict) or len(spec) != 1:
        raise _bad(
            f"the receiver's _search understands match_all, bool, ids, range and term, not [{kind}]"
        )
    ((name, condition),) = spec.items()
    if kind == "term":
        name = name.removesuffix(".keyword")
        value = condition.get("value") if isinstance(condition, dict) else condition
        expression = _expression(name)
        search.where.append(f"{expression} = ?")
        search.params.append(value)
        search.indexed += [expression] if expression.startswith("json") else []
        return
    if not isinstance(condition, dict):
        raise _bad(f"[range] query malformed for [{name}]")
    expression = _expression(name)
    search.indexed += [expression] if expression.startswith("json") else []
    for key, value in condition.items():
        if key in ("format", "boost", "time_zone"):
            continue
        if key not in RANGE_OPERATORS:
            raise _bad(f"[range] query does not support [{key}]")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _bad(f"[range] [{key}] must be a string or number")
        search.where.append(f"{expression} {RANGE_OPERATORS[key]} ?")
        search.params.append(value)


def _sort(search: Search, spec: object) -> None:
    for item in spec if isinstance(spec, list) else [spec]:
        if isinstance(item, str):
            name, order = item, "asc"
        elif isinstance(item, dict) and len(item) == 1:
            ((name, order),) = item.items()
            order = order.get("order", "asc") if isinstance(order, dict) else order
        else:
            raise _bad(f"[sort] malformed: {item!r:.80}")
        if order not in ("asc", "desc"):
            raise _bad(f"[sort] order must be asc or desc, not [{order}]")
        search.sort.append((_expression(name), order))


def _number(value: object, name: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise _bad(f"[{name}] must be a whole number, got [{value}]") from None
    if number < 0:
        raise _bad(f"[{name}] must be positive, got [{number}]", "illegal_argument_exception")
    return number


def parse_search(body: bytes, query: dict[str, str]) -> Search:
    """A :class:`Search` from a request body and its URL parameters (which win)."""
    data = parse_json(body) if body.strip() else {}
    if not isinstance(data, dict):
        raise _bad("the search body must be a JSON object")
    search = Search()
    _clause(search, data.get("query", {"match_all": {}}))
    if "sort" in data:
        _sort(search, data["sort"])
    search.size = _number(query.get("size", data.get("size", 10)), "size")
    search.start = _number(query.get("from", data.get("from", 0)), "from")
    source = query.get("_source", data.get("_source", True))
    search.source = source not in (False, "false") if not isinstance(source, list) else source
    total = query.get("track_total_hits", data.get("track_total_hits", MAX_RESULT_WINDOW))
    search.total = total not in (False, "false") if isinstance(total, bool | str) else total
    after = data.get("search_after")
    if after is not None:
        if not isinstance(after, list) or len(after) != len(search.sort):
            raise _bad(
                f"search_after has {len(after) if isinstance(after, list) else 'no'} values "
                f"but sort has {len(search.sort)}",
                "illegal_argument_exception",
            )
        if search.start:
            raise _bad("[from] parameter must be set to 0 when [search_after] is used")
        search.after = after
    if search.start + search.size > MAX_RESULT_WINDOW:
        raise _bad(
            f"Result window is too large, from + size must be less than or equal to: "
            f"[{MAX_RESULT_WINDOW}] but was [{search.start + search.size}]. See the scroll api "
            "for a more efficient way to request large data sets. This limit can be set by "
            "changing the [index.max_result_window] index level setting.",
            "illegal_argument_exception",
        )
    return search


def _after(search: Search) -> tuple[str, list[Any]]:
    """Rows strictly after the ``search_after`` values, in sort order."""
    assert search.after is not None
    ors, params = [], []
    for i, (expression, order) in enumerate(search.sort):
        ands = [f"{e} = ?" for e, _ in search.sort[:i]]
        ands.append(f"{expression} {'>' if order == 'asc' else '<'} ?")
        ors.append("(" + " AND ".join(ands) + ")")
        params += [*search.after[:i], search.after[i]]
    return "(" + " OR ".join(ors) + ")", params


def run_search(store: Store, index: str | None, search: Search, took: int = 0) -> dict[str, Any]:
    """The Elasticsearch answer; raises a 404 ``ProtocolError`` for an index with no documents."""
    where = ["idx = ?"] if index is not None else []
    params: list[Any] = [index] if index is not None else []
    where += search.where
    params += search.params
    if index is not None and not store.index_exists(index):
        raise ProtocolError(404, "index_not_found_exception", f"no such index [{index}]")
    condition = " AND ".join(where) or "1"
    total = None
    if search.total is not False:
        (count,) = store.select(f"SELECT COUNT(*) FROM docs WHERE {condition}", params)[0]
        cap = MAX_RESULT_WINDOW if search.total is True else int(search.total)
        exact = search.total is True or count <= cap
        total = {"value": count if exact else cap, "relation": "eq" if exact else "gte"}
    page_where, page_params = list(where), list(params)
    if search.after is not None:
        text, extra = _after(search)
        page_where.append(text)
        page_params += extra
    order = [f"{e} {o.upper()}" for e, o in search.sort] or ["rowid ASC"]
    sort_columns = "".join(f", {e}" for e, _ in search.sort)
    sql = (
        f"SELECT idx, id, body{sort_columns} FROM docs WHERE {' AND '.join(page_where) or '1'} "
        f"ORDER BY {', '.join(order)} LIMIT ? OFFSET ?"
    )
    rows = store.select(sql, [*page_params, search.size, search.start], search.indexed)
    hits = [_hit(row, search) for row in rows]
    hits_body: dict[str, Any] = {"max_score": None if search.sort else (1.0 if hits else None)}
    if total is not None:
        hits_body = {"total": total, **hits_body}
    return {
        "took": took,
        "timed_out": False,
        "_shards": READ_SHARDS,
        "hits": {**hits_body, "hits": hits},
    }


def _hit(row: tuple[Any, ...], search: Search) -> dict[str, Any]:
    index, doc_id, raw, *sort_values = row
    hit: dict[str, Any] = {"_index": index, "_id": doc_id, "_score": None if search.sort else 1.0}
    add_source(hit, raw, search.source)
    if search.sort:
        hit["sort"] = sort_values
    return hit
