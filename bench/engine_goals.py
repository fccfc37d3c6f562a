"""The targets on real search nodes, per engine: P7 to P10 with the engine's suffix.

Each is a ratio within one round of the engine's rotated rounds (the same node,
minutes apart), and the target takes the median of the rounds with their spread,
as the repeated receiver targets do. "The faster helper" and "the ceiling" are
the better of their two runs in that round, so db2api is compared with the best
a user of the official client (or of raw ``_bulk``) got on that node then.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

from bench.goals import Lookup, Missing, Verdict, median_of
from bench.plan import ENGINES
from bench.runner import Result

HELPERS = ("streaming", "parallel")
CEILINGS = ("ceiling-4", "ceiling-8")
Check = Callable[[Lookup], Verdict]


def per_doc_ms(result: Result) -> float:
    """Client CPU milliseconds per 1,000 documents."""
    return result.get("cpu_seconds") / result.get("docs") * 1_000_000


def times(value: float) -> str:
    return f"{value:.2f} x"


def versus(prefix: str, name: str, bound: float, contestant: str, rivals: tuple[str, ...]) -> Check:
    """``contestant`` >= ``bound`` x the faster of ``rivals``, in docs/s, round by round."""
    keys = (f"{prefix}:{contestant}", *(f"{prefix}:{rival}" for rival in rivals))

    def check(get: Lookup) -> Verdict:
        rounds = get.rounds(*keys)
        ratios = []
        for own, *others in rounds:
            best = max(other.get("docs_per_s") for other in others)
            ratios.append(own.get("docs_per_s") / best)
        ratio, said = median_of(ratios, times)
        first = ", ".join(
            f"{result.run.key} {result.get('docs_per_s'):,.0f}" for result in rounds[0]
        )
        return Verdict(
            name,
            claim(prefix, contestant, bound, rivals),
            f"docs/s {first} (first round): {said}",
            ratio >= bound,
        )

    return check


def claim(prefix: str, contestant: str, bound: float, rivals: tuple[str, ...]) -> str:
    engine = next(label for key, label in ENGINES.values() if key == prefix)
    who = {"bulk": "db2api bulk (proof on)", "unproven": "db2api bulk (proof off)"}[contestant]
    whom = (
        "the faster helper (streaming_bulk, parallel_bulk)"
        if rivals == HELPERS
        else ("the ceiling (prebuilt _bulk bodies, 4 or 8 in flight)")
    )
    return f"{engine}: {who} docs/s >= {bound} x {whom}"


def cpu_check(prefix: str, name: str, bound: float) -> Check:
    """db2api's client CPU per document <= ``bound`` x extract-only's (the receiver section's)."""

    def check(get: Lookup) -> Verdict:
        extract = statistics.median(per_doc_ms(found) for (found,) in get.rounds("extract"))
        own = [per_doc_ms(found) for (found,) in get.rounds(f"{prefix}:bulk")]
        ratio, said = median_of([value / extract for value in own], times)
        proof: float | None = None  # what the read-back costs db2api per 1,000 documents
        try:
            off = statistics.median(
                per_doc_ms(found) for (found,) in get.rounds(f"{prefix}:unproven")
            )
            unproven = f"; proof off {off:.1f} ms ({off / extract:.2f} x)"
            proof = max(0.0, statistics.median(own) - off)
        except Missing:  # the proof-off runs are context here, not an input
            unproven = ""
        engine = next(label for key, label in ENGINES.values() if key == prefix)
        return Verdict(
            name,
            f"{engine}: db2api bulk (proof on) client CPU per document <= {bound} x extract-only's",
            f"CPU per 1,000 documents: db2api {statistics.median(own):.1f} ms (median), "
            f"extract-only {extract:.1f} ms; {said}{unproven}" + parts(get, prefix, extract, proof),
            ratio <= bound,
        )

    return check


def parts(get: Lookup, prefix: str, extract: float, proof: float | None) -> str:
    """What P10's figure is made of, each part measured in a run of its own, in words.

    The read path (db2api's dry run: reader threads, windows in flight, bodies built),
    the ceiling's client CPU (prebuilt bodies through aiohttp, the least answer, no
    read-back) and the read-back's own cost (proof on minus proof off) when both ran,
    each against extract-only's. Measured apart, they do not add up exactly to the
    whole (the read path's threads and the sending share the cores differently); they
    say where the allowance goes. Empty when the read path or the ceiling was not run.
    """
    try:
        read = statistics.median(per_doc_ms(found) for (found,) in get.rounds("read"))
        send = statistics.median(
            per_doc_ms(found) for (found,) in get.rounds(f"{prefix}:ceiling-4")
        )
    except Missing:
        return ""
    said = [f"read path {read / extract:.2f} x", f"sending prebuilt bodies {send / extract:.2f} x"]
    if proof is not None:
        said.append(f"the read-back {proof / extract:.2f} x")
    total = (read + send + (proof or 0.0)) / extract
    return f"; its parts, measured apart: {' + '.join(said)} = {total:.2f} x"


def engine_checks() -> list[tuple[str, str, Check]]:
    checks: list[tuple[str, str, Check]] = []
    for prefix, label in ENGINES.values():
        checks += [
            (
                f"P7-{prefix}",
                f"{label}: db2api (proof on) >= 1.0 x the faster helper",
                versus(prefix, f"P7-{prefix}", 1.0, "bulk", HELPERS),
            ),
            (
                f"P8-{prefix}",
                f"{label}: db2api (proof off) >= 1.2 x the faster helper",
                versus(prefix, f"P8-{prefix}", 1.2, "unproven", HELPERS),
            ),
            (
                f"P9-{prefix}",
                f"{label}: db2api (proof off) >= 0.6 x the ceiling",
                versus(prefix, f"P9-{prefix}", 0.6, "unproven", CEILINGS),
            ),
            (
                f"P10-{prefix}",
                f"{label}: db2api client CPU per document <= 1.3 x extract-only's",
                cpu_check(prefix, f"P10-{prefix}", 1.3),
            ),
        ]
    return checks
