"""The ``fewshot`` command line: thin commands over :class:`fewshot.workspace.Workspace`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

from ._cli_support import FewshotGroup, console, progress_bar, table
from .config import Settings

app = typer.Typer(cls=FewshotGroup, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="fewshot: choose which examples to label, and which labeled examples go into each prompt.")
pools_app = typer.Typer(no_args_is_help=True, help="Create, list, show and delete pools.")
examples_app = typer.Typer(no_args_is_help=True, help="Browse the examples of a pool.")
app.add_typer(pools_app, name="pools")
keys_app = typer.Typer(no_args_is_help=True, help="API keys for the REST service.")
app.add_typer(examples_app, name="examples")
app.add_typer(keys_app, name="keys")


class _State:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._ws = None

    @property
    def ws(self):
        if self._ws is None:
            from .service.workspace import Workspace

            self._ws = Workspace(self.settings)
        return self._ws


def _ws(ctx: typer.Context):
    return ctx.find_root().obj.ws


@app.callback()
def _root(ctx: typer.Context,
          home: Optional[Path] = typer.Option(None, "--home", envvar="FEWSHOT_HOME",
                                              help="Data directory [default: ./.fewshot]."),
          database_url: Optional[str] = typer.Option(None, "--database-url", envvar="FEWSHOT_DATABASE_URL",
                                                     help="SQLAlchemy URL [default: SQLite file in the data directory].")) -> None:
    overrides = {}
    if home is not None:
        overrides["home"] = home
    if database_url is not None:
        overrides["database_url"] = database_url
    ctx.obj = _State(Settings(**overrides))
    # model-loading progress bars from transformers / huggingface_hub are noise on a CLI
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


# ---------------------------------------------------------------------------------- pools
@pools_app.command("create")
def pools_create(ctx: typer.Context, name: str,
                 template: Optional[str] = typer.Option(None, help='Text template, e.g. "{premise}\\nquestion: {hypothesis}".'),
                 text_field: Optional[str] = typer.Option(None, help="Field holding the text [default: text]."),
                 model: Optional[str] = typer.Option(None, help="sentence-transformers model name or local path."),
                 description: Optional[str] = typer.Option(None)) -> None:
    """Create an empty pool."""
    info = _ws(ctx).create_pool(name, template=_unescape(template), text_field=text_field, embedding_model=model,
                                description=description)
    console.print(f"created pool [bold]{info.name}[/] (model {info.embedding_model})")


@pools_app.command("list")
def pools_list(ctx: typer.Context) -> None:
    """List pools with their sizes by status."""
    rows = [[p.name, p.size, p.counts["unlabeled"], p.counts["selected"], p.counts["labeled"], p.embedding_model]
            for p in _ws(ctx).list_pools()]
    table("pools", ["name", "items", "unlabeled", "selected", "labeled", "model"], rows)


@pools_app.command("show")
def pools_show(ctx: typer.Context, name: str) -> None:
    """Show one pool as JSON."""
    console.print_json(json.dumps(_ws(ctx).get_pool(name).to_dict()))


@pools_app.command("delete")
def pools_delete(ctx: typer.Context, name: str,
                 yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")) -> None:
    """Delete a pool, its examples, selections and vectors."""
    ws = _ws(ctx)
    info = ws.get_pool(name)
    if not yes and not typer.confirm(f"delete pool {name!r} and its {info.size} examples?"):
        raise typer.Exit(code=1)
    ws.delete_pool(name)
    console.print(f"deleted pool [bold]{name}[/]")


# --------------------------------------------------------------------------------- ingest
@app.command("ingest")
def ingest(ctx: typer.Context, pool: str, path: Path,
           fmt: Optional[str] = typer.Option(None, "--format", help="jsonl, csv or parquet [default: from suffix]."),
           id_field: Optional[str] = typer.Option(None, help="Field holding the item id [default: id, else a text hash]."),
           text_field: Optional[str] = typer.Option(None, help="Field holding the text [default: text]."),
           template: Optional[str] = typer.Option(None, help='Render the text from fields: "{premise}\\nquestion: {hypothesis}".'),
           label_field: Optional[str] = typer.Option(None, help="Field holding a label (items with one are labeled)."),
           skills_field: Optional[str] = typer.Option(None, help="Field holding skills (list or comma-separated)."),
           on_conflict: str = typer.Option("error", help="An id already stored with other content: error, skip or update."),
           keep_duplicates: bool = typer.Option(False, help="Keep items whose text duplicates another item's."),
           model: Optional[str] = typer.Option(None, help="Embedding model, when the pool is created here.")) -> None:
    """Stream a JSONL/CSV/Parquet file into POOL (created if missing). Re-ingesting adds nothing."""
    with progress_bar(f"ingest {path.name}", unit_total=False) as bar:
        report = _ws(ctx).ingest(pool, path, fmt=fmt, id_field=id_field, text_field=text_field,
                                 template=_unescape(template), label_field=label_field, skills_field=skills_field,
                                 on_conflict=on_conflict, keep_duplicates=keep_duplicates, embedding_model=model,
                                 progress=lambda done, _total: bar(done, 0))
    console.print(f"read {report.read}: added {report.added} ({report.labeled} labeled), unchanged {report.unchanged}, "
                  f"updated {report.updated}, duplicates skipped {report.duplicate_count}")
    for line, ext_id, owner in report.duplicates[:5]:
        console.print(f"  line {line}: {ext_id} duplicates the text of {owner}")


@app.command("embed")
def embed(ctx: typer.Context, pool: str) -> None:
    """Embed the pool's texts that have no vector yet (cached by content hash; resumable)."""
    with progress_bar(f"embed {pool}") as bar:
        report = _ws(ctx).embed(pool, progress=bar)
    console.print(f"embedded {report.embedded} texts, {report.cached} already cached, "
                  f"dim {report.dim}, {report.seconds:.1f}s ({report.model})")


