"""The target's part of ``db2api check``: reachable, credentials accepted, index or path there.

Only reading requests are sent (``HEAD``/``GET``), with the headers a run sends. For
Elasticsearch/OpenSearch, ``HEAD /{index}`` answers both "are the credentials
accepted" and "is the index there"; when the job reconciles, the index's mapping is
read and judged by :func:`db2api.targets.es_reconcile.mapping_problem`. A REST
target is asked for its collection (or one sample item): any answer but 401/403/5xx
says the path is served.
"""

from __future__ import annotations

import os

import aiohttp
import orjson

from db2api.errors import Db2apiError
from db2api.job import Env, Job, Secret, check_url, resolve
from db2api.ops.results import Result, fail, ok, skip
from db2api.scrub import SCRUBBER
from db2api.targets.es_reconcile import mapping_problem
from db2api.targets.http_item import collection_path, path_segment
from db2api.transport.http import Request, Response, TransportError, open_session, send
from db2api.write.reach import PLAIN_HEADERS, auth_header, preflight

AUTH, INDEX, MAPPING, PATH = "target auth", "target index", "target mapping", "target path"
REACHABLE = "target reachable"


class NotRead(Exception):
    """A credential kept in a Prefect Secret block: check reads no Prefect state."""


def resolve_headers(job: Job) -> tuple[dict[str, str], str]:
    """The headers a run sends (values masked from now on) and where its credentials live.

    Raises :class:`Db2apiError` for an unset variable; a Prefect Secret is not read here.
    """
    target = job.target
    secrets = [name for name, value in target.headers.items() if isinstance(value, Secret)]
    if target.auth_secret or secrets:
        block = target.auth_secret or target.headers[secrets[0]].block  # type: ignore[union-attr]
        raise NotRead(
            f"the credentials are in Prefect Secret block {block!r}, which check does not "
            "read: name an environment variable in target.auth_env to check them here"
        )
    headers: dict[str, str] = {}
    for name, value in target.headers.items():
        headers[name] = str(resolve(value, job.name))
        if name.lower() not in PLAIN_HEADERS:
            SCRUBBER.add(headers[name])
    if target.auth_env:
        token = os.environ.get(target.auth_env)
        if token is None:
            raise Db2apiError(
                f"environment variable {target.auth_env} (the target API key for job "
                f"{job.name!r}) is not set: export it"
            )
        SCRUBBER.add(token)
        headers["Authorization"] = auth_header(target.auth_scheme, token)
        SCRUBBER.add(headers["Authorization"])
    named = [target.auth_env] if target.auth_env else []
    named += [value.name for value in target.headers.values() if isinstance(value, Env)]
    return headers, ", ".join(named)


def refused(status: int, asked: str, where: str) -> Result:
    """A 401/403, naming the variable that holds the credentials, never their value."""
    if not where:
        return fail(
            AUTH,
            f"HTTP {status} from {asked}: the target wants credentials and none were "
            "sent: set target.auth_env",
        )
    if status == 401:
        return fail(AUTH, f"HTTP 401 from {asked}: the target refused the credentials in {where}")
    return fail(
        AUTH,
        f"HTTP 403 from {asked}: the credentials in {where} may not use this index or path: "
        "check the API key's privileges",
    )


def accepted(where: str, asked: str, status: int) -> Result:
    said = f"{asked} answered {status}"
    return ok(AUTH, f"credentials in {where} accepted: {said}" if where else f"none needed: {said}")


async def _ask(session: aiohttp.ClientSession, method: str, url: str) -> Response:
    return await send(session, Request(method, url, b"", {}))


