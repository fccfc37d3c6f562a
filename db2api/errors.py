"""The errors a user can act on.

Every message is one line that names the thing, the bad value and the next step.
Library errors (etlhelper, aiohttp, sqlite3 ...) are translated into these at the
seams with ``raise ... from exc`` so the CLI and the Prefect UI never show a bare
traceback for a mistake the user can fix. All of them pickle cleanly, because
Prefect stores the exception of a failed task.
"""

from __future__ import annotations

from db2api.scrub import SCRUBBER


class Db2apiError(Exception):
    """Base class: a problem the user can fix, described in one line."""

    def __init__(self, message: str) -> None:
        # Masked here, once: these messages reach logs, states, artifacts and terminals.
        super().__init__(SCRUBBER(" ".join(message.split())))

    @property
    def message(self) -> str:
        return str(self.args[0])


class JobError(Db2apiError):
    """The job is unknown, or its file does not describe a valid job."""


class RangeError(Db2apiError):
    """The date range or window settings cannot be split into windows."""


class SourceError(Db2apiError):
    """The database could not be reached, logged into or queried."""


class SourceLost(SourceError):
    """The source failed part-way through a window: worth one more try."""


class TargetError(Db2apiError):
    """The target API cannot take documents; retrying will not help."""


class TargetUnavailable(TargetError):
    """The target failed every request for longer than the job's ``give_up_after``.

    Nothing is dead-lettered for it: the windows it interrupted run again next time.
    """


class OutsideWindow(JobError):
    """The SQL returned rows whose ``date_field`` lies outside the window it was asked for."""


class OutputError(Db2apiError):
    """A file the run writes (dead letters, deleted documents) cannot be written there."""


class ServerError(Db2apiError):
    """No Prefect server answers where one is needed (deployments, status, history)."""


class TooManyDeadLetters(Db2apiError):
    """A window dead-lettered more of its rows than the job's ``max_dead_fraction``."""


class AccountingError(Db2apiError):
    """A window's rows do not add up to acknowledged plus dead-lettered documents."""


class WindowIncomplete(Db2apiError):
    """A window finished, but some documents went to the dead-letter file.

    Raised so that the window fails and is not recorded as delivered: a re-run (after
    the target or the transform is fixed) sends it again instead of skipping it.
    """

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.report))


def first_error(group: BaseExceptionGroup) -> BaseException:
    """The error worth showing: a user-facing one if any task raised one."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        error = stack.pop(0)
        if isinstance(error, BaseExceptionGroup):
            stack.extend(error.exceptions)
        else:
            leaves.append(error)
    return next((e for e in leaves if isinstance(e, Db2apiError)), leaves[0])