# ------------------------------------------------------------------------------- examples
@examples_app.command("list")
def examples_list(ctx: typer.Context, pool: str,
                  status: Optional[str] = typer.Option(None, help="unlabeled, selected or labeled."),
                  label: Optional[str] = typer.Option(None),
                  limit: int = typer.Option(20), offset: int = typer.Option(0),
                  as_json: bool = typer.Option(False, "--json", help="One JSON object per line.")) -> None:
    """List a pool's examples, filtered by status or label."""
    items = _ws(ctx).list_examples(pool, status=status, label=label, limit=limit, offset=offset)
    if as_json:
        for e in items:
            typer.echo(json.dumps(e.to_dict(), ensure_ascii=False))
        return
    table(f"{pool}: {len(items)} examples", ["id", "status", "label", "text"],
          [[e.external_id, e.status, e.label, e.text[:80]] for e in items])


@app.command("export")
def export(ctx: typer.Context, pool: str, out: Path = typer.Option(..., "--out", "-o", help="Output file."),
           fmt: str = typer.Option("jsonl", "--format",
                                   help="jsonl or csv; with --round also labelstudio or argilla."),
           status: Optional[str] = typer.Option(None, help="Only items with this status (without --round)."),
           round_number: Optional[int] = typer.Option(None, "--round", help="Export this selection round's items."),
           latest: bool = typer.Option(False, "--latest", help="Export the latest selection round's items."),
           include_labeled: bool = typer.Option(False, help="With --round: also items that already have a label.")) -> None:
    """Write a pool's examples, or a selection round's items for annotators, to a file."""
    ws = _ws(ctx)
    if round_number is not None or latest:
        n = ws.export_round(pool, out, number=round_number, fmt=fmt, only_unlabeled=not include_labeled)
        console.print(f"wrote {n} items to annotate to {out} ({fmt})")
    else:
        n = ws.export(pool, out, fmt=fmt, status=status)
        console.print(f"wrote {n} examples to {out}")


