"""Orchestration: evaluate, sweep, rescore, and grade a file of outputs."""
