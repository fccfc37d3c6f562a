"""The receiver's shared state: counters that reset without losing running requests, and
single-document writes that arrive together committed in one transaction."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from db2api.receiver.faults import Faults
from db2api.receiver.state import ReceiverState, Stats
from db2api.receiver.store import Store
from db2api.receiver.writes import WriteOp


def test_a_reset_zeroes_the_counters_but_keeps_requests_still_running() -> None:
    stats = Stats(requests=9, by_status={"200": 9}, in_flight=2, peak_in_flight=7)
    stats.docs_written, stats.bulk_items = 40, 12
    stats.faults["error"] = 3

    stats.reset()

    snapshot = stats.to_dict()
    assert (snapshot["requests"], snapshot["docs_written"], snapshot["bulk_items"]) == (0, 0, 0)
    assert snapshot["by_status"] == {}
    assert set(snapshot["faults"].values()) == {0}
    assert (snapshot["in_flight"], snapshot["peak_in_flight"]) == (2, 2)


def test_a_snapshot_is_a_copy_later_requests_do_not_change() -> None:
    stats = Stats()
    snapshot = stats.to_dict()

    stats.by_status["200"] = 1

    assert snapshot["by_status"] == {}


async def test_writes_arriving_together_share_one_transaction_and_each_gets_its_answer(
    tmp_path: Path,
) -> None:
    with Store(tmp_path / "docs.sqlite") as store:
        state = ReceiverState(store, Faults(), time.monotonic)
        batches: list[int] = []
        write = store.write

        def counted(ops: list[WriteOp]):  # the real write, counting its transactions
            batches.append(len(ops))
            return write(ops)

        store.write = counted  # type: ignore[method-assign]
        ops = [WriteOp("create", "i", str(n), f'{{"n":{n}}}') for n in range(5)]

        results = await asyncio.gather(*(state.write_one(op) for op in ops))
        again = await state.write_one(WriteOp("create", "i", "0", '{"n":0}'))

        assert [result.result for result in results] == ["created"] * 5
        assert batches[0] == 5
        assert (again.status, again.result) == (409, "conflict")
        assert store.count("i") == 5
        state.executor.shutdown()
