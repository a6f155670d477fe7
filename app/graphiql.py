"""GraphiQL in development, offline: the page and its scripts and styles all come from this server.

The scripts and styles are the pinned npm builds of GraphiQL, React and ReactDOM, copied into
app/static/graphiql by web-tools/graphiql/build.mjs (so running the server needs no Node); each URL
carries the file's hash, so a browser never keeps a stale copy after an upgrade.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from string import Template

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parent / "static" / "graphiql"
PAGE = Path(__file__).resolve().parent / "graphiql.html"
ASSETS_PATH = "/graphiql"


def asset_routes() -> list[BaseRoute]:
    """The route of GraphiQL's scripts and styles (mounted in development only, with the page)."""
    return [Mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="graphiql")]


@lru_cache
def graphiql_page(graphql_path: str = "/graphql") -> str:
    files = json.loads((ASSETS / "manifest.json").read_text())["files"]

    def version(name: str) -> str:
        return str(files[name]["sha256"])[:12]

    return Template(PAGE.read_text(encoding="utf-8")).substitute(
        assets=ASSETS_PATH, graphql_path=graphql_path,
        css_version=version("graphiql.min.css"), graphiql_version=version("graphiql.min.js"),
        react_version=version("react.production.min.js"), react_dom_version=version("react-dom.production.min.js"),
    )
