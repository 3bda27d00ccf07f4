"""Serving speed of POST /v1/prompts against the bare in-process kernel, measured in one run.

Usage:
    python benchmarks/bench_api.py                       # SQLite and PostgreSQL, 2k and 100k items, 1 and 16 clients
    python benchmarks/bench_api.py --stores sqlite --items 100000 --clients 1,16 --seconds 30 --workers 1,2
    python benchmarks/bench_api.py --stores sqlite --items 1000000 --index hnsw --clients 1,16   # 1M, approximate
    python benchmarks/bench_api.py --stores sqlite --items 1000000 --index ivf --vectors structured --clients 1,16
    python benchmarks/bench_api.py --stores sqlite --items 100000 --clients 16 --soak 600         # memory over 10 min

For each store x pool size it builds a pool of labeled items (real SST-5 training texts, cycled
with a suffix; their vectors are random unit vectors written straight into the vector shards, so
set-up does not spend minutes embedding: search cost depends on the count and the dimension, not
on what the vectors mean), indexes it, and measures

With ``--vectors structured`` the vectors are real MiniLM embeddings instead, so that an approximate
index's recall means something: ~40k distinct training texts of SST-5, TREC, GSM8K, MATH, RTE and
MRPC embedded once with fewshot's default encoder (cached in ``benchmarks/out/``), row i being
``base[i % m] + SIGMA * N(0, I)`` renormalised (see `structured_vectors`). With an approximate
index (hnsw, ivf) the bench prints its recall@8 against exact search over the same vectors for the
SST-5 test queries, and for ivf recall@8 and the per-query search time at several nprobe values
(``--nprobe``) against the exact scan's time, and the IVF training + adding time on its own.

* the **kernel**: what a prompt needs and nothing else, in this process: embed the query with the
  same model and runtime the server uses (ONNX Runtime when installed; the PyTorch kernel is
  printed too), FAISS search, fill the template. No HTTP, no auth, no database, no log. Its
  throughput is measured one query at a time on one thread (``kernel 1 core``) and with two
  threads (``kernel 2 cores``: the most this 2-core machine can do without batching);
* the **service**: `fewshot serve` (uvicorn, ``--workers``) on 127.0.0.1 with ``--clients``
  concurrent HTTP clients on the same machine, for ``--seconds`` each: requests/s, latency
  percentiles, the server's CPU time per request and its resident memory (all worker processes).

Queries are distinct SST-5 test sentences (no query is repeated within a run, so no cache helps).
Every request is checked (200 with k demonstrations), and after the server stops the prompt log
must hold one row per answered request. The last lines give the memory bound (server RSS against
vectors + index + model) and, with --soak, the RSS slope.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from _live_server import free_port

if TYPE_CHECKING:
    import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "sst5"
DIM = 384
K = 8
BODY = {"k": K, "max_tokens": 512}


# ----------------------------------------------------------------------------- data
def _rows(name: str) -> list[dict]:
    path = SHARED / f"{name}.jsonl"
    if not path.exists():
        path = REPO / "tests" / "data" / "sst5" / f"{name}.jsonl"
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def queries() -> list[str]:
    """Distinct query sentences (SST-5 test, then validation)."""
    seen: dict[str, None] = {}
    for split in ("test", "validation", "dev"):
        try:
            for r in _rows(split):
                seen.setdefault(r["text"], None)
        except FileNotFoundError:
            continue
    return list(seen)


#: Real training texts embedded once for ``--vectors structured`` (dataset, fields joined by a space).
STRUCTURED_SOURCES = (
    ("sst5", ("text",)),
    ("trec", ("text",)),
    ("gsm8k", ("question",)),
    ("math", ("problem",)),
    ("rte", ("premise",)),
    ("rte", ("hypothesis",)),
    ("mrpc", ("sentence1",)),
    ("mrpc", ("sentence2",)),
)
#: Per-coordinate standard deviation of the Gaussian noise added to each copy of a base vector
#: (``--vectors structured``); see `structured_vectors` for how it was chosen.
SIGMA = 0.05
BASE_CACHE = REPO / "benchmarks" / "out" / "bench_api_base_vectors.npy"


def base_vectors() -> np.ndarray:
    """Unit MiniLM vectors (m, 384) float32 of the distinct training texts of `STRUCTURED_SOURCES`,
    embedded with fewshot's default (offline) encoder; cached in ``benchmarks/out/``."""
    import numpy as np

    if BASE_CACHE.exists():
        return np.load(BASE_CACHE)
    from fewshot.embed import SentenceEncoder

    seen: dict[str, None] = {}
    for name, fields in STRUCTURED_SOURCES:
        with open(SHARED.parent / name / "train.jsonl", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                text = " ".join(str(r[f]) for f in fields).strip()
                if text:
                    seen.setdefault(text, None)
    texts = list(seen)
    t = time.perf_counter()
    vectors = SentenceEncoder.from_pretrained().encode(texts).astype(np.float32)
    print(f"embedded {len(texts):,} base texts in {time.perf_counter() - t:.0f} s (cached in {BASE_CACHE})")
    BASE_CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.save(BASE_CACHE, vectors)
    return vectors


def structured_vectors(base: np.ndarray, start: int, stop: int, sigma: float = SIGMA) -> np.ndarray:
    """Rows ``start..stop`` of the structured pool: ``base[i % m] + sigma * N(0, I)``, renormalised
    (float32, unit rows). Row i's noise is seeded by i's block of 50,000, so a row is the same
    whatever range it is written in.

    ``sigma = 0.05``: noise of norm ~0.98 against unit vectors, so a copy keeps a cosine ~0.71 with
    its base and ~0.51 with another copy of it, while an SST-5 test query's nearest base text has a
    median cosine of 0.59 and its 8th nearest 0.08 less. Measured on the 41,227 base texts at 1M
    rows (~24 copies each) for 200 SST-5 test queries, the exact top 8 hold copies of 3.75 distinct
    base texts on average (median 4; a single base in 12% of queries), against 1.00 with no noise,
    2.56 at sigma 0.03 (28% single-base) and 3.16 at 0.04: nearest neighbours are not just the
    copies of one text, and the ranking still follows the texts' similarity. The bench prints the
    same figure for its own pool (``distinct base texts``)."""
    import numpy as np

    out = np.empty((stop - start, base.shape[1]), dtype=np.float32)
    block = 50_000
    for b in range(start // block * block, stop, block):
        rng = np.random.default_rng([1, b // block])
        rows = np.arange(b, b + block)
        noise = rng.standard_normal((block, base.shape[1]), dtype=np.float32)
        lo, hi = max(start, b), min(stop, b + block)
        v = base[rows[lo - b : hi - b] % base.shape[0]] + sigma * noise[lo - b : hi - b]
        out[lo - start : hi - start] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def postgres_database(name: str) -> str:
    """A fresh PostgreSQL database ``name`` (dropped first); its URL."""
    import sqlalchemy as sa

    base = os.environ.get("FEWSHOT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.rsplit("/", 1)[0] + f"/{name}"


def build_pool(home: Path, n: int, db_url: str | None, index_kind: str, vectors: str = "random") -> dict:
    """Ingest ``n`` labeled items, write random (or ``"structured"``) vectors for them, build the index; a key."""
    import numpy as np

    from fewshot import Settings, Workspace
    from fewshot.hashing import content_hash

    base = _rows("train")
    data = home / "pool.jsonl"
    with open(data, "w", encoding="utf-8") as fh:
        for i in range(n):
            r = base[i % len(base)]
            fh.write(json.dumps({"id": f"x{i}", "text": f"{r['text']} #{i}", "label": r["label_text"]}) + "\n")
    ws = Workspace(Settings(home=home, database_url=db_url))
    out: dict = {}
    t = time.perf_counter()
    ws.ingest("big", data, label_field="label")
    out["ingest_s"] = time.perf_counter() - t
    store = ws.embeddings.store("big")
    rng = np.random.default_rng(0)
    texts = [e.text for e in ws.iter_examples("big")]
    base = base_vectors() if vectors == "structured" else None
    for i in range(0, n, 50_000):
        part = texts[i : i + 50_000]
        if base is not None:
            store.add([content_hash(x) for x in part], structured_vectors(base, i, i + len(part)))
            continue
        v = rng.standard_normal((len(part), DIM)).astype(np.float32)
        store.add([content_hash(x) for x in part], v / np.linalg.norm(v, axis=1, keepdims=True))
    t = time.perf_counter()
    ws.build_index("big", kind=index_kind)
    out["index_s"] = time.perf_counter() - t
    out["key"], _ = ws.keys.create("bench")
    ws.close()
    data.unlink()
    return out


# ----------------------------------------------------------------------------- kernel
def kernel(home: Path, db_url: str | None, qs: list[str], seconds: float, *, half_scan: bool = False) -> dict:
    """The bare kernel's figures: per-query time and throughput on 1 and 2 threads, with the
    server's query encoder, and (FAISS flat only) the PyTorch kernel's per-query time for reference.

    ``half_scan`` False: the issue's kernel, FAISS's float32 flat scan. True: the same kernel with
    the served index's float16-candidate scan (`DenseIndex.enable_half_scan`, same results)."""
    from fewshot import Settings, Workspace
    from fewshot.embed import SentenceEncoder
    from fewshot.prompt import PromptBuilder, get_token_counter

    ws = Workspace(Settings(home=home, database_url=db_url, half_scan=half_scan))
    loaded = ws.indexes.loaded_dense("big")
    retriever, template = loaded.retriever, ws.prompts.template("big")
    encoder = ws.ctx.query_encoder(ws.pools.get("big").embedding_model)
    builder = PromptBuilder(template, get_token_counter("approx"), max_tokens=512, k=K)

    def one(q: str, enc=encoder) -> None:
        builder.build(q, retriever.retrieve(enc.encode([q]), K)[0])

    for q in qs[:20]:
        one(q)

    def run(n_threads: int, enc=encoder) -> tuple[float, list[float]]:
        stop = time.perf_counter() + seconds
        lat: list[float] = []
        counter = iter(range(10**9))

        def loop() -> None:
            while time.perf_counter() < stop:
                q = qs[next(counter) % len(qs)]
                t = time.perf_counter()
                one(q, enc)
                lat.append(time.perf_counter() - t)

        threads = [threading.Thread(target=loop) for _ in range(n_threads)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return len(lat) / (time.perf_counter() - t0), lat

    cpu0 = time.process_time()
    rps1, lat1 = run(1)
    cpu_ms = 1000 * (time.process_time() - cpu0) / len(lat1)
    rps2, _ = run(2)
    out = {
        "encoder": type(encoder).__name__,
        "p50_ms": 1000 * statistics.median(lat1),
        "cpu_ms": cpu_ms,
        "rps1": rps1,
        "rps2": rps2,
    }
    if not half_scan:
        torch_enc = SentenceEncoder(
            ws.ctx.embedder(ws.pools.get("big").embedding_model).model, name="torch", n_threads=1
        )
        rps_torch, lat_torch = run(1, torch_enc)
        out.update(torch_p50_ms=1000 * statistics.median(lat_torch), torch_rps1=rps_torch)
    ws.close()
    return out


# ----------------------------------------------------------------------------- server
def _tree(pid: int) -> list[int]:
    out = [pid]
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    except OSError:
        kids = []
    for k in kids:
        out += _tree(int(k))
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, MB."""
    total = 0
    for p in _tree(pid):
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its children."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in _tree(pid):
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError):
            pass
    return total


def start_server(port: int, env: dict, workers: int) -> subprocess.Popen:
    import httpx

    cmd = [sys.executable, "-m", "fewshot.cli", "serve", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen([*cmd, "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and server.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/ready").status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit("server did not start")


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0
    cpu: float = 0.0


async def load(url: str, key: str, qs: list[str], start: int, seconds: float, clients: int, pid: int) -> Load:
    import httpx

    out = Load()
    counter = iter(range(start, 10**9))
    stop = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < stop:
            body = {"pool": "big", "query": qs[next(counter) % len(qs)], **BODY}
            t = time.perf_counter()
            try:
                r = await client.post("/v1/prompts", json=body)
                ok = r.status_code == 200 and len(r.json()["demos"]) >= 1  # fewer than k when the budget is met
            except httpx.HTTPError:
                ok = False
            out.latencies.append(time.perf_counter() - t)
            out.errors += not ok

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=60, limits=limits) as client:
        cpu0, t0 = cpu_s(pid), time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        out.wall, out.cpu = time.perf_counter() - t0, cpu_s(pid) - cpu0
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return 1000 * xs[min(len(xs) - 1, int(q * (len(xs) - 1)))]


def footprint_mb(home: Path) -> float:
    """Vectors + index files + embedding model (+ its ONNX export), MB."""
    from fewshot.embed import bundled_model_path

    size = sum(p.stat().st_size for p in (home / "indexes").rglob("*") if p.is_file())
    size += sum(p.stat().st_size for p in (home / "vectors").rglob("*") if p.is_file())
    size += sum(p.stat().st_size for p in bundled_model_path().rglob("*.safetensors"))
    return size / 2**20


def prompt_log_rows(home: Path, db_url: str | None) -> int:
    from fewshot import Settings, Workspace

    ws = Workspace(Settings(home=home, database_url=db_url))
    try:
        return ws.prompts.count_logs("big")
    finally:
        ws.close()


def _recall(ids, exact, got) -> float:
    """recall@k of ``got`` (m, k) ids against ``exact`` (m, k) rows into ``ids``."""
    hits = sum(len(set(ids[e].tolist()) & set(g.tolist())) for e, g in zip(exact, got))
    return hits / (len(exact) * exact.shape[1])


def recall_at_k(
    home: Path,
    db_url: str | None,
    qs: list[str],
    n_queries: int = 200,
    *,
    nprobes: list[int] | None = None,
    structured: bool = False,
) -> float:
    """recall@k of the pool's (approximate: hnsw or ivf) index against exact search over the same vectors.

    ``nprobes`` (an ivf index): also print recall@k and the median per-query search time (one query
    at a time, one thread) at each nprobe, the exact scan's time, the distinct base texts among the
    exact top k (structured vectors: item i copies base i % m), and the time to train and fill an
    IVF index over the same vectors in this process."""
    import faiss
    import numpy as np

    from fewshot import Settings, Workspace
    from fewshot.retrieve import DenseIndex

    ws = Workspace(Settings(home=home, database_url=db_url))
    r = ws.indexes.loaded_dense("big").retriever
    ids = r.index.ids
    vectors = r.index.reconstruct(ids)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    Q = r.query_encoder.encode(qs[:n_queries])
    _, exact = flat.search(Q, K)
    got = r.index.search(Q, K).ids
    if nprobes:
        index = r.index
        item = np.array([int(t.rsplit("#", 1)[1]) for t in r.corpus.texts_at(ids[exact.ravel()])])
        if structured:
            m = np.load(BASE_CACHE, mmap_mode="r").shape[0]
            distinct = np.mean([len(set(row)) for row in (item % m).reshape(exact.shape).tolist()])
            print(f"  exact top {K}: {distinct:.2f} distinct base texts on average (structured vectors, m={m:,})")
        per_query = _per_query_ms(flat, Q)
        print(f"  exact flat scan: {per_query:.2f} ms/query (1 thread)")
        kept = index.ivf_params["nprobe"]
        for p in nprobes:
            index.set_nprobe(p)
            rec = _recall(ids, exact, index.search(Q, K).ids)
            ms = _per_query_ms(index, Q)
            print(f"  nprobe {p:4d}: recall@{K} {rec:.3f}, {ms:.2f} ms/query ({per_query / ms:.1f}x faster than exact)")
        index.set_nprobe(kept)
        t = time.perf_counter()
        fresh = DenseIndex(vectors.shape[1], kind="ivf")
        fresh.add(ids, vectors)
        print(
            f"  IVF train + add of {len(ids):,} vectors in this process: {time.perf_counter() - t:.1f} s "
            f"({fresh.manifest()['ivf']['nlist']} lists)"
        )
        del fresh
    ws.close()
    return _recall(ids, exact, got)


def _per_query_ms(index, Q) -> float:
    """Median ms of searching one query at a time on one thread (a FAISS index or a DenseIndex)."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    times = []
    try:
        for q in Q:
            t = time.perf_counter()
            index.search(q[None, :], K)
            times.append(time.perf_counter() - t)
    finally:
        faiss.omp_set_num_threads(before)
    return 1000 * statistics.median(times)


# ----------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stores", default="sqlite,postgresql")
    ap.add_argument("--items", default="2000,100000", help="pool sizes (labeled items), comma-separated")
    ap.add_argument("--clients", default="1,16")
    ap.add_argument("--workers", default="1", help="uvicorn worker counts to measure, comma-separated")
    ap.add_argument("--seconds", type=float, default=20.0, help="load per row (and per kernel figure)")
    ap.add_argument("--index", default="auto", help="index kind: auto (flat up to 200k), flat, hnsw or ivf")
    ap.add_argument(
        "--vectors",
        choices=("random", "structured"),
        default="random",
        help="random unit vectors, or MiniLM vectors of real texts plus noise (ANN recall means something)",
    )
    ap.add_argument("--nprobe", default="4,8,16,32,64,128", help="ivf: nprobe values to measure recall and speed at")
    ap.add_argument("--soak", type=float, default=0.0, help="then run 16 clients this many seconds, sampling RSS")
    ap.add_argument(
        "--half-scan",
        choices=("on", "off"),
        default="on",
        help="the server's FEWSHOT_HALF_SCAN (float16 candidates, float32 answers; same results)",
    )
    args = ap.parse_args()
    qs = queries()
    print(f"{len(qs)} distinct queries; k={K}; {os.cpu_count()} cores; client and server on this machine\n")
    rows = []
    for store in args.stores.split(","):
        for n in [int(x) for x in args.items.split(",")]:
            with tempfile.TemporaryDirectory() as tmp:
                home = Path(tmp)
                db_url = postgres_database(f"fewshot_bench_api_{n}") if store == "postgresql" else None
                built = build_pool(home, n, db_url, args.index, args.vectors)
                print(
                    f"[{store} {n:,}] ingest {built['ingest_s']:.1f} s, index ({args.index}) {built['index_s']:.1f} s"
                )
                if args.index in ("hnsw", "ivf"):
                    nprobes = [int(x) for x in args.nprobe.split(",")] if args.index == "ivf" else None
                    rec = recall_at_k(home, db_url, qs, nprobes=nprobes, structured=args.vectors == "structured")
                    print(f"[{store} {n:,}] recall@{K} of the {args.index.upper()} index vs exact: {rec:.3f}")
                kern = kernel(home, db_url, qs, args.seconds / 2)
                print(
                    f"[{store} {n:,}] kernel ({kern['encoder']}): p50 {kern['p50_ms']:.1f} ms, CPU {kern['cpu_ms']:.1f} ms, "
                    f"{kern['rps1']:.1f}/s on 1 core, {kern['rps2']:.1f}/s on 2; PyTorch kernel p50 "
                    f"{kern['torch_p50_ms']:.1f} ms ({kern['torch_rps1']:.1f}/s on 1 core)"
                )
                half = kernel(home, db_url, qs, args.seconds / 2, half_scan=True)
                print(
                    f"[{store} {n:,}] kernel with the half scan (same results): p50 {half['p50_ms']:.1f} ms, "
                    f"CPU {half['cpu_ms']:.1f} ms, {half['rps1']:.1f}/s on 1 core, {half['rps2']:.1f}/s on 2 "
                    f"({half['rps1'] / kern['rps1']:.2f}x the FAISS flat kernel on 1 core)"
                )
                env = {
                    **os.environ,
                    "FEWSHOT_HOME": str(home),
                    "FEWSHOT_HALF_SCAN": str(args.half_scan == "on").lower(),
                }
                if db_url:
                    env["FEWSHOT_DATABASE_URL"] = db_url
                logged_before = 0
                for workers in [int(x) for x in args.workers.split(",")]:
                    port = free_port()
                    server = start_server(port, env, workers)
                    url = f"http://127.0.0.1:{port}"
                    answered, used = 0, 0
                    try:
                        warm = asyncio.run(load(url, built["key"], qs, 0, 3, 4, server.pid))
                        answered += len(warm.latencies) - warm.errors
                        used = len(warm.latencies)
                        for c in [int(x) for x in args.clients.split(",")]:
                            res = asyncio.run(load(url, built["key"], qs, used, args.seconds, c, server.pid))
                            used += len(res.latencies)
                            answered += len(res.latencies) - res.errors
                            rps = len(res.latencies) / res.wall
                            row = dict(
                                store=store,
                                n=n,
                                workers=workers,
                                clients=c,
                                rps=rps,
                                errors=res.errors,
                                p50=pct(res.latencies, 0.5),
                                p95=pct(res.latencies, 0.95),
                                p99=pct(res.latencies, 0.99),
                                cpu_ms=1000 * res.cpu / max(1, len(res.latencies)),
                                rss=rss_mb(server.pid),
                                k1=rps / kern["rps1"],
                                k2=rps / kern["rps2"],
                                p50k=pct(res.latencies, 0.5) / kern["p50_ms"],
                                cpuk=1000 * res.cpu / max(1, len(res.latencies)) / kern["cpu_ms"],
                            )
                            rows.append(row)
                            print(
                                f"[{store} {n:,}] {workers} worker(s), {c:2d} client(s): {rps:6.1f} req/s  p50 {row['p50']:6.1f}"
                                f"  p95 {row['p95']:6.1f}  p99 {row['p99']:6.1f} ms  cpu {row['cpu_ms']:5.1f} ms/req  "
                                f"RSS {row['rss']:5.0f} MB  errors {res.errors}"
                            )
                        if args.soak and workers == int(args.workers.split(",")[0]):
                            answered += soak(url, built["key"], qs, used, args.soak, server.pid)
                    finally:
                        server.terminate()
                        server.wait(60)
                    logged = prompt_log_rows(home, db_url)
                    print(
                        f"[{store} {n:,}] prompt log rows written by this server, after a clean stop: "
                        f"{logged - logged_before:,} (answered {answered:,})"
                    )
                    logged_before = logged
                print(f"[{store} {n:,}] vectors + index + model on disk: {footprint_mb(home):.0f} MB\n")
    print_table(rows)


def soak(url: str, key: str, qs: list[str], start: int, seconds: float, pid: int) -> int:
    """16 clients for ``seconds``, RSS sampled every 10 s; prints the first and last samples and
    the slope over the second half; returns the number of answered requests."""
    import numpy as np

    samples: list[tuple[float, float]] = []
    t0 = time.perf_counter()
    done = threading.Event()

    def sample() -> None:
        while not done.wait(10):
            samples.append((time.perf_counter() - t0, rss_mb(pid)))

    th = threading.Thread(target=sample)
    th.start()
    res = asyncio.run(load(url, key, qs, start, seconds, 16, pid))
    done.set()
    th.join()
    t, m = np.array(samples).T
    half = t >= t[-1] / 2
    slope = np.polyfit(t[half], m[half], 1)[0] * 60
    print(
        f"soak {seconds:.0f} s, 16 clients: {len(res.latencies) / res.wall:.1f} req/s, errors {res.errors}; RSS "
        f"{m[0]:.0f} MB at {t[0]:.0f} s -> {m[-1]:.0f} MB at {t[-1]:.0f} s; slope over the second half "
        f"{slope:+.2f} MB/min"
    )
    return len(res.latencies) - res.errors


def print_table(rows: list[dict]) -> None:
    print(
        "| store | items | workers | clients | req/s | p50 ms | p95 ms | p99 ms | CPU ms/req | RSS MB | vs kernel 1 core | vs kernel 2 cores | p50 / kernel p50 "
        "| CPU / kernel CPU |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['store']} | {r['n']:,} | {r['workers']} | {r['clients']} | {r['rps']:.1f} | {r['p50']:.1f} | "
            f"{r['p95']:.1f} | {r['p99']:.1f} | {r['cpu_ms']:.1f} | {r['rss']:.0f} | {r['k1']:.2f}x | {r['k2']:.2f}x | "
            f"{r['p50k']:.2f} | {r['cpuk']:.2f} |"
        )


if __name__ == "__main__":
    main()
