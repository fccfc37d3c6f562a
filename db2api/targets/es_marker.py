"""The job marker: which documents of a shared index belong to which job.

With ``target.reconcile`` on, every document carries ``{"_db2api": {"job": "<name>"}}``
(added when documents are built), so the reconciling search can ask for *this
job's* documents alone and two jobs writing to one index never delete each
other's. The search filters on it with a ``term`` query, which needs the field
mapped as ``keyword`` (Elasticsearch's dynamic mapping adds ``_db2api.job.keyword``
and maps ``_db2api.job`` as text, where a ``term`` only matches one-word names);
whatever the mapping, a document is deleted only when its stored source carries
exactly this job's name (:func:`is_owned`), so a loose match can never widen a
delete.
"""

from __future__ import annotations

from typing import Any

FIELD = "_db2api"
JOB_FIELD = f"{FIELD}.job"


def marker(job: str) -> dict[str, dict[str, str]]:
    """The object every document of a reconciling job carries."""
    return {FIELD: {"job": job}}


def term(job: str) -> dict[str, Any]:
    return {"term": {JOB_FIELD: job}}


def is_owned(source: object, job: str) -> bool:
    """Whether a stored document says it was written by ``job``."""
    mark = source.get(FIELD) if isinstance(source, dict) else None
    return isinstance(mark, dict) and mark.get("job") == job
