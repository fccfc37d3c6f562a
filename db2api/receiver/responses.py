"""JSON answers as Elasticsearch sends them, shared by the receiver's handler modules."""

from __future__ import annotations

import orjson
from aiohttp import web

from db2api.receiver import protocol as es
from db2api.receiver.refusals import Refusal


def json_response(data: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def error_response(status: int, type_: str, reason: str, **headers: str) -> web.Response:
    resp = json_response(es.error_body(status, type_, reason), status)
    resp.headers.update(headers)
    return resp


def refusal_response(refusal: Refusal) -> web.Response:
    """A whole request refused, with the fields Elasticsearch puts beside type and reason."""
    return json_response(refusal.body(), refusal.status)


async def no_route(request: web.Request) -> web.Response:
    reason = f"no handler found for uri [{request.path}] and method [{request.method}]"
    return error_response(400, "illegal_argument_exception", reason)
