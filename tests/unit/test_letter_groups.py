"""Open dead letters grouped by reason: the grouping key, the open count and the rendering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from db2api.records.deadletters import DeadLetter, DeadLetterFile
from db2api.records.letter_groups import (
    group_letters,
    group_lines,
    letter_lines,
    open_letters,
    reason_key,
    top_reasons,
    totals_line,
)
from db2api.records.resolutions import mark_resolved
from db2api.scrub import Scrubber

W1 = "2024-01-01T00:00:00Z/2024-01-02T00:00:00Z"

# Reasons as db2api writes them: the bulk sink joins `type: reason[: caused_by.reason]`.
# https://github.com/legrego/homeassistant-elasticsearch/issues/63 (the item's error)
MAPPER = (
    "mapper_parsing_exception: failed to parse field [hass.value] of type [long] in document "
    "with id '{id}': For input string: \"{value}\""
)
# Elasticsearch 8 (DocumentParser): the id, then a preview of the value after a full stop.
MAPPER_PREVIEW = (
    "mapper_parsing_exception: failed to parse field [depth] of type [float] in document with "
    "id '{id}'. Preview of field's value: '{value}'"
)
# https://github.com/OpenCTI-Platform/opencti/issues/14665 (8.x, with the position in the body)
STRICT = (
    "strict_dynamic_mapping_exception: [1:{id}] mapping set to strict, dynamic introduction of "
    "[publisher] within [attachment] is not allowed"
)
# FastAPI's 422 body for a value of the wrong type, as the item sink writes it
# (https://fastapi.tiangolo.com/tutorial/handling-errors/, "RequestValidationError").
UNPROCESSABLE = (
    'HTTP 422: {{"detail":[{{"type":"int_parsing","loc":["body","depth"],"msg":"Input should be '
    'a valid integer, unable to parse string as an integer","input":"{value}"}}]}}'
)
TOO_LARGE = (
    "document needs {id} bytes in a request body, over what the target takes (HTTP 413): raise "
    "the cap or slim the document in the transform"
)


@pytest.mark.parametrize(
    ("error", "reason", "key"),
    [
        (
            "HTTP 400",
            MAPPER,
            "HTTP 400: mapper_parsing_exception: failed to parse field [hass.value] of type "
            "[long] in document with id '…': For input …",
        ),
        (
            "HTTP 400",
            MAPPER_PREVIEW,
            "HTTP 400: mapper_parsing_exception: failed to parse field [depth] of type [float] "
            "in document with id '…'",
        ),
        (
            "HTTP 400",
            STRICT,
            "HTTP 400: strict_dynamic_mapping_exception: [#] mapping set to strict, dynamic "
            "introduction of [publisher] within [attachment] is not allowed",
        ),
        (
            "DocumentTooLarge",
            TOO_LARGE,
            "DocumentTooLarge: document needs # bytes in a request body, over what the target "
            "takes (HTTP 413): raise …",
        ),
        (
            "KeyError",
            "transform raised KeyError('depth') at row {id}",
            "KeyError: transform raised KeyError('depth') at row #",
        ),
        (
            "ValueError",
            "transform raised ValueError('reading {id} is implausible')",
            "ValueError: transform raised ValueError: reading # is implausible",
        ),
        (
            "ValueError",
            "transform raised ValueError(\"could not convert string to float: '{value}'\")",
            "ValueError: transform raised ValueError: could not convert string to float: '…'",
        ),
        (
            "HTTP 422",
            UNPROCESSABLE,
            'HTTP 422: {"detail":[{"type":"int_parsing","loc":["…","…"],"msg":"…","input":"…"}]}',
        ),
    ],
    ids=[
        "es-mapper",
        "es8-preview",
        "strict-dynamic",
        "too-large-413",
        "key-error",
        "value-error",
        "value-error-quoted",
        "rest-422",
    ],
)
def test_reasons_that_differ_only_in_ids_and_values_share_a_key(
    error: str, reason: str, key: str
) -> None:
    first = reason_key(error, reason.format(id="17", value="abc"))
    second = reason_key(error, reason.format(id="18", value="n/a 2"))

    assert first == second == key


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (
            ("KeyError", "transform raised KeyError('depth')"),
            ("KeyError", "transform raised KeyError('unit')"),
        ),
        (
            ("HTTP 400", STRICT.format(id=1)),
            ("HTTP 400", STRICT.replace("publisher", "rating").format(id=1)),
        ),
        (
            ("HTTP 400", MAPPER_PREVIEW.format(id=1, value="x")),
            ("HTTP 409", MAPPER_PREVIEW.format(id=1, value="x")),
        ),
        (
            ("ValueError", "transform raised ValueError('reading 11 is implausible')"),
            (
                "ValueError",
                "transform raised ValueError(\"could not convert string to float: 'x'\")",
            ),
        ),
        (
            ("HTTP 422", UNPROCESSABLE.format(value="x")),
            ("HTTP 422", UNPROCESSABLE.replace("int_parsing", "missing").format(value="x")),
        ),
    ],
    ids=["missing-field", "strict-field", "status", "transform-messages", "rest-error-type"],
)
def test_different_problems_keep_different_keys(
    one: tuple[str, str], other: tuple[str, str]
) -> None:
    assert reason_key(*one) != reason_key(*other)


def write(path: Path, letters: list[DeadLetter], window: str = W1) -> Path:
    file = DeadLetterFile(path, "unit", Scrubber())
    file.write(window, letters)
    file.close()
    return path


def refused(doc_id: str | None, reason: str = MAPPER_PREVIEW, value: str = "abc") -> DeadLetter:
    text = reason.format(id=doc_id, value=value)
    return DeadLetter(doc_id, {"id": doc_id, "depth": value}, 400, "HTTP 400", text, 1)


def test_a_document_dead_lettered_again_counts_once_and_resolved_ones_not(tmp_path: Path) -> None:
    first = write(tmp_path / "20240105T021503Z_aaaa.jsonl", [refused(str(i)) for i in range(5)])
    write(tmp_path / "20240106T080000Z_bbbb.jsonl", [refused(str(i)) for i in range(4)])
    mark_resolved(tmp_path, first, ["4"], "a later run")

    found = open_letters(tmp_path)

    assert [r["id"] for r in found.letters] == ["0", "1", "2", "3"]
    assert {Path(r["file"]).name for r in found.letters} == {"20240106T080000Z_bbbb.jsonl"}
    assert (found.in_files, found.files, found.resolved) == (9, 2, 1)
    assert totals_line(found) == "4 documents open; 9 letters in 2 files; 1 resolved"


def test_rows_without_an_id_are_each_their_own_document(tmp_path: Path) -> None:
    rejected = DeadLetter(None, {"reading_id": 1}, None, "Rejected", "id column 'x' is NULL")
    write(tmp_path / "20240105T021503Z_aaaa.jsonl", [rejected, rejected])

    assert len(open_letters(tmp_path).letters) == 2


def records(*letters: DeadLetter) -> list[dict[str, Any]]:
    return [{"window": W1, "file": "f.jsonl", "time": "t", **vars(letter)} for letter in letters]


def test_groups_come_most_frequent_first_with_their_first_ids() -> None:
    letters = records(
        DeadLetter("r1", {}, None, "KeyError", "transform raised KeyError('depth')"),
        *[refused(f"S004:{i}") for i in range(5)],
        DeadLetter("r2", {}, None, "KeyError", "transform raised KeyError('depth')"),
    )

    groups = group_letters(letters)

    assert [(g.count, g.key) for g in groups] == [
        (
            5,
            "HTTP 400: mapper_parsing_exception: failed to parse field [depth] of type [float] "
            "in document with id '…'",
        ),
        (2, "KeyError: transform raised KeyError('depth')"),
    ]
    assert group_lines(groups) == [
        "      5  HTTP 400: mapper_parsing_exception: failed to parse field [depth] of type "
        "[float] in document with id '…'",
        "         e.g. mapper_parsing_exception: failed to parse field [depth] of type [float] in "
        "document with id 'S004:0'. Preview of field's value: 'abc'",
        "         ids S004:0, S004:1, S004:2 (+2 more)",
        "      2  KeyError: transform raised KeyError('depth')",
        "         e.g. transform raised KeyError('depth')",
        "         ids r1, r2",
    ]
    assert top_reasons(letters, 1) == [f"5 x {groups[0].key}"]


def test_a_letter_shown_in_full_has_its_document() -> None:
    [record] = records(refused("17"))

    lines = letter_lines(record)

    assert lines[:5] == [
        "id       17",
        f"window   {W1}",
        "status   400 (HTTP 400), attempts 1, at t",
        "reason   mapper_parsing_exception: failed to parse field [depth] of type [float] in "
        "document with id '17'. Preview of field's value: 'abc'",
        "file     f.jsonl",
    ]
    assert orjson.loads("\n".join(lines[5:]).removeprefix("document ")) == {
        "id": "17",
        "depth": "abc",
    }
