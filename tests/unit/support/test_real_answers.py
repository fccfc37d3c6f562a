"""Sanity checks of the corpus of real Elasticsearch/OpenSearch answers."""

import json
import re

import pytest

from tests.support import real_answers as ra

ANSWERS = sorted(ra.ANSWERS.items())

BULK = [(name, answer) for name, answer in ANSWERS if name.startswith("BULK_")]


def test_corpus_is_not_empty():
    assert len(ra.ANSWERS) >= 15
    assert len(ra.ITEMS) >= 8


@pytest.mark.parametrize(("name", "answer"), ANSWERS)
def test_every_answer_names_its_source(name, answer):
    assert answer.source.strip(), name
    assert answer.note.strip(), name
    assert 100 <= answer.status <= 599


@pytest.mark.parametrize(("name", "answer"), ANSWERS)
def test_json_bodies_parse_and_html_bodies_do_not(name, answer):
    if answer.is_json:
        json.loads(answer.body)
    elif answer.body:
        assert answer.body.lstrip().startswith(b"<html>"), name


@pytest.mark.parametrize(("name", "answer"), ANSWERS)
def test_quoted_content_length_matches_body(name, answer):
    if "content-length" in answer.headers:
        assert int(answer.headers["content-length"]) == len(answer.body), name


@pytest.mark.parametrize(("name", "answer"), ANSWERS)
def test_whole_request_errors_carry_their_status(name, answer):
    if answer.is_json and answer.status >= 400:
        parsed = json.loads(answer.body)
        assert parsed["status"] == answer.status
        error = parsed["error"]
        # Elasticsearch 6 answers a refused Content-Type with the reason as a bare string.
        assert error["type"] if isinstance(error, dict) else error.startswith("Content-Type")


@pytest.mark.parametrize(("name", "answer"), BULK)
def test_bulk_answers_agree_with_their_note(name, answer):
    assert answer.status == 200
    parsed = json.loads(answer.body)
    assert set(parsed) >= {"took", "errors", "items"}
    items = [next(iter(item.values())) for item in parsed["items"]]
    assert parsed["errors"] == any("error" in inner for inner in items)

    match = re.match(r"(\d+) items?: (.*)", answer.note)
    assert match, answer.note
    assert int(match.group(1)) == len(items)
    noted = [int(s) for s in re.findall(r"\b\d{3}\b", match.group(2))][: len(items)]
    assert noted == [inner["status"] for inner in items]


@pytest.mark.parametrize(("name", "item"), sorted(ra.ITEMS.items()))
def test_items_have_one_action_and_a_status(name, item):
    assert len(item) == 1
    ((action, inner),) = item.items()
    assert action in {"index", "create", "update", "delete"}
    assert isinstance(inner["status"], int)
    assert ("error" in inner) == (inner["status"] >= 300 and action != "delete")


@pytest.mark.parametrize("count", [1, 2, 7])
@pytest.mark.parametrize(("name", "item"), sorted(ra.ITEMS.items()))
def test_bulk_answer_repeats_the_item(name, item, count):
    parsed = json.loads(ra.bulk_answer(item, count, took=5))
    assert parsed["took"] == 5
    assert parsed["items"] == [item] * count
    status = next(iter(item.values()))["status"]
    assert parsed["errors"] is (status >= 300)


def test_error_objects_are_real_shapes():
    assert ra.SECURITY_BULK_ITEM_ERROR["type"] == "security_exception"
    assert "indices:data/write/bulk[s]" in ra.SECURITY_BULK_ITEM_ERROR["reason"]
    assert ra.INVALID_INDEX_NAME_ERROR["index_uuid"] == "_na_"
    assert ra.MGET_NOT_FOUND_DOC["found"] is False
