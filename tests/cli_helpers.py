"""Running `fewshot` commands in-process in tests."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from fewshot.cli import app

runner = CliRunner()


def run(home, *args, ok: bool = True) -> Result:
    """``fewshot --home <home> <args...>``; asserts exit code 0 unless ``ok=False``."""
    result = runner.invoke(app, ["--home", str(home), *map(str, args)], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result
