"""Whether the suite runs under CI, where missing services fail instead of skipping."""

from __future__ import annotations

import os
from collections.abc import Mapping

CI_VALUES = frozenset({"1", "true", "yes"})


def in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    """CI services set CI=true, others CI=1 or CI=yes: any of them, in any case."""
    return environ.get("CI", "").strip().lower() in CI_VALUES


IN_CI = in_ci()
