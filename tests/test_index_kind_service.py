"""`IndexService.build(kind=...)`: an unknown kind is refused naming it; asking for another kind
than the latest version's builds a new version of that kind; ``auto`` keeps what is there."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run

from fewshot.exceptions import InvalidInputError
from fewshot.retrieve import DenseIndex


def _stored(ws, pool: str) -> str | None:
    return DenseIndex.stored_kind(Path(ws.indexes.info(pool).path) / "index")


def test_a_kind_change_rebuilds_and_auto_keeps_the_kind(ws, data_slice):
    ws.ingest("p", data_slice("sst5", "train", 60), label_field="label_text")
    assert ws.build_index("p").version == 1 and _stored(ws, "p") == "auto"
    with pytest.raises(InvalidInputError, match="kind must be one of auto, flat, hnsw, ivf; got 'bogus'"):
        ws.build_index("p", kind="bogus")
    assert ws.build_index("p", kind="hnsw").version == 2 and _stored(ws, "p") == "hnsw"
    assert ws.build_index("p", kind="hnsw").version == 2  # nothing changed
    assert ws.build_index("p").version == 2  # auto: keeps the hnsw version
    assert ws.build_index("p", kind="ivf").version == 3 and _stored(ws, "p") == "ivf"
    assert len(ws.retrieve("p", "a moving film", k=3)[0]) == 3


def test_cli_index_refuses_an_unknown_kind(tmp_path, data_dir):
    bad = run(tmp_path / "home", "index", "nopool", "--kind", "bogus", ok=False)
    assert bad.exit_code != 0 and "bogus" in bad.output
