"""UDR training on a GPU (bf16 autocast) against the CPU: speed, loss, and a CPU round trip.

Usage: python benchmarks/bench_udr_gpu.py [--model DIR] [--tokenizer DIR] [--data sst5.jsonl]
                                          [--devices cpu,cuda] [--epochs 2] [--queries 64]

This checks the training *path*, not retrieval quality: the LM feedback is synthetic (a
demonstration with the query's label scores best, then by label distance, plus seeded noise), so no
language model is needed. The encoder is ``--model`` (a sentence-transformers folder, default the
bundled all-MiniLM-L6-v2) or, with ``--tokenizer``, an all-MiniLM-L6-v2-shaped BERT (6 layers, 384
dims) initialised at random over that tokenizer -- the same compute per step as MiniLM, for machines
the weights cannot be copied to. For every device: training time, steps/s, the loss on fixed
K-lists before and after; then the GPU-trained model is saved, reloaded on the CPU, and its vectors
compared with the GPU's.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LABELS = ["terrible", "bad", "okay", "good", "great"]


def random_minilm(tokenizer_dir: Path, out: Path):
    """An all-MiniLM-L6-v2-shaped sentence-transformers model with random weights."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
    cfg = BertConfig(
        vocab_size=len(tok),
        hidden_size=384,
        num_hidden_layers=6,
        num_attention_heads=12,
        intermediate_size=1536,
        max_position_embeddings=512,
    )
    BertModel(cfg).save_pretrained(out / "bert")
    tok.save_pretrained(out / "bert")
    word = models.Transformer(str(out / "bert"), max_seq_length=128)
    pool = models.Pooling(word.get_word_embedding_dimension(), pooling_mode="mean")
    model = SentenceTransformer(modules=[word, pool], device="cpu")
    model.save(str(out / "st"))
    return SentenceTransformer(str(out / "st"), device="cpu")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--tokenizer", default=None)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "sst5" / "train.jsonl"))
    ap.add_argument("--devices", default="cpu,cuda")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--queries", type=int, default=64)
    ap.add_argument("--pool", type=int, default=400)
    ap.add_argument("--out", default=str(HERE / "out" / "udr_gpu"))
    args = ap.parse_args()

    import numpy as np
    import torch

    from fewshot.prompt import PromptTemplate
    from fewshot.retrieve import Example
    from fewshot.udr import (
        TrainConfig,
        UDRModel,
        UDRTask,
        load_udr_model,
        prepare_model,
        sample_candidates,
        train_udr,
        udr_loss,
    )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.tokenizer:
        base = random_minilm(Path(args.tokenizer), out)
        base_name = "random all-MiniLM-L6-v2-shaped BERT"
    else:
        from fewshot.embed import load_sentence_transformer

        base = load_sentence_transformer(args.model or "all-MiniLM-L6-v2", device="cpu")
        base_name = args.model or "all-MiniLM-L6-v2"
    rows = [json.loads(line) for line in open(args.data, encoding="utf-8")][: args.pool]
    pool = [Example(id=r["id"], text=r["text"], label=r["label_text"]) for r in rows]
    template = PromptTemplate(name="sst5", input="Review: {text}\nSentiment:", output=" {label}")
    task = UDRTask("sst5", template, pool, pool[: args.queries], "Sentiment of the review: ")
    rng = np.random.default_rng(0)
    feedback = {
        "sst5": {
            q.id: {
                d.id: abs(LABELS.index(d.label) - LABELS.index(q.label)) + 0.1 * rng.random()
                for d in pool
                if d.id != q.id
            }
            for q in task.queries
        }
    }

    def fixed_loss(model) -> float:
        r = np.random.default_rng(123)
        qs, cands = [], []
        for q in task.queries:
            s = feedback["sst5"][q.id]
            ranked = sorted(s, key=s.get)
            qs.append(task.instruction + q.text)
            cands += [task.instruction + task.demo(c).text for c in sample_candidates(ranked, 8, rng=r)]
        with torch.no_grad():
            emb = model.encode(qs + cands, convert_to_tensor=True, batch_size=128).float()
        return float(udr_loss(emb[: len(qs)], emb[len(qs) :], 8)[0])

    print(
        f"encoder: {base_name}; {len(pool)} pool items, {len(task.queries)} training queries, "
        f"K=8, batch 8, {args.epochs} epochs; torch {torch.__version__}, threads {torch.get_num_threads()}",
        flush=True,
    )
    config = TrainConfig(epochs=args.epochs, batch_size=8, lr=5e-5 if args.tokenizer else 3e-5)
    trained = {}
    for device in [d for d in args.devices.split(",") if d]:
        if device.startswith("cuda") and not torch.cuda.is_available():
            print(f"[{device}] skipped: no CUDA GPU", flush=True)
            continue
        model = prepare_model(copy.deepcopy(base)).to(device)
        before = fixed_loss(model)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        result = train_udr(model, [task], feedback, config=config)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        secs = time.perf_counter() - t
        after = fixed_loss(model)
        means = result.epoch_means(args.epochs)
        print(
            f"[{device}] {result.steps} steps in {secs:.1f} s ({result.steps / secs:.2f} steps/s); "
            f"epoch mean losses {', '.join(f'{m:.3f}' for m in means)}; fixed-list loss {before:.3f} -> "
            f"{after:.3f}"
            + (
                f"; peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB"
                if device.startswith("cuda")
                else ""
            ),
            flush=True,
        )
        trained[device] = (model, secs, result.steps)
    if "cpu" in trained and len(trained) > 1:
        gpu = next(d for d in trained if d != "cpu")
        print(
            f"speed-up {gpu} vs cpu: {trained['cpu'][1] / trained[gpu][1]:.1f}x "
            f"(same steps: {trained['cpu'][2] == trained[gpu][2]})",
            flush=True,
        )
    gpu = next((d for d in trained if d.startswith("cuda")), None)
    if gpu is not None:
        model = trained[gpu][0]
        path = UDRModel(model, {"sst5": task.instruction}, name="udr-gpu-check").save(out / "model")
        cpu_model = load_udr_model(path, device="cpu")
        texts = [task.instruction + e.text for e in pool[:16]]
        a = model.encode(texts, convert_to_numpy=True)
        b = cpu_model.model.encode(texts, convert_to_numpy=True)
        cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        print(
            f"GPU-trained model saved and reloaded on the CPU: min cosine to the GPU vectors {cos.min():.6f}",
            flush=True,
        )


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
