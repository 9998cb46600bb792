"""Kept for lm-eval task folders exported before effbench's subpackages: their hooks import `grader_for` from here."""

from effbench.lmeval.export import grader_for

__all__ = ["grader_for"]
