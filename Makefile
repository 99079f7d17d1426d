# Mail Proxy: `make dev` runs the local stack, `make test` installs and runs every test tier.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LS_VENV := .venv-localstack
MAILDEV := .local/node/node_modules/maildev/dist/bin/maildev.js
PIP_FLAGS := --disable-pip-version-check --quiet --quiet

.PHONY: monitor system-deps package infra deploy migrate chaos dev test test-unit test-functional test-integration test-e2e lint typecheck bench bench-large bench-tenants bench-scale deps clean

deps: $(VENV)/.installed $(LS_VENV)/.installed $(MAILDEV) system-deps

# Debian packages the tests drive for real: Dovecot (dovecot-imapd) is the IMAP server of the
# bounce tests; prometheus brings the server and promtool that check the dashboard and alert
# rules (infra/monitoring); chromium opens /docs headless (tests/integration/test_docs_page.py).
# Installed when we are root (CI, the dev machine); elsewhere the commands to run are printed.
SYSTEM_PACKAGES := dovecot:dovecot-imapd prometheus:prometheus promtool:prometheus chromium:chromium
system-deps:
	@missing=""; for entry in $(SYSTEM_PACKAGES); do cmd=$${entry%%:*}; pkg=$${entry#*:}; \
	  command -v $$cmd >/dev/null 2>&1 || [ -x /usr/sbin/$$cmd ] || missing="$$missing $$pkg"; done; \
	missing=$$(echo $$missing | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	if [ -n "$${missing// /}" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "[0/3] Debian packages:$$missing (first run: about 1-2 minutes)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; } \
	      || echo "could not install$$missing: the tests that need them will fail"; \
	  else echo "missing Debian packages:$$missing (sudo apt-get install$$missing)"; fi; fi

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@echo "[1/3] Python dependencies of the service and its tests into $(VENV) (first run: about 2-4 minutes)"
	@start=$$(date +%s); $(PYTHON) -m venv $(VENV) && \
	  $(PY) -m pip install $(PIP_FLAGS) -r requirements-dev.txt && \
	  $(PY) -m pip install $(PIP_FLAGS) --no-build-isolation --no-deps -e . && \
	  echo "      done in $$(( $$(date +%s) - start ))s; the mailproxy CLI is $(VENV)/bin/mailproxy"
	@touch $@

# LocalStack lives in its own virtualenv: its pins would clash with ours.
$(LS_VENV)/.installed: requirements-localstack.txt localstack/lambda_executor/pyproject.toml
	@echo "[2/3] LocalStack into $(LS_VENV) (first run: about 2-5 minutes)"
	@start=$$(date +%s); $(PYTHON) -m venv $(LS_VENV) && \
	  $(LS_VENV)/bin/python -m pip install $(PIP_FLAGS) -r requirements-localstack.txt ./localstack/lambda_executor && \
	  echo "      done in $$(( $$(date +%s) - start ))s"
	@touch $@

$(MAILDEV):
	@echo "[3/3] MailDev from npm into .local/node (first run: about 30-60 seconds)"
	@mkdir -p .local/node
	@start=$$(date +%s); npm install --silent --no-audit --no-fund --prefix .local/node maildev@3 && \
	  echo "      done in $$(( $$(date +%s) - start ))s"

dev: deps package
	$(PY) -m devstack.dev

# The service (app.py, chalicelib, functions) is held to mypy --strict; the tools around it
# (devstack, infra, bench, the CLI) to the checks in pyproject.toml.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict app.py chalicelib functions

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

test: deps lint infra
	$(PY) -m pytest tests

test-unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit

test-functional: $(VENV)/.installed
	$(PY) -m pytest tests/functional

test-integration: deps package
	$(PY) -m pytest tests/integration

test-e2e: deps package
	$(PY) -m pytest tests/e2e

# The fault soak: prints its figures (also in bench/results/chaos.json).
chaos: deps package
	$(PY) -m pytest tests/chaos -s -p no:cacheprovider

# Prometheus on the running make dev stack (API=http://127.0.0.1:8000 by default): prints what
# every dashboard panel's query answers, then serves its UI on :9090 until Ctrl-C.
monitor: deps
	$(PY) -m devstack.prometheus

bench: deps
	$(PY) -m bench.run --messages 2000
	$(PY) -m bench.cold_start
	$(PY) -m bench.finding --messages 1000000

bench-large: deps
	$(PY) -m bench.run --messages 50000 --rounds 1

# 1,000 tenants on the local stack: creation time, idle CPU with them, first-message latency.
bench-tenants: deps package
	$(PY) -m bench.tenants --tenants $${TENANTS:-1000}

# Ten thousand tenants, ten million messages (docs/benchmarks.md): about 20 minutes on 2 cores.
bench-scale: deps package
	$(PY) -m bench.scale $(BENCH_SCALE_ARGS)

# The one artifact: infra/build/template.json + deployment.zip, built by Chalice's packager
# with infra/template.py merged in (infra/package.py). What the tests run and what deploys.
package: $(VENV)/.installed
	$(PY) -m infra.package

# The package, checked by cfn-lint (with the SAM transform applied by aws-sam-translator).
infra: package
	$(VENV)/bin/cfn-lint infra/build/template.json

# Deploy exactly infra/build/ (change sets, waiters). PARAMS="Key=Value ..." for the template.
deploy: infra
	$(PY) -m infra.deploy --stack $${STACK:-mail-proxy} $(foreach p,$(PARAMS),--param $(p)) $(ARGS)

# Run the migrations of a deployed stack again (each deploy runs them itself).
migrate: $(VENV)/.installed
	$(PY) -m infra.deploy --stack $${STACK:-mail-proxy} --migrate

clean:
	rm -rf $(VENV) $(LS_VENV) .local .pytest_cache .ruff_cache .mypy_cache
