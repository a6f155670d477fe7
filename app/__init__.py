"""The composition root: the Starlette app factory and the `inbox` command line."""