# ------------------------------------------------------------------------------ selection
@app.command("select")
def select_cmd(ctx: typer.Context, pool: str,
               budget: int = typer.Option(..., "--budget", "-b", help="How many items to choose."),
               method: str = typer.Option("votek", help="votek, votek2, ideal, random, kmeans or facility."),
               seed: int = typer.Option(0, help="Random seed (same seed, same pool: same round)."),
               k: Optional[int] = typer.Option(None, help="Neighbours in the graph [votek: 150, ideal: 10]."),
               no_center: bool = typer.Option(False, "--no-center", help="Do not subtract the pool mean."),
               show: int = typer.Option(10, help="How many picks to print.")) -> None:
    """Choose BUDGET items of POOL to annotate; stored as the pool's next selection round."""
    params = {} if k is None else {"k": k}
    with progress_bar(f"select {method}") as bar:
        rnd = _ws(ctx).select(pool, budget=budget, method=method, seed=seed, center=not no_center,
                              progress=bar, **params)
    extra = f", influence {rnd.influence:.1f}" if rnd.influence is not None else ""
    console.print(f"round {rnd.number}: {len(rnd.items)} items selected with {rnd.method}{extra}")
    table(f"first {min(show, len(rnd.items))} picks", ["#", "id", "score", "text"],
          [[i.position + 1, i.external_id, f"{i.score:.4g}", i.text[:70]] for i in rnd.items[:show]])


@app.command("budget")
def budget_cmd(ctx: typer.Context, pool: str,
               budgets: Optional[str] = typer.Option(None, help="Comma-separated budgets [default: 10,20,50,... up to 1000]."),
               method: str = typer.Option("votek", help="Selection method whose nested picks are measured."),
               seed: int = typer.Option(0), threshold: Optional[float] = typer.Option(
                   None, help="Cosine threshold for coverage [default: median 10th-neighbour cosine]."),
               plot: Path = typer.Option(Path("budget.png"), help="PNG file for the curve.")) -> None:
    """How many items to pay for: coverage and influence against budget, with a recommendation."""
    grid = None
    if budgets:
        try:
            grid = [int(b) for b in budgets.split(",") if b.strip()]
        except ValueError:
            raise typer.BadParameter(f"budgets must be integers, got {budgets!r}", param_hint="--budgets") from None
    with progress_bar(f"budget curve ({method})") as bar:
        curve = _ws(ctx).budget(pool, budgets=grid, method=method, seed=seed, threshold=threshold, plot=plot,
                                progress=bar)
    table(f"{pool}: budget curve ({method}, coverage threshold {curve.threshold:.3f})",
          ["budget", "coverage", "mean best cosine", "influence", ""],
          [[r["budget"], f"{r['coverage']:.3f}", f"{r['mean_similarity']:.3f}",
            "" if r["influence"] is None else f"{r['influence']:.1f}", "<- recommended" if r["recommended"] else ""]
           for r in curve.to_rows()])
    console.print(f"recommended budget: [bold]{curve.recommended}[/] (knee of the coverage curve); plot: {plot}")


@app.command("rounds")
def rounds_cmd(ctx: typer.Context, pool: str) -> None:
    """List a pool's selection rounds."""
    rows = [[r.number, r.method, r.budget, r.seed, sum(i.label is not None for i in r.items),
             "" if r.influence is None else f"{r.influence:.1f}", r.created_at.strftime("%Y-%m-%d %H:%M")]
            for r in _ws(ctx).rounds(pool)]
    table(f"{pool}: selection rounds", ["round", "method", "budget", "seed", "labeled", "influence", "created"], rows)


@app.command("import-labels")
def import_labels_cmd(ctx: typer.Context, pool: str, path: Path,
                      fmt: Optional[str] = typer.Option(None, "--format",
                                                        help="jsonl, csv, labelstudio or argilla [default: sniffed]."),
                      id_field: str = typer.Option("id", help="Id field (jsonl/csv)."),
                      label_field: str = typer.Option("label", help="Label field (jsonl/csv), or Argilla question name."),
                      overwrite: bool = typer.Option(False, help="Replace labels already stored."),
                      skip_invalid: bool = typer.Option(False, help="Apply the valid labels and report the rest.")) -> None:
    """Read labels back (JSONL/CSV, Label Studio or Argilla export). All or nothing unless --skip-invalid."""
    report = _ws(ctx).import_labels(pool, path, fmt=fmt, id_field=id_field, label_field=label_field,
                                    overwrite=overwrite, skip_invalid=skip_invalid)
    console.print(f"read {report.read}: applied {report.applied}, unchanged {report.unchanged}, "
                  f"skipped {len(report.problems)}")
    for p in report.problems[:20]:
        console.print(f"  skipped {p}")


