# etalon: set-up, reports, tests, benchmarks. Needs only python3 (>= 3.10) to start.
# `make report` and `make test` create .venv when absent and install etalon into it;
# both are idempotent and fast once the venv exists (reinstall when pyproject.toml changes).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.etalon-installed
BENCH_STAMP := $(VENV)/.etalon-bench-installed
REPORTS ?= reports
REPORT_ARGS ?=
PYTEST_ARGS ?=

.PHONY: help report test lint bench venv lab clean-reports

help:
	@echo "make lab     - create .venv if needed, open the notebooks in JupyterLab (kernel \"Python (etalon)\")"
	@echo "make report  - create .venv if needed, run every notebook, write HTML reports into $(REPORTS)/"
	@echo "make test    - create .venv if needed, ruff + the whole test suite"
	@echo "make bench   - install the baselines (ccdproc, astroscrappy) and run benchmarks/"
	@echo "make lint    - ruff only"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name etalon --display-name "Python (etalon)" >/dev/null
	@touch $(STAMP)

venv: $(STAMP)

report: $(STAMP)
	$(BIN)/etalon report --output-dir $(REPORTS) $(REPORT_ARGS)

# JupyterLab of the venv, on the notebooks, with the venv's kernel "etalon" first on the path
# (LAB_ARGS=--no-browser on a remote machine)
LAB_ARGS ?=
lab: $(STAMP)
	JUPYTER_PATH=$(abspath $(VENV))/share/jupyter $(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean-reports:
	rm -rf $(REPORTS)/*.html $(REPORTS)/*.ipynb $(REPORTS)/index.json
