"""Prefect Secret blocks named in a job (``Secret("block")``, ``*_secret``), read when it runs."""

from __future__ import annotations

from prefect.blocks.system import Secret

from db2api.errors import JobError
from db2api.run.runtime import use_secret_blocks


async def read_block(block: str, what: str) -> str:
    try:
        secret = await Secret.aload(block)
    except ValueError as exc:
        raise JobError(
            f"Prefect Secret block {block!r} ({what}) was not found: create it in the UI "
            f"(Blocks > Secret) or with Secret(value=...).save({block!r})"
        ) from exc
    return str(secret.get())


def install() -> None:
    use_secret_blocks(read_block)
