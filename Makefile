# chaos-sre: two commands on a fresh machine (Python >= 3.11, make, git).
#   make demo   set up .venv, run an experiment against the local lab, print the outcome
#   make test   set up .venv with test extras (and, as root on Debian, the chromium package
#               the HTML report test opens pages in), run the whole suite
#   make test-fast  the edit loop: every test but the end-to-end experiment runs (docs/testing.md)
#   make lint   ruff and mypy (make test and make test-fast run it first)
#
# Installs go through uv (bootstrapped from PyPI into the venv): several times faster than pip.
# Python may cache bytecode here even where the environment says not to: every lab, `chaos run`
# and sampler process imports moto, boto3 and chaoslib, which otherwise compile anew each time
# (uv, unlike pip, does not compile at install; the first process writes what it imports).
unexport PYTHONDONTWRITEBYTECODE

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_EXPERIMENT ?= experiments/az-outage.json
DEMO_JOURNAL ?= runs/demo-journal.json
DEMO_REPORT ?= runs/demo-report.html

# Parallel test workers: the suite mostly waits on lab time, so more workers than cores pay off;
# tests marked `serial` (timing-sensitive) run afterwards on their own (docs/testing.md).
TEST_WORKERS ?= 8
FAST_WORKERS ?= 6
PYTEST := $(BIN)/python -m pytest

.PHONY: demo test test-fast lint docs browser bench-peers clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "chaos-sre needs Python >= 3.11 (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'uv>=0.4'
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	@mkdir -p runs
	@echo "==> starting the lab and running $(DEMO_EXPERIMENT)"
	@CHAOS_SRE_LAB_DIR=$(CURDIR)/runs/lab CHAOS_SRE_LEDGER_DIR=$(CURDIR)/runs/ledgers $(BIN)/chaos-sre lab exec --api-port 0 --endpoint-port 0 -- \
		$(CURDIR)/$(BIN)/chaos --log-file runs/chaostoolkit.log run --journal-path $(DEMO_JOURNAL) $(DEMO_EXPERIMENT); \
	status=$$?; \
	echo "==> lab stopped"; \
	$(BIN)/python -m chaos_sre.journal $(DEMO_JOURNAL) || exit $$?; \
	$(BIN)/chaos-sre report $(DEMO_JOURNAL) -o $(DEMO_REPORT) || exit $$?; \
	exit $$status

browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "==> installing Debian's chromium (the HTML report test renders pages in it)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
			|| { echo "could not install chromium"; exit 1; }; \
	else \
		echo "note: no chromium and no root to install it: the HTML report's browser test is skipped (apt-get install chromium)"; \
	fi

test: $(STAMP) browser lint
	@echo "==> parallel tests ($(TEST_WORKERS) workers)"; \
	$(PYTEST) -n $(TEST_WORKERS) -m "not serial"; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	echo "==> timing-sensitive tests, one at a time"; \
	$(PYTEST) -m serial; serial=$$?; \
	if [ $$serial -eq 5 ]; then echo "pytest collected no serial tests: failing"; exit 1; fi; \
	[ $$status -eq 0 ] && exit $$serial; exit $$status

# ruff (style and likely bugs) and mypy (types) over the code; both must be clean.
lint: $(STAMP)
	@echo "==> ruff and mypy"
	@$(BIN)/ruff check chaos_sre tests bench
	@$(BIN)/mypy

test-fast: $(STAMP) lint
	@$(PYTEST) -n $(FAST_WORKERS) -m "not e2e and not serial and not slow"

# Peer tools the benchmarks compare with, in their own virtualenv (bench/README in docs/performance.md).
# Regenerate what docs derive from the code's declarations (tests/e2e/test_iam.py checks they are current).
docs: $(STAMP)
	$(BIN)/chaos-sre iam policy --region eu-west-1 --target-tag env=staging experiments/*.json > docs/scheduling/aws/runner-policy.json
	$(BIN)/python -m chaos_sre.iam docs/safety.md experiments/*.json

bench-peers: .venv-bench/bin/locust

.venv-bench/bin/locust:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet 'locust>=2.20,<3'

clean:
	rm -rf $(VENV) .venv-bench runs .pytest_cache
