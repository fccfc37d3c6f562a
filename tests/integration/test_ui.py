"""End to end through the browser: a custom run of `nightly-demo` started from the Prefect UI.

Debian's Chromium (``sudo bash .ci/setup-browser``), driven by Playwright's Python
package; ``playwright install`` is never needed. The page may reach the loopback
server only: every other request is aborted.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from db2api.receiver import ReceiverProcess
from tests.conftest import DEMO_ID, IN_CI, sqlite_ids
from tests.support.stack import Stack, today

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
FINAL_STATE = re.compile(r"^(Completed|Failed|Crashed|Cancelled)$")
RUN_TIMEOUT = 180  # seconds from Submit to a final state on the run page
DESCRIPTIONS = (
    "Which transfer to run (a file in jobs/).",
    "First day to send, from 00:00 in the job's timezone (inclusive).",
    "Day to stop at, 00:00 in the job's timezone (exclusive).",
    "Read and build everything, send nothing",
    "Send windows again even if an earlier run delivered them.",
    "An exact first moment instead of Start",
)
STEP = 20_000  # ms: the longest any single page step may take


def unavailable(reason: str) -> None:
    """Under CI the browser must work; elsewhere the test skips with the fix."""
    if IN_CI:
        pytest.fail(f"under CI the browser test must run: {reason}")
    pytest.skip(f"{reason}; run `sudo bash .ci/setup-browser`")


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    """Debian's Chromium under Playwright, launched before the stack so a skip is cheap."""
    try:
        from playwright.async_api import Error, async_playwright
    except ImportError as exc:
        unavailable(f"the playwright package is missing ({exc}; pip install -e '.[dev]')")
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"Debian's chromium is not installed at {CHROMIUM}")
    async with async_playwright() as playwright:
        try:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=60_000
            )
        except Error as exc:
            unavailable(f"Playwright could not launch {CHROMIUM}: {launch_error(exc)}")
        try:
            yield browser
        finally:
            await browser.close()


