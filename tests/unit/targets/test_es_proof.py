"""The proof's common answer, recognised in its bytes; every other answer is read entry by entry."""

from __future__ import annotations

import orjson
import pytest

from db2api.targets.es_proof import is_all_found

ODD_IDS = ["1", 'q"uote', 'a","b', "back\\slash", "new\nline", "ünï", "a/b", ""]


def compact(*entries: tuple[str, bool]) -> bytes:
    """An _mget answer as both engines write it under PROOF_FIELDS."""
    return orjson.dumps({"docs": [{"_id": doc_id, "found": found} for doc_id, found in entries]})


@pytest.mark.parametrize(
    ("body", "ids", "expected"),
    [
        (compact(("1", True), ("2", True)), ["1", "2"], True),
        (compact(*[(i, True) for i in ODD_IDS]), ODD_IDS, True),
        (compact(("1", True), ("2", False)), ["1", "2"], False),
        (compact(("2", True), ("1", True)), ["1", "2"], False),
        (compact(("1", True)), ["1", "2"], False),
        (compact(("1", True), ("2", True)), ["1"], False),
        (compact(("a", True), ("b", True)), ['a","b'], False),
        (compact(('a","b', True)), ["a", "b"], False),
        (compact(("1", True)).replace(b":", b": "), ["1"], False),
        (b'{"docs":[{"_id":"1","found":true,"error":{}}]}', ["1"], False),
        (b'{"docs":[]}', [], False),
    ],
)
def test_the_all_found_answer_is_recognised_in_its_bytes_and_nothing_else_is(
    body: bytes, ids: list[str], expected: bool
) -> None:
    assert is_all_found(body, ids) is expected
