# make demo: set up .venv, then the tiny reasoning model in three chain styles through the real vLLM engine, and its report.
# make test: set up .venv, then run the tests (real vLLM CPU engine included).
# make lint: ruff (lint and format) and mypy, as CI runs them.
# make report: the O1-Pruner leaderboard's site, from the published table, offline.
# make tiny-leaderboard: the demo's three runs and a budget sweep of the explicit style, then their leaderboard's site.
# make tiny-reasoner: train the tiny reasoning model again (seeded, CPU; about 20 minutes on 2 cores).
EFFBENCH_DATA_DIR ?= $(abspath ../shared/datasets)
EFFBENCH_CACHE ?= $(HOME)/.cache/effbench
export EFFBENCH_DATA_DIR EFFBENCH_CACHE

.PHONY: setup demo test lint report tiny-leaderboard tiny-reasoner
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
	.venv/bin/effbench report o1_pruner

tiny-leaderboard: setup
	.venv/bin/effbench demo
	.venv/bin/effbench sweep model=effbench/tiny_reasoner tasks=effbench/arith_task.yaml data_dir=$(EFFBENCH_CACHE)/data \
		system=explicit budgets=16,24,32,48,64 name=arith-explicit-sweep enforce_eager=true dtype=float32
	.venv/bin/effbench report effbench/leaderboards/tiny_cpu.yaml

tiny-reasoner: setup
	.venv/bin/python scripts/train_tiny_reasoner.py effbench/tiny_reasoner