def launch_error(exc: Exception) -> str:
    """Playwright's first line, and what the browser itself said went wrong, on one line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [repr(exc)]
    said = [line for line in lines[1:] if "err" in line.lower() and "<launching>" not in line]
    return " | ".join([lines[0], *said[-2:]])[:400]


async def test_a_custom_run_from_the_ui_delivers_the_picked_dates(
    chromium: Any, stack: Stack, worker: Path, target: ReceiverProcess, tmp_path: Path
) -> None:
    from playwright.async_api import TimeoutError as PageTimeout
    from playwright.async_api import expect
    from prefect import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
    )

    from db2api.orchestration.ledger_store import clear_ledger, read_watermark
    from db2api.run.catalog import load_job

    expect.set_options(timeout=STEP)
    began, since = time.monotonic(), datetime.now(UTC) - timedelta(seconds=5)
    timings: dict[str, float] = {}
    start, end = today() - timedelta(days=8), today() - timedelta(days=7)
    expected_name = f"demo {start}→{end}"
    base = stack.api_url.removesuffix("/api")
    async with get_client() as client:
        deployment = await client.read_deployment_by_name("transfer/nightly-demo")
    watermark = await read_watermark(load_job("demo"))
    target.reset()

    context = await chromium.new_context(
        viewport={"width": 1400, "height": 1000},
        locale="en-US",
        timezone_id="UTC",  # the date picker's days are the flow's UTC days
        service_workers="block",  # so the route below sees every request
    )
    context.set_default_timeout(STEP)
    blocked: list[str] = []
    await context.route("**/*", loopback_only(stack.api_url, blocked))
    page = await context.new_page()
    journal = watch(page)
    shows = ""
    try:
        # The deployment's page, then Run > Custom run, as a user would.
        await page.goto(f"{base}/v2/deployments/deployment/{deployment.id}")
        crumbs = page.get_by_role("navigation", name="breadcrumb").first  # the header
        await expect(crumbs).to_contain_text("nightly-demo")
        # A fresh checkout needs the receiver running: the deployment says so.
        await page.get_by_role("tab", name="Description").click()
        await expect(page.get_by_text("make receiver", exact=True).first).to_be_visible()
        await page.get_by_role("button", name="Run", exact=True).click()
        await page.get_by_role("menuitem", name="Custom run").click()
        await page.wait_for_url(re.compile(r"/v2/deployments/deployment/[^/]+/run\b"))
        await expect(page.get_by_role("heading", name="Parameters")).to_be_visible()
        await expect(page.get_by_role("button", name="Select job")).to_have_text("demo")
        for description in DESCRIPTIONS:  # from the flow's docstring
            await expect(page.get_by_text(description).first).to_be_visible()
        timings["form open"] = time.monotonic() - began

        for name, day in (("start", start), ("end", end)):
            await pick_date(page, name, day)
        force = page.get_by_role("switch", name="force (Optional)")
        await force.click()  # the demo days were sent by earlier tests: send them again
        await expect(force).to_be_checked()

        target.reset()
        run_id, clicks = await submit(page, journal)
        timings["submitted"] = time.monotonic() - began
        print(f"Submit clicked {clicks} time(s) for run {run_id}")
        await page.get_by_role("link", name="View run").click()
        await page.wait_for_url(f"**/v2/runs/flow-run/{run_id}**")

        # The URL changes before the page does: read the state once the breadcrumb is the run's.
        main = page.get_by_role("main")
        state = main.get_by_text(FINAL_STATE).first
        heading = crumbs.get_by_role("listitem").last  # the run's name and its tags
        deadline = time.monotonic() + RUN_TIMEOUT
        while True:
            await expect(crumbs.get_by_role("link", name="Runs")).to_be_visible()
            await expect(heading).to_contain_text("job:demo")
            try:
                await state.wait_for(timeout=5_000)
                break
            except PageTimeout:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"run {run_id} shows no final state after {RUN_TIMEOUT}s"
                    ) from None
                await page.reload()
        timings["final state shown"] = time.monotonic() - began

        # Fresh once more: the name the flow gave itself and every log line.
        await page.reload()
        await expect(crumbs.get_by_title(expected_name, exact=True)).to_be_visible()
        await expect(state).to_have_text("Completed")
        logs = page.get_by_role("tabpanel", name="Logs")
        finished = re.compile(r"^Finished in state Completed\('\d+ documents delivered'\)$")
        await expect(logs.get_by_text(finished)).to_be_visible()
        shows = await page_text(page)
        print(f"run page of {run_id}:\n{shows}")

        stored = target.ids("readings")
        wanted = sqlite_ids(stack.source, start.isoformat(), end.isoformat(), DEMO_ID)
        assert wanted, "the source has demo rows for the picked day"
        assert set(stored) == wanted, f"{len(stored)} stored, {len(wanted)} expected"
        assert set(stored.values()) == {1}, "each document written once"
        async with get_client() as client:
            run = await client.read_flow_run(run_id)  # type: ignore[arg-type]
            ours = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                flow_run_filter=FlowRunFilter(
                    expected_start_time=FlowRunFilterExpectedStartTime(after_=since)
                ),
            )
        assert [str(r.id) for r in ours] == [run_id], "one Submit that took, one run"
        assert run.deployment_id == deployment.id
        assert run.state is not None and run.state.is_completed(), run.state
        assert run.name == expected_name
        assert date.fromisoformat(str(run.parameters["start"])) == start, run.parameters
        assert date.fromisoformat(str(run.parameters["end"])) == end, run.parameters
        assert run.parameters["force"] is True, run.parameters
        assert not run.parameters.get("dry_run"), run.parameters

        shot = tmp_path / "run-completed.png"
        await page.screenshot(path=shot, full_page=True)
        assert shot.stat().st_size > 20_000, f"screenshot {shot} is nearly empty"
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        print(f"screenshot: {shot}")
    except Exception as exc:
        raise AssertionError(await evidence(page, tmp_path, exc, shows, journal)) from exc
    finally:
        try:
            await context.close()
        finally:  # a run from dates before the watermark must not move it for later tests
            if watermark is None:
                await clear_ledger("demo")
            else:
                await asyncio.to_thread(stack.set_watermark, "demo", watermark)
        timings["total"] = time.monotonic() - began
        print("page journal:", *journal, sep="\n  ")
        print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
        print(f"blocked requests: {len(blocked)} {sorted({urlsplit(u).hostname for u in blocked})}")


async def pick_date(page: Any, name: str, day: date) -> None:
    """Type ``day`` into a date field's picker: the field is a picker at once, no tab first."""
    from playwright.async_api import expect

    await expect(page.get_by_role("tab", name="date", exact=True)).to_have_count(0)
    field = page.get_by_role("button", name=f"{name} (Optional)", exact=True)  # its label
    await expect(field).to_have_text("Pick a date")
    await field.click()
    picker = page.get_by_role("dialog")
    await picker.get_by_role("textbox", name="Date (yyyy-MM-dd)").fill(day.isoformat())
    await page.keyboard.press("Escape")
    await picker.wait_for(state="hidden")
    await expect(field).to_have_text(re.compile(rf"^{day:%B} {day.day}(st|nd|rd|th), {day.year}$"))


