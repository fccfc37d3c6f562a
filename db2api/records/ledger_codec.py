"""The ledger as Prefect Variables: a small index and as many shards as it needs.

A Prefect Variable's value holds at most 5,000 bytes of JSON, and a job's ledger
grows with the number of separate delivered stretches (a refused day every other
day makes one per day). So the ledger is written as

- an **index**, ``db2api-ledger-<job>``: the format, the time unit, the operator's
  floor, each delivery key with its target's label (most recent last), the number
  of shards, the *slot* they are in and their *generation* (a hash of what they
  hold). Its size does not depend on the intervals;
- **shards**, ``db2api-ledgershard-<job>-<slot>-<n>``: ``[generation, piece,
  piece, …]``, a piece being ``[series, first, delta, delta, …]`` where a series
  is ``*`` (the job's intervals) or a delivery key, ``first`` is an interval's
  start and each delta the distance to the next boundary, all in the time unit
  (the greatest common divisor of every boundary, in microseconds since 1970: a
  day for daily windows at UTC midnight). A day delivered, a day missing, is
  ``1,1,``: a decade of such days fits in a few shards, where ISO strings needed
  48 characters each.

Two slots, ``a`` and ``b``, take turns: a change writes its shards into the slot
the index does not point at, then the index, which is the one write that switches
readers over. Nothing is deleted on the way (deleting a Variable is the slowest
call of Prefect's API here). A reader whose shards changed under it sees another
generation in them and reads again.

Pure functions: :mod:`db2api.orchestration.ledger_store` does the reading and writing.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from db2api.records.ledger import Interval, Ledger, moment
from db2api.records.windows import iso

FORMAT = 2
SHARD_BYTES = 4800  # Prefect refuses a Variable value past 5,000 bytes of JSON
GENERATION = 10  # hex digits of the hash that names a ledger's content
DELIVERED = "*"  # the series of the job's own intervals; keys are hex digests
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INDEX_PREFIX = "db2api-ledger-"
SHARD_PREFIX = "db2api-ledgershard-"


def index_name(job: str) -> str:
    return f"{INDEX_PREFIX}{job}"


SLOTS = ("a", "b")


def shard_name(job: str, slot: str, number: int) -> str:
    return f"{SHARD_PREFIX}{job}-{slot}-{number}"


def is_shard_of(name: str, job: str) -> bool:
    """Does this Variable hold a shard of ``job`` (and not of ``job-x``)?"""
    if not name.startswith(f"{SHARD_PREFIX}{job}-"):
        return False
    rest = name[len(SHARD_PREFIX) :].rsplit("-", 2)
    return len(rest) == 3 and rest[0] == job and rest[1] in SLOTS and rest[2].isdigit()


@dataclass(frozen=True)
class Packed:
    index: dict[str, object]
    shards: list[list[list[object]]]

    @property
    def generation(self) -> str:
        return str(self.index["generation"])


def micros(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(microseconds=1)


def instant(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def series_of(ledger: Ledger) -> list[tuple[str, list[Interval]]]:
    return [(DELIVERED, ledger.delivered), *ledger.by_key.items()]


def unit_of(ledger: Ledger) -> int:
    unit = 0
    for _, intervals in series_of(ledger):
        for start, end in intervals:
            unit = math.gcd(unit, micros(start), micros(end))
    return unit or 1


def pack(ledger: Ledger, slot: str = SLOTS[0]) -> Packed:
    """The index and shards that hold ``ledger``; each shard's JSON fits a Variable."""
    unit = unit_of(ledger)
    shards: list[list[list[object]]] = []
    shard: list[list[object]] = []
    size = 2 + GENERATION + 3  # the shard's brackets and its generation
    for name, intervals in series_of(ledger):
        piece: list[object] = []
        previous = 0
        for value in (micros(m) // unit for interval in intervals for m in interval):
            cost = len(str(value - previous)) + 1  # the delta and its comma
            if piece and size + cost <= SHARD_BYTES:
                piece.append(value - previous)
                size += cost
            else:  # a piece starts at an absolute boundary, in a new shard if this is full
                piece = [name, value]
                cost = len(orjson.dumps(piece)) + 1
                if shard and size + cost > SHARD_BYTES:
                    shards.append(shard)
                    shard, size = [], 2 + GENERATION + 3
                shard.append(piece)
                size += cost
            previous = value
    if shard:
        shards.append(shard)
    index: dict[str, object] = {
        "format": FORMAT,
        "unit_us": unit,
        "floor": iso(ledger.floor) if ledger.floor else None,
        "keys": [[key, ledger.labels.get(key, "")] for key in ledger.by_key],
        "shards": len(shards),
    }
    digest = hashlib.sha256(orjson.dumps([index, shards])).hexdigest()[:GENERATION]
    marked: list[list[object]] = [[digest, *shard] for shard in shards]
    return Packed({**index, "generation": digest, "slot": slot}, marked)  # type: ignore[arg-type]


def is_packed(value: object) -> bool:
    return isinstance(value, dict) and value.get("format") == FORMAT


def is_whole(index: dict[str, object], shards: list[object]) -> bool:
    """Are these the shards the index names, all of them, none rewritten since?"""
    generation = index.get("generation")
    return all(isinstance(s, list) and s and s[0] == generation for s in shards)


def unpack(index: dict[str, object], shards: list[object]) -> Ledger:
    """The ledger an index and its shards (in order) hold."""
    unit = int(str(index.get("unit_us") or 1))
    boundaries: dict[str, list[int]] = {}
    for shard in shards:
        for piece in shard[1:] if isinstance(shard, list) else []:
            name, first, *deltas = piece
            values = boundaries.setdefault(str(name), [])
            value = int(first)
            values.append(value)
            for delta in deltas:
                value += int(delta)
                values.append(value)

    def intervals(name: str) -> list[Interval]:
        values = [instant(v * unit) for v in boundaries.get(name, [])]
        return list(zip(values[::2], values[1::2], strict=True))

    keys = index.get("keys")
    pairs = [(str(k), str(label)) for k, label in keys] if isinstance(keys, list) else []
    floor = index.get("floor")
    return Ledger(
        delivered=intervals(DELIVERED),
        by_key={key: intervals(key) for key, _ in pairs},
        floor=moment(str(floor)) if floor else None,
        labels={key: label for key, label in pairs if label},
    )
