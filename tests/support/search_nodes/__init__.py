"""Real OpenSearch and Elasticsearch nodes for the tests, one JVM process each.

The launchers live in ``tests/support/nodes/<engine>/`` (a pom.xml and one class) and are
built by ``bash .ci/setup-search-nodes`` into ``.db2api/nodes/<engine>/``; this module builds
nothing, it only starts what is there::

    with SearchNode("opensearch", tmp_path / "os") as node:
        requests.post(f"{node.url}/_bulk", ...)

A node is one single-node cluster on 127.0.0.1: HTTP on ``port`` (0: any free port, then kept
for restarts), transport on an ephemeral port, data and logs under ``data``, new indices with
0 replicas, so the cluster turns green. Extra node settings (``http.max_content_length``,
``thread_pool.write.queue_size``, ``action.auto_create_index``, ...) are static: they are
given at start. The node's output goes to ``data/node.log``; a failed start quotes its last
lines. A node never outlives the process that started it: the JVM gets SIGKILL when its
parent dies (``setpriv --pdeathsig``, Linux), and nodes still running at interpreter exit are
stopped. Start nodes from a long-lived thread: the death signal follows the thread
that started the node (fixtures run in the main thread).

``python -m tests.support.search_nodes opensearch --port 9201`` runs one in the foreground.
``launcher`` holds the pure parts (command line, build checks), ``node`` the process.
"""

from tests.support.search_nodes.launcher import (
    ENGINES,
    NODES_DIR,
    SETUP,
    Engine,
    NodeStartError,
    NodeUnavailable,
    check_built,
    find_java,
    free_port,
)
from tests.support.search_nodes.node import SearchNode

__all__ = [
    "ENGINES",
    "NODES_DIR",
    "SETUP",
    "Engine",
    "NodeStartError",
    "NodeUnavailable",
    "SearchNode",
    "check_built",
    "find_java",
    "free_port",
]
