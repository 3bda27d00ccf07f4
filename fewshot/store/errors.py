"""Classifying database errors by their driver codes (never by matching message text)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

__all__ = ["is_unique_violation"]

_SQLITE_UNIQUE = {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}
_PG_UNIQUE = "23505"  # unique_violation


def is_unique_violation(exc: BaseException) -> bool:
    """True when ``exc`` is an `IntegrityError` raised by a unique or primary-key constraint
    (SQLite's extended error name, PostgreSQL's SQLSTATE 23505)."""
    if not isinstance(exc, IntegrityError):
        return False
    orig = exc.orig
    return getattr(orig, "sqlite_errorname", None) in _SQLITE_UNIQUE or getattr(orig, "sqlstate", None) == _PG_UNIQUE
