"""Fault configuration for the local receiver, and the decisions drawn from it.

The decisions are pure functions of the configuration, a ``random.Random`` and the
time since the faults were set, so a unit test can check the rates over thousands of
draws without a server, and a ``seed`` makes a failing demo or test repeat exactly.
Request-level rates share one draw (their ranges are stacked, not nested), so
``rate_429=0.1`` means one request in ten gets a 429 whatever the other rates are.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

REDACTED = "<redacted>"
"""Shown instead of ``require_auth`` so the secret never leaves the process."""

OUTAGE_MODES = ("503", "refuse")
READ_ONLY_MODES = ("write_block", "flood_stage", "flood_stage_legacy")
INDEX_SWITCHES = ("index_missing", "no_privileges", "data_stream")
REQUEST_RATES = ("rate_reset", "rate_429", "rate_503", "rate_hang")
ITEM_RATES = ("bulk_item_429", "bulk_item_400", "bulk_item_lost")
_EPSILON = 1e-9  # 0.1 + 0.2 + 0.7 must still count as "at most 1"


class FaultError(ValueError):
    """A fault setting is out of range; names the setting(s) so the CLI can show its flag."""

    def __init__(self, names: tuple[str, ...], problem: str, value: object) -> None:
        self.names = names
        self.problem = problem
        self.value = value
        super().__init__(self.describe(lambda name: name))

    def describe(self, label: Callable[[str], str]) -> str:
        """One line naming each setting with ``label`` (a field name or a CLI flag)."""
        return (
            f"{' + '.join(label(n) for n in self.names)} {self.problem} (got {_show(self.value)})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.names, self.problem, self.value))


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True, slots=True)
class Faults:
    """What the receiver does wrong; every knob defaults to "behave like a healthy cluster"."""

    latency_ms: float = 0.0
    rate_429: float = 0.0
    retry_after: int = 1
    rate_503: float = 0.0
    rate_reset: float = 0.0
    rate_hang: float = 0.0
    hang_seconds: float = 60.0
    outage_after_seconds: float = 0.0
    outage_seconds: float = 0.0
    outage_mode: str = "503"
    bulk_item_429: float = 0.0
    bulk_item_400: float = 0.0
    # A lying target: the item is answered 201 created but not stored.
    bulk_item_lost: float = 0.0
    reject_field: str | None = None
    reject_value: Any = None
    require_auth: str | None = None
    status_override: int | None = None
    non_json: bool = False
    # Index-level refusals, answered per item inside a 200 _bulk response (see refusals.py).
    index_missing: bool = False  # auto-create off: only indices made by PUT /{index} exist
    read_only: str | None = None  # a block on every index: one of READ_ONLY_MODES
    no_privileges: bool = False  # the caller may not write to any index
    data_stream: bool = False  # every index is a data stream: only op_type create is allowed
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in (*REQUEST_RATES, *ITEM_RATES):
            if not 0.0 <= _number(name, getattr(self, name)) <= 1.0:
                raise FaultError((name,), "must be between 0 and 1", getattr(self, name))
        for names in (REQUEST_RATES, ITEM_RATES):
            total = sum(getattr(self, n) for n in names)
            if total > 1.0 + _EPSILON:
                raise FaultError(names, "must add up to at most 1", round(total, 6))
        for name in ("latency_ms", "hang_seconds", "outage_after_seconds", "outage_seconds"):
            if _number(name, getattr(self, name)) < 0:
                raise FaultError((name,), "must be 0 or more", getattr(self, name))
        if not isinstance(self.retry_after, int) or isinstance(self.retry_after, bool):
            raise FaultError(
                ("retry_after",), "must be a whole number of seconds", self.retry_after
            )
        if self.retry_after < 0:
            raise FaultError(("retry_after",), "must be 0 or more", self.retry_after)
        if self.outage_mode not in OUTAGE_MODES:
            raise FaultError(("outage_mode",), "must be '503' or 'refuse'", self.outage_mode)
        if self.reject_field is not None and (
            not isinstance(self.reject_field, str) or not self.reject_field
        ):
            raise FaultError(("reject_field",), "must be a non-empty field name", self.reject_field)
        if self.reject_field is None and self.reject_value is not None:
            raise FaultError(("reject_value",), "needs reject_field as well", self.reject_value)
        if self.require_auth is not None and (
            not isinstance(self.require_auth, str) or not self.require_auth.strip()
        ):
            raise FaultError(("require_auth",), "must be a full Authorization header value", "")
        status = self.status_override
        if status is not None and (
            not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599
        ):
            raise FaultError(("status_override",), "must be an HTTP error status 400-599", status)
        for name in ("non_json", *INDEX_SWITCHES):
            if not isinstance(getattr(self, name), bool):
                raise FaultError((name,), "must be true or false", getattr(self, name))
        if self.read_only is not None and self.read_only not in READ_ONLY_MODES:
            modes = ", ".join(repr(m) for m in READ_ONLY_MODES)
            raise FaultError(("read_only",), f"must be one of {modes}", self.read_only)
        if self.seed is not None and (
            not isinstance(self.seed, int) or isinstance(self.seed, bool)
        ):
            raise FaultError(("seed",), "must be a whole number", self.seed)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], current: Faults | None = None) -> Faults:
        """Build from JSON; a redacted ``require_auth`` keeps ``current``'s (GET/PUT round-trip)."""
        known = {f.name for f in dataclasses.fields(cls)}
        for key in data:
            if key not in known:
                raise FaultError(
                    (str(key),), f"is not a fault setting; use one of {sorted(known)}", ""
                )
        values = dict(data)
        if values.get("require_auth") == REDACTED:
            values["require_auth"] = current.require_auth if current else None
        return cls(**values)

    def to_public_dict(self) -> dict[str, Any]:
        """The configuration as JSON-able data with the auth secret hidden."""
        data = dataclasses.asdict(self)
        if self.require_auth is not None:
            data["require_auth"] = REDACTED
        return data

    def rng(self) -> random.Random:
        """A fresh generator: seeded ones replay the same decisions after every (re)set."""
        return random.Random(self.seed)


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FaultError((name,), "must be a number", value)
    return float(value)


