"""What is still open in a job's dead letters, grouped by why: ``db2api deadletters JOB``.

A document dead-lettered again (a replay the target still refused) is one open
document, not two: across every file of the job the latest letter per id counts,
and it stays open until the record of resolutions (:mod:`db2api.records.resolutions`) says
the id was delivered. Letters group by their error type and the first words of
their reason with ids, numbers and quoted values taken out, so "... with id '17'"
and "... with id '18'" are one problem to fix, not two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from db2api.records.deadletters import iter_dead_letters
from db2api.records.resolutions import dead_letter_files, read_resolved

KEY_WORDS = 16  # enough to tell mapping errors apart, few enough to drop row-specific tails
FIRST_IDS = 3
TOP_REASONS = 3

# A sentence ends before "Preview of field's value: 'abc'" and similar per-row details.
SENTENCE_END = re.compile(r"(?<=\S)\.\s+(?=[A-Z])")
# "transform raised ValueError('reading 11 is implausible')": the message is the problem, so it
# is read as words (its numbers and quoted values go), not as one quoted value.
RAISED = re.compile(r"^transform raised (\w+)\((['\"])(.*)\2\)$")
# A KeyError names the missing field: that is the problem, not a row's value.
MISSING_KEY = re.compile(r"KeyError\((['\"])([^'\"]*)\1\)")
SINGLE_QUOTED = re.compile(r"(?<!\w)'[^']*'(?!\w)")
DOUBLE_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"(\s*:)?')  # a JSON key (followed by ':') stays
# JSON values that name the kind of error, not the row: {"type": "int_parsing", ...}
KIND_KEY = re.compile(r'"(?:type|code|error|field)"\s*:\s*$')
POSITION = re.compile(r"\[[\d:.,\s]+\]")  # "[1:538]": where in the body, not which field
WITH_DIGITS = re.compile(r"(?<![\w\[])(?<!HTTP )[\w:.\-/+]*\d[\w:.\-/+]*")


def reason_key(error: str, reason: str) -> str:
    """The group a letter belongs to: error type + the first words of its reason, de-identified."""
    text = " ".join(str(reason).split())
    if error and text.startswith(f"{error}:"):  # "HTTP 422: {...}" repeats the error type
        text = text[len(error) + 1 :].lstrip()
    text = SENTENCE_END.split(text, maxsplit=1)[0]
    raised = RAISED.match(text)
    if raised and raised[1] != "KeyError":
        text = f"transform raised {raised[1]}: {raised[3]}"
    text = MISSING_KEY.sub(lambda m: f"KeyError(\x00{m.group(2)}\x00)", text)
    text = SINGLE_QUOTED.sub("'…'", text)
    text = DOUBLE_QUOTED.sub(lambda m: m[0] if m[1] or kind_of_error(text, m) else '"…"', text)
    text = POSITION.sub("[#]", text)
    text = WITH_DIGITS.sub("#", text).replace("\x00", "'")
    words = text.split()
    text = " ".join(words[:KEY_WORDS]) + (" …" if len(words) > KEY_WORDS else "")
    return f"{error}: {text}" if text else str(error)


def kind_of_error(text: str, match: re.Match[str]) -> bool:
    return KIND_KEY.search(text, 0, match.start()) is not None


def letter_key(record: dict[str, Any]) -> str:
    return reason_key(str(record.get("error") or "error"), str(record.get("reason") or ""))


@dataclass
class OpenLetters:
    """The open documents of a job (their latest letters, oldest first) and the totals."""

    letters: list[dict[str, Any]] = field(default_factory=list)
    in_files: int = 0  # letters (lines) in all files: a document written twice counts twice
    files: int = 0
    resolved: int = 0  # documents whose latest letter was delivered since


def open_letters(folder: Path) -> OpenLetters:
    """Read every dead-letter file of a job's folder; the latest letter per id wins."""
    resolved = read_resolved(folder)
    found = OpenLetters()
    latest: dict[object, tuple[str, dict[str, Any]]] = {}
    for path in dead_letter_files(folder):  # named <time>_<run>: oldest first
        found.files += 1
        name = str(path.resolve())
        for number, record in enumerate(iter_dead_letters(path)):
            found.in_files += 1
            doc_id = record.get("id")
            # A row whose id could not be made is its own document: nothing can match it.
            key: object = (name, number) if doc_id is None else str(doc_id)
            latest.pop(key, None)  # re-insert: the order is that of the latest letters
            latest[key] = (name, {**record, "file": name})
    for key, (name, record) in latest.items():
        if isinstance(key, str) and key in resolved.get(name, set()):
            found.resolved += 1
        else:
            found.letters.append(record)
    return found


@dataclass(frozen=True)
class ReasonGroup:
    key: str
    letters: list[dict[str, Any]]

    @property
    def count(self) -> int:
        return len(self.letters)

    def first_ids(self, count: int = FIRST_IDS) -> list[str]:
        return [str(r.get("id")) for r in self.letters[:count]]


def group_letters(letters: Iterable[dict[str, Any]]) -> list[ReasonGroup]:
    """Groups by reason, the most frequent first (ties: the one seen first)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in letters:
        groups.setdefault(letter_key(record), []).append(record)
    ordered = sorted(groups.items(), key=lambda item: -len(item[1]))  # stable: first seen first
    return [ReasonGroup(key, records) for key, records in ordered]


def matches(record: dict[str, Any], text: str) -> bool:
    """``--reason TEXT``: in the group key, the error or the reason, ignoring case."""
    wanted = text.lower()
    haystack = [letter_key(record), str(record.get("error")), str(record.get("reason"))]
    return any(wanted in part.lower() for part in haystack)


def top_reasons(letters: Iterable[dict[str, Any]], count: int = TOP_REASONS) -> list[str]:
    """``"N x key"`` for the most frequent reasons: the run summary names them."""
    return [f"{group.count} x {group.key}" for group in group_letters(letters)[:count]]


def group_lines(groups: list[ReasonGroup]) -> list[str]:
    lines = []
    for group in groups:
        ids = ", ".join(group.first_ids())
        more = f" (+{group.count - FIRST_IDS} more)" if group.count > FIRST_IDS else ""
        sample = " ".join(str(group.letters[0].get("reason")).split())
        lines += [
            f"{group.count:>7}  {group.key}",
            f"{'':>9}e.g. {sample[:200]}{'…' if len(sample) > 200 else ''}",
            f"{'':>9}ids {ids}{more}",
        ]
    return lines


def letter_lines(record: dict[str, Any]) -> list[str]:
    """One letter in full: what ``--show`` prints."""
    status, attempts = record.get("status"), record.get("attempts")
    document = orjson.dumps(record.get("document"), option=orjson.OPT_INDENT_2).decode()
    return [
        f"id       {record.get('id')}",
        f"window   {record.get('window')}",
        f"status   {status if status is not None else 'none'} ({record.get('error')}), "
        f"attempts {attempts}, at {record.get('time')}",
        f"reason   {record.get('reason')}",
        f"file     {record.get('file')}",
        "document " + document.replace("\n", "\n         "),
    ]


def totals_line(found: OpenLetters) -> str:
    return (
        f"{len(found.letters)} documents open; {found.in_files} letters in {found.files} files; "
        f"{found.resolved} resolved"
    )
