"""Two API replicas (separate ``fewshot serve`` processes) over one PostgreSQL database and one data
directory: every job runs exactly once, whichever replica received it, even when both replicas
race for jobs queued before they started, and neither takes a job that another live worker is
running. A selection job that ran twice would leave two rounds."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from api_helpers import wait_for_job
from db_helpers import fresh_database

from fewshot import Workspace
from fewshot.store import jobs as job_rows

pytestmark = pytest.mark.postgres

POOLS = [f"replica-{i}" for i in range(7)]  # the last one's job is held by a "third replica"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fewshot.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return proc, f"http://127.0.0.1:{port}"


def _wait_ready(procs: list[tuple[subprocess.Popen[bytes], str]], timeout: float = 90) -> None:
    deadline = time.time() + timeout
    for proc, url in procs:
        while True:
            try:
                if httpx.get(f"{url}/v1/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.time() < deadline, "replica did not start"
            time.sleep(0.2)


@pytest.fixture
def store(tmp_path, postgres_admin_url, embedder, data_slice) -> Iterator[tuple[Workspace, str, str]]:
    """(workspace, database URL, API key): six embedded pools of 30 SST-5 items."""
    with fresh_database("postgres", tmp_path, postgres_admin_url) as url:
        ws = Workspace.open(tmp_path / "home", database_url=url)
        ws.use_embedder(embedder)
        path = data_slice("sst5", "train", 30)
        for name in POOLS:
            ws.ingest(name, path)
            ws.embed(name)
        secret, _ = ws.keys.create("replicas")
        yield ws, url, secret
        ws.close()


def test_two_replicas_run_each_job_once(store, tmp_path):
    ws, url, key = store
    runner = ws.job_runner()  # queues jobs but is never started: the replicas must run them
    held = runner.submit("select", {"pool": POOLS[6], "budget": 5}, pool_id=ws.get_pool(POOLS[6]).id)
    with ws.ctx.session() as s:  # a live worker elsewhere is running it (fresh heartbeat)
        assert job_rows.claim_next(s) == (held["id"], "select", held["params"])
    queued = [
        runner.submit("select", {"pool": name, "budget": 5, "method": "votek", "k": 5}, pool_id=ws.get_pool(name).id)
        for name in POOLS[:4]
    ]
    env = dict(os.environ, FEWSHOT_HOME=str(tmp_path / "home"), FEWSHOT_DATABASE_URL=url)
    replicas = [_start(env), _start(env)]  # both race for the queued jobs as they come up
    try:
        _wait_ready(replicas)
        clients = [httpx.Client(base_url=u + "/v1", headers={"X-API-Key": key}, timeout=60) for _, u in replicas]
        posted = []
        for i, name in enumerate(POOLS[4:6]):  # one job posted to each replica
            r = clients[i].post(f"/pools/{name}/selections", json={"budget": 5, "method": "votek", "k": 5})
            assert r.status_code == 202, r.text
            posted.append(r.json())
        jobs = [wait_for_job(clients[i % 2], job, timeout=120) for i, job in enumerate(queued + posted)]
        assert [j["status"] for j in jobs] == ["succeeded"] * 6, jobs
        for name, job in zip(POOLS[:6], jobs, strict=True):
            rounds = clients[0].get(f"/pools/{name}/selections").json()
            assert rounds["count"] == 1, (name, rounds)  # ran once: one round, numbered 1
            assert job["result"]["round"] == 1
        held_now = clients[1].get(f"/jobs/{held['id']}").json()
        assert held_now["status"] == "running"  # not stolen: the replicas' start-up sweep left it
        assert clients[1].get(f"/pools/{POOLS[6]}/selections").json()["count"] == 0
        for c in clients:
            c.close()
    finally:
        for proc, _ in replicas:
            proc.terminate()
        for proc, _ in replicas:
            proc.wait(30)
