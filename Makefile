# Two commands for a newcomer (see README):
#   make demo   set up .venv and run the main job on the bundled sample data
#   make test   set up .venv and run the test suite
# torch is installed first and pinned: a bare `torch` requirement pulls a multi-GB CUDA build.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup demo test test-all check bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[test,postgres,dev]"
	touch $@

demo: setup
	$(VENV)/bin/fewshot --home .fewshot-demo demo

test: setup
	$(PY) -m pytest
	$(MAKE) --no-print-directory check

check: setup
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check fewshot tests benchmarks
	$(VENV)/bin/ruff format --check fewshot tests benchmarks
	$(VENV)/bin/mypy

test-all: setup
	$(PY) -m pytest -m ""

bench: setup
	$(PY) benchmarks/bench_embed.py

clean:
	rm -rf $(VENV) .fewshot .fewshot-demo .pytest_cache
