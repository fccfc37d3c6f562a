"""A signal stops a run cleanly: the flow's task is cancelled and one line says what to do."""

from __future__ import annotations

import asyncio
import pickle
import signal
import threading
from collections.abc import Iterator

import pytest

from db2api.run.interrupt import STOPPING, Interrupted, SignalStop, stop_on_signals


@pytest.fixture(autouse=True)
def console_back_on() -> Iterator[None]:
    """A handled signal silences the console for the rest of the process: not for other tests."""
    yield
    STOPPING.clear()


@pytest.mark.parametrize(
    ("signum", "name", "code"), [(signal.SIGTERM, "SIGTERM", 143), (signal.SIGINT, "SIGINT", 130)]
)
def test_an_interruption_names_the_signal_and_exits_128_plus_it(
    signum: int, name: str, code: int
) -> None:
    stopped = pickle.loads(pickle.dumps(Interrupted(signum)))

    assert str(stopped).startswith(f"stopped by {name}: no new windows were started")
    assert str(stopped).endswith(
        "run the same range again to finish it (windows already done are skipped)"
    )
    assert stopped.exit_code == code


def test_without_a_signal_the_flows_value_and_errors_come_back() -> None:
    async def answer() -> int:
        return 42

    async def broken() -> None:
        raise ValueError("inside the flow")

    stop = SignalStop()

    assert stop.run(answer) == 42
    with pytest.raises(ValueError, match="inside the flow"):
        stop.run(broken)


def test_a_signal_while_the_flow_runs_cancels_it_then_raises_once() -> None:
    started, cancelled = threading.Event(), threading.Event()

    async def flow() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    stop = SignalStop(grace=10)

    def signal_once_running() -> None:
        assert started.wait(10)
        stop.handle(signal.SIGTERM, None)

    threading.Thread(target=signal_once_running, daemon=True).start()
    with pytest.raises(Interrupted) as caught:
        stop.run(flow)

    assert caught.value.signum == signal.SIGTERM
    assert cancelled.is_set()
    assert STOPPING.is_set()
    stop.handle(signal.SIGINT, None)  # a second signal while unwinding raises nothing more


def test_a_signal_outside_a_flow_raises_at_once() -> None:
    with pytest.raises(Interrupted) as caught:
        SignalStop().handle(signal.SIGINT, None)

    assert caught.value.signum == signal.SIGINT


def test_the_handlers_are_installed_for_the_block_only() -> None:
    before = signal.getsignal(signal.SIGTERM)

    with stop_on_signals() as stop:
        assert signal.getsignal(signal.SIGTERM) == stop.handle
        assert signal.getsignal(signal.SIGINT) == stop.handle

    assert signal.getsignal(signal.SIGTERM) == before
