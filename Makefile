# fluxgen — `make demo` runs the main job on a fresh machine, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLUXGEN := $(VENV)/bin/fluxgen
# torch is pinned to 2.13.0, which this machine's pip finds as a CPU wheel; elsewhere pass e.g.
# TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" to avoid a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
DATA ?= demo-out/dataset
ARGS ?=
DEMO_DIR ?= demo-out

.PHONY: setup test demo train-skull lint bench clean lock

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,train,slurm,caption,wd14]'
	touch $@

# Rewrite constraints.txt with the newest versions pyproject.toml allows (then run make test before committing it).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet $(TORCH_SPEC) && .venv-lock/bin/pip install --quiet '.[dev,train,slurm,caption,wd14]'
	{ sed -n '1,3p' constraints.txt; .venv-lock/bin/pip freeze --exclude fluxgen | sed 's/+cpu$$//'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf .venv-lock

test: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -n 2 -q

demo: setup
	HF_HUB_OFFLINE=1 $(PY) -m fluxgen.demo --out $(DEMO_DIR)

# make train-skull DATA=path/to/images [BACKEND=sd-scripts] [ARGS="--vram 16"] [SETUP_ARGS="--source trainer.tar.gz"]
# Builds the trainer's environment first (`fluxgen setup`) when none is configured or set up.
BACKEND ?= ai-toolkit
SETUP_ARGS ?=
train-skull: setup
	@test -d "$(DATA)" || { echo "make train-skull: no dataset folder at $(DATA); pass DATA=path/to/images (make demo writes a sample one to demo-out/dataset)" >&2; exit 1; }
	$(FLUXGEN) setup $(BACKEND) --if-missing $(SETUP_ARGS)
	$(FLUXGEN) train cyber-skull --images "$(DATA)" --backend $(BACKEND) $(ARGS)

lint: setup
	$(VENV)/bin/ruff check fluxgen tests benchmarks

bench: setup
	$(PY) benchmarks/bench_startup.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
