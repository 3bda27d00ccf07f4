"""The console's test world, built once per module from real data: pool ``sst5`` (the first 300
training sentences of the SST-5 slice plus one item whose text is HTML), embedded with the real
MiniLM model, a vote-k round labeled from the gold labels, a second round left selected, a dense
index and three logged prompts; pool ``trec`` (the TREC slice) for a key limited to it.

Keys: ``admin`` (every pool) and ``trec_only`` (pool ``trec``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from shared_data import read_jsonl, shared_data_dir

from fewshot import Workspace

#: An item whose text is markup: it must always show as text.
HTML_TEXT = '<script>window.__pwned = 1</script><b id="injected">bold?</b> a <i>film</i> review'
HTML_ID = "html-item"


@dataclass
class ConsoleWorld:
    ws: Workspace
    admin: str
    trec_only: str
    gold: dict[str, str]
    round1: int
    round2: int
    prompt_ids: list[str] = field(default_factory=list)


def build_world(ws: Workspace, tmp: Path) -> ConsoleWorld:
    rows = read_jsonl(shared_data_dir() / "sst5" / "train.jsonl", 300)
    rows.append({"id": HTML_ID, "text": HTML_TEXT, "label": 0, "label_text": "terrible"})
    src = tmp / "sst5.jsonl"
    src.write_text("".join(json.dumps({k: r[k] for k in ("id", "text", "label_text")}) + "\n" for r in rows))
    gold = {str(r["id"]): str(r["label_text"]) for r in rows}
    ws.ingest("sst5", src)
    ws.embed("sst5")
    r1 = ws.select("sst5", budget=24, method="votek")
    labels = {i.external_id: gold[i.external_id] for i in r1.items}
    labels[HTML_ID] = "terrible"  # the HTML item is labeled: always drawn on the map, a demonstration
    ws.apply_labels("sst5", labels)
    r2 = ws.select("sst5", budget=12, method="votek")
    ws.build_index("sst5")
    prompt_ids = [
        ws.build_prompt("sst5", q, k=4)[1]
        for q in ("a gorgeous, witty film", "a dull, lifeless mess", "<script>alert(1)</script> review")
    ]
    ws.ctx.flush_prompt_logs()
    ws.ingest("trec", shared_data_dir() / "trec" / "train.jsonl")
    admin, _ = ws.keys.create("admin")
    trec_only, _ = ws.keys.create("trec-reader", pools=["trec"])
    return ConsoleWorld(ws, admin, trec_only, gold, r1.number, r2.number, prompt_ids)
