"""The watermark lives in a Prefect Variable per job: visible and editable in the UI."""

from __future__ import annotations

from datetime import datetime

from prefect.variables import Variable

from db2api.windows import iso


def variable_name(job: str) -> str:
    return f"db2api-watermark-{job}"


async def read_watermark(job: str) -> datetime | None:
    value = await Variable.aget(variable_name(job), default=None)
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


async def write_watermark(job: str, moment: datetime | None) -> None:
    if moment is None:
        return
    await Variable.aset(
        variable_name(job), iso(moment), overwrite=True, tags=["db2api", "watermark"]
    )


async def clear_watermark(job: str) -> bool:
    return bool(await Variable.aunset(variable_name(job)))
