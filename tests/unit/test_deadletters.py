"""Dead-letter files: JSONL round trip, scrubbing, truncation and damaged lines."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from db2api.records.deadletters import MAX_REASON, DeadLetter, DeadLetterFile, iter_dead_letters
from db2api.scrub import Scrubber

W1 = "2024-01-01T00:00:00Z/2024-01-02T00:00:00Z"
W2 = "2024-01-02T00:00:00Z/2024-01-03T00:00:00Z"
FIELDS = ["job", "window", "id", "document", "status", "error", "reason", "attempts", "time"]


def letter(doc_id="1", **changes) -> DeadLetter:
    fields = {
        "id": doc_id,
        "document": {"reading_id": doc_id, "value": 1.5, "tags": ["a", None]},
        "status": 400,
        "error": "HTTP 400",
        "reason": "mapper_parsing_exception: failed to parse field [value]",
        "attempts": 1,
        **changes,
    }
    return DeadLetter(**fields)


@pytest.fixture
def dead_file(tmp_path):
    letters = DeadLetterFile(tmp_path / "out" / "unit.jsonl", "unit", Scrubber(["hunter2-secret"]))
    yield letters
    letters.close()


def test_letters_of_several_windows_round_trip(dead_file):
    before = datetime.now(UTC) - timedelta(seconds=1)
    dead_file.write(W1, [letter("1"), letter("2", status=None, error="Rejected", attempts=0)])
    dead_file.write(
        W2, [letter("3", status=503, error="HTTP 503", reason="unavailable", attempts=10)]
    )
    dead_file.write(W2, [])
    dead_file.close()

    records = list(iter_dead_letters(dead_file.path))

    assert dead_file.count == 3
    assert [list(r) for r in records] == [FIELDS] * 3
    assert [(r["job"], r["window"], r["id"]) for r in records] == [
        ("unit", W1, "1"),
        ("unit", W1, "2"),
        ("unit", W2, "3"),
    ]
    assert [(r["status"], r["error"], r["attempts"]) for r in records] == [
        (400, "HTTP 400", 1),
        (None, "Rejected", 0),
        (503, "HTTP 503", 10),
    ]
    assert records[0]["document"] == {"reading_id": "1", "value": 1.5, "tags": ["a", None]}
    assert records[0]["reason"] == "mapper_parsing_exception: failed to parse field [value]"
    for record in records:
        assert record["time"].endswith("Z")
        stamp = datetime.fromisoformat(record["time"].replace("Z", "+00:00"))
        assert before <= stamp <= datetime.now(UTC)


def test_the_file_is_appended_across_instances(tmp_path):
    path = tmp_path / "dl.jsonl"
    for number in range(2):
        letters = DeadLetterFile(path, "unit", Scrubber())
        letters.write(W1, [letter(str(number))])
        letters.close()

    assert [r["id"] for r in iter_dead_letters(path)] == ["0", "1"]


def test_nothing_is_created_when_nothing_is_written(dead_file):
    dead_file.write(W1, [])

    assert not dead_file.path.exists()
    assert dead_file.count == 0


def test_each_write_is_on_disk_before_close(dead_file):
    dead_file.write(W1, [letter("1")])

    assert [r["id"] for r in iter_dead_letters(dead_file.path)] == ["1"]


@pytest.mark.parametrize(
    ("reason", "stored"),
    [
        ("refused: hunter2-secret", "refused: ***"),
        ("POST https://elastic:pw@es:9200/_bulk failed", "POST https://***@es:9200/_bulk failed"),
        ('echo {"Authorization": "ApiKey abc"}', 'echo {"Authorization": "***"}'),
        ("x" * (MAX_REASON + 500), "x" * MAX_REASON),
        ("y" * MAX_REASON, "y" * MAX_REASON),
        ("password=abc " + "z" * MAX_REASON, ("password=*** " + "z" * MAX_REASON)[:MAX_REASON]),
    ],
)
def test_reasons_are_scrubbed_and_truncated(dead_file, reason, stored):
    dead_file.write(W1, [letter(reason=reason)])

    (record,) = iter_dead_letters(dead_file.path)
    assert record["reason"] == stored
    assert len(record["reason"]) <= MAX_REASON


def test_the_document_and_id_are_stored_exactly_as_built_and_the_reason_is_masked(dead_file):
    """A document is the source's data and what replay sends: masking never rewrites it."""
    document = {"note": "key hunter2-secret", "link": "https://u:p@host/x", "n": 7}

    dead_file.write(
        W1,
        [letter(document=document, id="id-hunter2-secret", reason="echoed hunter2-secret")],
    )

    (record,) = iter_dead_letters(dead_file.path)
    assert record["document"] == document
    assert record["id"] == "id-hunter2-secret"
    assert record["reason"] == "echoed ***"


def test_a_short_secret_never_touches_a_date_in_the_document(tmp_path):
    """The source password '2024' once turned "2024-01-01 00:57:00" into "***-01-01 ..."."""
    letters = DeadLetterFile(tmp_path / "dl.jsonl", "unit", Scrubber(["2024"]))
    document = {"at": "2024-01-01 00:57:00", "pin": "2024", "reading_id": 2024}
    letters.write(W1, [letter(document=document, reason="2024")])
    letters.close()

    (record,) = iter_dead_letters(letters.path)
    assert record["document"] == document
    assert record["reason"] == "***"


def test_a_secret_with_json_escaped_characters_is_masked_in_the_reason(tmp_path):
    secret = 'pa"ss\\word-long'
    letters = DeadLetterFile(tmp_path / "dl.jsonl", "unit", Scrubber([secret]))
    letters.write(W1, [letter(reason=f"refused {secret}")])
    letters.close()

    (record,) = iter_dead_letters(letters.path)
    assert record["reason"] == "refused ***"
    assert secret not in letters.path.read_text()


def test_values_without_a_json_form_are_written_as_their_repr(dead_file):
    class Odd:
        def __repr__(self):
            return "<Odd>"

    dead_file.write(W1, [letter(document={"odd": Odd()})])

    (record,) = iter_dead_letters(dead_file.path)
    assert record["document"] == {"odd": "<Odd>"}


def test_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "dl.jsonl"
    path.write_text('{"id": "1"}\n\n   \n{"id": "2"}\n')

    assert [r["id"] for r in iter_dead_letters(path)] == ["1", "2"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('{"id": "1"}\n{"id": \n', 2),
        ('{"id": "1"}\n\n{"id": "2"}\n{"id": "3"', 4),
        ("not json\n", 1),
    ],
)
def test_a_damaged_line_is_reported_with_path_and_line(tmp_path, text, line):
    path = tmp_path / "dl.jsonl"
    path.write_text(text)

    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:{line} is not a JSON line \("):
        list(iter_dead_letters(path))
