# fluxgen — `make demo` runs the main job on a fresh machine, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLUXGEN := $(VENV)/bin/fluxgen
# torch 2.13.0 is pinned to the CPU wheel so a machine without a GPU does not pull a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
DATA ?= examples/cyber-skull
DEMO_DIR ?= demo-out

.PHONY: setup test demo train-skull lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e '.[dev,train]'
	touch $@

test: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -n 2 -q

demo: setup
	HF_HUB_OFFLINE=1 $(PY) -m fluxgen.demo --out $(DEMO_DIR)

train-skull: setup
	$(FLUXGEN) train cyber-skull --images $(DATA)

lint: setup
	$(VENV)/bin/ruff check fluxgen tests benchmarks

bench: setup
	$(PY) benchmarks/bench_startup.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
