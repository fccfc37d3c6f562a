"""`make demo` with port 9200 busy: a receiver of its own, on a stable port when it can."""

from pathlib import Path

import pytest

from db2api.ops import demo


@pytest.mark.parametrize(
    ("busy", "expected"),
    [
        (set(), (9200, "receiver.sqlite")),
        ({9200}, (9299, "receiver-9299.sqlite")),
        ({9200, 9299}, (0, "receiver-any-port.sqlite")),
    ],
)
def test_each_receiver_has_its_own_file(monkeypatch, tmp_path: Path, busy, expected):
    monkeypatch.setattr(demo, "is_free", lambda port: port not in busy)

    port, data = demo.receiver_home(tmp_path)

    assert (port, data.name) == expected and data.parent == tmp_path
