"""Parsing of command-line values that shells cannot pass as structures: comma lists, numbers,
``KEY=VALUE`` pairs, escaped newlines. Malformed values are usage errors (exit code 2)."""

from __future__ import annotations

from typing import Any

import typer

__all__ = ["split_values", "parse_ints", "parse_floats", "parse_pairs", "unescape", "ray_address_option", "ray_target"]


def ray_address_option() -> Any:
    """The ``--ray-address`` option of the commands that take ``--ray``."""
    return typer.Option(
        None,
        "--ray-address",
        help="With --ray: the cluster to join; auto: the one `ray start` runs here, local: a private one "
        "[default: FEWSHOT_RAY_ADDRESS, else auto].",
    )


def ray_target(ray: bool, address: str | None) -> bool | str:
    """The service's ``ray=`` value for ``--ray`` / ``--ray-address``: False, True (the configured
    cluster) or the address given."""
    return (address or True) if ray else False


def split_values(values: list[str] | None) -> list[str] | None:
    """Repeatable options whose values may also be comma-separated lists; None when not given."""
    if values is None:
        return None
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def parse_ints(text: str | None, option: str) -> list[int] | None:
    """``"5,10,20"`` -> ``[5, 10, 20]``; None when not given."""
    if text is None:
        return None
    try:
        return [int(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        raise typer.BadParameter(f"must be comma-separated integers, got {text!r}", param_hint=option) from None


def parse_floats(text: str | None, option: str) -> list[float] | None:
    """``"0.9,0.5"`` -> ``[0.9, 0.5]``; None when not given."""
    if text is None:
        return None
    try:
        return [float(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        raise typer.BadParameter(f"must be comma-separated numbers, got {text!r}", param_hint=option) from None


def parse_pairs(values: list[str] | None, option: str) -> dict[str, str] | None:
    """Repeatable ``KEY=VALUE`` options -> a dict (the value may be empty or hold ``=``)."""
    if not values:
        return None
    out: dict[str, str] = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"must be KEY=VALUE, got {v!r}", param_hint=option)
        out[key.strip()] = value
    return out


def unescape(template: str | None) -> str | None:
    """Shells pass ``\\n`` and ``\\t`` literally; templates mean a newline and a tab."""
    return None if template is None else template.replace("\\n", "\n").replace("\\t", "\t")
