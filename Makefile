# Two commands for a new user: `make run` (pipeline on the embedded sample) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
# The CPU wheel by default; on a CUDA machine: make TORCH='torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128'
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin

.PHONY: install run report app test test-fast lint bench gpu-check clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[dev]'
# the offline report's chart libraries, from the npm registry (`make report` retries if this fails)
	-$(BIN)/python -m srcore.report --fetch-only
	touch $@

install: $(BIN)/.installed

run: install
	PATH="$(CURDIR)/$(BIN):$$PATH" dvc repro
	PATH="$(CURDIR)/$(BIN):$$PATH" dvc metrics show

# every DVC plot on one self-contained page (charts and images inlined): report/index.html
report: install
	$(BIN)/python -m srcore.report

# upscale and compare in the browser, served from this machine: http://127.0.0.1:7860/
app: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/srcore-app $(APP_ARGS)

test: install
	$(BIN)/python -m pytest -q -rs --durations=10

test-fast: install
	$(BIN)/python -m pytest -q -rs -m "not slow"

lint: install
	$(BIN)/ruff format --check . && $(BIN)/ruff check .

bench: install
	$(BIN)/python scripts/bench.py

# On a CUDA machine, with srcore's dependencies importable by $(PYTHON) (no install step: such machines
# are often offline). CUDA tests, notebook-vs-srcore benchmark, 2-minute width-64 training, Set5/Set14. JSON.
GPU_CHECK_ARGS ?=
gpu-check:
	$(PYTHON) scripts/gpu_check.py $(GPU_CHECK_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .cache/vega report
