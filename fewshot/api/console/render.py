"""Rendering console pages: one Jinja2 environment (autoescape on for every template, so text from
pools is always escaped), the security headers of every console answer, and `ConsoleRoute`, the
one place that turns errors into pages (a login redirect, or an error page with the status the API
would answer; JSON endpoints answer the API's problem-details body)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from ...exceptions import FewshotError
from ..errors import error_body, problem, problem_response, status_code
from .auth import CSRF_COOKIE, LoginRequired, csrf_token, set_session_cookies

__all__ = ["ConsoleRoute", "render", "TEMPLATE_DIR", "STATIC_DIR", "SECURITY_HEADERS", "login_redirect"]

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

#: Sent with every console answer: scripts only from this server (no inline script runs, so even
#: an unescaped string could not execute), no framing, no referrer leaving the site.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value).replace("T", " ")[:19]


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
    autoescape=True,  # every template, whatever its name
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["when"] = _when
_env.filters["num"] = _num


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render template ``name`` with ``context`` (plus ``request``, ``csrf``, ``session`` when
    given); sets the CSRF cookie when the browser has none yet."""
    csrf = context.pop("csrf", None) or csrf_token(request)
    context.setdefault("session", None)
    context.setdefault("pool", None)
    context.setdefault("active", "")
    html = _env.get_template(name).render(request=request, csrf=csrf, **context)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if request.cookies.get(CSRF_COOKIE) != csrf:
        set_session_cookies(request, response, secret=None, csrf=csrf)
    return response


def login_redirect(request: Request) -> RedirectResponse:
    """303 to the login page, coming back to this page afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303, headers=SECURITY_HEADERS)


def _wants_json(request: Request) -> bool:
    return request.url.path.endswith(".json") or request.url.path.endswith("/texts")


def _error(request: Request, status: int, detail: str) -> Response:
    if _wants_json(request):
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 422: "validation_error"}.get(status, "error")
        return problem_response(problem(status, code, detail), headers=SECURITY_HEADERS)
    return render(request, "error.html", status=status, status_code=status, detail=detail)


class ConsoleRoute(APIRoute):
    """A console route: errors become pages (or problem bodies for the JSON endpoints)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired as exc:
                if _wants_json(request):
                    return _error(request, 401, exc.detail)
                return login_redirect(request)
            except HTTPException as exc:
                return _error(request, exc.status_code, str(exc.detail))
            except RequestValidationError as exc:
                fields = ", ".join(".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors())
                return _error(request, 422, f"invalid value for {fields or 'the request'}")
            except FewshotError as exc:
                if _wants_json(request):
                    return problem_response(error_body(exc), headers=SECURITY_HEADERS)
                return _error(request, status_code(exc), str(exc))
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return handle
