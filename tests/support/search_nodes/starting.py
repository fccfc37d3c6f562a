"""Starting a search node for a test: skip with the reason on a laptop, fail under CI."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.ci import IN_CI
from tests.support.search_nodes import NodeUnavailable, SearchNode

StartSearchNode = Callable[..., SearchNode]


def start_or_skip(node: SearchNode) -> SearchNode:
    try:
        return node.start()
    except NodeUnavailable as exc:
        if IN_CI:
            pytest.fail(f"under CI the {node.engine} node must run: {exc}")
        pytest.skip(str(exc))


def session_node(engine: str, factory: pytest.TempPathFactory) -> Iterator[SearchNode]:
    node = start_or_skip(SearchNode(engine, factory.mktemp(f"{engine}-node")))
    yield node
    node.stop()
