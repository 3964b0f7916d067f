"""The Console's static export (`frontend/out`, built by `npm run build`), served by Edge at `/`.

Invariants:
- The Console never shadows the API: it is the router's fallback, reached only by a GET or
  HEAD that no route matched, and never for `/v1/...` (those keep their problem+json 404).
- Its files hold no data (the app fetches everything with the user's token), so they are
  served without one; every API route still needs one.
- `/_next/static/` names change with their content: cached for a year, immutable. Everything
  else is revalidated (`no-cache` with an ETag), so a rebuild shows at the next load.
- HTML carries a Content-Security-Policy: scripts only from this origin plus the export's own
  inline scripts, pinned by their SHA-256; no framing; no other origin to talk to.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.errors import EdgeError
from backend.web import problem_response

__all__ = ["ConsoleFiles", "ConsoleNotBuilt", "install_console"]

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
BUILD_HINT = (
    "./scripts/up.sh builds it; or build it by hand: cd frontend && npm ci && npm run build"
)
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    # React Server Component payloads of a static export; Next's router accepts text/plain.
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".webmanifest": "application/manifest+json",
}
_SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# An inline script: a <script> start tag without a src attribute, up to its end tag.
_INLINE_SCRIPT = re.compile(
    rb"<script(?![^>]*\ssrc\s*=)(?:\s[^>]*)?>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL
)


class ConsoleNotBuilt(EdgeError):
    """There is no export to serve."""

    status, code, title = 503, "console_not_built", "Console not built"


def content_type(path: Path) -> str:
    """The Content-Type of a file of the export."""
    known = _TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def csp_for(html: bytes) -> str:
    """The Content-Security-Policy of one HTML page, allowing exactly its inline scripts."""
    hashes = sorted(
        {
            "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
            for body in _INLINE_SCRIPT.findall(html)
            if body.strip()
        }
    )
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(["script-src 'self'", *hashes]),
            # Next and React set inline styles (style attributes, font faces).
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


@dataclass(frozen=True, slots=True)
class _Page:
    key: tuple[int, int]  # (mtime_ns, size) of the file it was read from
    body: bytes
    csp: str
    etag: str


class ConsoleFiles:
    """An ASGI app serving the export in `root`; `fallback` handles what is not the Console's
    (other methods, `/v1/...`) and is the router's usual 404."""

    def __init__(self, root: Path, fallback: ASGIApp):
        self.root = root
        self.fallback = fallback
        self._pages: dict[Path, _Page] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "/")
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or path == "/v1"
            or path.startswith("/v1/")
        ):
            await self.fallback(scope, receive, send)
            return
        # Off the event loop: looking files up and reading a page touch the disk.
        response = await anyio.to_thread.run_sync(self.respond, path, Headers(scope=scope), scope)
        await response(scope, receive, send)

    def built(self) -> bool:
        """Whether an export is there to serve."""
        return (self.root / "index.html").is_file()

    def respond(self, path: str, headers: Headers, scope: Scope) -> Response:
        """The response for a GET of `path`."""
        if not self.built():
            return self._not_built(path, headers)
        found = self._resolve(path)
        if isinstance(found, str):  # a folder asked for without its slash
            query = scope.get("query_string", b"").decode("latin-1")
            return RedirectResponse(found + ("?" + query if query else ""), status_code=308)
        if found is None:
            missing = self._resolve("/404.html")
            if isinstance(missing, Path) and missing.suffix == ".html":
                return self._html(missing, headers, status=404)
            raise HTTPException(404)
        if found.suffix == ".html":
            return self._html(found, headers)
        cache = IMMUTABLE if path.startswith("/_next/static/") else REVALIDATE
        response = FileResponse(
            found,
            media_type=content_type(found),
            headers={"Cache-Control": cache, **_SECURITY},
            stat_result=found.stat(),  # so the ETag is known before sending
        )
        if _not_modified(response.headers.get("etag"), headers):
            return _NotModified(response.headers)
        return response

    def _resolve(self, path: str) -> Path | str | None:
        """The file for a URL path: itself, its folder's index.html, or `<path>.html`;
        a redirect target (str) for a folder without its slash; None if there is none."""
        root = self.root.resolve()
        relative = path.lstrip("/")
        try:
            target = (root / relative).resolve()
        except (OSError, ValueError):  # a NUL byte, a path too long
            return None
        if not target.is_relative_to(root):
            return None
        if target.is_file():
            return target
        if target.is_dir() and (target / "index.html").is_file():
            if path.endswith("/"):
                return target / "index.html"
            # Rebuilt from the resolved folder, so `//name` can never redirect off-site.
            return "/" + target.relative_to(root).as_posix() + "/"
        page = target.with_name(target.name + ".html")
        if relative and page.is_file() and page.resolve().is_relative_to(root):
            return page
        return None

    def _page(self, file: Path) -> _Page:
        stat = file.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        page = self._pages.get(file)
        if page is None or page.key != key:
            body = file.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            page = _Page(key, body, csp_for(body), etag)
            self._pages[file] = page
        return page

    def _html(self, file: Path, headers: Headers, status: int = 200) -> Response:
        page = self._page(file)
        out = {
            "Cache-Control": REVALIDATE,
            "ETag": page.etag,
            "Content-Security-Policy": page.csp,
            **_SECURITY,
        }
        if status == 200 and _not_modified(page.etag, headers):
            return _NotModified(Headers(out))
        return Response(page.body, status_code=status, media_type=content_type(file), headers=out)

    def _not_built(self, path: str, headers: Headers) -> Response:
        detail = f"The Console has not been built: there is no {self.root / 'index.html'}. "
        if "text/html" in headers.get("accept", ""):
            html = (
                "<!doctype html><meta charset=utf-8><title>Steward: Console not built</title>"
                "<h1>The Console has not been built yet</h1>"
                f"<p>Edge serves it from <code>{self.root}</code>, which has no index.html.</p>"
                "<p>Build it: <code>./scripts/up.sh</code> does, or by hand "
                "<code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>, then "
                "reload. The API works meanwhile: see <a href=/docs>/docs</a>.</p>"
            )
            return Response(
                html,
                status_code=503,
                media_type="text/html; charset=utf-8",
                headers={
                    "Cache-Control": "no-store",
                    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
                    **_SECURITY,
                },
            )
        response = problem_response(ConsoleNotBuilt(detail + BUILD_HINT + "."), path)
        response.headers.update({"Cache-Control": "no-store", **_SECURITY})
        return response


def _not_modified(etag: str | None, request: Headers) -> bool:
    wanted = request.get("if-none-match")
    if not wanted or not etag:
        return False
    tags = [t.strip().removeprefix("W/") for t in wanted.split(",")]
    return "*" in tags or etag in tags


class _NotModified(Response):
    def __init__(self, headers: Headers):
        keep = ("cache-control", "etag", "content-security-policy")
        super().__init__(status_code=304, headers={k: v for k, v in headers.items() if k in keep})


def install_console(app: FastAPI, root: Path) -> ConsoleFiles:
    """Serve the export in `root` for whatever no route of `app` matches."""
    console = ConsoleFiles(root, app.router.default)
    app.router.default = console
    return console
