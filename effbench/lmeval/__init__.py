"""lm-evaluation-harness interop: read its sample logs, import them as runs, export effbench's tasks."""