async def submit(page: Any, journal: list[str], attempts: int = 5) -> tuple[str, int]:
    """Click Submit until the server creates the run: its id, and how many clicks it took.

    Prefect's server on SQLite answers 503 ("database is locked") now and then while
    a worker heartbeats; Prefect's Python client retries that, the UI does not: it
    stays on the form, as if nothing happened. A user clicks again, and so does this.
    """
    from playwright.async_api import expect

    button = page.get_by_role("button", name="Submit", exact=True)

    def answer(response: Any) -> bool:
        path = urlsplit(response.url).path
        checked = path.endswith("/ui/schemas/validate") and response.status >= 500
        return response.request.method == "POST" and (checked or path.endswith("/create_flow_run"))

    attempt = 0
    while True:
        attempt += 1
        async with page.expect_response(answer) as caught:
            await button.click()
        response = await caught.value
        if response.status == 201:
            return str((await response.json())["id"]), attempt
        journal.append(f"Submit {attempt}: {urlsplit(response.url).path} -> {response.status}")
        if response.status != 503 or attempt == attempts:
            raise AssertionError(
                f"the server did not create the run: {response.status} {await response.text()}"
            )
        await page.wait_for_timeout(1_000)
        await expect(button).to_be_enabled()


def loopback_only(api_url: str, blocked: list[str]) -> Callable[[Any], Awaitable[None]]:
    """Abort every request that leaves the machine (the UI calls an analytics host).

    The UI must find the stack's API on its own: ``server_process`` sets
    ``PREFECT_UI_API_URL``, so ``/ui-settings`` names the free port, not 4200.
    """

    async def handle(route: Any) -> None:
        url = urlsplit(route.request.url)
        if url.hostname not in LOOPBACK:
            blocked.append(route.request.url)
            await route.abort("blockedbyclient")
        elif url.path == "/ui-settings":
            response = await route.fetch()
            settings = await response.json()
            assert settings["api_url"] == api_url, f"the UI was sent to {settings['api_url']}"
            await route.fulfill(response=response)
        else:
            await route.continue_()

    return handle


async def page_text(page: Any) -> str:
    try:
        text = await page.get_by_role("main").inner_text(timeout=5_000)
    except Exception as exc:
        return f"(page text unreadable: {exc})"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "\n".join(lines)[:4000]


def watch(page: Any) -> list[str]:
    """What the page did besides reading: its API writes, errors and console complaints."""
    journal: list[str] = []
    reads = re.compile(r"/(filter|paginate|count|history|lineage)$")

    def response(response: Any) -> None:
        request, path = response.request, urlsplit(response.url).path
        writes = request.method != "GET" and "/api/" in path and not reads.search(path)
        if writes or response.status >= 400:
            journal.append(f"{request.method} {path} -> {response.status}")

    def failed(request: Any) -> None:
        aborted = "ERR_ABORTED" in str(request.failure)  # left behind by a navigation
        if urlsplit(request.url).hostname in LOOPBACK and not aborted:
            journal.append(f"failed: {request.method} {request.url} {request.failure}")

    def console(message: Any) -> None:
        if message.type in ("error", "warning") and "ERR_BLOCKED_BY_CLIENT" not in message.text:
            journal.append(f"console {message.type}: {message.text}")

    page.on("response", response)
    page.on("requestfailed", failed)
    page.on("pageerror", lambda error: journal.append(f"page error: {error}"))
    page.on("console", console)
    return journal


async def evidence(
    page: Any, folder: Path, exc: BaseException, shows: str, journal: list[str]
) -> str:
    """A screenshot and the HTML of the page as it was, and what it showed."""
    shot, html = folder / "failure.png", folder / "failure.html"
    try:
        await page.screenshot(path=shot, full_page=True, timeout=10_000)
    except Exception as problem:
        shot = Path(f"(no screenshot: {problem})")
    try:
        html.write_text(await page.content())
    except Exception as problem:
        html = Path(f"(no html: {problem})")
    shows = shows or await page_text(page)
    message = (
        f"the UI run failed: {exc}\nurl: {page.url}\nscreenshot: {shot}\nhtml: {html}\n"
        "what the page did:\n" + "\n".join(journal[-40:]) + f"\nthe page shows:\n{shows}"
    )
    print(message)
    return message
