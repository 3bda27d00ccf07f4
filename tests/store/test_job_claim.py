"""Jobs are claimed by exactly one worker: concurrent claimers split the queue, a starting worker
never takes a job another live worker is running, and a job whose worker died runs again (every
test here runs on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import Counter

import pytest
from sqlalchemy import update

from fewshot import Workspace
from fewshot.service.jobs import JobRunner
from fewshot.store import jobs as job_rows
from fewshot.store.models import Job


@pytest.fixture
def two(database_url, tmp_path):
    """Two workspaces (two engines, as two processes would have) over one database."""
    a = Workspace.open(tmp_path / "a", database_url=database_url)
    b = Workspace.open(tmp_path / "b", database_url=database_url)
    yield a, b
    a.close()
    b.close()


def _create(ws, n: int, kind: str = "count") -> list[str]:
    ids = []
    with ws.ctx.session() as s:
        for i in range(n):
            ids.append(
                job_rows.create_job(
                    s, job_id=f"{i:04d}{uuid.uuid4().hex[:8]}", kind=kind, pool_id=None, params={"i": i}
                )["id"]
            )
    return ids


def test_two_claimers_split_the_queue(two):
    a, b = two
    ids = _create(a, 40)
    claimed: dict[str, list[str]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def claimer(name: str, ws) -> None:
        start.wait()
        while True:
            with ws.ctx.session() as s:
                got = job_rows.claim_next(s)
            if got is None:
                return
            claimed[name].append(got[0])

    threads = [threading.Thread(target=claimer, args=(n, w)) for n, w in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    both = claimed["a"] + claimed["b"]
    assert Counter(both) == Counter(ids)  # every job claimed, none twice
    with a.ctx.session() as s:
        assert {job_rows.get_job(s, i)["status"] for i in ids} == {"running"}
        assert job_rows.claim_next(s) is None and job_rows.count_pending(s) == 0


def test_claim_order_and_a_claimed_job_is_not_claimed_again(two):
    a, b = two
    ids = _create(a, 3)
    with a.ctx.session() as s:
        first = job_rows.claim_next(s)
    assert first is not None and first[0] == ids[0] and first[1] == "count" and first[2] == {"i": 0}
    with b.ctx.session() as s:
        assert job_rows.claim_job(s, ids[0]) is None  # already running
        second = job_rows.claim_next(s)
    assert second is not None and second[0] == ids[1]


def test_requeue_stale_leaves_live_jobs_alone(two):
    a, b = two
    live, dead, waiting = _create(a, 3)
    with a.ctx.session() as s:
        job_rows.claim_job(s, live)
        job_rows.claim_job(s, dead)
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)
    with a.ctx.session() as s:  # the worker running `dead` stopped beating ten minutes ago
        s.execute(update(Job).where(Job.id == dead).values(updated_at=old))
    with b.ctx.session() as s:
        assert job_rows.requeue_stale(s, older_than=dt.timedelta(seconds=60)) == [dead]
    with b.ctx.session() as s:
        status = {i: job_rows.get_job(s, i)["status"] for i in (live, dead, waiting)}
    assert status == {live: "running", dead: "pending", waiting: "pending"}
    with a.ctx.session() as s:  # the heartbeat keeps a live job out of the sweep
        s.execute(update(Job).where(Job.id == live).values(updated_at=old))
        job_rows.touch_job(s, live)
    with b.ctx.session() as s:
        assert job_rows.requeue_stale(s, older_than=dt.timedelta(seconds=60)) == []


def _counting_kind(runs: Counter, lock: threading.Lock, seconds: float):
    def run(params, progress):
        with lock:
            runs[params["i"]] += 1
        time.sleep(seconds)
        progress(1, 1)
        return {"i": params["i"]}

    return run


def test_two_runners_run_every_job_once(two):
    a, b = two
    runs: Counter = Counter()
    lock = threading.Lock()
    for ws in two:
        ws.job_kinds.register("count", _counting_kind(runs, lock, 0.02))
    ra = JobRunner(a.ctx, a.job_kinds, poll_interval=0.02, lease=5)
    rb = JobRunner(b.ctx, b.job_kinds, poll_interval=0.02, lease=5)
    ra.start()
    rb.start()
    try:
        jobs = [(ra if i % 2 else rb).submit("count", {"i": i}) for i in range(16)]
        done = [ra.wait(j["id"], timeout=60) for j in jobs]
    finally:
        ra.stop()
        rb.stop()
    assert [d["status"] for d in done] == ["succeeded"] * 16
    assert runs == Counter(range(16))
    assert ra.executed + rb.executed == 16


def test_a_starting_runner_does_not_steal_a_running_job(two):
    """The old start-up requeued every running job: a second replica ran the first one's job again."""
    a, b = two
    runs: Counter = Counter()
    lock = threading.Lock()
    for ws in two:
        ws.job_kinds.register("count", _counting_kind(runs, lock, 1.5))
    ra = JobRunner(a.ctx, a.job_kinds, poll_interval=0.02, lease=0.6)
    ra.start()
    rb = JobRunner(b.ctx, b.job_kinds, poll_interval=0.02, lease=0.6)
    try:
        job = ra.submit("count", {"i": 7})
        deadline = time.monotonic() + 10
        while ra.get(job["id"])["status"] != "running" and time.monotonic() < deadline:
            time.sleep(0.01)
        rb.start()  # sweeps for stale jobs at start and every lease / 2 while the job runs
        done = rb.wait(job["id"], timeout=30)
    finally:
        ra.stop()
        rb.stop()
    assert done["status"] == "succeeded"
    assert runs == Counter({7: 1}) and (ra.executed, rb.executed) == (1, 0)


def test_a_job_whose_worker_died_runs_again(two):
    a, b = two
    runs: Counter = Counter()
    lock = threading.Lock()
    b.job_kinds.register("count", _counting_kind(runs, lock, 0.0))
    (job_id,) = _create(a, 1)
    with a.ctx.session() as s:  # claimed by a worker that then died without a heartbeat
        job_rows.claim_job(s, job_id)
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(updated_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5))
        )
    rb = JobRunner(b.ctx, b.job_kinds, poll_interval=0.02, lease=1.0)
    rb.start()
    try:
        done = rb.wait(job_id, timeout=30)
    finally:
        rb.stop()
    assert done["status"] == "succeeded" and done["result"] == {"i": 0}
    assert runs == Counter({0: 1})
