"""API keys: created once (the secret is shown only then), stored as a sha256, optionally limited to pools."""

from __future__ import annotations

from collections.abc import Sequence

from fewshot.service.context import ServiceContext
from fewshot.store import keys as key_rows
from fewshot.store.keys import KEY_PREFIX, KeyInfo

__all__ = ["KeyService", "KeyInfo", "KEY_PREFIX"]


class KeyService:
    """Creating, verifying, listing and revoking API keys."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def create(self, name: str, *, pools: Sequence[str] | None = None) -> tuple[str, KeyInfo]:
        """A new key: ``(secret, info)``; the secret is not stored and cannot be shown again.
        ``pools`` limits the key to those pools (None: every pool)."""
        with self.ctx.session() as s:
            return key_rows.create_key(s, name=name, pools=pools)

    def verify(self, secret: str) -> KeyInfo | None:
        """The key's info when ``secret`` is a valid, unrevoked key; None otherwise."""
        with self.ctx.session() as s:
            return key_rows.verify_key(s, secret)

    def all(self) -> list[KeyInfo]:
        """Every key (revoked ones too), oldest first; never the secrets."""
        with self.ctx.session() as s:
            return key_rows.list_keys(s)

    def revoke(self, key_id: int) -> KeyInfo:
        """Revoke a key at once; `NotFoundError` for an unknown id."""
        with self.ctx.session() as s:
            return key_rows.revoke_key(s, key_id=key_id)
