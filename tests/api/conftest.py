"""One real uvicorn server on loopback per test module and backend (SQLite and PostgreSQL), over a
workspace that lives as long as the module.

Tests of a module share that server and workspace, so each test works on pools of its own names
(pools are not deleted between tests: on SQLite a new pool can reuse a deleted pool's id). A test
that needs another app (a restart, other settings) starts one with ``live_server``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn
from db_helpers import fresh_database

from fewshot import Workspace
from fewshot.api import create_app

BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(request, tmp_path_factory, postgres_admin_url) -> Iterator[str]:
    """A fresh, empty database per module on each backend: a SQLite file, or a new PostgreSQL
    database dropped afterwards (the module's tests run once per backend)."""
    with fresh_database(request.param, tmp_path_factory.mktemp("api-db"), postgres_admin_url) as url:
        yield url


@pytest.fixture(scope="module")
def ws(database_url, tmp_path_factory, embedder) -> Iterator[Workspace]:
    """The module's workspace, sharing the session's loaded embedding model."""
    workspace = Workspace.open(tmp_path_factory.mktemp("api-home"), database_url=database_url)
    workspace.use_embedder(embedder)
    yield workspace
    workspace.close()


@pytest.fixture(scope="module")
def server(ws) -> Iterator[LiveServer]:
    """The module's live server (``server.url``, ``server.ws``)."""
    with LiveServer(create_app(workspace=ws), _free_port()) as live:
        live.ws = ws
        yield live


@pytest.fixture(scope="module")
def api_key(ws) -> str:
    secret, _ = ws.keys.create("test")
    return secret


@pytest.fixture
def client(server, api_key) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=server.url + "/v1", headers=headers, timeout=60) as c:
        yield c


@pytest.fixture
def anon(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/v1", timeout=60) as c:
        yield c


@pytest.fixture
def live_server() -> Callable[..., LiveServer]:
    """Start another real server: ``with live_server(app) as live: ...``."""
    return lambda app: LiveServer(app, _free_port())
