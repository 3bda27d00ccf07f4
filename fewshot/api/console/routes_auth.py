"""Login (the API key entered once) and logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from ..deps import WorkspaceDep
from .auth import CSRF_FIELD, check_csrf, clear_session_cookies, csrf_token, set_session_cookies, verify_secret
from .render import SECURITY_HEADERS, ConsoleRoute, render

router = APIRouter(route_class=ConsoleRoute)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a console path only (never another site)."""
    if target and target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/ui/pools"


@router.get("/login")
def login_page(request: Request, ws: WorkspaceDep, next: str | None = None) -> Response:
    if not ws.settings.require_api_key:
        return RedirectResponse(safe_next(next), status_code=303, headers=SECURITY_HEADERS)
    return render(request, "login.html", next=safe_next(next), error=None)


@router.post("/login")
def login(
    request: Request,
    ws: WorkspaceDep,
    key: Annotated[str, Form(max_length=512)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
    csrf_token_field: Annotated[str, Form(alias=CSRF_FIELD, max_length=256)] = "",
) -> Response:
    """Check the key as the API does; on success keep it in the HttpOnly cookie and go on."""
    check_csrf(request, csrf_token_field)
    try:
        verify_secret(ws, key.strip())
    except HTTPException as exc:
        return render(request, "login.html", status=401, next=safe_next(next), error=str(exc.detail))
    response = RedirectResponse(safe_next(next), status_code=303, headers=SECURITY_HEADERS)
    set_session_cookies(request, response, secret=key.strip(), csrf=csrf_token(request))
    return response


@router.post("/logout")
def logout(request: Request, csrf_token_field: Annotated[str, Form(alias=CSRF_FIELD, max_length=256)] = "") -> Response:
    check_csrf(request, csrf_token_field)
    response = RedirectResponse("/ui/login", status_code=303, headers=SECURITY_HEADERS)
    clear_session_cookies(request, response)
    return response
