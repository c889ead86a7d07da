# Run `make` for this list. The first run of any target sets everything up (.venv, kernel).
.DEFAULT_GOAL := help
SHELL := /bin/bash
PY := .venv/bin/python
JOBS ?=
YEAR ?=
PROVINCE ?=

.PHONY: help report test test-fast lint lab demo-data bench clean-build status plan

help: ## Show this help
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  \033[1mmake %-11s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

report: ## Build every province, year and language in data/raw/ (incremental; publishes into reports/)
	@scripts/bootstrap.sh report
	@$(PY) -m par_review.cli --root $(CURDIR) build $(if $(PROVINCE),--province $(PROVINCE)) $(if $(YEAR),--year $(YEAR)) $(if $(JOBS),--jobs $(JOBS))

test: ## Lint, then run the whole test suite (unit, data, notebook, output and end-to-end)
	@scripts/bootstrap.sh test
	@.venv/bin/ruff check src tests scripts benchmarks notebooks && .venv/bin/ruff format --check src tests scripts benchmarks
	@$(PY) -m pytest -q

test-fast: ## Run the quick tests only (skips the end-to-end runs marked slow)
	@scripts/bootstrap.sh test
	@$(PY) -m pytest -q -m "not slow"

lint: ## Lint and format-check the code and notebooks (ruff)
	@scripts/bootstrap.sh report
	@.venv/bin/ruff check src tests scripts benchmarks notebooks && .venv/bin/ruff format --check src tests scripts benchmarks

lab: ## Open JupyterLab on 127.0.0.1 with the project's kernel (par-review)
	@scripts/bootstrap.sh report
	@.venv/bin/jupyter lab --ip=127.0.0.1 --no-browser $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

status: ## Show, per province and year, what is published, stale (and why) or failed
	@scripts/bootstrap.sh report
	@$(PY) -m par_review.cli --root $(CURDIR) status

plan: ## Dry run: what `make report` would run and why
	@scripts/bootstrap.sh report
	@$(PY) -m par_review.cli --root $(CURDIR) plan

demo-data: ## Regenerate the simulated demo data in data/raw/ (seeded; same bytes every time)
	@scripts/bootstrap.sh report
	@$(PY) scripts/make_demo_data.py

bench: ## Benchmark the build against its warm floor and the naive chain (RUNS=3: median of 3 paired runs)
	@scripts/bootstrap.sh test
	@$(PY) benchmarks/bench_build.py $(if $(RUNS),--runs $(RUNS))

clean-build: ## Remove the build cache and staging (keeps published reports)
	rm -rf build .par-review
