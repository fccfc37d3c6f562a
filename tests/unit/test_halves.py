"""Which whole-request refusals concern the request itself, and which may be a document's."""

from __future__ import annotations

import pytest

from db2api.targets.halves import (
    BODY_FIX,
    HEADERS_FIX,
    PARAMETER_FIX,
    VALIDATION_FIX,
    Refusal,
    request_fix,
)
from db2api.transport.http import Response
from tests.support import real_answers as real
from tests.support.real_answers import Answer


def refusal(answer: Answer) -> Refusal:
    return Refusal.of(Response(answer.status, answer.body, answer.headers))


def es_error(status: int, kind: str, reason: str) -> Answer:
    body = (
        f'{{"error":{{"root_cause":[{{"type":"{kind}","reason":"{reason}"}}],'
        f'"type":"{kind}","reason":"{reason}"}},"status":{status}}}'
    ).encode()
    return Answer(status, {"content-type": real.JSON}, body, "test", "")


def plain(status: int, text: bytes) -> Answer:
    return Answer(status, {"content-type": "application/json"}, text, "test", "")


@pytest.mark.parametrize(
    ("answer", "fix"),
    [
        (real.CONTENT_TYPE_406_ES6, HEADERS_FIX),
        (real.MEDIA_TYPE_HEADER_400_ES9, HEADERS_FIX),
        (real.PARSE_EXCEPTION_400, BODY_FIX),
        (real.UNRECOGNIZED_PARAMETER_400, PARAMETER_FIX),
        (es_error(400, "x_content_parse_exception", "[1:27] Unrecognized token"), BODY_FIX),
        (es_error(400, "json_parse_exception", "Unexpected character"), BODY_FIX),
        (es_error(400, "json_e_o_f_exception", "Unexpected end-of-input"), BODY_FIX),
        (
            es_error(400, "action_request_validation_exception", "Validation Failed: 1: x;"),
            VALIDATION_FIX,
        ),
        (
            es_error(400, "illegal_argument_exception", "explicit index in bulk is not allowed"),
            PARAMETER_FIX,
        ),
        (plain(415, b'{"message":"Unsupported Media Type"}'), HEADERS_FIX),
    ],
    ids=[
        "406 content-type es6",
        "400 media_type_header es9",
        "400 parse_exception",
        "400 unrecognized parameter",
        "x_content_parse",
        "json_parse",
        "json_e_o_f",
        "action_request_validation",
        "explicit index",
        "415",
    ],
)
def test_a_refusal_of_the_request_itself_is_known_with_its_fix(answer, fix):
    assert request_fix(refusal(answer)) == fix


@pytest.mark.parametrize(
    "answer",
    [
        real.TOO_LARGE_413_EMPTY,
        real.TOO_LARGE_413_NGINX,
        plain(400, b'{"ok":false,"errors":["Too many rows, maximum allowed is 100"]}'),
        plain(422, b'{"error":"record 3: reading_id must be an integer"}'),
        es_error(400, "illegal_argument_exception", "mapper [value] cannot be changed"),
        es_error(400, "mapper_parsing_exception", "failed to parse field [value]"),
    ],
    ids=["413 empty", "413 nginx", "400 row limit", "422 record", "field argument", "mapping"],
)
def test_a_refusal_a_document_may_cause_is_left_to_the_halves(answer):
    assert request_fix(refusal(answer)) is None
