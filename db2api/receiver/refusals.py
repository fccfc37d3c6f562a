"""Index-level refusals: Elasticsearch's answers when the index, not the document, is at fault.

A ``_bulk`` request still answers 200 and fails each item on such an index with the
error below; a single-document request fails as a whole with the same error in the
usual envelope. The texts and statuses are Elasticsearch's own (sources next to each),
so a client's classification (retry a 429, dead-letter a 400, stop on a 403/404) is
tested against what production will say.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import hashlib
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

from db2api.receiver.faults import Faults

READS = frozenset({"get", "get_by_id"})  # get_by_id: GET _doc and _mget, real-time
WRITES = frozenset({"index", "create", "update", "delete"})

# The index-level block texts are ClusterBlock descriptions from Elasticsearch's
# IndexMetadata (server/src/main/java/org/elasticsearch/cluster/metadata/IndexMetadata.java)
# as rendered by ClusterBlockException: "index [<name>] blocked by: [<STATUS>/<id>/<text>];".
# Seen in the wild, e.g. logstash "retrying failed action with response code: 403
# ({"type"=>"cluster_block_exception", "reason"=>"index [shrink-index-2023.06] blocked by:
# [FORBIDDEN/8/index write (api)];"})". The read-only-allow-delete block answers 429 since
# https://github.com/elastic/elasticsearch/pull/50166 ("Return 429 status code when there's a
# read_only cluster block"), 403 FORBIDDEN/12 before it; it still lets deletes through.
_BLOCKS = {
    "write_block": (403, "FORBIDDEN/8/index write (api)", False),
    "flood_stage": (
        429,
        "TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, "
        "index has read-only-allow-delete block",
        True,
    ),
    "flood_stage_legacy": (403, "FORBIDDEN/12/index read-only / allow delete (api)", True),
}
# Action names and the privileges that grant them, as security_exception lists them
# ("this action is granted by the index privileges [...]", least privilege first), e.g.
# https://github.com/racompton/tattle-tale/pull/3: "action [indices:data/write/bulk[s]] is
# unauthorized for user [logstash_internal] with roles [logstash_writer] on indices
# [netflow-2022.05.11], this action is granted by the index privileges
# [create_doc,create,delete,index,write,all]".
_BULK_ACTION = ("indices:data/write/bulk[s]", "create_doc,create,delete,index,write,all")
_SINGLE_ACTIONS = {
    "index": ("indices:data/write/index", "create_doc,create,index,write,all"),
    "create": ("indices:data/write/index", "create_doc,create,index,write,all"),
    "update": ("indices:data/write/update", "index,write,all"),
    "delete": ("indices:data/write/delete", "delete,write,all"),
}
DATA_STREAM_REASON = "only write ops with an op_type of create are allowed in data streams"


@dataclass(frozen=True, slots=True)
class Refusal:
    """One Elasticsearch error: status, type, reason and the fields it puts beside them."""

    status: int
    type: str
    reason: str
    meta: dict[str, Any] = field(default_factory=dict)
    counter: str | None = None  # the /_stats fault counter it adds to, if injected

    def error(self) -> dict[str, Any]:
        """The ``error`` object of a bulk item."""
        return {"type": self.type, "reason": self.reason, **self.meta}

    def body(self) -> dict[str, Any]:
        """The whole-request envelope of a single-document request; its ``root_cause``
        leaves out the ``caused_by`` the error itself carries, as both engines do."""
        cause = self.error()
        root = {key: value for key, value in cause.items() if key != "caused_by"}
        return {"error": {"root_cause": [root], **cause}, "status": self.status}


def index_uuid(index: str) -> str:
    """A stable stand-in for the index's UUID (22 URL-safe base64 characters, like ES's)."""
    digest = hashlib.sha1(index.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def shard_meta(index: str) -> dict[str, str]:
    """What ES adds to document-level errors (conflicts, missing documents)."""
    return {"index_uuid": index_uuid(index), "shard": "0", "index": index}


def index_not_found(index: str) -> Refusal:
    """An index that does not exist, found when resolving a read or a delete.

    A real 8.x answer to ``DELETE /<missing>/_doc/<id>``: {"type":
    "index_not_found_exception","reason":"no such index [hfs_write-stub_patient]",
    "resource.type":"index_expression","resource.id":"hfs_write-stub_patient",
    "index_uuid":"_na_","index":"hfs_write-stub_patient"} (quoted in a public test suite).
    """
    meta = {"resource.type": "index_expression", "resource.id": index}
    meta |= {"index_uuid": "_na_", "index": index}
    return Refusal(404, "index_not_found_exception", f"no such index [{index}]", meta)


# MetadataCreateIndexService.validateIndexOrAliasName, then validateIndexName's lowercase
# check (elastic/elasticsearch, server/src/main/java/org/elasticsearch/cluster/metadata/
# MetadataCreateIndexService.java): the first rule broken names the problem. The character
# list renders Strings.INVALID_FILENAME_CHARS as servers print it, e.g. opensearch-py's
# test_opensearchpy/test_async/test_server/test_clients.py: "Invalid index name
# [movies/shmovies], must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]".
_FILENAME_CHARS = frozenset('\\/*?"<>| ,')
_NAME_RULES = (
    (
        lambda n: bool(_FILENAME_CHARS.intersection(n)),
        'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]',
    ),
    (lambda n: "#" in n, "must not contain '#'"),
    (lambda n: ":" in n, "must not contain ':'"),
    (lambda n: n[:1] in ("_", "-", "+"), "must not start with '_', '-', or '+'"),
)


def index_name_problem(index: str) -> str | None:
    """What is wrong with an index name, in Elasticsearch's words, or ``None``."""
    for broken, problem in _NAME_RULES:
        if broken(index):
            return problem
    size = len(index.encode())
    if size > 255:
        return f"index name is too long, ({size} > 255)"
    if index in (".", ".."):
        return "must not be '.' or '..'"
    return "must be lowercase" if index != index.lower() else None


