# db2api: `make demo` runs the demo transfer, `make test` runs the tests.
# Both create the virtual environment on first use; only Python 3.11 and make are needed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
ARGS   ?=
PORT   ?= 4200

# `make opensearch PORT=9201`: PORT given on the command line wins, else each node's own default
# (PORT ?= 4200 above stays the UI's).
NODE_PORT = $(if $(filter command line,$(origin PORT)),$(PORT),$(1))

.PHONY: help install demo test test-unit lint format ui receiver opensearch elasticsearch bench clean

help:
	@echo "make demo       run the demo transfer (SQLite -> local receiver, local Prefect)"
	@echo "make test       run the whole test suite (needs PostgreSQL, see README)"
	@echo "make test-unit  run the fast unit tests only"
	@echo "make lint       ruff check + format check + the import contract (lint-imports)"
	@echo "make ui         browse the run history in the Prefect UI (PORT=4200)"
	@echo "make receiver   start the local receiver on 127.0.0.1:9200"
	@echo "make opensearch     run an OpenSearch 2.19.6 node on 127.0.0.1 (PORT=9201; needs Java 17, Maven)"
	@echo "make elasticsearch  run an Elasticsearch 8.19.21 node on 127.0.0.1 (PORT=9202; needs Java 17, Maven)"
	@echo "make bench      run the benchmark (not part of the tests)"

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/db2api demo $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The home every db2api command uses (db2api.orchestration.prefect_server.prefect_home); a configured
# server (PREFECT_API_URL) has its own UI.
ui: $(STAMP)
	@if [ -n "$$PREFECT_API_URL" ]; then \
		echo "PREFECT_API_URL is set: the history is on that server, its UI is at $${PREFECT_API_URL%/api}"; \
		exit 0; fi; \
	home="$$($(BIN)/python -c 'from db2api.orchestration.prefect_server import prefect_home; print(prefect_home())')"; \
	echo "run history in $$home/prefect.db"; \
	PREFECT_HOME="$$home" PREFECT_SERVER_ANALYTICS_ENABLED=false \
	PREFECT_SERVER_API_PORT=$(PORT) PREFECT_UI_API_URL=http://127.0.0.1:$(PORT)/api \
	exec $(BIN)/prefect server start --host 127.0.0.1 --port $(PORT)

receiver: $(STAMP)
	$(BIN)/db2api receiver --data .db2api/receiver.sqlite $(ARGS)

opensearch: $(STAMP)
	bash .ci/setup-search-nodes
	$(BIN)/python -m tests.support.search_nodes opensearch --port $(call NODE_PORT,9201) $(ARGS)

elasticsearch: $(STAMP)
	bash .ci/setup-search-nodes
	$(BIN)/python -m tests.support.search_nodes elasticsearch --port $(call NODE_PORT,9202) $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf .db2api dead-letters .pytest_cache .ruff_cache
