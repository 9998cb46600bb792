"""Generations made elsewhere, made into ordinary effbench runs."""
