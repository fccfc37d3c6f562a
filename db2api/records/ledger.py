"""The delivered-ranges ledger: which parts of time a job has delivered, as merged intervals.

One ledger per job. It keeps

- ``delivered``: every interval delivered with nothing left undelivered, whatever
  the job's code or target was at the time: the watermark is read from it;
- ``by_key``: the same per *delivery key* (the job's fingerprint and the resolved
  target URL): what a run may skip, so editing the SQL, the transform, the id or
  the target sends windows again; ``labels`` names each key's target in words;
- ``floor``: a watermark an operator set by hand (``db2api watermark JOB --set``).

Intervals are merged as they are added, so the record grows with the number of
separate delivered stretches, not of windows. The watermark is the end of the
gap-free interval that starts at the job's ``first_start`` (or, without one, at
the earliest delivered moment): a run of a later range records its interval but
never moves the watermark across a gap. There is one per job and one per delivery
key; a run plans from its key's, so a job pointed at a new target fills it from
the start instead of trusting what another target received.

Plain data and pure functions; :mod:`db2api.records.ledger_codec` packs it into Prefect
Variables and :mod:`db2api.orchestration.ledger_store` keeps it there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from db2api.records.windows import Window, iso

Interval = tuple[datetime, datetime]
KEEP_KEYS = 4  # delivery keys remembered: the current one and a few before it
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LABEL_CHARS = 200  # a target's label, kept beside its key


def delivery_key(fingerprint: str, url: str) -> str:
    """What a delivered window depends on: the job's fingerprint and where it was sent."""
    return hashlib.sha256(f"{fingerprint}|{url}".encode()).hexdigest()[:12]


def merge(intervals: Iterable[Interval], more: Iterable[Interval] = ()) -> list[Interval]:
    """Sorted, with overlapping and touching intervals joined."""
    merged: list[Interval] = []
    for start, end in sorted([*intervals, *more]):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def clip(intervals: Iterable[Interval], end: datetime) -> list[Interval]:
    """The parts of ``intervals`` before ``end``."""
    return [(s, min(e, end)) for s, e in intervals if s < end]


def intersect(left: list[Interval], right: list[Interval]) -> list[Interval]:
    """What two merged, sorted interval lists have in common."""
    common: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start, end = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if start < end:
            common.append((start, end))
        if left[i][1] <= right[j][1]:
            i += 1
        else:
            j += 1
    return common


def covers(intervals: Iterable[Interval], window: Window) -> bool:
    return any(s <= window.start and window.end <= e for s, e in intervals)


@dataclass
class Ledger:
    delivered: list[Interval] = field(default_factory=list)
    by_key: dict[str, list[Interval]] = field(default_factory=dict)
    floor: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def record(self, key: str, windows: Iterable[Window], label: str = "") -> None:
        spans = [(w.start, w.end) for w in windows]
        self.delivered = merge(self.delivered, spans)
        self.by_key[key] = merge(self.by_key.pop(key, []), spans)  # now the most recent key
        if label:
            self.labels[key] = label[:LABEL_CHARS]
        for old in list(self.by_key)[:-KEEP_KEYS]:
            del self.by_key[old]
        self.labels = {k: v for k, v in self.labels.items() if k in self.by_key}

    def is_delivered(self, key: str, window: Window) -> bool:
        return covers(self.by_key.get(key, []), window)

    def counted(self, key: str | None = None) -> list[Interval]:
        """Delivered intervals (of the job, or of one key) with the operator's floor.

        A key's intervals count only where the job's do too: ``--set`` cuts the
        job's record after the floor but keeps the keys' (what runs may skip), and
        a window counts again once a run records it again.
        """
        intervals = self.delivered
        if key is not None:
            intervals = intersect(self.by_key.get(key, []), self.delivered)
        return merge(intervals, [(EARLIEST, self.floor)] if self.floor else [])

    def watermark(self, origin: datetime | None, key: str | None = None) -> datetime | None:
        """The end of the gap-free delivered interval that starts at ``origin``."""
        intervals = self.counted(key)
        if not intervals:
            return None
        origin = intervals[0][0] if origin is None else origin
        for start, end in intervals:
            if start <= origin <= end:
                return end
        return None

    def gaps(self, origin: datetime | None, key: str | None = None) -> list[Interval]:
        """What is missing between ``origin`` and the end of the last delivered interval."""
        intervals = self.counted(key)
        if not intervals:
            return []
        cursor = intervals[0][0] if origin is None else origin
        missing: list[Interval] = []
        for start, end in intervals:
            if start > cursor:
                missing.append((cursor, start))
            cursor = max(cursor, end)
        return missing

    def set_watermark(self, moment: datetime) -> None:
        """Everything before ``moment`` counts as delivered, nothing after it does.

        What a run may skip (``by_key``) is kept: those windows were delivered.
        """
        self.floor = moment
        self.delivered = clip(self.delivered, moment)

    @classmethod
    def from_json(cls, value: object) -> Ledger:
        """A ledger in its first form: one Variable of ISO intervals (read, then migrated)."""
        if isinstance(value, str):
            value = orjson.loads(value)
        if not isinstance(value, dict):
            return cls()

        def spans(items: object) -> list[Interval]:
            if not isinstance(items, list):
                return []
            return merge((moment(s), moment(e)) for s, e in items)

        by_key = value.get("by_key") or {}
        floor = value.get("floor")
        return cls(
            delivered=spans(value.get("delivered")),
            by_key={str(k): spans(v) for k, v in by_key.items()},
            floor=moment(floor) if floor else None,
        )


def moment(text: str) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC)


def describe(intervals: Iterable[Interval], limit: int | None = None) -> str:
    """Intervals as text; past ``limit`` the first and last few and how many in all."""
    items = [f"[{iso(s)}, {iso(e)})" for s, e in intervals]
    if limit is not None and len(items) > limit:
        half = max(limit // 2, 1)
        items = [*items[:half], f"… {len(items) - 2 * half} more …", *items[-half:]]
    return " ".join(items) or "none"
