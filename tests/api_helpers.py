"""Helpers for tests against a live API server (one copy for every test folder)."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["wait_for_job"]


def wait_for_job(client: Any, job: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    """Poll ``GET /jobs/{id}`` with ``client`` (an httpx client on ``/v1``) until ``job`` leaves
    pending/running; fails the test after ``timeout`` seconds. Returns the job as last seen."""
    deadline = time.time() + timeout
    while job["status"] in ("pending", "running"):
        assert time.time() < deadline, job
        time.sleep(0.1)
        job = client.get(f"/jobs/{job['id']}").json()
    return job
