"""Run the plan: one receiver, a Prefect server when needed, a fresh subprocess per run.

Everything started here is stopped here, on success, error, Ctrl-C or SIGTERM:
the ``ExitStack`` owns the receiver, the Prefect server and the temporary
folder, and a contestant still running when the run is interrupted is killed
before the stack unwinds. Contestants' stderr goes to a log file per run, so the
terminal shows progress and results only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

from bench.nodes import Nodes, NodeUnavailable, reset_index, stored
from bench.plan import Run
from bench.prefect_db import prefect_database
from bench.processes import cpu_of
from bench.provenance import source_digest
from bench.settings import INDEX, ROOT, WORK
from db2api.orchestration.prefect_server import server_process
from db2api.receiver import ReceiverProcess

CONTESTANT_TIMEOUT = 30 * 60  # seconds; a hung contestant must not hang the benchmark
CHILD_GRACE = 10  # seconds a stopped contestant gets to clean up (the flow drains its events)
SETTLE_LIMIT = 120  # seconds to wait for the services to go quiet before a run
QUIET_CPU = 0.1  # share of one core below which the services count as idle
SETTLE_SAMPLE = 0.25  # seconds per idleness sample
LOGS = WORK / "logs"
QUICK_PREFECT_HOME = WORK / "prefect"  # --quick reuses it: a migrated database starts faster


@dataclass
class Result:
    run: Run
    data: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    log: Path | None = None
    load: float = 0.0  # 1-minute load average when the run started: how noisy it was
    code: str = ""  # digest of the measured sources when the run started
    skipped: str = ""  # why the run could not be measured (e.g. its node is not built)

    @property
    def ok(self) -> bool:
        return not self.error and not self.skipped

    def get(self, name: str) -> float:
        return float(self.data[name])


class Bench:
    """The services one benchmark run shares, and the loop over its runs."""

    def __init__(
        self, stack: ExitStack, say: Callable[[str], None], fresh_prefect: bool = True
    ) -> None:
        self.stack = stack
        self.say = say
        self.tmp = Path(tempfile.mkdtemp(prefix="db2api-bench-"))
        stack.callback(shutil.rmtree, self.tmp, True)
        LOGS.mkdir(parents=True, exist_ok=True)
        self.receiver = stack.enter_context(
            ReceiverProcess(data=self.tmp / "receiver.sqlite", timeout=300)
        )
        self.prefect_url = ""
        self.prefect_processes: list[psutil.Process] = []  # the server's, for its CPU
        # A fresh history per full benchmark: a server whose database grew over earlier
        # benchmarks answers more slowly, and the flow contestants would pay for it.
        self.prefect_home = self.tmp / "prefect" if fresh_prefect else QUICK_PREFECT_HOME
        self.fresh_prefect = fresh_prefect
        self.nodes = Nodes(stack, say, self.tmp / "nodes")

    def prefect(self) -> str:
        """Start the Prefect server on first use; it stops when the stack unwinds."""
        if not self.prefect_url:
            began = time.perf_counter()
            database = prefect_database(fresh=self.fresh_prefect)
            before = {process.pid for process in psutil.Process().children(recursive=True)}
            self.prefect_url = self.stack.enter_context(
                server_process(self.prefect_home, extra_env=database)
            )
            self.prefect_processes = [
                process
                for process in psutil.Process().children(recursive=True)
                if process.pid not in before
            ]
            self.say(
                f"prefect: server up at {self.prefect_url} in {time.perf_counter() - began:.1f} s"
            )
        return self.prefect_url

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
        env.update(
            DB2API_DEAD_LETTER_DIR=str(self.tmp / "dead-letters"),
            PREFECT_HOME=str(self.prefect_home),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        return env

    def prepare_receiver(self, run: Run) -> None:
        """Empty the receiver and set its latency, so each run starts from the same state.

        The date field is indexed before every run, as an Elasticsearch mapping would
        have it: db2api's completeness check counts by it, and an index the receiver
        built only for some contestants would make their writes slower than the others'.
        """
        if run.latency_ms:
            self.receiver.set_faults(latency_ms=run.latency_ms)
        else:
            self.receiver.set_faults()
        self.receiver.reset()
        self.receiver.count(INDEX, "measured_at", "0", "1")  # creates the field index

    def receiver_cpu(self) -> float:
        """CPU seconds the receiver has used: on 2 cores it competes with the contestant."""
        times = psutil.Process(self.receiver.pid).cpu_times()
        return float(times.user + times.system)

    def server_cpu(self) -> float:
        """CPU seconds the Prefect server (with any process it started since) has used."""
        found = {process.pid: process for process in self.prefect_processes}
        for process in self.prefect_processes:
            try:
                found.update((child.pid, child) for child in process.children(recursive=True))
            except psutil.Error:
                continue
        return cpu_of(found.values())

    def settle(self) -> float:
        """Wait until the receiver and the Prefect server are idle; seconds waited.

        After a flow run the server keeps working through its events for a while
        (tens of seconds for 730 task runs); a contestant started then would share
        the two cores with it and look slower than it is.
        """
        services = psutil.Process().children(recursive=True)  # no contestant runs now
        began = time.monotonic()
        while time.monotonic() - began < SETTLE_LIMIT:
            before = cpu_of(services)
            time.sleep(SETTLE_SAMPLE)
            if cpu_of(services) - before < QUIET_CPU * SETTLE_SAMPLE:
                break
        return time.monotonic() - began

    def execute(self, run: Run) -> Result:
        if run.engine:
            return self.execute_on_node(run, run.engine)
        prefect_url = self.prefect() if run.needs_prefect else ""
        self.settle()
        if run.sends:
            self.prepare_receiver(run)
        command = [
            sys.executable,
            "-m",
            "bench.contestant",
            run.contestant,
            "--docs",
            str(run.docs),
        ]
        command += ["--url", self.receiver.url]
        if prefect_url:
            command += ["--prefect-url", prefect_url]
        log = LOGS / f"{run.key.replace('@', '-')}.log"
        result = Result(run, log=log, load=os.getloadavg()[0], code=source_digest())
        receiver_cpu, server_cpu = self.receiver_cpu(), self.server_cpu()
        with log.open("wb") as stderr:
            stdout, code = run_child(command, stderr, self.env())
        receiver_cpu = self.receiver_cpu() - receiver_cpu
        during = self.server_cpu() - server_cpu
        result.data, result.error = parse_result(stdout, code, log)
        result.data["receiver_cpu_seconds"] = round(receiver_cpu, 2)
        if prefect_url:  # the server records the run's task runs and events, partly after it
            self.settle()
            after = self.server_cpu() - server_cpu - during
            result.data["server_cpu_seconds"] = round(during, 2)
            result.data["server_cpu_after_seconds"] = round(after, 2)
        if result.ok and run.sends:
            stored = self.receiver.count(INDEX)
            result.data["stored"] = stored
            if stored != run.stores:
                result.error = f"the receiver holds {stored:,} documents, expected {run.stores:,}"
        return result

    def execute_on_node(self, run: Run, engine: str) -> Result:
        """One run against a real node: an empty index first, its ``_count`` after."""
        try:
            url = self.nodes.url(engine)
            reset_index(url)
        except NodeUnavailable as exc:
            return Result(run, skipped=str(exc), load=os.getloadavg()[0])
        self.settle()
        command = [sys.executable, "-m", "bench.contestant", run.contestant]
        command += ["--docs", str(run.docs), "--url", url, "--engine", engine]
        log = LOGS / f"{run.key.replace('@', '-').replace(':', '-')}.log"
        result = Result(run, log=log, load=os.getloadavg()[0], code=source_digest())
        node_cpu = self.nodes.cpu_seconds()
        with log.open("wb") as stderr:
            stdout, code = run_child(command, stderr, self.env())
        node_cpu = self.nodes.cpu_seconds() - node_cpu
        result.data, result.error = parse_result(stdout, code, log)
        result.data.update(node_cpu_seconds=round(node_cpu, 2), engine_version=self.nodes.version)
        if result.ok:
            try:
                result.data["stored"] = count = stored(url)
            except requests.RequestException as exc:
                result.error = f"counting the {engine} index failed: {exc}"
                return result
            if count != run.docs:
                result.error = (
                    f"the {engine} index holds {count:,} documents, expected {run.docs:,}"
                )
        return result

    def run_all(self, runs: list[Run]) -> list[Result]:
        results = []
        for number, run in enumerate(runs, start=1):
            result = self.execute(run)
            results.append(result)
            self.say(f"[{number:2d}/{len(runs)}] {progress_line(result)}")
            following = runs[number].engine if number < len(runs) else None
            if run.engine and following != run.engine:
                self.nodes.stop()  # the next runs do not share the cores with an idle JVM
        return results


def run_child(command: list[str], stderr: Any, env: dict[str, str]) -> tuple[str, int]:
    """Run one contestant; stop it if this process is interrupted or it hangs."""
    child = subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr
    )
    try:
        stdout, _ = child.communicate(timeout=CONTESTANT_TIMEOUT)
    except subprocess.TimeoutExpired:
        stop_child(child)
        return f'{{"contestant": "?", "error": "timed out after {CONTESTANT_TIMEOUT} s"}}', -1
    except BaseException:
        stop_child(child)
        raise
    return stdout.decode(errors="replace"), child.returncode


def stop_child(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM first, so the contestant's own clean-up runs; SIGKILL if it lingers."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(CHILD_GRACE)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def parse_result(stdout: str, code: int, log: Path) -> tuple[dict[str, Any], str]:
    """The last JSON line of a contestant's stdout, or why there is none."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and "contestant" in data:
            return data, str(data.get("error", ""))
    tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
    return {}, f"exit code {code}, no result: {tail[0]} (log: {log})"


def progress_line(result: Result) -> str:
    run = result.run
    head = f"{run.key:<14} {run.contestant:<20} {run.latency:>5}"
    if result.skipped:
        return f"{head}  not measured: {result.skipped}"
    if not result.ok:
        return f"{head}  FAILED: {result.error}"
    data = result.data
    return (
        f"{head} {data['docs']:>10,} docs {data['seconds']:>8.2f} s "
        f"{data['docs_per_s']:>10,.0f} docs/s {data['peak_rss_mib']:>7.1f} MiB"
    )
