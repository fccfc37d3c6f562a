"""The receiver's own control routes: faults, stats, reset and the list of ids.

They are never faulted or counted (they are not Elasticsearch's), so a test can
always change the faults, read the counters or start over while a job runs.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from db2api.receiver.faults import FaultError, Faults
from db2api.receiver.responses import error_response, json_response
from db2api.receiver.state import STATE


async def get_faults(request: web.Request) -> web.Response:
    return json_response(request.app[STATE].faults.to_public_dict())


async def put_faults(request: web.Request) -> web.Response:
    st = request.app[STATE]
    try:
        data = orjson.loads(await request.read() or b"{}")
        if not isinstance(data, dict):
            raise FaultError(
                ("body",), "must be a JSON object of fault settings", type(data).__name__
            )
        faults = Faults.from_mapping(data, st.faults)
    except (orjson.JSONDecodeError, FaultError, TypeError) as exc:
        return error_response(400, "illegal_argument_exception", " ".join(str(exc).split()))
    st.set_faults(faults)
    return json_response(faults.to_public_dict())


async def get_stats(request: web.Request) -> web.Response:
    return json_response(request.app[STATE].stats.to_dict())


async def reset_stats(request: web.Request) -> web.Response:
    request.app[STATE].stats.reset()
    return json_response({"acknowledged": True})


async def reset_all(request: web.Request) -> web.Response:
    st = request.app[STATE]
    deleted = await st.db(st.store.clear)
    st.stats.reset()
    return json_response({"acknowledged": True, "deleted": deleted})


async def list_ids(request: web.Request) -> web.Response:
    st, index = request.app[STATE], request.match_info["index"]
    ids = await st.db(st.store.ids, index)
    if ids is None:
        return error_response(404, "index_not_found_exception", f"no such index [{index}]")
    return json_response({"ids": ids})
