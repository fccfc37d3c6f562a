"""The job spec users import: ``from db2api.job import Env, Job, Source, Target, Secret``.

:mod:`~db2api.job.spec` holds the dataclasses, :mod:`~db2api.job.settings` the values
read when a job runs, :mod:`~db2api.job.checks` what a Job is refused for when built.
"""

from db2api.job.checks import check, check_url
from db2api.job.settings import (
    MAX_NAME,
    UPSERTS,
    Env,
    HeaderValue,
    IdSpec,
    Mode,
    Row,
    Secret,
    Setting,
    Transform,
    Upsert,
    resolve,
)
from db2api.job.spec import Job, Source, Target

__all__ = [
    "MAX_NAME",
    "UPSERTS",
    "Env",
    "HeaderValue",
    "IdSpec",
    "Job",
    "Mode",
    "Row",
    "Secret",
    "Setting",
    "Source",
    "Target",
    "Transform",
    "Upsert",
    "check",
    "check_url",
    "resolve",
]
