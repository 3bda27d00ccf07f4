"""REST API latency and throughput: POST /v1/prompts over a labeled pool of 100,000 items.

Usage: python benchmarks/bench_api.py [--n 100000] [--requests 2000] [--concurrency 16]

Builds a pool of n labeled items (real SST-5 texts cycled with a suffix; their vectors are
random unit vectors written straight into the vector shards, so set-up does not spend minutes
embedding: retrieval cost depends on n and dim, not on what the vectors mean), indexes it, starts
`fewshot serve` (uvicorn, 1 worker) on 127.0.0.1 and sends a bounded number of requests from
`--concurrency` clients. Every request embeds its query with the real model. The baseline in the
same run is the same `build_prompt` call made in-process (no HTTP), so the ratio is the cost of
the service layer around the library.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from _live_server import free_port, start_server

REPO = Path(__file__).resolve().parents[1]


def build_pool(home: Path, n: int) -> tuple[str, list[str]]:
    import numpy as np

    from fewshot import Workspace
    from fewshot.hashing import content_hash

    src = REPO.parent / "shared" / "data" / "sst5" / "train.jsonl"
    if src.exists():
        base = [json.loads(line) for line in open(src, encoding="utf-8")]
    else:
        base = [{"text": f"sample sentence {i}", "label_text": "okay"} for i in range(1000)]
    data = home / "pool.jsonl"
    with open(data, "w", encoding="utf-8") as fh:
        for i in range(n):
            r = base[i % len(base)]
            fh.write(json.dumps({"id": f"x{i}", "text": f"{r['text']} #{i}", "label": r["label_text"]}) + "\n")
    ws = Workspace.open(home)
    t = time.perf_counter()
    ws.ingest("big", data, label_field="label")
    print(f"ingest {n} items: {time.perf_counter() - t:.1f}s")
    store = ws.embeddings.store("big")
    rng = np.random.default_rng(0)
    texts = [e.text for e in ws.iter_examples("big")]
    for i in range(0, n, 50_000):
        part = texts[i : i + 50_000]
        store.add([content_hash(x) for x in part], rng.standard_normal((len(part), 384)).astype(np.float32))
    t = time.perf_counter()
    ws.build_index("big")
    print(f"index {n} items: {time.perf_counter() - t:.1f}s")
    key, _ = ws.keys.create("bench")
    queries = [json.loads(line)["text"] for line in open(REPO / "fewshot" / "data" / "sst5_queries.jsonl")]
    body = {"k": 8, "max_tokens": 512}
    t_lib = []
    for q in queries * 4:
        t = time.perf_counter()
        ws.build_prompt("big", q, **body)
        t_lib.append(time.perf_counter() - t)
    ws.close()
    lib = sorted(t_lib[len(queries) :])  # after warm-up
    print(
        f"library build_prompt (in-process)    p50 {1000 * statistics.median(lib):6.1f} ms   "
        f"p99 {1000 * lib[int(0.99 * (len(lib) - 1))]:6.1f} ms"
    )
    return key, queries, statistics.median(lib)


async def load(url: str, key: str, queries: list[str], total: int, concurrency: int) -> tuple[list[float], int, float]:
    import httpx

    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in counter:
            body = {"pool": "big", "query": queries[i % len(queries)], "k": 8, "max_tokens": 512}
            t = time.perf_counter()
            try:
                r = await client.post("/v1/prompts", json=body)
                ok = r.status_code == 200 and len(r.json()["demos"]) == 8
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - t)
            errors += not ok

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=30, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return latencies, errors, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        key, queries, lib_p50 = build_pool(home, args.n)
        port = free_port()
        env = {**os.environ, "FEWSHOT_HOME": str(home)}
        server = start_server(port, env)
        try:
            url = f"http://127.0.0.1:{port}"
            asyncio.run(load(url, key, queries, 50, 1))  # warm-up: loads the model and the index
            lat1, err1, wall1 = asyncio.run(load(url, key, queries, 300, 1))
            lat, err, wall = asyncio.run(load(url, key, queries, args.requests, args.concurrency))
        finally:
            server.terminate()
            server.wait(10)
    lat1.sort()
    lat.sort()
    p = lambda xs, q: 1000 * xs[int(q * (len(xs) - 1))]  # noqa: E731
    print(
        f"HTTP, 1 client       : p50 {p(lat1, 0.5):6.1f} ms   p99 {p(lat1, 0.99):6.1f} ms   "
        f"{len(lat1) / wall1:6.1f} req/s   errors {err1}   (targets: p50 < 15 ms, p99 < 50 ms)"
    )
    print(
        f"HTTP, {args.concurrency} clients     : p50 {p(lat, 0.5):6.1f} ms   p99 {p(lat, 0.99):6.1f} ms   "
        f"{len(lat) / wall:6.1f} req/s   errors {err}   (target: >= 100 req/s, 0 errors)"
    )
    print(f"ratio HTTP p50 (1 client) / library p50: {p(lat1, 0.5) / (1000 * lib_p50):.2f}")


if __name__ == "__main__":
    main()
