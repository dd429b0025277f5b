# newsflow: every command sets up .venv on first use (Python 3.11 and the package index only).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.8

export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 240
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test test-all test-slow test-scale bench bench-scale bench-extract bench-real bench-feeds server server-down lint typecheck clean setup

setup: $(VENV)/.synced

# Rebuild the environment when the lock changes; `uv sync --frozen` installs exactly the lock.
$(VENV)/.synced: pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv sync --frozen --all-groups --quiet
	@touch $@

## run: the pipeline on the bundled offline sample (local server on 127.0.0.1), into data/newsflow.duckdb
run: setup
	$(BIN)/newsflow run --sample

## test: the test suite (what .ci/run runs), on two worker processes: pytest-xdist options in
## pyproject.toml's [tool.pytest.ini_options]; add -n 0 to a pytest command to run it in one process
test: setup
	$(BIN)/python -m pytest -q

## test-all: the suite including slow tests
test-all: setup
	$(BIN)/python -m pytest -q -m ""

## test-slow: the slow tests alone (about 5 min on 2 cores); .ci/run runs them after `make test`
test-slow: setup
	$(BIN)/python -m pytest -q -m slow

## test-scale: past one machine on 127.0.0.1: PostgreSQL (scale group), Prefect on it with two workers, DuckLake
test-scale: setup
	$(BIN)/python -m pytest -q -m "" tests/scale

## bench: end-to-end pipeline on 1,000 generated articles vs bare trafilatura
bench: setup
	$(BIN)/python -m bench.pipeline

## bench-extract: body and metadata quality and speed vs peers on the four sets of ../shared/extraction-bench
bench-extract: setup
	$(BIN)/python -m bench.extract

## bench-real: the development sets' real pages served from 127.0.0.1 (a site and feed per host)
## through the whole pipeline; what the store holds vs the gold, beside bare trafilatura
bench-real: setup
	$(BIN)/python -m bench.real

## bench-feeds: 1,000 local feeds polled twice vs a bare httpx+feedparser loop
bench-feeds: setup
	$(BIN)/python -m bench.feeds

## server: Prefect server on 127.0.0.1, work pool, deployments and a worker (docs/operations.md)
server: setup
	$(BIN)/newsflow server up

server-down: setup
	$(BIN)/newsflow server down

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy transforms warehouse flows workers web expectations bench sample

clean:
	rm -rf $(VENV) data .pytest_cache

## bench-scale: runs of 1,000 new articles growing a store to 20,000, then on 100,000 (older history
## added in bulk): time, CPU and peak memory per run and per process; --help lists the sizes. A
## 100,000-page backlog extracted in one run: python -m bench.pipeline --backlog 100000
bench-scale: setup
	$(BIN)/python -m bench.scale $(BENCH_SCALE_ARGS)
