"""The inbox measured beside its anchors in one run: PostGraphile v5 on the same database, the project's
own SQL through asyncpg, the same server's /healthz; real HTTP and WebSockets to `inbox serve` processes.

Run: `.venv/bin/python -m bench.anchors` (see bench/README.md).
"""
