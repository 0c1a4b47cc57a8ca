# shipnotify: `make dev` runs the whole system locally, `make test` runs every check.
# Both install what they need on a fresh Debian machine (apt-get for system packages, Maven
# for Apache Kafka's jars, pip into .venv for the rest).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

.PHONY: dev test chaos bench lint typecheck pytest proto i18n language system-packages kafka-jars lock lock-upgrade clean

dev: system-packages kafka-jars $(STAMP)
	$(BIN)/shipnotify dev $(ARGS)

test: system-packages kafka-jars $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check services tests
	$(BIN)/ruff format --check services tests

typecheck: $(STAMP)
	$(BIN)/mypy

# Every test against one redis-server; then the integration tests again, unchanged, against
# a three-master Redis Cluster on loopback ports (all but those marked redis_agnostic). Three
# pytest-xdist workers, each with its own broker and Redis, keep two cores busy while tests
# wait on a broker, a browser, a process or a fault's window (two left a third of the CPU
# idle); the fault scenarios run one at a time (xdist_group). WORKERS=0 runs every test in
# the one pytest process.
WORKERS ?= 3
pytest: kafka-jars $(STAMP)
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup --durations=40 $(PYTEST_ARGS)
	SHIPNOTIFY_TEST_REDIS_CLUSTER=1 $(BIN)/python -m pytest -n $(WORKERS) tests/integration -m "not redis_agnostic" $(PYTEST_ARGS)

# The fault-injection scenarios alone (make test runs them too), with their figures.
chaos: system-packages kafka-jars $(STAMP)
	$(BIN)/python -m pytest tests/chaos $(PYTEST_ARGS)

# Throughput and latency beside the raw limits, in one run (see README, Performance).
bench: system-packages kafka-jars $(STAMP)
	$(BIN)/shipnotify bench $(ARGS)

# The catalogs: message ids extracted from the code and the templates into messages.pot,
# merged into every language's messages.po (new ids come in empty), each compiled to .mo.
# (The Python packages must be installed: make dev or make test does it.)
I18N := services/shipnotify/i18n
i18n:
	$(BIN)/pybabel -q extract -F $(I18N)/babel.cfg -k mark --no-location --sort-output \
		--omit-header -o $(I18N)/messages.pot services/shipnotify
	$(BIN)/pybabel -q update -i $(I18N)/messages.pot -d $(I18N)/locales \
		--no-fuzzy-matching --ignore-obsolete --no-wrap
	$(BIN)/pybabel compile -d $(I18N)/locales --statistics

# A new language's catalog, every message to translate: make language CODE=uk
language:
	@test -n "$(CODE)" || { echo "name the language: make language CODE=uk"; exit 2; }
	$(BIN)/pybabel init -i $(I18N)/messages.pot -d $(I18N)/locales -l $(CODE) --no-wrap

# Regenerates services/shipnotify/v1 from proto/ with the pinned protoc.
proto: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH proto/generate.sh

system-packages:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v dbus-daemon >/dev/null || missing="$$missing dbus-daemon"; \
	command -v java >/dev/null || missing="$$missing default-jre-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(APT) update -qq && $(APT) install -y -qq $$missing >/dev/null; \
	fi

# Apache Kafka's jars, resolved by Maven from the pom that pins the version, and their
# classpath for the launcher (devstack/kafka_broker.py): after this, starting a broker never
# reaches the network. Resolved again when the pom changed or a jar is gone.
KAFKA_POM       := services/shipnotify/devstack/apache-kafka/pom.xml
KAFKA_CLASSPATH := services/shipnotify/devstack/apache-kafka/classpath.txt

kafka-jars: system-packages
	@if [ ! -s $(KAFKA_CLASSPATH) ] || [ $(KAFKA_POM) -nt $(KAFKA_CLASSPATH) ] || \
		! tr ':' '\n' < $(KAFKA_CLASSPATH) | xargs ls >/dev/null 2>&1; then \
		echo "resolving Apache Kafka's jars with Maven"; \
		mvn -B -q -f $(KAFKA_POM) dependency:build-classpath \
			-Dmdep.outputFile=$(CURDIR)/$(KAFKA_CLASSPATH).part && \
		mv $(KAFKA_CLASSPATH).part $(KAFKA_CLASSPATH); \
	fi

# The Python packages, exactly as pdm.lock pins them (every file checked against its hash):
# pdm, in a venv of its own, writes the lock's requirements out and pip installs them.
# PDM_PINS: hishel 2 breaks this pdm's HTTP cache, so both are pinned.
PDM      := $(VENV)/pdm/bin/pdm
PDM_PINS := pdm==2.29.4 hishel[httpx2]==1.4.0
export PDM_CHECK_UPDATE := false
export PDM_PYTHON := $(shell command -v $(PYTHON))

$(PDM):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "shipnotify needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)/pdm
	$(VENV)/pdm/bin/pip install -q $(PDM_PINS)

$(STAMP): pyproject.toml pdm.lock | $(PDM)
	$(PDM) lock --check -G :all || \
		{ echo "pdm.lock does not match pyproject.toml: run make lock"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(PDM) export -G :all -o $(VENV)/requirements.txt
	$(BIN)/pip install -q --require-hashes --no-deps -r $(VENV)/requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

# After a change to the dependencies in pyproject.toml: pins what is new, keeps the rest.
lock: | $(PDM)
	$(PDM) lock -G :all --update-reuse

# Every package to its newest version that pyproject.toml allows.
lock-upgrade: | $(PDM)
	$(PDM) lock -G :all

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache tests/e2e/artifacts $(KAFKA_CLASSPATH)
