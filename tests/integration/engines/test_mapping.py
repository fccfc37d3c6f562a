"""A mapping the data does not fit: exactly those documents dead-lettered with the node's
own reason, the rest delivered; then the mapping is fixed and ``replay`` delivers them.

The index maps ``quality`` as ``long`` and the job sends the suspect readings' quality as
the word ``suspect``. The engines name the refusal differently, and the test says so:
OpenSearch 2.19 answers ``mapper_parsing_exception``, Elasticsearch 8 (since 8.8)
``document_parsing_exception`` with the parser position ``[1:N]`` before the same text.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import requests

from db2api.records.deadletters import dead_letter_folder, iter_dead_letters
from db2api.records.resolutions import file_statuses
from db2api.run.catalog import load_job
from db2api.run.resend import replay
from db2api.run.window import transfer_range
from tests.conftest import PG_PASSWORD_ENV
from tests.support.jobs import postgres_ids
from tests.support.node_reads import all_ids, delete_index, present_ids, put_index
from tests.support.search_nodes import SearchNode

START, END = "2024-01-01", "2024-01-03"
PASSWORD = os.environ.get(PG_PASSWORD_ENV, "db2api-test-pw")
REFUSAL = {
    "opensearch": "mapper_parsing_exception: failed to parse field [quality] of type [long]",
    "elasticsearch": "document_parsing_exception: [1:",
}
SAME_TEXT = "failed to parse field [quality] of type [long] in document with id"
JOB_FILE = """\
from dataclasses import replace

from tests.support.jobs import graded_document, postgres_job, with_target

job = replace(
    with_target(postgres_job({params!r}, {password_env!r}, {url!r}), index={index!r}),
    name={name!r},
    transform=graded_document,
)
"""


async def test_refused_documents_are_dead_lettered_then_replayed_after_the_mapping_is_fixed(
    search_node: SearchNode,
    postgres_source: dict[str, Any],
    dead_letter_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, name = search_node.url, f"engines-mapping-{search_node.engine}"
    delete_index(url, name)
    put_index(url, name, {"mappings": {"properties": {"quality": {"type": "long"}}}})
    (tmp_path / f"{name}.py").write_text(
        JOB_FILE.format(
            params=postgres_source, password_env=PG_PASSWORD_ENV, url=url, index=name, name=name
        )
    )
    monkeypatch.setenv("DB2API_JOBS_PATH", str(tmp_path))
    job = load_job(name)
    suspect = postgres_ids(postgres_source, PASSWORD, START, END, "quality = 'suspect'")
    good = postgres_ids(postgres_source, PASSWORD, START, END, "quality = 'good'")
    assert len(suspect) == 11 and len(good) == 1141

    summary = await transfer_range(job, START, END)

    letters = list(iter_dead_letters(Path(summary.dead_letter_file)))
    assert {letter["id"] for letter in letters} == suspect
    for letter in letters:
        assert letter["status"] == 400 and letter["error"] == "HTTP 400"
        assert letter["reason"].startswith(REFUSAL[search_node.engine]), letter["reason"]
        assert SAME_TEXT in letter["reason"]
    assert all_ids(url, name) == good, "the node holds exactly the documents that fit"
    assert summary.total("dead") == len(suspect) and summary.total("acked") == len(good)

    fix = requests.put(
        f"{url}/{name}/_mapping",
        json={"properties": {"quality": {"type": "long", "ignore_malformed": True}}},
        timeout=30,
    )
    assert fix.status_code == 200, fix.text
    report = await replay(Path(summary.dead_letter_file))

    assert (report.sent, report.delivered, report.failed) == (11, 11, 0)
    assert present_ids(url, name, suspect) == suspect
    assert all_ids(url, name) == good | suspect
    [status] = file_statuses(dead_letter_folder(job))
    assert (status.letters, status.resolved, status.open) == (11, 11, 0)
    delete_index(url, name)
