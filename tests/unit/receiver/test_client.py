"""The synchronous client: error statuses are returned, an absent receiver is one clear error."""

from __future__ import annotations

import socket

import pytest

from db2api.receiver.client import ReceiverClient, ReceiverError


def test_error_statuses_are_returned_and_checks_are_not_counted(receiver_url: str) -> None:
    client = ReceiverClient(receiver_url)
    assert client.get("logs", "1") is None
    assert client.ids("logs") == {} and client.count("logs") == 0
    status, body = client.request("PUT", "/logs/_doc/1", {"n": 1})
    assert status == 201 and body["result"] == "created"
    status, body = client.request("PUT", "/logs/_doc/1", b"not json")
    assert status == 400 and body["error"]["type"] == "mapper_parsing_exception"
    assert client.get("logs", "1") == {"n": 1}
    assert client.count("logs", "n", gte=1, lt=2) == 1
    assert client.stats()["requests"] == 2  # the two PUTs, not the checks


def test_a_proxy_page_comes_back_as_text(receiver_url: str) -> None:
    client = ReceiverClient(receiver_url)
    client.set_faults(non_json=True)
    assert client.request("GET", "/") == (200, "<html>proxy</html>")
    assert client.faults()["non_json"] is True


def test_an_unstarted_or_absent_receiver_is_one_clear_error() -> None:
    with pytest.raises(ReceiverError, match="not running"):
        _ = ReceiverClient().url
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(
        ReceiverError, match=f"cannot reach the receiver at http://127.0.0.1:{port}"
    ):
        ReceiverClient(f"http://127.0.0.1:{port}", timeout=2).stats()