class RequestFault(StrEnum):
    """What happens to a whole data request; the values double as stats counter names."""

    NONE = "none"
    OUTAGE = "outage"
    RESET = "reset"
    TOO_MANY = "429"
    UNAVAILABLE = "503"
    HANG = "hang"


class ItemFault(StrEnum):
    """What happens to one ``_bulk`` item."""

    NONE = "none"
    TOO_MANY = "bulk_item_429"
    BAD = "bulk_item_400"
    LOST = "bulk_item_lost"


def in_outage(faults: Faults, since_set: float) -> bool:
    """True inside the outage window, which is measured from when the faults were set."""
    start = faults.outage_after_seconds
    return faults.outage_seconds > 0 and start <= since_set < start + faults.outage_seconds


def decide_request(faults: Faults, rng: random.Random, since_set: float) -> RequestFault:
    """Pick the request-level fault: outage, then reset, 429, 503 and hang.

    Exactly one draw per request, even in an outage, so the sequence of decisions
    after the window does not depend on how many requests arrived during it.
    """
    draw = rng.random()
    if in_outage(faults, since_set):
        return RequestFault.OUTAGE
    edge = 0.0
    for rate, fault in (
        (faults.rate_reset, RequestFault.RESET),
        (faults.rate_429, RequestFault.TOO_MANY),
        (faults.rate_503, RequestFault.UNAVAILABLE),
        (faults.rate_hang, RequestFault.HANG),
    ):
        edge += rate
        if draw < edge:
            return fault
    return RequestFault.NONE


def decide_items(faults: Faults, rng: random.Random, count: int) -> list[ItemFault]:
    """One decision per bulk item; no draws at all when item faults are off (the hot path)."""
    if all(getattr(faults, rate) == 0 for rate in ITEM_RATES):
        return [ItemFault.NONE] * count
    too_many = faults.bulk_item_429
    bad = too_many + faults.bulk_item_400
    lost = bad + faults.bulk_item_lost
    out: list[ItemFault] = []
    for _ in range(count):
        draw = rng.random()
        out.append(
            ItemFault.TOO_MANY
            if draw < too_many
            else ItemFault.BAD
            if draw < bad
            else ItemFault.LOST
            if draw < lost
            else ItemFault.NONE
        )
    return out


def matches_reject_rule(faults: Faults, doc: object) -> bool:
    """Does the 400 rule reject this document?

    Values compare as JSON values (``5 == 5.0``, ``true != 1``). A string rule value also
    matches a non-string field whose JSON text equals it, because a value typed on the
    CLI is always a string: ``--reject-value 5`` rejects both ``5`` and ``"5"``.
    """
    field = faults.reject_field
    if field is None or not isinstance(doc, dict) or field not in doc:
        return False
    return json_equal(doc[field], faults.reject_value)


def json_equal(actual: object, wanted: object) -> bool:
    """Equality as JSON sees it, with the string-from-the-CLI leniency described above."""
    if isinstance(wanted, str) and not isinstance(actual, str):
        try:
            return orjson.dumps(actual).decode() == wanted
        except TypeError:
            return False
    if isinstance(actual, bool) or isinstance(wanted, bool):
        return actual is wanted
    same_kind = type(actual) is type(wanted) or (
        isinstance(actual, int | float) and isinstance(wanted, int | float)
    )
    return same_kind and actual == wanted
