"""A real uvicorn server on loopback, per test, over a fresh workspace (SQLite and PostgreSQL)."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from fewshot.api import create_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
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


@pytest.fixture
def server(ws):
    app = create_app(workspace=ws)
    with LiveServer(app, _free_port()) as live:
        live.ws = ws
        yield live


@pytest.fixture
def api_key(ws):
    secret, _ = ws.keys.create("test")
    return secret


@pytest.fixture
def client(server, api_key):
    with httpx.Client(base_url=server.url + "/v1", headers={"Authorization": f"Bearer {api_key}"},
                      timeout=60) as c:
        yield c


@pytest.fixture
def anon(server):
    with httpx.Client(base_url=server.url + "/v1", timeout=60) as c:
        yield c


@pytest.fixture
def live_server():
    """Start another real server: ``with live_server(app) as live: ...``."""
    return lambda app: LiveServer(app, _free_port())
