"""The exact graph search on a torch device (a CUDA GPU, or ``torch:cpu`` for tests).

`torch_search` computes the same float32 inner products as FAISS's flat index, as blocked matrix
products and ``topk`` (TF32 off under `no_tf32`, so the float32 error bound of
`fewshot.annotate._graph_exact` holds and the resulting graph is identical to the CPU one);
`resolve_graph_device` decides where a search runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator

import numpy as np

from fewshot.annotate._graph_exact import SearchFn
from fewshot.exceptions import InvalidInputError

__all__ = ["GPU_EXACT_THRESHOLD", "GPU_MIN_ITEMS", "no_tf32", "resolve_graph_device", "torch_search"]

#: With ``device=None``, pools of at least this many items use a CUDA GPU when torch sees one.
GPU_MIN_ITEMS = 20_000
#: On a GPU, ``exact=None`` means exact search up to this many items.
GPU_EXACT_THRESHOLD = 5_000_000
#: Bytes of the (block x n) similarity matrix a torch search holds at once.
_TORCH_BLOCK_BYTES = {"cuda": 2 * 2**30, "cpu": 256 * 2**20}


def resolve_graph_device(device: str | None, n: int) -> str | None:
    """The torch device for an exact graph search, or None for FAISS on the CPU.

    ``None``/``"auto"``: ``"cuda"`` when torch is installed, sees a GPU and ``n >= GPU_MIN_ITEMS``;
    ``"cpu"``: FAISS; ``"cuda"``/``"cuda:N"``: torch on that GPU (an error if there is none);
    ``"torch:<device>"``: the torch search on any torch device (e.g. ``"torch:cpu"``, for tests).
    """
    if device is None or device == "auto":
        if n < GPU_MIN_ITEMS or importlib.util.find_spec("torch") is None:
            return None
        import torch

        return "cuda" if torch.cuda.is_available() else None
    if not isinstance(device, str):
        raise InvalidInputError(f"device must be a string such as 'cpu' or 'cuda'; got {device!r}")
    if device == "cpu":
        return None
    name = device[len("torch:") :] if device.startswith("torch:") else device
    if not (name == "cpu" or name == "cuda" or name.startswith("cuda:")):
        raise InvalidInputError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'torch:<device>'; got {device!r}")
    if importlib.util.find_spec("torch") is None:
        raise InvalidInputError(f"device {device!r} needs torch, which is not installed")
    import torch

    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidInputError(f"device {device!r} was asked for but torch sees no CUDA GPU")
    return name


@contextlib.contextmanager
def no_tf32() -> Iterator[None]:
    """Full float32 matrix products on GPUs (TF32 would void the float32 error bound)."""
    import torch

    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def torch_search(X: np.ndarray, device: str) -> tuple[SearchFn, int]:
    """``search(queries, kf) -> (D, I)`` over all rows of ``X`` by exact float32 inner products on
    a torch device, plus the largest query block that keeps the similarity block in budget."""
    import torch

    base = torch.from_numpy(np.ascontiguousarray(X)).to(device)
    n = base.shape[0]
    block = max(1, _TORCH_BLOCK_BYTES["cuda" if device.startswith("cuda") else "cpu"] // (4 * n))

    def search(q: np.ndarray, kf: int) -> tuple[np.ndarray, np.ndarray]:
        D = np.empty((q.shape[0], kf), dtype=np.float32)
        I = np.empty((q.shape[0], kf), dtype=np.int64)
        for s in range(0, q.shape[0], block):
            qt = torch.from_numpy(np.ascontiguousarray(q[s : s + block])).to(device)
            vals, idx = torch.topk(qt @ base.T, kf, dim=1, largest=True, sorted=True)
            D[s : s + block] = vals.cpu().numpy()
            I[s : s + block] = idx.cpu().numpy()
        return D, I

    return search, block
