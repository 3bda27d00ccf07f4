"""``fewshot keys ...``: API keys of the REST service (`Workspace.keys`)."""

from __future__ import annotations

import typer

from ._help import FewshotTyper
from ._output import console, escape, table
from ._workspace import workspace

__all__ = ["keys_app"]

keys_app = FewshotTyper(help="API keys for the REST service.")


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    name: str,
    pool: list[str] | None = typer.Option(None, "--pool", help="Limit the key to this pool (repeatable)."),
) -> None:
    """Create an API key; the secret is printed once and only its hash is stored."""
    secret, info = workspace(ctx).keys.create(name, pools=pool)
    console.print(
        f"key {info.id} ({escape(info.name)}) pools: {escape(', '.join(info.pools)) if info.pools else 'all'}"
    )
    typer.echo(secret)


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """List API keys (never their secrets)."""
    keys = workspace(ctx).keys.all()
    table(
        "API keys",
        ["id", "name", "prefix", "pools", "revoked"],
        [[k.id, k.name, k.prefix + "...", ", ".join(k.pools) if k.pools else "all", k.revoked] for k in keys],
    )


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: int) -> None:
    """Revoke an API key by id."""
    info = workspace(ctx).keys.revoke(key_id)
    console.print(f"revoked key {info.id} ({escape(info.name)})")
