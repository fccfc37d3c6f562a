"""etlhelper's "database to API" recipe, both methods, written from its description.

These are the baselines db2api is measured against, so they stay faithful: a
plain etlhelper connection (its default client-side cursor), one query over the
whole range, ``iter_chunks`` with the recipe's transform, then

1. ``requests.post(url, json=item)`` per document, one after the other, no session;
2. per chunk, ``asyncio.run(post_chunk(chunk))``: a new ``aiohttp.ClientSession``
   and ``asyncio.gather`` of one POST per document. ``limit`` adds a
   ``TCPConnector(limit=N)``, for a comparison at db2api's own connection cap.

Documents go to ``POST {url}/{index}/_doc/{id}`` (the recipe posts to
``{index}/_doc``; the id in the path makes the receiver's count checkable).
A failed request raises, as the recipe's ``raise_for_status`` does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import aiohttp
import requests
from etlhelper import iter_chunks

from bench.jobs import PG_SQL, pg_source, recipe_transform
from bench.settings import INDEX, PG_PASSWORD_ENV, START, TABLE, pg_password, range_end

HEADERS = {"Content-Type": "application/json"}


def iter_recipe_chunks(rows: int) -> Iterator[list[dict[str, Any]]]:
    """The first ``rows`` rows as the recipe reads them: one query, 5,000-row chunks."""
    pg_password()
    db = pg_source().db
    with closing(db.connect(PG_PASSWORD_ENV)) as conn:
        yield from iter_chunks(
            PG_SQL.format(table=TABLE),
            conn,
            parameters={"start": START, "end": range_end(rows)},
            transform=recipe_transform,
        )


def doc_url(url: str, item: dict[str, Any]) -> str:
    return f"{url}/{INDEX}/_doc/{item['reading_id']}"


def sequential(url: str, rows: int) -> int:
    """Method 1: one ``requests.post`` per document, a new connection each time."""
    sent = 0
    for chunk in iter_recipe_chunks(rows):
        for item in chunk:
            response = requests.post(doc_url(url, item), json=item, timeout=30)
            response.raise_for_status()
            sent += 1
    return sent


async def post_one(item: dict[str, Any], session: aiohttp.ClientSession, url: str) -> int:
    async with session.post(doc_url(url, item), headers=HEADERS, data=json.dumps(item)) as response:
        if response.status >= 400:
            text = await response.text()
            raise RuntimeError(f"item {item['reading_id']} failed: {response.status} {text[:200]}")
        return response.status


async def post_chunk(chunk: list[dict[str, Any]], url: str, limit: int | None = None) -> list[int]:
    """A new session per chunk, every document of the chunk in flight at once."""
    connector = aiohttp.TCPConnector(limit=limit) if limit else None
    async with aiohttp.ClientSession(connector=connector) as session:
        return await asyncio.gather(*(post_one(item, session, url) for item in chunk))


def concurrent(url: str, rows: int, limit: int | None = None) -> int:
    """Method 2: extraction waits while each chunk uploads, uploads wait for each chunk."""
    sent = 0
    for chunk in iter_recipe_chunks(rows):
        sent += len(asyncio.run(post_chunk(chunk, url, limit)))
    return sent
