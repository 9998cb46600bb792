# make demo: set up .venv, then run the whole pipeline on a tiny model built on the spot.
# make test: set up .venv, then run the tests (real vLLM CPU engine included).
# make lint: ruff (lint and format) and mypy, as CI runs them.
# make report: the O1-Pruner leaderboard's site, from the published table, offline.
# make tiny-leaderboard: two real runs and a budget sweep of the tiny model, then their leaderboard's site.
EFFBENCH_DATA_DIR ?= $(abspath ../shared/datasets)
EFFBENCH_CACHE ?= $(HOME)/.cache/effbench
export EFFBENCH_DATA_DIR EFFBENCH_CACHE

.PHONY: setup demo test lint report tiny-leaderboard
setup: .venv/.installed

.venv/.installed: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	touch $@

demo: setup
	.venv/bin/effbench demo

test: setup
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

report: setup
	.venv/bin/effbench report leaderboards/o1_pruner.yaml

tiny-leaderboard: setup
	.venv/bin/effbench demo name=tiny-48 max_tokens=48
	.venv/bin/effbench demo name=tiny-16 max_tokens=16
	.venv/bin/effbench sweep model=$(EFFBENCH_CACHE)/tiny-model tasks=effbench/demo_task.yaml \
		data_dir=$(EFFBENCH_CACHE)/data budgets=8,16,32,48 name=tiny-sweep enforce_eager=true
	.venv/bin/effbench report leaderboards/tiny_cpu.yaml
