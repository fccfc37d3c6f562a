"""The db2api benchmark: ``python -m bench`` (or ``make bench``).

Every contestant moves the same rows to the same local receiver in the same run,
each in a fresh subprocess so its peak RSS is its own. The claims are ratios
between contestants of one run, because the machine is shared and noisy.

Modules:
- ``settings``: the data set, the sizes (full, ``--quick``) and where files go
- ``data``: the PostgreSQL tables and SQLite file, built once and reused
- ``jobs``: the db2api jobs and the recipe's transform, built in code
- ``recipe``: etlhelper's "database to API" recipe, both methods
- ``halves``: extract-only and upload-only (the physical limit), the default cursor
- ``flowrun``: the Prefect flow contestants, in-process against a local server
- ``contestant``: ``python -m bench.contestant NAME``, one measurement, one JSON line
- ``measure``: peak RSS, CPU and wall time of a contestant
- ``plan``: which contestants run, at which latency, with how many documents
- ``runner``: the receiver, the Prefect server and the subprocesses, always cleaned up
- ``provenance``: which code was measured (others edit it while benchmarks run)
- ``floor``: bare Prefect, the flow's task runs per window with nothing inside (P5, P6)
- ``goals``: P1-P6 as ratios of this run's numbers, met or not
- ``tables``: the results table, the goals and the machine, ``bench/RESULTS.md``
"""
