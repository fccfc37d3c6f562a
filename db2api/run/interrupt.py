"""SIGTERM and SIGINT stop a run cleanly: no new windows, in-flight ones cancelled.

The flow runs on its own event loop in a worker thread, so the main thread is free
to take signals (and Prefect's engine, which only hooks signals on the main thread,
never turns one into a crash that leaves the loop running). A signal cancels the
flow's task; the caller then unwinds its own cleanup (the local Prefect server
included) and reports one line.
"""

from __future__ import annotations

import asyncio
import contextvars
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from db2api.errors import Db2apiError

T = TypeVar("T")
SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: Set once a signal arrived: console output stops, so the user sees one line.
STOPPING = threading.Event()


class Interrupted(Db2apiError):
    """The run was stopped by a signal."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        super().__init__(
            f"stopped by {signal.Signals(self.signum).name}: no new windows were started and "
            "those in flight were cancelled; run the same range again to finish it "
            "(windows already done are skipped)"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.signum,))

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class SignalStop:
    """Signal handling for one command: raise :class:`Interrupted`, or cancel the flow."""

    def __init__(self, grace: float = 6.0) -> None:
        self.grace = grace
        self.signum: int | None = None
        self._cancel: Callable[[], None] | None = None
        self._running = False
        self._raised = False

    def handle(self, signum: int, frame: object) -> None:
        STOPPING.set()
        if self.signum is None:
            self.signum = signum
        if self._running:
            return  # the waiting loop in `run` cancels the flow
        if not self._raised:
            self._raised = True
            raise Interrupted(signum)

    def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``make()`` on a loop in a worker thread until it ends or a signal stops it."""
        outcome: dict[str, Any] = {}
        ready = threading.Event()

        async def main() -> T:
            loop, task = asyncio.get_running_loop(), asyncio.current_task()
            assert task is not None
            self._cancel = lambda: loop.call_soon_threadsafe(task.cancel)
            ready.set()
            return await make()

        def work() -> None:
            try:
                outcome["value"] = asyncio.run(main())
            except BaseException as exc:  # handed to the main thread
                outcome["error"] = exc
            finally:
                ready.set()

        context = contextvars.copy_context()  # Prefect's settings live in context variables
        thread = threading.Thread(target=context.run, args=(work,), name="db2api-flow", daemon=True)
        self._running = True
        try:
            thread.start()
            cancelled_at: float | None = None
            while thread.is_alive():
                thread.join(0.1)
                if self.signum is not None and cancelled_at is None and ready.is_set():
                    cancelled_at = time.monotonic()
                    if self._cancel is not None:
                        self._cancel()
                if cancelled_at is not None and time.monotonic() - cancelled_at > self.grace:
                    break  # a worker that ignores cancellation: stop waiting for it
        finally:
            self._running = False
        if self.signum is not None:
            self._raised = True
            raise Interrupted(self.signum)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]  # type: ignore[no-any-return]


@contextmanager
def stop_on_signals(grace: float = 6.0) -> Iterator[SignalStop]:
    """Install the handlers for the block (main thread only; elsewhere they stay as they are)."""
    stop = SignalStop(grace)
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {signum: signal.signal(signum, stop.handle) for signum in SIGNALS}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