@functools.lru_cache(maxsize=1024)  # a bulk names the same few indices thousands of times
def invalid_name(index: str) -> Refusal | None:
    """InvalidIndexNameException sets the index, so its body carries ``_na_`` and the name.

    A real answer to ``PUT /@%21&%2A%23``: {"type":"invalid_index_name_exception","reason":
    "Invalid index name [@%21&%2A%23], must be lowercase","index_uuid":"_na_","index":
    "@%21&%2A%23"} (quoted in a public Go client's comment); fluent-bit users quote the same
    fields per bulk item.
    """
    problem = index_name_problem(index)
    if problem is None:
        return None
    reason = f"Invalid index name [{index}], {problem}"
    return Refusal(
        400, "invalid_index_name_exception", reason, {"index_uuid": "_na_", "index": index}
    )


def already_exists(index: str) -> Refusal:
    """ResourceAlreadyExistsException(Index): "index {} already exists" with Index.toString().

    elastic/elasticsearch, server/.../ResourceAlreadyExistsException.java; the body as a
    client library records it (Philippus/elastic4s, CreateIndexResponse.scala): {"type":
    "resource_already_exists_exception","reason":"index [foo/YWHF4HPDTl6L3rs7yInX4Q] already
    exists","index_uuid":"YWHF4HPDTl6L3rs7yInX4Q","index":"foo"}, status 400.
    """
    uuid = index_uuid(index)
    reason = f"index [{index}/{uuid}] already exists"
    meta = {"index_uuid": uuid, "index": index}
    return Refusal(400, "resource_already_exists_exception", reason, meta)


def no_such_index(index: str) -> Refusal:
    """A missing index named by an index API (GET/DELETE /{index}, _mapping).

    IndexNameExpressionResolver marks it ``index_or_alias`` (elastic/elasticsearch,
    server/.../cluster/metadata/IndexNameExpressionResolver.java), as ``DELETE /get-together``
    answers: {"type":"index_not_found_exception","reason":"no such index [get-together]",
    "resource.type":"index_or_alias","resource.id":"get-together","index_uuid":"_na_",
    "index":"get-together"}, status 404.
    """
    meta = {"resource.type": "index_or_alias", "resource.id": index}
    meta |= {"index_uuid": "_na_", "index": index}
    return Refusal(404, "index_not_found_exception", f"no such index [{index}]", meta)


