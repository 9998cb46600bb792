"""Grading: split reasoning from answer, extract the final answer, decide equivalence, in worker processes."""
