"""Find and load job files by name.

Jobs live as ``<name>.py`` files defining ``job = Job(...)``: the bundled ones in
the ``jobs`` package, more in the folders listed in ``DB2API_JOBS_PATH``
(``os.pathsep``-separated), which win on a name clash. A path to a ``.py`` file
also works wherever a name does.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from pathlib import Path

from db2api.errors import Db2apiError, JobError
from db2api.job import Job

BUNDLED = Path(__file__).resolve().parents[2] / "jobs"


def job_folders() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("DB2API_JOBS_PATH", "").split(os.pathsep) if p]
    return [*extra, BUNDLED]


def job_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in reversed(job_folders()):
        if folder.is_dir():
            for path in sorted(folder.glob("*.py")):
                if not path.name.startswith("_"):
                    found[path.stem] = path
    return dict(sorted(found.items()))


def job_names() -> list[str]:
    return list(job_files())


def load_job(name: str) -> Job:
    if name.endswith(".py"):
        path = Path(name)
        if not path.is_file():
            raise JobError(f"job file {name} does not exist")
    else:
        files = job_files()
        if name not in files:
            known = ", ".join(files) or "none"
            raise JobError(
                f"unknown job {name!r}: known jobs are {known}; add {name}.py defining "
                f"`job = Job(...)` to {BUNDLED} or to a folder in DB2API_JOBS_PATH"
            )
        path = files[name]
    return load_job_file(path)


def load_job_file(path: Path) -> Job:
    module_name = f"db2api_job_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise JobError(f"job file {path} cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Db2apiError as exc:
        raise JobError(f"job file {path}: {exc}") from None
    except SyntaxError as exc:
        where = Path(exc.filename) if exc.filename else path
        if where.resolve() != path.resolve():  # in a module the job imports
            raise JobError(
                f"job file {path} imports {where}, which has a syntax error at line "
                f"{exc.lineno}: {exc.msg}"
            ) from None
        raise JobError(
            f"job file {path} has a syntax error at line {exc.lineno}: {exc.msg}"
        ) from None
    except SystemExit as exc:
        raise JobError(
            f"job file {path} called sys.exit({exc.code!r}) at line {_line_in(path, exc)} while "
            "loading: a job file only defines `job = Job(...)`; raise an exception to refuse"
        ) from None
    except Exception as exc:
        raise JobError(
            f"job file {path} failed to load at line {_line_in(path, exc)}: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    job = getattr(module, "job", None)
    if not isinstance(job, Job):
        raise JobError(f"job file {path} defines no `job = Job(...)`")
    if job.name != path.stem:
        raise JobError(
            f"job file {path} names its job {job.name!r}: rename the file to {job.name}.py "
            f"or the job to {path.stem!r}, so runs and caches are filed under one name"
        )
    return job


def _line_in(path: Path, exc: BaseException) -> int | None:
    """The job file's own line that led to ``exc``: the user edits that file, not ours."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [frame for frame in frames if Path(frame.filename) == path] or frames
    return mine[-1].lineno if mine else None
