"""One run of a job without Prefect: the transfer loop, windows, runtime, planning, report."""
