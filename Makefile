# The README's two commands: `make run` and `make test`. Each sets up .venv on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint bench screenshots chromium clean
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

# Browser tests drive Debian's Chromium; install it when missing (never a downloaded browser).
chromium:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

test: $(VENV)/.test-installed chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python benchmarks/features.py

# Refresh docs/screenshots/ from the browser test.
screenshots: $(VENV)/.test-installed chromium
	QMS_UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/test_browser.py tests/test_browser_documents.py tests/test_browser_audits.py \
		tests/test_browser_certifications.py tests/test_browser_customers.py tests/test_browser_reviews.py -q

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
