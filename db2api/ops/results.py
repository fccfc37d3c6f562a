"""One check's result and the table ``db2api check`` prints (shared by every check module)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from db2api.job import Row
from db2api.scrub import SCRUBBER

Status = Literal["ok", "FAIL", "skip"]
Sample = list[tuple[Row, Mapping[str, Any]]]  # (row, document) pairs


@dataclass(frozen=True)
class Result:
    """One line of the table: the check, ok/FAIL/skip, and what was found or the fix."""

    check: str
    status: Status
    detail: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", SCRUBBER(" ".join(self.detail.split())))


def ok(check: str, detail: str) -> Result:
    return Result(check, "ok", detail)


def fail(check: str, detail: str) -> Result:
    return Result(check, "FAIL", detail)


def skip(check: str, detail: str) -> Result:
    return Result(check, "skip", detail)


def passed(results: Sequence[Result]) -> bool:
    return all(result.status != "FAIL" for result in results)


def render(results: Sequence[Result]) -> str:
    """The table: one aligned line per check, a header first."""
    width = max(len("check"), *(len(result.check) for result in results))
    lines = [f"{'check':<{width}}  {'result':<6}  detail"]
    lines += [f"{r.check:<{width}}  {r.status:<6}  {r.detail}" for r in results]
    return "\n".join(lines)