async def check_target(job: Job, sample_ids: list[str]) -> list[Result]:
    target = job.target
    later = (AUTH, INDEX, MAPPING) if target.mode == "bulk" else (AUTH, PATH)
    try:
        url = check_url(resolve(target.url, job.name), job.name)
        await preflight(url, job.name)
    except Db2apiError as exc:
        return [fail(REACHABLE, str(exc)), *(skip(check, "not reachable") for check in later)]
    reached = ok(REACHABLE, url)
    try:
        headers, where = resolve_headers(job)
    except NotRead as exc:
        return [reached, *(skip(check, str(exc)) for check in later)]
    except Db2apiError as exc:
        return [
            reached,
            fail(AUTH, str(exc)),
            *(skip(check, "no credentials") for check in later[1:]),
        ]
    try:
        session = open_session(2, target.timeout, target.verify_tls, headers, target.ca_file)
        async with session:
            if target.mode == "bulk":
                return [reached, *await _search_engine(session, job, url, where)]
            return [reached, *await _rest(session, job, url, where, sample_ids)]
    except (TransportError, Db2apiError) as exc:
        return [reached, fail(AUTH, f"{url}: {exc}"), *(skip(c, "no answer") for c in later[1:])]


async def _search_engine(
    session: aiohttp.ClientSession, job: Job, url: str, where: str
) -> list[Result]:
    index = job.target.index
    asked = f"HEAD {url}/{index}"
    answer = await _ask(session, "HEAD", f"{url}/{path_segment(index)}")
    if answer.status in (401, 403):
        return [
            refused(answer.status, asked, where),
            skip(INDEX, "refused"),
            skip(MAPPING, "refused"),
        ]
    taken = accepted(where, asked, answer.status)
    if answer.status == 404:
        return [taken, absent(url, index), skip(MAPPING, f"index {index} is absent")]
    if answer.status >= 300:
        return [
            taken,
            fail(INDEX, f"{asked} answered HTTP {answer.status}: check the target's health"),
            skip(MAPPING, "index not confirmed"),
        ]
    present = ok(INDEX, f"{index} exists")
    if not job.target.reconcile:
        return [taken, present, skip(MAPPING, "reconcile is off")]
    mapped = await _ask(session, "GET", f"{url}/{path_segment(index)}/_mapping")
    try:
        answers = orjson.loads(mapped.body) if mapped.status == 200 else None
    except orjson.JSONDecodeError:
        answers = None
    if not isinstance(answers, dict) or not answers:
        said = f"HTTP {mapped.status}"
        return [taken, present, fail(MAPPING, f"GET {url}/{index}/_mapping answered {said}")]
    for name, body in answers.items():  # an alias answers with each index behind it
        mappings = body.get("mappings") if isinstance(body, dict) else None
        problem = mapping_problem(mappings or {}, str(name), job.date_field or "")
        if problem:
            return [taken, present, fail(MAPPING, problem)]
    return [taken, present, ok(MAPPING, f"{job.date_field} is a date, the job marker a keyword")]


def absent(url: str, index: str) -> Result:
    """Whether the first write creates it is the cluster's ``action.auto_create_index``."""
    return fail(
        INDEX,
        f"{index} is absent at {url}: create it or check auto-create (action.auto_create_index)",
    )


async def _rest(
    session: aiohttp.ClientSession, job: Job, url: str, where: str, sample_ids: list[str]
) -> list[Result]:
    target = job.target
    path = (collection_path(target) if target.mode == "item" else None) or target.path
    path = path.replace("{index}", path_segment(target.index))
    if "{id}" in path:
        if not sample_ids:
            return [
                skip(AUTH, "no sample id for the path"),
                skip(PATH, "no sample id for the path"),
            ]
        path = path.replace("{id}", path_segment(sample_ids[0]))
    asked = f"GET {url}{path}"
    answer = await _ask(session, "GET", f"{url}{path}")
    if answer.status in (401, 403):
        return [refused(answer.status, asked, where), skip(PATH, "refused")]
    taken = accepted(where, asked, answer.status)
    if answer.status >= 500:
        return [taken, fail(PATH, f"{asked} answered HTTP {answer.status}: the API is failing")]
    return [taken, ok(PATH, f"{asked} answered {answer.status}")]
