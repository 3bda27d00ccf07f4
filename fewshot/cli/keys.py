"""``fewshot keys ...``: API keys of the REST service (`Workspace.keys`)."""

from __future__ import annotations

import typer

from ._help import FewshotTyper
from ._output import console, echo_json, escape, json_option, table
from ._workspace import workspace

__all__ = ["keys_app"]

keys_app = FewshotTyper(help="API keys for the REST service.")


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    name: str,
    pool: list[str] | None = typer.Option(None, "--pool", help="Limit the key to this pool (repeatable)."),
    as_json: bool = json_option('One JSON object: the key with its "secret".'),
) -> None:
    """Create an API key; the secret is printed once (alone on stdout) and only its hash is stored."""
    secret, info = workspace(ctx).keys.create(name, pools=pool)
    if as_json:
        echo_json({**info.to_dict(), "secret": secret})
        return
    console.print(
        f"key {info.id} ({escape(info.name)}) pools: {escape(', '.join(info.pools)) if info.pools else 'all'}"
    )
    typer.echo(secret)


@keys_app.command("list")
def keys_list(ctx: typer.Context, as_json: bool = json_option("One JSON array of keys (never their secrets).")) -> None:
    """List API keys (never their secrets)."""
    keys = workspace(ctx).keys.all()
    if as_json:
        echo_json([k.to_dict() for k in keys])
        return
    table(
        f"{len(keys)} API keys",
        ["id", "name", "prefix", "pools", "revoked"],
        [[k.id, k.name, k.prefix + "...", ", ".join(k.pools) if k.pools else "all", k.revoked] for k in keys],
    )


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context, key_id: int, as_json: bool = json_option("One JSON object: the revoked key.")
) -> None:
    """Revoke an API key by id."""
    info = workspace(ctx).keys.revoke(key_id)
    if as_json:
        echo_json(info.to_dict())
        return
    console.print(f"revoked key {info.id} ({escape(info.name)})")
