"""API keys: created once (the secret is shown only then), stored as a sha256, optionally limited to pools."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from fewshot.service._recent import Recent
from fewshot.service.context import ServiceContext
from fewshot.store import keys as key_rows
from fewshot.store.keys import KEY_PREFIX, KeyInfo

__all__ = ["KeyService", "KeyInfo", "KEY_PREFIX"]


class KeyService:
    """Creating, verifying, listing and revoking API keys."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        # valid keys by the digest of their secret; a revocation here clears it at once, one in
        # another process takes effect within settings.key_cache_seconds
        self._verified: Recent[str, KeyInfo | None] = Recent(ctx.settings.key_cache_seconds, lambda: ctx.generation)

    def create(self, name: str, *, pools: Sequence[str] | None = None) -> tuple[str, KeyInfo]:
        """A new key: ``(secret, info)``; the secret is not stored and cannot be shown again.
        ``pools`` limits the key to those pools (None: every pool)."""
        with self.ctx.session() as s:
            return key_rows.create_key(s, name=name, pools=pools)

    def verify(self, secret: str) -> KeyInfo | None:
        """The key's info when ``secret`` is a valid, unrevoked key; None otherwise. A valid key is
        trusted for ``settings.key_cache_seconds`` (a key revoked by another process stops working
        within that bound; by this one, at once); an invalid one is checked every time."""
        if not secret or not secret.startswith(KEY_PREFIX):
            return None
        digest = hashlib.sha256(secret.encode()).hexdigest()
        info = self._verified.get(digest, lambda: self._verify(secret))
        if info is None:
            self._verified.drop(digest)  # do not remember failures: a new key works at once
        return info

    def _verify(self, secret: str) -> KeyInfo | None:
        with self.ctx.session() as s:
            return key_rows.verify_key(s, secret)

    def all(self) -> list[KeyInfo]:
        """Every key (revoked ones too), oldest first; never the secrets."""
        with self.ctx.session() as s:
            return key_rows.list_keys(s)

    def revoke(self, key_id: int) -> KeyInfo:
        """Revoke a key at once; `NotFoundError` for an unknown id."""
        with self.ctx.session() as s:
            info = key_rows.revoke_key(s, key_id=key_id)
        self.ctx.changed()
        return info
