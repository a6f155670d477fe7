"""The benchmark: a generated club loaded with the real importer, workloads through the real app, a report.

Run by hand, never by the test suite: `.venv/bin/python -m bench.run --scale small` (see bench/README.md).
"""
