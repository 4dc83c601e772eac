# The README's two commands: `make run` and `make test`. Each sets up .venv on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint bench screenshots chromium clean bench-load bench-topology nginx fuzz
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install whenever the dependencies or their pinned versions change.
$(VENV)/.run-installed: setup.cfg constraints.txt | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.test-installed: setup.cfg constraints.txt | $(BIN)/python
	$(PIP) -e ".[test]"
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/qms init
	$(BIN)/qms seed-demo --if-empty
	@echo "Demo logins: admin@ manager@ quality@ quality2@ auditor@ auditor2@ owner@ viewer@ example.com, password demo-password"
	$(BIN)/qms serve --host $(HOST) --port $(PORT)

# Browser tests drive Debian's Chromium (never a downloaded browser); the PDF tests read reports back
# with poppler's pdftotext and pdftoppm. Install both from Debian's packages when missing.
chromium:
	@{ test -x /usr/bin/chromium && test -x /usr/bin/pdftotext; } || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium poppler-utils >/dev/null; }

# --dist worksteal: a worker that runs out of tests takes half of the other's queue, so that the suite's
# long tests do not leave one worker idle at the end (measured 2026-12-06, both databases: tests/core
# 374 s → 323 s, the other folders 196 s → 189 s, against xdist's default --dist load).
test: $(VENV)/.test-installed chromium nginx
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --dist worksteal

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python benchmarks/features.py

$(VENV)/.bench-installed: setup.cfg constraints.txt | $(BIN)/python
	$(PIP) -e ".[test,bench]"
	touch $@ $(VENV)/.test-installed $(VENV)/.run-installed

# The load benchmark: gunicorn on PostgreSQL (qms_bench_large, seeded when missing) under locust.
# BENCH_ARGS passes options, e.g. make bench-load BENCH_ARGS="--duration 120 --database-url postgresql://…"
bench-load: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/load.py $(BENCH_ARGS)

# The production topology benchmark: nginx (Debian's package, run by the script in the foreground
# with deploy/nginx.conf, never the system service) in front of two app servers, Redis, a Celery
# worker and beat, on the load benchmark's database; locust through nginx, with slow clients.
nginx:
	@test -x /usr/sbin/nginx || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nginx >/dev/null; }

bench-topology: $(VENV)/.bench-installed nginx
	$(BIN)/python benchmarks/topology.py $(BENCH_ARGS)

# The scale benchmark: the same pages at 10k, 100k and 1M NCs (qms_scale_10k/100k/1m, seeded when
# missing: 1M takes up to 20 minutes) and their growth, e.g. make bench-scale BENCH_ARGS="--sizes 10k,100k"
.PHONY: bench-scale
bench-scale: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/scale.py $(BENCH_ARGS)

# schemathesis over every API operation with many more generated requests than `make test`
# (FUZZ_EXAMPLES per operation and mode, data that fits the OpenAPI document and data that does not);
# on SQLite, and on PostgreSQL too when QMS_TEST_DATABASE_URL is set. No 5xx, every answer as documented.
FUZZ_EXAMPLES ?= 500
fuzz: $(VENV)/.test-installed
	QMS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/core/test_api_schema.py -n 2 -q $(FUZZ_ARGS)

# Refresh docs/screenshots/ from the browser test.
screenshots: $(VENV)/.test-installed chromium
	QMS_UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/*/test_browser.py -q

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
