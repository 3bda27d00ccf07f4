"""The data slices shipped in tests/data: present, exactly as long as tests/data/make_slices.py says,
small, documented, and (where the full shared data is on this machine) identical to a fresh cut."""

from __future__ import annotations

import importlib.util
import json

from shared_data import TEST_DATA

MAX_BYTES = 3 * 1024 * 1024


def _make_slices():
    spec = importlib.util.spec_from_file_location("make_slices", TEST_DATA / "make_slices.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_slice_is_shipped_with_its_row_count():
    slices = _make_slices().SLICES
    sources = (TEST_DATA / "SOURCES.md").read_text(encoding="utf-8")
    shipped = {p.relative_to(TEST_DATA).as_posix() for p in TEST_DATA.rglob("*.jsonl")}
    assert shipped == {f"{name}/{split}.jsonl" for name, split in slices}
    for (name, split), (n, _) in slices.items():
        path = TEST_DATA / name / f"{split}.jsonl"
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert len(rows) == n, path
        assert len({r["id"] for r in rows}) == n, path
        assert f"| `{name}/{split}.jsonl` | {n} | {path.stat().st_size:,} |" in sources
    shipped_bytes = sum(p.stat().st_size for p in TEST_DATA.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert shipped_bytes < MAX_BYTES


def test_slices_match_a_fresh_cut_of_the_full_data():
    """Compared only where the full data is here ($FEWSHOT_SHARED_DATA or ../shared/data): a fresh
    clone has just the slices, and the test above is all it can check."""
    make = _make_slices()
    source = make.default_source()
    if (
        not all((source / n / f"{s}.jsonl").is_file() for n, s in make.SLICES)
        or source.resolve() == TEST_DATA.resolve()
    ):
        return
    for rel, data in make.cut(source).items():
        assert (TEST_DATA / rel).read_bytes() == data, f"{rel} is stale: run tests/data/make_slices.py"
