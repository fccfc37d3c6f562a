"""Drive a running receiver from synchronous code, with the standard library only.

Fixtures, scripts and demos check results outside any event loop, so these helpers
use ``urllib`` and return error statuses rather than raise them; reads made to check
results bypass the faults and the stats. :mod:`process` starts the receiver they talk to.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from db2api.errors import Db2apiError


class ReceiverError(Db2apiError):
    """The receiver did not start, or answered a control request unexpectedly."""


class ReceiverClient:
    """Synchronous helpers for the receiver's control and data routes.

    Proxies from the environment are ignored: the receiver is always addressed
    directly, and a corporate ``http_proxy`` must not swallow loopback requests.
    """

    def __init__(
        self, url: str | None = None, *, timeout: float = 10.0, cafile: str | None = None
    ) -> None:
        self._url = url.rstrip("/") if url else None
        self.timeout = timeout
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
        if cafile:
            context = ssl.create_default_context(cafile=cafile)
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    @property
    def url(self) -> str:
        if self._url is None:
            raise ReceiverError("the receiver is not running; call start() or use a with-block")
        return self._url

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        headers: Mapping[str, str] | None = None,
        *,
        bypass: bool = False,
    ) -> tuple[int, Any]:
        """(status, decoded JSON or text); error statuses are returned, not raised.

        ``body`` may be bytes/str (sent as-is) or anything JSON-serialisable. With
        ``bypass`` the request skips the faults and the stats (for checking results).
        """
        data = body if isinstance(body, bytes | None) else None
        if isinstance(body, str):
            data = body.encode()
        elif data is None and body is not None:
            data = json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if bypass:
            req.add_header("X-Receiver-Bypass", "1")
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return resp.status, _decode(resp.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, _decode(exc.read())
        except OSError as exc:
            raise ReceiverError(f"cannot reach the receiver at {self.url}: {exc}") from exc

    def _expect(self, method: str, path: str, body: object = None, ok: int = 200) -> Any:
        status, data = self.request(method, path, body)
        if status != ok:
            reason = data.get("error", {}).get("reason") if isinstance(data, dict) else data
            raise ReceiverError(f"{method} {path} answered {status}: {reason}")
        return data

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """Replace the whole fault configuration (unnamed settings go back to off)."""
        return self._expect("PUT", "/_faults", settings)

    def faults(self) -> dict[str, Any]:
        return self._expect("GET", "/_faults")

    def stats(self) -> dict[str, Any]:
        return self._expect("GET", "/_stats")

    def reset(self) -> None:
        """Delete every document and zero the stats; faults stay as they are."""
        self._expect("POST", "/_reset")

    def reset_stats(self) -> None:
        self._expect("POST", "/_stats/reset")

    def ids(self, index: str) -> dict[str, int]:
        """id -> version for every document in ``index`` ({} if it has none)."""
        status, data = self.request("GET", f"/{quote(index, safe='')}/_ids")
        if status == 404:
            return {}
        if status != 200:
            raise ReceiverError(f"GET /{index}/_ids answered {status}: {data}")
        return dict(data["ids"])

    def count(
        self,
        index: str,
        range_field: str | None = None,
        gte: str | float | None = None,
        lt: str | float | None = None,
    ) -> int:
        """Documents in ``index`` (0 if it has none), optionally with gte <= field < lt.

        Like ``get``, this bypasses the faults and is not counted in the stats.
        """
        body: dict[str, Any] = {}
        if range_field is not None:
            bounds = {k: v for k, v in (("gte", gte), ("lt", lt)) if v is not None}
            body = {"query": {"range": {range_field: bounds}}}
        status, data = self.request("POST", f"/{quote(index, safe='')}/_count", body, bypass=True)
        if status == 404:
            return 0
        if status != 200:
            raise ReceiverError(f"POST /{index}/_count answered {status}: {data}")
        return int(data["count"])

    def get(self, index: str, id: str) -> dict[str, Any] | None:
        """The stored document (its ``_source``) or ``None``; bypasses faults and stats."""
        path = f"/{quote(index, safe='')}/_doc/{quote(id, safe='')}"
        status, data = self.request("GET", path, bypass=True)
        if status == 404:
            return None
        if status != 200:
            raise ReceiverError(f"GET /{index}/_doc/{id} answered {status}: {data}")
        return data["_source"]


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
