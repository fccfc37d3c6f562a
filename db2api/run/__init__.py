"""One run of a job without Prefect: windows, the shared runtime, planning and the report."""
