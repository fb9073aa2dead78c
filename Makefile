# Every target bootstraps .venv from nothing, so a fresh clone needs only python3 (with venv) and
# make. All of them install .[dev], everything, so `make dev` and `make test` share one .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready

.PHONY: dev test bench system-deps clean

$(READY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Debian's chromium and node for the browser and web/ tests and bench_web (Playwright cannot download
# its own browser here); scripts/ensure-system-deps installs what is missing.
system-deps:
	@scripts/ensure-system-deps

# The whole system on this machine (moto, IdP, token service, CDN stand-in, demo page); Ctrl-C stops it.
# Options (ports, timings): make dev DEV_ARGS="--demo-port 9000"; see python -m local_stack --help.
dev: $(READY)
	$(BIN)/python -m local_stack $(DEV_ARGS)

test: $(READY) system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(READY) system-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .local test-artifacts build