# ----------------------------------------------------------------------- retrieval, prompts
def _filter(labels: Optional[list[str]], skills: Optional[list[str]]):
    if not labels and not skills:
        return None
    from .retrieve import Filter

    return Filter(labels=labels or None, skills=skills or None)


@app.command("index")
def index_cmd(ctx: typer.Context, pool: str,
              kind: str = typer.Option("auto", help="auto (flat, HNSW for large pools), flat or hnsw.")) -> None:
    """Build or refresh the retrieval index over POOL's labeled items (incremental, versioned)."""
    with progress_bar(f"embed {pool}") as bar:
        info = _ws(ctx).build_index(pool, kind=kind, progress=bar)
    state = "built" if info.changed else "up to date:"
    console.print(f"index {state} version {info.version}, {info.count} labeled items ({info.embedding_model})")


@app.command("retrieve")
def retrieve_cmd(ctx: typer.Context, pool: str, query: list[str] = typer.Argument(..., help="One or more queries."),
                 k: int = typer.Option(8, "--k", "-k", help="Demonstrations per query."),
                 retriever: str = typer.Option("dense", help="dense, bm25, mmr, label_balanced or random."),
                 label: Optional[list[str]] = typer.Option(None, help="Only items with this label (repeatable)."),
                 skill: Optional[list[str]] = typer.Option(None, help="Only items with this skill (repeatable)."),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Find demonstrations for queries among POOL's labeled items."""
    results = _ws(ctx).retrieve(pool, query, k=k, retriever=retriever, filter=_filter(label, skill))
    if as_json:
        for q, demos in zip(query, results):
            typer.echo(json.dumps({"query": q, "demos": [{"id": d.id, "score": d.score, "rank": d.rank,
                                                          "label": d.label, "text": d.text} for d in demos]},
                                  ensure_ascii=False))
        return
    for q, demos in zip(query, results):
        table(f"{retriever}: {q[:60]}", ["rank", "id", "score", "label", "text"],
              [[d.rank + 1, d.id, f"{d.score:.3f}", d.label, d.text[:70]] for d in demos])


@app.command("prompt")
def prompt_cmd(ctx: typer.Context, pool: str, query: str,
               k: int = typer.Option(8, "--k", "-k", help="At most this many demonstrations."),
               retriever: str = typer.Option("dense", help="dense, bm25, mmr, label_balanced or random."),
               template: str = typer.Option("classification", help="classification, multiple_choice, generation, math."),
               instruction: Optional[str] = typer.Option(None, help="Replace the template's instruction."),
               max_tokens: int = typer.Option(1024, help="Token budget of the whole prompt."),
               tokenizer: str = typer.Option("approx", help="approx, hf:<name-or-path> or tiktoken:<encoding>."),
               label: Optional[list[str]] = typer.Option(None, help="Only demonstrations with this label."),
               chat: bool = typer.Option(False, "--chat", help="Print chat messages as JSON instead of text.")) -> None:
    """Build a prompt for QUERY from POOL's labeled items; prints it and its provenance id."""
    prompt, prompt_id = _ws(ctx).build_prompt(pool, query, k=k, retriever=retriever, template=template,
                                              instruction=instruction, max_tokens=max_tokens, tokenizer=tokenizer,
                                              filter=_filter(label, None))
    if chat:
        typer.echo(json.dumps(prompt.messages, indent=1, ensure_ascii=False))
    else:
        typer.echo(prompt.text)
    console.print(f"\n[dim]prompt {prompt_id}: {len(prompt.demos)} demonstrations, {prompt.n_tokens} tokens "
                  f"({tokenizer}); `fewshot prompts show {prompt_id}` for its provenance[/]")


prompts_app = typer.Typer(no_args_is_help=True, help="The log of built prompts.")
app.add_typer(prompts_app, name="prompts")


@prompts_app.command("show")
def prompts_show(ctx: typer.Context, prompt_id: str) -> None:
    """Which demonstrations went into a prompt, with scores, retriever and template."""
    console.print_json(json.dumps(_ws(ctx).prompt_log(prompt_id)))


@prompts_app.command("list")
def prompts_list(ctx: typer.Context, pool: str, limit: int = typer.Option(20)) -> None:
    """The latest prompts built from POOL."""
    logs = _ws(ctx).prompts.logs(pool, limit=limit)
    table(f"{pool}: prompts", ["id", "created", "retriever", "demos", "tokens", "query"],
          [[p["id"], p["created_at"][:19], p["retriever"], len(p["demo_ids"]), p["n_tokens"], p["query"][:50]]
           for p in logs])


# ----------------------------------------------------------------------------------- demo
@app.command("demo")
def demo_cmd(ctx: typer.Context, budget: Optional[int] = typer.Option(None, help="Override the recommended budget."),
             method: str = typer.Option("votek", help="Selection method."),
             query: int = typer.Option(0, help="Which bundled test sentence to build a prompt for (0-49).")) -> None:
    """The main job on the bundled SST-5 sample: ingest, embed, budget, select, label, index, prompt."""
    from .service.demo import run_demo

    ws = _ws(ctx)
    plot = ws.settings.home / "demo-budget.png"
    bars: list = []

    def progress(step: str):
        cm = progress_bar(step)
        bars.append(cm)
        return cm.__enter__()

    def report(step: str, message: str) -> None:
        while bars:
            bars.pop().__exit__(None, None, None)
        console.print(f"[bold green]{step:>7}[/] {message}")

    result = run_demo(ws, budget=budget, method=method, query_index=query, plot=plot, report=report,
                      progress=progress)
    console.rule("prompt")
    typer.echo(result.prompt_text)
    console.rule()
    console.print(f"provenance: fewshot --home {ws.settings.home} prompts show {result.prompt_id}")


# ----------------------------------------------------------------------------------- keys
@keys_app.command("create")
def keys_create(ctx: typer.Context, name: str,
                pool: Optional[list[str]] = typer.Option(None, "--pool", help="Limit the key to this pool (repeatable).")) -> None:
    """Create an API key; the secret is printed once and only its hash is stored."""
    secret, info = _ws(ctx).keys.create(name, pools=pool)
    console.print(f"key {info.id} ({info.name}) pools: {', '.join(info.pools) if info.pools else 'all'}")
    typer.echo(secret)


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """List API keys (never their secrets)."""
    keys = _ws(ctx).keys.list()
    table("API keys", ["id", "name", "prefix", "pools", "revoked"],
          [[k.id, k.name, k.prefix + "...", ", ".join(k.pools) if k.pools else "all", k.revoked] for k in keys])


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: int) -> None:
    """Revoke an API key by id."""
    info = _ws(ctx).keys.revoke(key_id)
    console.print(f"revoked key {info.id} ({info.name})")


