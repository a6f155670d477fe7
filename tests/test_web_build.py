"""The web inbox's committed build (app/static/web/) is the one its sources in web/ give, and `inbox serve`
serves it at `/` with nothing from another origin (ui.md: works offline, quick start needs no Node)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
BUILT = ROOT / "app" / "static" / "web"


def sources_hash() -> str:
    """The hash web/build.mjs records: each source's path and bytes, in path order."""
    files = [*(WEB / "src").rglob("*"), WEB / "index.html", WEB / "build.mjs", WEB / "package-lock.json"]
    digest = hashlib.sha256()
    for path in sorted(p.relative_to(WEB).as_posix() for p in files if p.is_file()):
        digest.update(f"{path}\n".encode())
        digest.update((WEB / path).read_bytes())
        digest.update(b"\n")
    return digest.hexdigest()


def test_the_committed_build_is_the_build_of_the_current_sources() -> None:
    recorded = (BUILT / "SOURCES.sha256").read_text().strip()
    assert recorded == sources_hash(), "app/static/web/ is stale: run `npm ci && npm run build` in web/"


def test_dependencies_are_pinned_by_the_lockfile() -> None:
    package = (WEB / "package.json").read_text()
    assert (WEB / "package-lock.json").is_file()
    versions = re.findall(r'"[\w@/.-]+": "([^"]+)"', package.split('"dependencies"', 1)[1])
    assert versions and all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in versions), versions


async def test_the_page_is_served_at_the_root_with_its_own_scripts_and_styles(http: httpx.AsyncClient) -> None:
    page = await http.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<div id="app">' in page.text
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', page.text):
        response = await http.get(asset)
        assert response.status_code == 200, asset
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page.text), "nothing may come from a CDN"
    script = (await http.get("/app.js")).text
    assert "graphql-transport-ws" in script and "/graphql" in script
    assert (await http.get("/graphql", headers={"accept": "text/html"})).status_code == 200  # GraphiQL stays