def decide_refusal(
    faults: Faults,
    op: str,
    index: str,
    authorization: str | None = None,
    *,
    bulk: bool = False,
    defined: Container[str] = (),
) -> Refusal | None:
    """The index-level refusal of ``op`` on ``index``, in the order Elasticsearch checks.

    ``op`` is a bulk action (index, create, update, delete), ``get`` (count, search) or
    ``get_by_id`` (GET _doc, _mget). Security comes first (it runs before the action),
    then the index's existence, the data-stream rule, and the index blocks. Reads are
    refused for a missing index, and a data stream takes no GET by id.
    ``index_missing`` means auto-create is off: the indices in ``defined`` (created
    with ``PUT /{index}``) exist, every other one is missing.
    """
    missing = faults.index_missing and index not in defined
    if op in READS:
        if missing:
            return _missing(index, op)
        return data_stream_get(index) if faults.data_stream and op == "get_by_id" else None
    if faults.no_privileges:
        action, privileges = _BULK_ACTION if bulk else _SINGLE_ACTIONS[op]
        reason = (
            f"action [{action}] is unauthorized for {describe_caller(authorization)} on indices "
            f"[{index}], this action is granted by the index privileges [{privileges}]"
        )
        return Refusal(403, "security_exception", reason, counter="no_privileges")
    if missing:
        return _missing(index, op)
    if faults.data_stream and op != "create":
        # TransportBulkAction: throw new IllegalArgumentException("only write ops with an
        # op_type of create are allowed in data streams"); logstash logs it per item as
        # {"status"=>400, "error"=>{"type"=>"illegal_argument_exception", "reason"=>...}}.
        return Refusal(400, "illegal_argument_exception", DATA_STREAM_REASON, counter="data_stream")
    if faults.read_only is not None:
        status, block, allows_delete = _BLOCKS[faults.read_only]
        if not (allows_delete and op == "delete"):
            reason = f"index [{index}] blocked by: [{block}];"
            return Refusal(status, "cluster_block_exception", reason, counter="read_only")
    return None


def data_stream_get(index: str) -> Refusal:
    """A GET by id (``GET _doc``, an ``_mget`` entry) on a data stream, which takes none.

    Elasticsearch 8.19.21's answer to ``POST /ds2/_mget {"ids": ["1"]}`` on a data stream
    (seen on the node in tests/integration/engines): each entry's error is {"type":
    "index_not_found_exception","reason":"no such index [ds2]","resource.type":
    "index_or_alias","excluded_ds":"true","resource.id":"ds2","index_uuid":"_na_",
    "index":"ds2"}, and ``GET /ds2/_doc/1`` answers 404 with the same error.
    """
    meta = {"resource.type": "index_or_alias", "excluded_ds": "true", "resource.id": index}
    meta |= {"index_uuid": "_na_", "index": index}
    return Refusal(404, "index_not_found_exception", f"no such index [{index}]", meta)


def _missing(index: str, op: str) -> Refusal:
    if op in ("delete", *READS):  # never auto-created: the index resolution fails
        return dataclasses.replace(index_not_found(index), counter="index_missing")
    # AutoCreateIndex.shouldAutoCreate: throw new IndexNotFoundException("[" +
    # AUTO_CREATE_INDEX_SETTING.getKey() + "] is [false]", index), which reads "no such index
    # [<index>] and [action.auto_create_index] is [false]" with index_uuid "_na_" and index
    # (elastic/elasticsearch, server/.../action/support/AutoCreateIndex.java; the item shape
    # in https://github.com/logstash-plugins/logstash-output-elasticsearch/issues/584).
    reason = f"no such index [{index}] and [action.auto_create_index] is [false]"
    meta = {"index_uuid": "_na_", "index": index}
    return Refusal(404, "index_not_found_exception", reason, meta, "index_missing")


def describe_caller(authorization: str | None) -> str:
    """The principal as security_exception names it: an API key, a user, or anonymous."""
    scheme, _, credentials = (authorization or "").partition(" ")
    decoded = _b64(credentials.strip())
    if scheme.lower() == "apikey":
        key_id = decoded.partition(":")[0] if decoded else "unknown"
        return f"API key id [{key_id}] of user [receiver]"
    if scheme.lower() == "basic" and decoded:
        return f"user [{decoded.partition(':')[0]}] with effective roles [receiver_reader]"
    return "user [_anonymous] with effective roles []"


def _b64(text: str) -> str | None:
    try:
        return base64.b64decode(text, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
