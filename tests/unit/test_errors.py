"""Errors keep their fields across processes (Prefect pickles them between task and flow)."""

from __future__ import annotations

import pickle

from db2api.errors import JobError


def test_job_errors_pickle():
    error = JobError("job 'unit': something   wrong\n  here")

    copy = pickle.loads(pickle.dumps(error))

    assert copy.message == error.message == "job 'unit': something wrong here"
