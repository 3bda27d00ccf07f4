"""The console's session: the API key entered once on the login page, kept in a cookie, and verified
on every request by the API's own `require_key`; pool scope by the API's `PoolGuard`.

Cookies (``Path=/ui``, ``SameSite=Strict``, ``HttpOnly``, ``Secure`` when the request came over
https):

- ``fewshot_key``: the API key itself (the server stores only its sha256; revoking the key ends
  every console session at once, as for API clients);
- ``fewshot_csrf``: a random token. Every form that changes state (login, logout, label import)
  carries it in a hidden ``csrf_token`` field, and the request is refused (403) unless both match
  (double submit: another site can neither read the cookie nor make the browser send it).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status

from ...service.keys import KeyInfo
from ...service.workspace import Workspace
from ..deps import PoolGuard, get_workspace, require_key

__all__ = [
    "KEY_COOKIE",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "ConsoleSession",
    "LoginRequired",
    "SessionDep",
    "console_session",
    "csrf_token",
    "check_csrf",
    "verify_secret",
    "set_session_cookies",
    "clear_session_cookies",
]

KEY_COOKIE = "fewshot_key"
CSRF_COOKIE = "fewshot_csrf"
CSRF_FIELD = "csrf_token"
COOKIE_PATH = "/ui"


class LoginRequired(Exception):
    """No valid key in the cookie: the console sends the browser to the login page."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class ConsoleSession:
    """The caller of a console page: its key (None when the server needs none), the pool guard of
    that key, and the CSRF token its forms carry."""

    key: KeyInfo | None
    guard: PoolGuard
    csrf: str

    @property
    def name(self) -> str:
        return "no key required" if self.key is None else f"{self.key.name} ({self.key.prefix}…)"


def verify_secret(ws: Workspace, secret: str | None) -> KeyInfo | None:
    """The key's info, checked exactly as the API checks ``X-API-Key`` (`require_key`); raises the
    same 401 `HTTPException` for a missing, invalid or revoked key."""
    return require_key(ws, authorization=None, x_api_key=secret)


def csrf_token(request: Request) -> str:
    """The request's CSRF token (from its cookie), or a new one to set."""
    token = request.cookies.get(CSRF_COOKIE, "")
    return token if 32 <= len(token) <= 128 and token.isascii() else secrets.token_urlsafe(32)


def check_csrf(request: Request, submitted: str | None) -> None:
    """403 unless the form's token equals the cookie's (constant-time)."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(cookie.encode(), str(submitted).encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or invalid CSRF token; reload the page and try again")


def _cookie_options(request: Request) -> dict[str, object]:
    return {
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
        "path": COOKIE_PATH,
    }


def set_session_cookies(request: Request, response: Response, *, secret: str | None, csrf: str) -> None:
    """Keep the key (when given) and the CSRF token in the browser."""
    if secret is not None:
        response.set_cookie(KEY_COOKIE, secret, **_cookie_options(request))  # type: ignore[arg-type]
    response.set_cookie(CSRF_COOKIE, csrf, **_cookie_options(request))  # type: ignore[arg-type]


def clear_session_cookies(request: Request, response: Response) -> None:
    options = _cookie_options(request)
    for name in (KEY_COOKIE, CSRF_COOKIE):
        response.delete_cookie(
            name,
            path=COOKIE_PATH,
            secure=bool(options["secure"]),
            httponly=True,
            samesite="strict",
        )


def console_session(request: Request, ws: Annotated[Workspace, Depends(get_workspace)]) -> ConsoleSession:
    """The page's caller; `LoginRequired` when the cookie holds no valid key (and keys are required)."""
    try:
        key = verify_secret(ws, request.cookies.get(KEY_COOKIE))
    except HTTPException as exc:
        raise LoginRequired(str(exc.detail)) from None
    return ConsoleSession(key=key, guard=PoolGuard(key), csrf=csrf_token(request))


SessionDep = Annotated[ConsoleSession, Depends(console_session)]
