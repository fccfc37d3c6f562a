"""Keep secrets out of everything a run writes: logs, artifacts, errors, dead letters.

Known secret values (database passwords, API keys) are registered when a run
resolves them; on top of that, patterns that look like credentials (URL userinfo,
``Authorization`` headers, ``password=`` pairs) are masked even when we never saw
the value, because a target's error text may echo what it was sent.

A secret shorter than :data:`MIN_SUBSTRING` characters would mask ordinary text
("2024" inside every date), so it is masked only where it is the whole value.
Masking applies to messages and reasons, never to data: a document is stored and
replayed exactly as it was built.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "***"
#: Secrets at least this long are masked wherever they appear inside text.
MIN_SUBSTRING = 8
_PATTERNS = [
    # Greedy up to the last "@" before the path: passwords may hold a raw "@".
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s]*@"), r"\1" + MASK + "@"),
    (re.compile(r"(?i)((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)[^\"',}\n]+"), r"\1" + MASK),
    # Key headers hold one token: mask up to the next space or quote.
    (
        re.compile(
            r"(?i)(\b(?:x-)?api-key|x-auth-token|x-access-token)([\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"
        ),
        r"\1\2" + MASK,
    ),
    (
        re.compile(
            r"(?i)\b(password|passwd|pwd|api[_-]?key|token|secret)="
            r"('[^']*'|\"[^\"]*\"|[^\s&;'\"]+)"
        ),
        r"\1=" + MASK,
    ),
]


class Scrubber:
    """Masks registered secret values and credential-shaped text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self._whole: frozenset[str] = frozenset()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> bool:
        """Register a secret; False when it is too short to be masked inside text."""
        if not secret:
            return True
        value = secret.strip()
        with self._lock:
            if len(value) < MIN_SUBSTRING:
                self._whole = self._whole | {secret, value}
                return False
            values = set(self._secrets) | {secret}
            # Longest first, so a secret containing another is masked whole.
            self._secrets = tuple(sorted(values, key=len, reverse=True))
        return True

    def __call__(self, text: str, patterns: bool = True) -> str:
        if text in self._whole or text.strip() in self._whole:
            return MASK
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        if patterns:
            for pattern, replacement in _PATTERNS:
                text = pattern.sub(replacement, text)
        return text

    def scrub_value(self, value: Any) -> Any:
        """Mask registered secrets in the strings of a JSON-like value (keys included).

        Working on values rather than on serialised text keeps the JSON valid and
        catches secrets that JSON would escape.
        """
        if not self._secrets and not self._whole:
            return value
        if isinstance(value, str):
            return self(value, patterns=False)
        if isinstance(value, dict):
            return {self.scrub_value(k): self.scrub_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_value(item) for item in value]
        return value


#: Secrets seen by this process. Shared on purpose: log records come from
#: libraries (etlhelper, aiohttp, Prefect) that cannot be handed a scrubber.
SCRUBBER = Scrubber()


class ScrubFilter(logging.Filter):
    """A logging filter that masks secrets in the rendered message."""

    def __init__(self, scrubber: Scrubber = SCRUBBER) -> None:
        super().__init__()
        self.scrubber = scrubber

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.scrubber(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            text = self.scrubber(str(record.exc_info[1]))
            if text != str(record.exc_info[1]):
                # The traceback would repeat the secret: keep only the masked message.
                record.msg, record.args = f"{cleaned} ({text})", None
                record.exc_info = None
                record.exc_text = None
        return True


def install_log_scrubbing(scrubber: Scrubber = SCRUBBER) -> None:
    """Attach the filter to every handler that exists, so propagated records pass it."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if not any(isinstance(f, ScrubFilter) for f in handler.filters):
                handler.addFilter(ScrubFilter(scrubber))
