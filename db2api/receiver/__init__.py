"""A local stand-in for Elasticsearch, to try a job before pointing it at production.

Run it with ``python -m db2api.receiver`` (or ``db2api receiver``); use
:class:`ReceiverProcess` from tests and demos, and :func:`create_app` to embed it.
"""

from db2api.receiver.app import create_app
from db2api.receiver.bulk import BulkAction, parse_bulk
from db2api.receiver.client import ReceiverClient, ReceiverError
from db2api.receiver.faults import (
    FaultError,
    Faults,
    ItemFault,
    RequestFault,
    decide_items,
    decide_request,
    matches_reject_rule,
)
from db2api.receiver.process import ReceiverProcess
from db2api.receiver.protocol import ProtocolError
from db2api.receiver.store import Store, StoreError
from db2api.receiver.writes import WriteOp, WriteResult

__all__ = [
    "BulkAction",
    "FaultError",
    "Faults",
    "ItemFault",
    "ProtocolError",
    "ReceiverClient",
    "ReceiverError",
    "ReceiverProcess",
    "RequestFault",
    "Store",
    "StoreError",
    "WriteOp",
    "WriteResult",
    "create_app",
    "decide_items",
    "decide_request",
    "matches_reject_rule",
    "parse_bulk",
]