# ---------------------------------------------------------------------------------- serve
@app.command("serve")
def serve(ctx: typer.Context, host: str = typer.Option("127.0.0.1", help="Interface to bind."),
          port: int = typer.Option(8000, help="TCP port."),
          workers: int = typer.Option(1, help="Worker processes (jobs run in each worker's own thread)."),
          log_level: str = typer.Option("info")) -> None:
    """Start the REST API (uvicorn) on the workspace's data directory."""
    import uvicorn

    settings = ctx.find_root().obj.settings
    os.environ["FEWSHOT_HOME"] = str(settings.home.resolve())
    if settings.database_url:
        os.environ["FEWSHOT_DATABASE_URL"] = settings.database_url
    console.print(f"fewshot API on http://{host}:{port}/v1 (docs at /docs), data in {settings.home}")
    uvicorn.run("fewshot.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=log_level)


# ----------------------------------------------------------------------------------- eval
@app.command("eval")
def eval_cmd(config: Optional[Path] = typer.Option(None, "--config", help="YAML file of eval settings (options override it)."),
             dataset: Optional[list[str]] = typer.Option(None, "--dataset", help="sst5, trec, rte, mrpc, gsm8k (repeatable)."),
             methods: Optional[str] = typer.Option(None, help="Comma-separated, e.g. random,votek,ideal."),
             budgets: Optional[str] = typer.Option(None, help="Comma-separated budgets (default 18,100)."),
             seeds: Optional[str] = typer.Option(None, help="Comma-separated seeds (default 0,1,2)."),
             scorer: Optional[str] = typer.Option(None, help="proxy, lm or both (default proxy)."),
             lm: Optional[str] = typer.Option(None, help="LM backend spec (default smollm2)."),
             k: Optional[int] = typer.Option(None, "--k", help="Demonstrations per test item (default 8)."),
             max_tokens: Optional[int] = typer.Option(None, help="LM prompt budget in tokens (default 512)."),
             limit: Optional[int] = typer.Option(None, help="Score only the first N test items."),
             pool_size: Optional[int] = typer.Option(None, help="Pool drawn per seed (default 3000)."),
             test_size: Optional[int] = typer.Option(None, help="Test items drawn (default 256)."),
             out: Optional[Path] = typer.Option(None, "--out", help="Output folder for results, plots and caches (default eval-out).")) -> None:
    """Accuracy against annotation budget per selection method (the vote-k/IDEAL protocol); resumable."""
    from contextlib import ExitStack

    from .evaluation import PROXY_NOTE, load_config, run_eval

    cfg = load_config(config, datasets=dataset or None, methods=methods, budgets=budgets, seeds=seeds,
                      scorers=scorer, lm=lm, k=k, max_tokens=max_tokens, limit=limit, pool_size=pool_size,
                      test_size=test_size, out=None if out is None else str(out))
    bars, current = ExitStack(), {}

    def progress(stage: str, done: int, total: int) -> None:  # one bar per stage, the last one closed
        if current.get("stage") != stage:
            bars.close()
            current.update(stage=stage, update=bars.enter_context(progress_bar(stage)))
        current["update"](done, total)

    with bars:
        result = run_eval(cfg, progress=progress)
    pct = lambda x: "" if x is None else f"{100 * x:+.1f}%"  # noqa: E731
    table("accuracy by annotation budget (mean ± std over seeds)",
          ["dataset", "scorer", "retriever", "method", "B", "seeds", "accuracy", "vs random", "labels chosen", "majority share"],
          [[r.dataset, r.scorer if r.scorer == "proxy" else f"lm:{r.lm}", r.retriever, r.method, r.budget, r.n_seeds,
            f"{r.accuracy_mean:.3f} ± {r.accuracy_std:.3f}", pct(r.gain_vs_random),
            f"{r.n_labels_chosen_mean:.1f}/{r.n_labels_total}" if r.n_labels_total else f"{r.n_labels_chosen_mean:.0f} answers",
            f"{r.majority_share_mean:.2f}"] for r in result.summary])
    if "proxy" in cfg.scorers:
        console.print(f"[dim]{PROXY_NOTE}[/]")
    console.print(f"{len(result.runs)} runs in {result.seconds:.0f} s; wrote " + ", ".join(result.files.values()))


def _unescape(template: Optional[str]) -> Optional[str]:
    """Shells pass ``\\n`` literally; templates mean a newline."""
    return None if template is None else template.replace("\\n", "\n").replace("\\t", "\t")


from ._cli_skills import adaptive_app, skills_app  # noqa: E402  (after the root app it extends)

app.add_typer(skills_app, name="skills")
app.add_typer(adaptive_app, name="adaptive")


from ._cli_udr import udr_app  # noqa: E402  (UDR: mine, train, models, index)

app.add_typer(udr_app, name="udr")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
