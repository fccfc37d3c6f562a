"""Everything that imports Prefect: the server, the ledger store, runs, deployments.

Importing the package connects the library to Prefect: library log lines go to the run
log (:mod:`~db2api.orchestration.log`) and Secret blocks named in jobs can be read
(:mod:`~db2api.orchestration.secrets`). The layers below never import Prefect.
"""

from db2api.orchestration import log, secrets

log.install()
secrets.install()
