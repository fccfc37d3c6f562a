"""Run the receiver as a real subprocess: start it on a free port, wait until ready, stop it.

Tests and demos want the receiver to behave exactly as a user would run it (own
process, real sockets, killable and restartable on the same data file), so this
starts ``python -m db2api.receiver`` rather than an in-process app; talking to it is
:mod:`client`'s.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from db2api.receiver.client import ReceiverClient, ReceiverError

_ROOT = Path(__file__).resolve().parents[2]  # the directory that holds the db2api package
_READY = re.compile(r"listening on (https?://\S+)")
_TERM_GRACE = 5.0


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        # As the receiver binds: a port in TIME_WAIT from a previous run is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class ReceiverProcess(ReceiverClient):
    """``python -m db2api.receiver`` on a free 127.0.0.1 port, for the length of a with-block.

    ``data`` is the SQLite file; without one a temporary directory is used and removed
    on exit. ``args`` are extra CLI flags; ``faults`` are applied through PUT /_faults
    once it is up. ``restart()`` keeps the data file, so durability can be tested.
    """

    def __init__(
        self,
        data: str | os.PathLike[str] | None = None,
        *,
        args: Sequence[str] = (),
        faults: Mapping[str, Any] | None = None,
        startup_timeout: float = 20.0,
        timeout: float = 10.0,
        tls: tuple[str, str] | None = None,
        port: int = 0,
    ) -> None:
        """``tls`` is (certificate, key) PEM files: serve HTTPS and trust that certificate.

        ``port`` 0 picks a free one; a fixed port falls back to a free one if taken.
        """
        super().__init__(None, timeout=timeout, cafile=tls[0] if tls else None)
        self.tls = tls
        self.preferred_port = port
        self._tmpdir = None if data is not None else tempfile.mkdtemp(prefix="db2api-receiver-")
        self.data = Path(data) if data is not None else Path(self._tmpdir or "") / "receiver.sqlite"
        self.args = list(args)
        self.initial_faults = dict(faults or {})
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: Any = None
        self._stderr_kept = ""
        self.returncode: int | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise ReceiverError("the receiver is not running")
        return self._proc.pid

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def stderr(self) -> str:
        """What the process wrote to stderr so far (kept after stop, for assertions)."""
        if self._stderr is None:
            return self._stderr_kept
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def start(self) -> Self:
        if self.running:
            return self
        port = self.preferred_port if self.preferred_port and _is_free(self.preferred_port) else 0
        cmd = [sys.executable, "-m", "db2api.receiver", "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--data", str(self.data), "--quiet", *self.args]
        if self.tls:
            cmd += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
        if self._stderr is not None:
            self._stderr.close()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives until close()
        self.returncode = None
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr, env=env
        )
        try:
            self._url = self._wait_ready()
            if self.initial_faults:
                self.set_faults(**self.initial_faults)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        fd, buf = self._proc.stdout.fileno(), b""
        deadline = time.monotonic() + self.startup_timeout
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ReceiverError(f"the receiver did not start within {self.startup_timeout:g}s")
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 4096)
                if not chunk:
                    code = self._proc.wait(_TERM_GRACE)
                    last = (self.stderr.strip().splitlines() or ["(no output)"])[-1]
                    raise ReceiverError(f"the receiver exited with code {code}: {last}")
                buf += chunk
        line = buf.split(b"\n", 1)[0].decode(errors="replace").strip()
        match = _READY.fullmatch(line)
        if match is None:
            raise ReceiverError(f"unexpected first line from the receiver: {line!r}")
        return match.group(1)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 5 s; returns the exit code (None if never started)."""
        proc, self._proc, self._url = self._proc, None, None
        if proc is None:
            return self.returncode
        try:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(_TERM_GRACE)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
        self.returncode = proc.returncode
        return self.returncode

    def restart(self) -> Self:
        """Stop and start again on the same data file (the port usually changes)."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop, and remove the temporary data directory if this object created it."""
        try:
            self.stop()
        finally:
            if self._stderr is not None:
                self._stderr_kept = self.stderr
                self._stderr.close()
                self._stderr = None
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()  # __exit__ will not run
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
