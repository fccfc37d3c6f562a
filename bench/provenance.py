"""Which code a run measured: other engineers edit the pipeline while benchmarks run.

A digest of the measured sources is taken before every contestant, so the report
can say when the code changed mid-run (and which runs saw which version), instead
of silently comparing two versions in one ratio. Git is only read: ``rev-parse``
and ``status`` with ``--no-optional-locks``, which never rewrites the index.
"""

from __future__ import annotations

import hashlib
import subprocess

from bench.settings import ROOT

SOURCES = ("db2api", "flows", "tasks")  # what the contestants run


def source_digest() -> str:
    """A short hash of every measured Python source, names and contents."""
    digest = hashlib.sha256()
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode())
            try:
                digest.update(path.read_bytes())
            except OSError:  # deleted between listing and reading: part of the change
                digest.update(b"<gone>")
    return digest.hexdigest()[:10]


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.rstrip() if done.returncode == 0 else ""  # keep porcelain's columns


def git_state() -> str:
    """``abc1234`` plus the measured files with uncommitted changes, if any."""
    head = _git("rev-parse", "--short", "HEAD").strip() or "unknown commit"
    changed = [line[3:] for line in _git("status", "--porcelain", "--", *SOURCES).splitlines()]
    if not changed:
        return head
    shown = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
    return f"{head} + uncommitted changes in {shown}"
