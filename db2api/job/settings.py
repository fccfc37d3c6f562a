"""The values a job file writes besides its own dataclasses: settings read when it runs.

``Env`` and ``Secret`` name where a value comes from; the type aliases name what a
row, a transform and an id spec are. Nothing here reads anything until a run asks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from db2api.errors import JobError

Row = dict[str, Any]
Transform = Callable[[Row], Mapping[str, Any]]
IdSpec = str | Sequence[str] | Callable[[Row], Any]
Mode = Literal["bulk", "item", "batch"]
Upsert = Literal["none", "put-or-post", "post-or-put"]
UPSERTS: tuple[str, ...] = ("none", "put-or-post", "post-or-put")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*$")  # what Prefect allows in a Variable's name
MAX_NAME = 200  # db2api-ledgershard-<job>-<slot>-<n> within Prefect's 255


@dataclass(frozen=True)
class Env:
    """A setting read from an environment variable when the job runs."""

    name: str
    default: str | None = None
    help: str = ""

    def resolve(self, job: str) -> str:
        value = os.environ.get(self.name, self.default)
        if value is None:
            what = f" ({self.help})" if self.help else ""
            raise JobError(
                f"environment variable {self.name} is not set{what}: export it before "
                f"running job {job!r}"
            )
        return value


@dataclass(frozen=True)
class Secret:
    """A setting read from a Prefect Secret block when the job runs (e.g. a header value)."""

    block: str


Setting = str | Env
HeaderValue = str | Env | Secret


def resolve(value: Any, job: str) -> Any:
    return value.resolve(job) if isinstance(value, Env) else value
