"""Time to first render of every web-console page on a 100,000-item pool, and the pool map's payload.

Usage:
    python benchmarks/bench_console.py                      # 100k items, SQLite, browser timings too
    python benchmarks/bench_console.py --items 20000 --no-browser --budget-method random

Set-up: a pool of ``--items`` items (real SST-5/TREC/MRPC/RTE/GSM8K texts from ../shared/data,
cycled with a ``#n`` suffix so each text is distinct) whose vectors are **synthetic**: clustered
Gaussian 384-d unit vectors written straight into the vector shards (embedding 100k texts with
MiniLM would take many minutes on 2 cores; a map, a curve or a page costs the same whatever the
vectors mean). A random round of 1,000 items, 600 of them labeled; a second round of 200 left
selected; the dense index over the labeled items; 300 logged prompts (real MiniLM query vectors).

Then ``fewshot serve`` runs in a subprocess and each page is timed two ways:

* **HTTP**: the page's HTML answer, then the JSON its script fetches (budget curve, map points),
  each a fresh request with the login cookie (median of ``--repeat``; the map JSON cold, i.e. the
  projection computed, then warm from the cache);
* **browser** (headless Chromium, when installed): from navigation until what the user came for is
  drawn (the curve's points, the map's points, the table rows).

Baselines measured in the same run: ``GET /v1/pools/{pool}`` of the REST API (the cheapest call that
touches the pool) for the pages, and the map without downsampling (every point) for the payload.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
REPO = HERE.parent
SHARED = Path(os.environ.get("FEWSHOT_SHARED_DATA", REPO.parent / "shared" / "data"))
DATASETS = [("sst5", "train"), ("trec", "train"), ("mrpc", "train"), ("rte", "train"), ("gsm8k", "train")]


def texts() -> list[tuple[str, str]]:
    """``(text, label)`` pairs of the real datasets available (tests/data slices as a fallback)."""
    out: list[tuple[str, str]] = []
    for name, split in DATASETS:
        path = SHARED / name / f"{split}.jsonl"
        if not path.exists():
            path = REPO / "tests" / "data" / name / f"{split}.jsonl"
        if not path.exists():
            continue
        for line in open(path, encoding="utf-8"):
            r = json.loads(line)
            text = r.get("text") or r.get("question") or r.get("sentence1") or r.get("premise") or r.get("problem")
            if text:
                out.append((str(text), str(r.get("label_text", r.get("label", name)))))
    return out


def build(home: Path, n: int) -> dict:
    import numpy as np
    from bench_votek import synthetic_clusters

    from fewshot import Settings, Workspace
    from fewshot.hashing import content_hash

    base = texts()
    data = home / "pool.jsonl"
    with open(data, "w", encoding="utf-8") as fh:
        for i in range(n):
            t, lab = base[i % len(base)]
            fh.write(json.dumps({"id": f"x{i}", "text": f"{t} #{i}", "gold": lab}) + "\n")
    ws = Workspace(Settings(home=home))
    marks: dict = {}
    t0 = time.perf_counter()
    ws.ingest("big", data)
    marks["ingest_s"] = time.perf_counter() - t0
    X = synthetic_clusters(n, n_clusters=50)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    store = ws.embeddings.store("big")
    rows = [(e.external_id, e.text) for e in ws.iter_examples("big")]
    for i in range(0, n, 50_000):
        part = rows[i : i + 50_000]
        store.add([content_hash(t) for _, t in part], X[i : i + len(part)])
    gold = {f"x{i}": base[i % len(base)][1] for i in range(n)}
    r1 = ws.select("big", budget=1000, method="random")
    ws.apply_labels("big", {it.external_id: gold[it.external_id] for it in r1.items[:600]})
    ws.select("big", budget=200, method="random")
    ws.build_index("big")
    t0 = time.perf_counter()
    for i in range(300):
        ws.build_prompt("big", base[(i * 7919) % len(base)][0], k=8)
    marks["prompts_s"] = time.perf_counter() - t0
    ws.ctx.flush_prompt_logs()
    marks["key"], _ = ws.keys.create("bench")
    marks["rounds"] = [r.number for r in ws.selection.rounds("big")]
    ws.close()
    data.unlink()
    return marks


def median_ms(fn, repeat: int) -> tuple[float, object]:
    times, last = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        last = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), last


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--budget-method", default="votek", help="'none': skip the budget curve (minutes at 100k)")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()

    import httpx
    from _live_server import free_port, start_server

    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        home = Path(tmp)
        t0 = time.perf_counter()
        marks = build(home, args.items)
        print(
            f"pool: {args.items} items (real texts, synthetic vectors), ingest {marks['ingest_s']:.1f} s, "
            f"300 prompts {marks['prompts_s']:.1f} s; set-up {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        port = free_port()
        env = {**os.environ, "FEWSHOT_HOME": str(home)}
        server = start_server(port, env)
        base = f"http://127.0.0.1:{port}"
        try:
            c = httpx.Client(base_url=base, timeout=600)
            page = c.get("/ui/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            assert c.post("/ui/login", data={"key": marks["key"], "csrf_token": token}).status_code in (200, 303)
            api = httpx.Client(base_url=base, timeout=600, headers={"X-API-Key": marks["key"]})
            baseline, _ = median_ms(lambda: api.get("/v1/pools/big").raise_for_status(), args.repeat)
            r1, r2 = marks["rounds"]
            prompt_id = re.search(r"/ui/prompts/([0-9a-f]{32})", c.get("/ui/prompts?pool=big").text).group(1)
            results: list[tuple[str, float]] = []

            def timed(name: str, url: str, repeat: int = args.repeat) -> object:
                ms, resp = median_ms(lambda: c.get(url), repeat)
                assert resp.status_code == 200, (url, resp.status_code, resp.text[:300])
                results.append((name, ms))
                return resp

            map_cold_ms, cold = median_ms(lambda: c.get("/ui/pools/big/map.json"), 1)
            assert cold.status_code == 200, cold.text[:300]
            assert cold.json()["cached"] is False
            for name, url in [
                ("Pools", "/ui/pools"),
                ("Pool overview", "/ui/pools/big"),
                ("Budget (HTML)", "/ui/pools/big/budget"),
                ("Pool map (HTML)", "/ui/pools/big/map"),
                ("Pool map points (JSON, cached)", "/ui/pools/big/map.json"),
                ("Rounds", "/ui/pools/big/rounds"),
                (f"Round {r1} (1,000 items)", f"/ui/pools/big/rounds/{r1}"),
                (f"Round {r2} export (JSONL)", f"/ui/pools/big/rounds/{r2}/export?format=jsonl"),
                ("Prompt provenance search", "/ui/prompts?pool=big"),
                ("Prompt provenance detail", f"/ui/prompts/{prompt_id}"),
                (
                    "Playground (dense vs bm25, k=8)",
                    "/ui/pools/big/playground?query=a+gorgeous+film&retriever2=bm25&k=8",
                ),
            ]:
                timed(name, url)
            budget_ms, budget_note = float("nan"), " (skipped)"
            if args.budget_method != "none":
                budget_ms, budget = median_ms(
                    lambda: c.get(f"/ui/pools/big/budget.json?method={args.budget_method}"), 1
                )
                budget_note = "" if budget.status_code == 200 else f" FAILED {budget.status_code}: {budget.text[:200]}"
            body = cold.content
            everything = c.get(f"/ui/pools/big/map.json?max_points={args.items}").content
            data = json.loads(body)

            print(f"\nHTTP, server side (median of {args.repeat}; baseline GET /v1/pools/big {baseline:.1f} ms)")
            print(f"  {'page':42s} {'ms':>9s} {'x baseline':>11s}")
            for name, ms in results:
                print(f"  {name:42s} {ms:9.1f} {ms / baseline:11.1f}")
            print(
                f"  {'Pool map points (JSON, cold: PCA + cache)':42s} {map_cold_ms:9.1f} {map_cold_ms / baseline:11.1f}"
            )
            print(
                f"  {'Budget curve (JSON, ' + args.budget_method + ')':42s} {budget_ms:9.1f} {budget_ms / baseline:11.1f}{budget_note}"
            )
            print("\nPool map payload")
            print(
                f"  default ({data['shown']} of {data['total']} points drawn, every selected/labeled kept): "
                f"{len(body) / 1e6:.2f} MB JSON, {len(gzip.compress(body)) / 1e6:.2f} MB gzipped"
            )
            print(
                f"  baseline, every point ({args.items}): {len(everything) / 1e6:.2f} MB JSON, "
                f"{len(gzip.compress(everything)) / 1e6:.2f} MB gzipped; ratio {len(everything) / len(body):.1f}x"
            )
            if not args.no_browser:
                browser_times(base, marks["key"], r1, prompt_id, args.budget_method)
        finally:
            server.terminate()
            server.wait(30)


def browser_times(base: str, key: str, round_no: int, prompt_id: str, budget_method: str) -> None:
    """Navigation to 'drawn' in headless Chromium, per page."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        print("\n(browser timings skipped: selenium not installed)")
        return
    if not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()):
        print("\n(browser timings skipped: no /usr/bin/chromium + chromedriver)")
        return
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        d.get(base + "/ui/login")
        d.find_element(By.ID, "key").send_keys(key)
        d.find_element(By.ID, "login").click()
        WebDriverWait(d, 30).until(lambda x: x.current_url.endswith("/ui/pools"))

        def drawn(selector: str, attr: str | None = None):
            def ready(x):
                els = x.find_elements(By.CSS_SELECTOR, selector)
                if not els:
                    return False
                return els[0].get_attribute(attr) or els[0].get_attribute("data-error") if attr else True

            return ready

        pages = [
            ("Pools", "/ui/pools", drawn("article.pool")),
            *(
                [
                    (
                        "Budget (curve drawn)",
                        f"/ui/pools/big/budget?method={budget_method}",
                        drawn("#budget", "data-points"),
                    )
                ]
                if budget_method != "none"
                else []
            ),
            ("Pool map (points drawn)", "/ui/pools/big/map", drawn("#map", "data-points")),
            (f"Round {round_no}", f"/ui/pools/big/rounds/{round_no}", drawn("#round-items tbody tr")),
            ("Prompt provenance search", "/ui/prompts?pool=big", drawn("#prompt-logs tbody tr")),
            ("Prompt provenance detail", f"/ui/prompts/{prompt_id}", drawn("#rendered")),
            (
                "Playground (2 retrievers)",
                "/ui/pools/big/playground?query=a+gorgeous+film&retriever2=bm25&k=8",
                drawn("section.side"),
            ),
        ]
        print("\nBrowser (headless Chromium): navigation until drawn")
        for name, url, ready in pages:
            t0 = time.perf_counter()
            d.get(base + url)
            WebDriverWait(d, 600).until(ready)
            ms = (time.perf_counter() - t0) * 1000
            extra = ""
            for sel in ("#budget", "#map"):
                els = d.find_elements(By.CSS_SELECTOR, sel)
                if els and els[0].get_attribute("data-error"):
                    extra = f"  (error: {els[0].get_attribute('data-error')[:120]})"
                elif els and els[0].get_attribute("data-points"):
                    extra = f"  ({els[0].get_attribute('data-points')} points)"
            print(f"  {name:42s} {ms:9.0f} ms{extra}")
    finally:
        d.quit()


if __name__ == "__main__":
    main()
