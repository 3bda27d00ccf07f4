"""Running `fewshot` commands in-process in tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from typer.testing import CliRunner, Result

from fewshot.cli import app
from fewshot.registry import Registry

runner = CliRunner()


def run(home, *args, ok: bool = True, env: dict[str, str] | None = None) -> Result:
    """``fewshot --home <home> <args...>``; asserts exit code 0 unless ``ok=False``."""
    result = runner.invoke(app, ["--home", str(home), *map(str, args)], catch_exceptions=False, env=env)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@contextmanager
def registered(registry: Registry[Any], name: str, obj: Any) -> Iterator[Any]:
    """``obj`` registered as ``name`` in ``registry`` for the duration of the block."""
    registry.register(name, obj)
    try:
        yield obj
    finally:
        registry.unregister(name)
