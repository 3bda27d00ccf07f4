"""Fixtures of the console tests: one world for the session (see `console_world`); tests that
change it (label imports) leave what other tests read intact or compute expectations at test time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from console_world import ConsoleWorld, build_world

from fewshot import Workspace


@pytest.fixture(scope="session")
def world(tmp_path_factory, embedder) -> Iterator[ConsoleWorld]:
    tmp = tmp_path_factory.mktemp("console")
    ws = Workspace.open(tmp / "home", database_url=f"sqlite:///{tmp / 'fewshot.db'}")
    ws.use_embedder(embedder)
    yield build_world(ws, tmp)
    ws.close()
