"""``db2api watermark``: what a job delivered, per target; set or clear it."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from db2api.errors import Db2apiError
from db2api.job import resolve
from db2api.orchestration.ledger_store import clear_ledger, read_ledger, set_watermark
from db2api.orchestration.prefect_server import local_prefect
from db2api.records.journal import Journal, fold_journal, journal_folder
from db2api.records.ledger import delivery_key, describe
from db2api.records.windows import iso, to_moment, zone
from db2api.run.catalog import load_job
from db2api.run.transfer import origin, target_label


def cmd_watermark(args: argparse.Namespace) -> int:
    job = load_job(args.job)
    with local_prefect():
        if args.set:
            asyncio.run(set_watermark(job.name, to_moment(args.set, zone(job.timezone))))
        elif args.clear:
            asyncio.run(clear_ledger(job.name))
            Journal(journal_folder(job)).clear()  # its write-ahead too
        ledger = asyncio.run(read_ledger(job.name))
    journalled = fold_journal(ledger, journal_folder(job))
    print("\n".join(watermark_lines(job, ledger, journalled=journalled)))
    return 0


def watermark_lines(
    job: Any, ledger: Any, limit: int | None = 12, journalled: str = ""
) -> list[str]:
    """``journalled``: the journal's windows folded into ``ledger``, in words (see
    :func:`~db2api.records.journal.fold_journal`)."""
    start = origin(job)
    value = ledger.watermark(start)
    since = f"first_start {iso(start)}" if start else "the earliest delivered window"
    return [
        f"job          {job.name}",
        f"watermark    {iso(value) if value else 'none'} (delivered without a gap from {since})",
        f"delivered    {describe(ledger.counted(), limit)}",
        f"gaps         {describe(ledger.gaps(start), limit)}",
        *target_lines(job, ledger, limit),
        *([f"journal      {journalled}"] if journalled else []),
    ]


def target_lines(job: Any, ledger: Any, limit: int | None) -> list[str]:
    """One line per delivery key: the target, its watermark (runs plan from it) and gaps."""
    try:
        url = resolve(job.target.url, job.name)
        now, now_label = delivery_key(job.fingerprint, url), target_label(job, url)
    except Db2apiError:
        now = now_label = None  # the target's URL is not set here: none is marked current
    start = origin(job)
    lines = []
    for key in reversed(list(ledger.by_key)):  # the most recent first
        value = ledger.watermark(start, key)
        label = ledger.labels.get(key, f"key {key}")
        lines.append(
            f"target       {label}{' (now)' if key == now else ''}: "
            f"watermark {iso(value) if value else 'none'}, "
            f"gaps {describe(ledger.gaps(start, key), limit)}"
        )
    if now is not None and now not in ledger.by_key:
        lines.append(f"target       {now_label} (now): nothing delivered yet")
    return lines
