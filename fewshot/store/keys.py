"""API keys: created once (the secret is shown only then), stored as a sha256, optionally limited to pools."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fewshot.exceptions import InvalidInputError, NotFoundError
from fewshot.store.models import ApiKey

__all__ = ["KeyInfo", "create_key", "verify_key", "list_keys", "revoke_key", "KEY_PREFIX"]

KEY_PREFIX = "fsk_"


@dataclass(frozen=True)
class KeyInfo:
    id: int
    name: str
    prefix: str
    pools: list[str] | None
    created_at: dt.datetime
    revoked: bool

    def allows(self, pool: str) -> bool:
        return self.pools is None or pool in self.pools

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["created_at"] = self.created_at.isoformat()
        return d


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        pools=None if row.pools is None else list(row.pools),
        created_at=row.created_at,
        revoked=row.revoked_at is not None,
    )


def create_key(session: Session, *, name: str, pools: Sequence[str] | None = None) -> tuple[str, KeyInfo]:
    """A new key: returns ``(secret, info)``; the secret is not stored and cannot be shown again."""
    if not name or len(name) > 200:
        raise InvalidInputError("key name must be 1-200 characters")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, prefix=secret[:12], key_hash=_hash(secret), pools=list(pools) if pools else None)
    session.add(row)
    session.flush()
    return secret, _info(row)


def verify_key(session: Session, secret: str) -> KeyInfo | None:
    """The key's info when ``secret`` is a valid, unrevoked key; None otherwise."""
    if not secret or not secret.startswith(KEY_PREFIX):
        return None
    digest = _hash(secret)
    for row in session.scalars(select(ApiKey).where(ApiKey.prefix == secret[:12])):
        if hmac.compare_digest(row.key_hash, digest) and row.revoked_at is None:
            return _info(row)
    return None


def list_keys(session: Session) -> list[KeyInfo]:
    return [_info(r) for r in session.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke_key(session: Session, *, key_id: int) -> KeyInfo:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError(f"API key {key_id} does not exist")
    row.revoked_at = dt.datetime.now(dt.timezone.utc)
    return _info(row)
