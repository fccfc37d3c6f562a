"""Re-sending dead letters: which file belongs to which job, and which letters hold a raw row
that must never be sent as a document."""

from __future__ import annotations

from pathlib import Path

import pytest

from db2api.errors import Db2apiError
from db2api.run.resend import holds_a_row, job_of, read_letters


@pytest.mark.parametrize(
    ("record", "raw_row"),
    [
        ({"id": "1", "error": "HTTP 400", "reason": "mapper_parsing_exception: bad"}, False),
        ({"id": "1", "error": "DocumentTooLarge", "reason": "document needs 9000 bytes"}, False),
        ({"id": None, "error": "Rejected", "reason": "no id"}, True),
        ({"error": "HTTP 400", "reason": "no id key at all"}, True),
        ({"id": "1", "error": "Rejected", "reason": "NaN in field v"}, True),
        ({"id": "1", "error": "Undecodable", "reason": "column t is not UTF-8"}, True),
        ({"id": "1", "error": "ValueError", "reason": "transform raised ValueError: x"}, True),
    ],
)
def test_a_letter_of_a_row_the_job_could_not_make_a_document_of_holds_a_row(
    record: dict[str, object], raw_row: bool
) -> None:
    assert holds_a_row(record) is raw_row


@pytest.mark.parametrize(
    ("jobs", "given", "found"),
    [
        (["sensors", "sensors"], None, "sensors"),
        (["sensors", "demo"], "demo", "demo"),
        ([], None, None),
        ([], "demo", "demo"),
    ],
)
def test_a_file_belongs_to_the_job_it_names_or_the_one_given(
    jobs: list[str], given: str | None, found: str | None
) -> None:
    assert job_of(Path("letters.jsonl"), [{"job": job} for job in jobs], given) == found


def test_letters_of_several_jobs_need_the_job_named() -> None:
    with pytest.raises(Db2apiError) as caught:
        job_of(Path("letters.jsonl"), [{"job": "b"}, {"job": "a"}], None)

    assert str(caught.value) == (
        "letters.jsonl holds dead letters of several jobs ['a', 'b']: pass --job"
    )


def test_a_missing_or_unreadable_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(Db2apiError, match=r"^dead-letter file .*nope.jsonl does not exist$"):
        read_letters(tmp_path / "nope.jsonl")
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    with pytest.raises(Db2apiError, match=r"^cannot read .*broken.jsonl: "):
        read_letters(broken)
