# shipnotify: `make dev` runs the whole system locally, `make test` runs every check.
# Both install what they need on a fresh Debian machine (apt-get for system packages, Maven
# for Apache Kafka's jars, pip into .venv for the rest).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

.PHONY: dev test chaos bench lint typecheck pytest proto system-packages test-packages kafka-jars clean

dev: system-packages kafka-jars $(STAMP)
	$(BIN)/shipnotify dev $(ARGS)

test: system-packages test-packages kafka-jars $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check services tests
	$(BIN)/ruff format --check services tests

typecheck: $(STAMP)
	$(BIN)/mypy

# Every test against one redis-server; then the integration tests again, unchanged, against
# a three-master Redis Cluster on loopback ports.
pytest: kafka-jars $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	SHIPNOTIFY_TEST_REDIS_CLUSTER=1 $(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

# The fault-injection scenarios alone (make test runs them too), with their figures.
chaos: system-packages kafka-jars $(STAMP)
	$(BIN)/python -m pytest tests/chaos $(PYTEST_ARGS)

# Throughput and latency beside the raw limits, in one run (see README, Performance).
bench: system-packages kafka-jars $(STAMP)
	$(BIN)/shipnotify bench $(ARGS)

# Regenerates services/shipnotify/v1 from proto/ with the pinned protoc.
proto: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH proto/generate.sh

system-packages:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
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

# Compose v2, the program `docker compose` runs, for its own check of docker-compose.yml
# (`config` needs no engine). Bookworm ships only Compose 1, so this is Debian 13's package,
# pinned by hash and unpacked into the venv: nothing outside the project changes.
DEB_ARCH       := $(shell dpkg --print-architecture)
COMPOSE_DEB    := docker-compose_2.26.1-4_$(DEB_ARCH).deb
COMPOSE_SHA256_amd64 := 47681197cb2b1ab88206b42a1a92fc75f50d9530a6322d03494a473eed0408ea
COMPOSE_SHA256_arm64 := bbafaa666f3e7fa00ad36f2a8bab889f1c791ca8743d674e7267a3d07203869c
COMPOSE_SHA256 := $(COMPOSE_SHA256_$(DEB_ARCH))
COMPOSE        := $(BIN)/docker-compose

test-packages: $(COMPOSE)

$(COMPOSE): | $(STAMP)
	@command -v curl >/dev/null || { $(APT) update -qq && $(APT) install -y -qq curl >/dev/null; }
	curl -fsSL -o $(VENV)/$(COMPOSE_DEB) \
		https://deb.debian.org/debian/pool/main/d/docker-compose/$(COMPOSE_DEB)
	echo "$(COMPOSE_SHA256)  $(VENV)/$(COMPOSE_DEB)" | sha256sum -c --quiet
	dpkg-deb --fsys-tarfile $(VENV)/$(COMPOSE_DEB) | \
		tar -xO ./usr/libexec/docker/cli-plugins/docker-compose > $@.part
	rm $(VENV)/$(COMPOSE_DEB)
	chmod +x $@.part && mv $@.part $@

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "shipnotify needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache tests/e2e/artifacts $(KAFKA_CLASSPATH)
