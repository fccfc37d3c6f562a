"""JSON answers as Elasticsearch sends them, shared by the receiver's handler modules."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from aiohttp.abc import AbstractStreamWriter

from db2api.receiver import protocol as es
from db2api.receiver.filter_path import filter_answer, parse_filter_path
from db2api.receiver.refusals import Refusal


class JsonAnswer(web.Response):
    """A JSON answer kept as data until it is sent, so ``filter_path`` can cut it first.

    ``is_error`` marks the envelope of a request refused as a whole: both engines build it
    with filtering off (``filter_path=count`` on a missing index still shows the error).
    """

    def __init__(self, data: Any, status: int = 200, *, is_error: bool = False) -> None:
        super().__init__(status=status, content_type="application/json")
        self.data = data
        self.is_error = is_error

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        if self.body is None:
            self.body = orjson.dumps(self.data)
        return await super().prepare(request)


def json_response(data: object, status: int = 200) -> JsonAnswer:
    return JsonAnswer(data, status)


def error_answer(body: dict[str, Any], status: int) -> JsonAnswer:
    """A request refused as a whole, with Elasticsearch's ``{"error": …, "status": …}`` body."""
    return JsonAnswer(body, status, is_error=True)


def error_response(status: int, type_: str, reason: str, **headers: str) -> web.Response:
    resp = error_answer(es.error_body(status, type_, reason), status)
    resp.headers.update(headers)
    return resp


def refusal_response(refusal: Refusal) -> web.Response:
    """A whole request refused, with the fields Elasticsearch puts beside type and reason."""
    return error_answer(refusal.body(), refusal.status)


def filtered(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """``response`` cut to the request's ``filter_path`` (the last one given wins, as on
    both engines); errors, empty bodies and non-JSON pages go out as they are."""
    given = request.query.getall("filter_path", [])
    if not given or not isinstance(response, JsonAnswer) or response.is_error:
        return response
    paths = parse_filter_path(given[-1])
    if paths is not None:
        response.data = filter_answer(response.data, paths)
    return response


async def no_route(request: web.Request) -> web.Response:
    """As both engines answer a path no API serves: a bare reason string, no error type, no
    status (OpenSearch 2.19.6, Elasticsearch 8.19.21); the uri as Elasticsearch quotes it,
    with its query string."""
    reason = f"no handler found for uri [{request.raw_path}] and method [{request.method}]"
    return error_answer({"error": reason}, 400)
