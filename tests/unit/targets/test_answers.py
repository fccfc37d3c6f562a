"""A target's answers read for people: its own words, the list asked for, an HTML page."""

from __future__ import annotations

import pytest

from db2api.targets.answers import error_text, is_html, listed
from db2api.transport.http import Response


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (
            b'{"error":{"type":"mapper_parsing_exception","reason":"bad"}}',
            "mapper_parsing_exception: bad",
        ),
        (b'{"error":{"reason":"no type"}}', "error: no type"),
        (b'{"error":"plain words"}', "plain words"),
        (b'{"status":500}', '{"status":500}'),
        (b"  Service\n  Unavailable ", "Service Unavailable"),
        (b"", "no body"),
    ],
)
def test_error_text_is_the_targets_own_words(body: bytes, text: str) -> None:
    assert error_text(Response(500, body, {})) == text


@pytest.mark.parametrize(
    ("status", "body", "keys", "found"),
    [
        (200, b'{"docs":[{"_id":"1"}]}', ("docs",), [{"_id": "1"}]),
        (200, b'{"hits":{"hits":[]}}', ("hits", "hits"), []),
        (200, b'{"hits":{"total":0}}', ("hits", "hits"), None),
        (200, b'{"docs":{"_id":"1"}}', ("docs",), None),
        (200, b"not json", ("docs",), None),
        (404, b'{"docs":[]}', ("docs",), None),
    ],
)
def test_listed_is_the_list_at_the_keys_of_a_2xx_answer(
    status: int, body: bytes, keys: tuple[str, ...], found: list | None
) -> None:
    assert listed(Response(status, body, {}), *keys) == found


@pytest.mark.parametrize(
    ("headers", "html"),
    [
        ({"Content-Type": "text/html; charset=utf-8"}, True),
        ({"content-type": "TEXT/HTML"}, True),
        ({"Content-Type": "application/json"}, False),
        ({}, False),
    ],
)
def test_an_html_page_is_known_by_its_content_type_in_any_spelling(
    headers: dict[str, str], html: bool
) -> None:
    assert is_html(Response(200, b"", headers)) is html
