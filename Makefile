# newsflow — the two commands a new user needs:
#   make run    set up, start the local Kafka broker, run the pipeline on the bundled samples
#   make test   set up, run the test suite (unit + integration against a real local broker)

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: setup run test lint bench clean-broker help

help:
	@echo "make run | make test | make lint | make setup"

$(STAMP): pyproject.toml
	@command -v java >/dev/null || { echo "error: java not found. Install a JDK 17+: apt-get install openjdk-17-jre-headless"; exit 1; }
	@command -v mvn >/dev/null  || { echo "error: mvn not found. Install Maven: apt-get install maven"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)
	$(BIN)/newsflow broker setup

run: setup
	$(BIN)/newsflow up

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check services tests ops bench

# Benchmark (issue #10, bench/README.md): every layer side by side on one corpus; several minutes.
#   make bench BENCH_ARGS="--docs 1000 --profile"     or   make bench BENCH_ARGS=--quick
BENCH_ARGS ?= --docs 2000
bench: setup
	$(BIN)/python -c "import matplotlib, psutil, pyinstrument" 2>/dev/null || $(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python -m bench.pipeline_bench --out bench/results $(BENCH_ARGS)

clean-broker:
	-$(BIN)/newsflow broker stop
	rm -rf .newsflow
