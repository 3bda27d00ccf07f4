"""Ingest beside serving: a long file import while 8 clients build prompts on the same database.

Usage: python benchmarks/bench_ingest_serving.py [--rows 600000] [--clients 8]
           [--database-url postgresql://...] [--http] [--busy-timeout 30]

Ingests ``--rows`` rows (real SST-5 texts cycled with a suffix, or synthetic ones when the shared
data is absent) into a new pool with `Workspace.ingest` (what ``fewshot ingest`` runs) in this
process, while ``--clients`` threads build prompts over another, indexed pool of the same
database: in-process with ``ws.build_prompt`` (default), or with ``--http`` through
``POST /v1/prompts`` on a live ``fewshot serve`` over the same database. Every prompt writes a
prompt log, so the clients are writers too. Prints the ingest time and, for the requests made
during the ingest, their number, errors and p50/p99 latency. ``--database-url`` defaults to a
SQLite file in a temporary home; on a shared PostgreSQL the benchmark's pools are deleted at the
end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from _live_server import free_port, start_server

REPO = Path(__file__).resolve().parents[1]


def _base_rows() -> list[dict[str, str]]:
    src = REPO.parent / "shared" / "data" / "sst5" / "train.jsonl"
    if not src.exists():
        src = REPO / "tests" / "data" / "sst5" / "train.jsonl"
    if src.exists():
        rows = [json.loads(line) for line in open(src, encoding="utf-8")]
        return [{"text": r["text"], "label": r.get("label_text") or str(r.get("label"))} for r in rows]
    return [{"text": f"sample sentence number {i}", "label": "pos" if i % 2 else "neg"} for i in range(2000)]


def _pct(xs: list[float], q: float) -> float:
    return 1000 * xs[int(q * (len(xs) - 1))] if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=600_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--http", action="store_true", help="clients call a live `fewshot serve` over HTTP")
    ap.add_argument("--busy-timeout", type=float, default=None, help="SQLite busy timeout, seconds")
    ap.add_argument(
        "--baseline",
        action="store_true",
        help="the old behaviour for comparison (library mode): the whole file in one transaction "
        "and each prompt log written synchronously in the request",
    )
    args = ap.parse_args()
    if args.busy_timeout is not None:
        os.environ["FEWSHOT_SQLITE_BUSY_TIMEOUT"] = str(args.busy_timeout)

    from fewshot import Workspace

    base = _base_rows()
    tag = uuid.uuid4().hex[:8]
    served, bulk = f"bench-served-{tag}", f"bench-bulk-{tag}"
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        url = args.database_url or f"sqlite:///{home / 'fewshot.db'}"
        ws = Workspace.open(home, database_url=url)
        served_file = home / "served.jsonl"
        with open(served_file, "w", encoding="utf-8") as fh:
            for i, r in enumerate(base[:300]):
                fh.write(json.dumps({"id": f"s{i}", "text": r["text"], "label": r["label"]}) + "\n")
        ws.ingest(served, served_file, label_field="label")
        ws.build_index(served)
        data = home / "bulk.jsonl"
        with open(data, "w", encoding="utf-8") as fh:
            for i in range(args.rows):
                r = base[i % len(base)]
                fh.write(json.dumps({"id": f"x{i}", "text": f"{r['text']} #{i}", "label": r["label"]}) + "\n")
        queries = [r["text"] for r in base[300:400]] or ["a query"]
        server = None
        try:
            if args.http:
                import httpx

                key, _ = ws.keys.create(f"bench-{tag}")
                port = free_port()
                env = {**os.environ, "FEWSHOT_HOME": str(home), "FEWSHOT_DATABASE_URL": url}
                server = start_server(port, env, timeout=120)

                def make_call() -> Callable[[str], None]:
                    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=120)

                    def call(q: str) -> None:
                        r = client.post("/v1/prompts", json={"pool": served, "query": q, "k": 4})
                        if r.status_code != 200:
                            raise RuntimeError(f"{r.status_code}: {r.text[:200]}")

                    return call
            else:

                def make_call() -> Callable[[str], None]:
                    def call(q: str) -> None:
                        if not args.baseline:
                            ws.build_prompt(served, q, k=4)
                            return
                        from fewshot.store import prompt_logs

                        prompt, prompt_id = ws.build_prompt(served, q, k=4, log=False)
                        with ws.session() as s:  # the old synchronous log write
                            prompt_logs.add_log(
                                s,
                                id=prompt_id,
                                pool_id=ws.get_pool(served).id,
                                query_hash=prompt.query_hash,
                                query=q,
                                retriever="dense",
                                template="classification",
                                demo_ids=[d.id for d in prompt.demos],
                                scores=[d.score for d in prompt.demos],
                                n_tokens=prompt.n_tokens,
                                params={},
                            )

                    return call

            make_call()(queries[0])  # warm-up: model and index loaded
            latencies: list[float] = []
            errors: list[str] = []
            done = threading.Event()

            def client(n: int) -> None:
                call = make_call()
                i = n
                while not done.is_set():
                    t = time.perf_counter()
                    try:
                        call(queries[i % len(queries)])
                        latencies.append(time.perf_counter() - t)
                    except Exception as exc:  # noqa: BLE001 - counted
                        errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    i += args.clients

            threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(args.clients)]
            for t in threads:
                t.start()
            start = time.perf_counter()
            try:
                if args.baseline:  # the old path: one transaction for the whole file
                    from fewshot.io import FieldMapping
                    from fewshot.service.ingest import ingest_file
                    from fewshot.store import pools as pool_rows

                    with ws.session() as s:
                        pool = pool_rows.create_pool(s, name=bulk, embedding_model=ws.settings.embedding_model)
                        report = ingest_file(s, pool, data, mapping=FieldMapping(label_field="label"))
                else:
                    report = ws.ingest(bulk, data, label_field="label")
            finally:
                ingest_s = time.perf_counter() - start
                done.set()
                for t in threads:
                    t.join()
            lat = sorted(latencies)
            backend = "postgresql" if url.startswith("postgres") else "sqlite"
            mode = ("http" if args.http else "library") + (" baseline" if args.baseline else "")
            print(
                f"{backend} {mode}: ingest {args.rows} rows "
                f"(added {report.added}) in {ingest_s:.1f}s; during it {args.clients} clients made "
                f"{len(lat) + len(errors)} requests, {len(errors)} errors, "
                f"p50 {_pct(lat, 0.5):.1f} ms, p99 {_pct(lat, 0.99):.1f} ms"
                + (f", mean {1000 * statistics.fmean(lat):.1f} ms" if lat else "")
            )
            if not args.http:
                ws.ctx.flush_prompt_logs()
                print(f"prompt logs: {ws.ctx.prompt_log_stats()}")
            for e in errors[:5]:
                print("  error:", e)
        finally:
            if server is not None:
                server.terminate()
                server.wait(10)
            for name in (bulk, served):
                try:
                    ws.delete_pool(name)
                except Exception:  # noqa: BLE001 - best-effort cleanup
                    pass
            ws.close()


if __name__ == "__main__":
    main()
