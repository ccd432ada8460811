# Two commands for a newcomer: `make run` and `make test`. Both install what they need in .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FILE ?= ../shared/data/routing_es.jsonl
TEST_WORKERS ?= 3

.PHONY: install run playground serve test test-fast lint browser promtool eval demo bench studio clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo ">> installing dependencies into $(VENV) (first run takes a minute)"
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

## run: the orchestrator on :8000 with the reference agents and business-context demo (Ctrl-C stops all)
run: $(STAMP)
	$(PY) -m scripts.run_stack

## playground: the same stack as `make run`; prints the playground page's URL (opens nothing)
playground: $(STAMP)
	$(PY) -m scripts.run_stack

## serve: only the orchestrator (uvicorn server.main:app) on :8000
serve: $(STAMP)
	$(PY) -m uvicorn server.main:app --host 0.0.0.0 --port 8000

## test: the linters, then the whole test suite over TEST_WORKERS processes (fails when no test ran)
test: $(STAMP) browser promtool lint
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile

## test-fast: the fast tier alone: the graph in memory and pure units, no PostgreSQL, Redis,
## browser or subprocess; under a minute on 2 cores. FAST_TESTS lists where tests marked `fast`
## live (only those are collected: importing the whole suite would cost more than running it).
FAST_TESTS := tests/fast tests/test_offline_router.py tests/agents/test_parsing.py \
	tests/agents/test_output_schema.py
# pytest plugins the fast tier does not use: loading (and assertion-rewriting) them costs seconds
FAST_NO_PLUGINS := -p no:langsmith_plugin -p no:schemathesis -p no:hypothesispytest
test-fast: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider $(FAST_NO_PLUGINS) -m fast $(FAST_TESTS)

## lint: ruff (rules and format) and mypy over the whole tree; says which one failed
lint: $(STAMP)
	@$(PY) -m ruff check . || { echo ">> lint failed: ruff check (try: $(PY) -m ruff check --fix .)"; exit 1; }
	@$(PY) -m ruff format --check . || { echo ">> lint failed: ruff format (run: $(PY) -m ruff format .)"; exit 1; }
	@$(PY) -m mypy || { echo ">> lint failed: mypy"; exit 1; }

## browser: Debian's chromium for the playground's browser tests (apt-get install when missing)
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
	  echo ">> installing Debian's chromium for the browser tests (tests/playground)"; \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium; }

## promtool: Debian's prometheus package, for promtool (alert rule tests) and the real-Prometheus
## test (apt-get install when missing). The tests run their own Prometheus on a free loopback
## port; the package's own service, which Debian starts on systemd hosts, is stopped and disabled
## right after this install (never a Prometheus that was there before).
PROMTOOL ?= /usr/bin/promtool
promtool:
	@test -x $(PROMTOOL) || { \
	  echo ">> installing Debian's prometheus for promtool and the monitoring tests (tests/monitoring)"; \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends prometheus && \
	  if [ -d /run/systemd/system ]; then $$sudo systemctl disable --now prometheus || true; fi; }

## eval: offline router accuracy over a labelled JSONL file (FILE=...)
eval: $(STAMP)
	$(PY) -m scripts.eval_routing $(FILE)

## demo: a scripted conversation against a running `make run`
demo: $(STAMP)
	$(PY) -m scripts.demo

## bench: every benchmark in bench/, then a summary table
bench: $(STAMP)
	$(PY) -m bench.run_all

## studio: LangGraph Studio on the server's graph (`langgraph dev` on :$(STUDIO_PORT)) with the reference agents
STUDIO_PORT ?= 2024
studio: $(STAMP)
	@mkdir -p data
	$(PY) -m scripts.run_stack --studio $(STUDIO_PORT)

clean:
	rm -rf $(VENV) data .pytest_cache
