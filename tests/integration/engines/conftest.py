"""Real OpenSearch and Elasticsearch nodes (tests/support/search_nodes), started lazily.

One node per engine serves the whole session; ``search_node`` runs a test once per engine.
Tests that need static settings start an extra node with ``start_search_node``. Without Java
or a built launcher (``bash .ci/setup-search-nodes``) the tests skip with the reason on a
laptop and fail under CI.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.support.search_nodes import ENGINES, SearchNode
from tests.support.search_nodes.launcher import SettingValue
from tests.support.search_nodes.starting import StartSearchNode, session_node, start_or_skip

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.engines)


@pytest.fixture(scope="session")
def opensearch_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchNode]:
    yield from session_node("opensearch", tmp_path_factory)


@pytest.fixture(scope="session")
def elasticsearch_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchNode]:
    yield from session_node("elasticsearch", tmp_path_factory)


@pytest.fixture(scope="session", params=sorted(ENGINES, reverse=True), ids=str)
def search_node(request: pytest.FixtureRequest) -> SearchNode:
    """The session's node of each engine in turn (opensearch, then elasticsearch)."""
    node: SearchNode = request.getfixturevalue(f"{request.param}_node")
    return node


@pytest.fixture
def start_search_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartSearchNode]:
    """``start_search_node(engine, {"http.max_content_length": "2kb"})``: an extra node with
    static settings of its own, stopped when the test ends."""
    started: list[SearchNode] = []

    def start(engine: str, settings: Mapping[str, SettingValue] | None = None) -> SearchNode:
        node = SearchNode(engine, tmp_path_factory.mktemp(f"{engine}-extra"), settings=settings)
        started.append(node)
        return start_or_skip(node)

    yield start
    for node in started:
        node.stop()
