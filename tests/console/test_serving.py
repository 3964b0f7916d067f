"""Edge serves the Console's static export at `/` (here a tiny fake export, so no npm is
needed): pages, assets with the right types and caching, security headers, 404s, and never
in the way of the API."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from tests.agent.conftest import EdgeFactory

INLINE = b"(self.__next_f=self.__next_f||[]).push([0])"
PAGE = (
    b"<!DOCTYPE html><html><head><meta charset=utf-8>"
    b'<script src="/_next/static/chunks/app-1a2b.js" async=""></script>'
    b"<style>body{margin:0}</style></head><body><div id=app>%s</div>"
    b"<script>" + INLINE + b"</script></body></html>"
)


def _write(root: Path, relative: str, content: bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def fake_export(root: Path) -> Path:
    """A miniature of what `next build` with `output: "export"` writes."""
    _write(root, "index.html", PAGE % b"Steward Console home")
    _write(root, "chat/index.html", PAGE % b"Steward chat page")
    _write(root, "chat/index.txt", b'0:["rsc payload"]')
    _write(root, "signin.html", PAGE % b"Steward sign-in page")
    _write(root, "404.html", PAGE % b"This page could not be found")
    _write(root, "favicon.ico", b"\x00\x00\x01\x00")
    _write(root, "_next/static/chunks/app-1a2b.js", b"console.log('app')")
    _write(root, "_next/static/css/site-3c4d.css", b"body{color:black}")
    _write(root, "_next/static/media/font-5e6f.woff2", b"wOF2")
    return root


Served = Callable[..., AbstractContextManager[httpx.Client]]


@pytest.fixture
def console(make_edge: EdgeFactory, tmp_path: Path) -> Iterator[httpx.Client]:
    """A real Edge serving a fake export; the client sends no token."""
    out = fake_export(tmp_path / "out")
    with make_edge(console_dir=out) as owner, httpx.Client(base_url=owner.base_url) as anonymous:
        yield anonymous


def test_pages_are_served_without_a_token(console: httpx.Client) -> None:
    home = console.get("/")
    assert home.status_code == 200
    assert home.headers["content-type"] == "text/html; charset=utf-8"
    assert b"Steward Console home" in home.content
    assert console.get("/chat/").content == PAGE % b"Steward chat page"
    assert b"sign-in page" in console.get("/signin").content  # `<page>.html` exports too
    assert console.get("/index.html").status_code == 200


def test_a_folder_without_its_slash_redirects_keeping_the_query(console: httpx.Client) -> None:
    r = console.get("/chat", params={"c": "conv_1"})
    assert r.status_code == 308
    assert r.headers["location"] == "/chat/?c=conv_1"
    assert (
        b"chat page" in console.get("/chat", params={"c": "conv_1"}, follow_redirects=True).content
    )
    sneaky = console.send(console.build_request("GET", str(console.base_url) + "//chat"))
    assert sneaky.status_code == 308
    assert sneaky.headers["location"] == "/chat/"  # never `//chat/`: that is another host


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/_next/static/chunks/app-1a2b.js", "text/javascript; charset=utf-8"),
        ("/_next/static/css/site-3c4d.css", "text/css; charset=utf-8"),
        ("/_next/static/media/font-5e6f.woff2", "font/woff2"),
    ],
)
def test_hashed_assets_are_immutable(console: httpx.Client, path: str, content_type: str) -> None:
    r = console.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == content_type
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_pages_and_unhashed_files_revalidate(console: httpx.Client) -> None:
    for path in ("/", "/chat/", "/favicon.ico", "/chat/index.txt"):
        assert console.get(path).headers["cache-control"] == "no-cache", path
    assert console.get("/chat/index.txt").headers["content-type"] == "text/plain; charset=utf-8"
    assert console.get("/favicon.ico").headers["content-type"] == "image/x-icon"


def test_an_unchanged_page_is_not_sent_again(console: httpx.Client) -> None:
    for path in ("/", "/_next/static/chunks/app-1a2b.js"):
        first = console.get(path)
        again = console.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304, path
        assert again.content == b""


def test_html_has_security_headers_pinning_its_inline_scripts(console: httpx.Client) -> None:
    r = console.get("/")
    csp = dict(
        part.strip().split(" ", 1) for part in r.headers["content-security-policy"].split(";")
    )
    digest = base64.b64encode(hashlib.sha256(INLINE).digest()).decode()
    assert csp["script-src"] == f"'self' 'sha256-{digest}'"
    assert "'unsafe-inline'" not in csp["script-src"]
    assert csp["default-src"] == "'self'"
    assert csp["connect-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" in csp["style-src"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"


def test_a_rebuilt_page_is_served_at_once(console: httpx.Client, tmp_path: Path) -> None:
    before = console.get("/")
    _write(tmp_path / "out", "index.html", PAGE % b"Rebuilt home page, longer than before")
    after = console.get("/")
    assert b"Rebuilt home page" in after.content
    assert after.headers["etag"] != before.headers["etag"]


def test_unknown_pages_are_404_with_the_export_404_page(console: httpx.Client) -> None:
    for path in ("/no-such-page/", "/_next/static/chunks/missing.js", "/chat/nope"):
        r = console.get(path)
        assert r.status_code == 404, path
        assert b"could not be found" in r.content
        assert "content-security-policy" in r.headers


def test_the_api_is_never_shadowed(console: httpx.Client) -> None:
    r = console.get("/v1/no-such-route")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "route_not_found"
    assert console.get("/v1").headers["content-type"] == "application/problem+json"
    assert console.get("/v1/agent/tasks").status_code == 401
    assert console.get("/v1/agent/messages").status_code == 405  # POST-only, as before
    assert console.get("/health").json()["status"] == "ok"
    assert "/v1/agent/messages" in console.get("/openapi.json").json()["paths"]
    assert b"swagger" in console.get("/docs").content.lower()
    posted = console.post("/chat/", json={})
    assert posted.status_code == 404
    assert posted.headers["content-type"] == "application/problem+json"


def test_the_console_is_not_in_the_api_schema(console: httpx.Client) -> None:
    paths = console.get("/openapi.json").json()["paths"]
    assert all(p.startswith("/v1/") or p == "/health" for p in paths), sorted(paths)


def test_nothing_outside_the_export_is_reachable(console: httpx.Client, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("not for the web")
    (tmp_path / "out" / "link.txt").symlink_to(tmp_path / "secret.txt")
    for raw in ("/../secret.txt", "/%2e%2e/secret.txt", "/link.txt", "/..%2fsecret.txt"):
        r = console.send(console.build_request("GET", httpx.URL(str(console.base_url) + raw)))
        assert r.status_code == 404, raw
        assert b"not for the web" not in r.content


def test_head_answers_without_a_body(console: httpx.Client) -> None:
    r = console.head("/")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-type"] == "text/html; charset=utf-8"


def test_an_unbuilt_console_says_how_to_build_it(make_edge: EdgeFactory, tmp_path: Path) -> None:
    missing = tmp_path / "never-built"
    with make_edge(console_dir=missing) as owner:
        page = httpx.get(str(owner.base_url) + "/", headers={"Accept": "text/html"})
        assert page.status_code == 503
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert b"npm run build" in page.content
        assert b"./scripts/up.sh" in page.content
        problem = httpx.get(str(owner.base_url) + "/chat/")
        assert problem.status_code == 503
        assert problem.headers["content-type"] == "application/problem+json"
        assert problem.json()["code"] == "console_not_built"
        assert "npm ci && npm run build" in problem.json()["detail"]
        assert owner.get("/v1/agent/tasks").status_code == 200  # the API works meanwhile
        fake_export(missing)  # built while Edge runs: served from the next request
        assert httpx.get(str(owner.base_url) + "/").status_code == 200
