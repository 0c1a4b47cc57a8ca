# shipnotify: `make dev` runs the whole system locally, `make test` runs every check.
# Both install what they need on a fresh Debian machine (apt-get for system packages, pip
# into .venv for the rest).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

.PHONY: dev test chaos bench lint typecheck pytest proto system-packages test-packages clean

dev: system-packages $(STAMP)
	$(BIN)/shipnotify dev $(ARGS)

test: system-packages test-packages $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check services tests
	$(BIN)/ruff format --check services tests

typecheck: $(STAMP)
	$(BIN)/mypy

# Every test against one redis-server; then the integration tests again, unchanged, against
# a three-master Redis Cluster on loopback ports.
pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	SHIPNOTIFY_TEST_REDIS_CLUSTER=1 $(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

# The fault-injection scenarios alone (make test runs them too), with their figures.
chaos: system-packages $(STAMP)
	$(BIN)/python -m pytest tests/chaos $(PYTEST_ARGS)

# Throughput and latency beside the raw limits, in one run (see README, Performance).
bench: system-packages $(STAMP)
	$(BIN)/shipnotify bench $(ARGS)

# Regenerates services/shipnotify/v1 from proto/ with the pinned protoc.
proto: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH proto/generate.sh

system-packages:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(APT) update -qq && $(APT) install -y -qq $$missing >/dev/null; \
	fi

# Compose's own check of docker-compose.yml (`docker-compose config`; it needs no engine).
test-packages:
	@command -v docker-compose >/dev/null || { \
		echo "installing: docker-compose"; \
		$(APT) update -qq && $(APT) install -y -qq --no-install-recommends docker-compose >/dev/null; }

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "shipnotify needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache tests/e2e/artifacts
