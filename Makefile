# make demo: set up .venv, then run the whole pipeline on a tiny model built on the spot.
# make test: set up .venv, then run the tests (real vLLM CPU engine included).
EFFBENCH_DATA_DIR ?= $(abspath ../shared/datasets)
export EFFBENCH_DATA_DIR

.PHONY: setup demo test
setup: .venv/.installed

.venv/.installed: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	touch $@

demo: setup
	.venv/bin/effbench demo

test: setup
	.venv/bin/python -m pytest
