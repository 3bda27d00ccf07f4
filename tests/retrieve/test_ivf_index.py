"""DenseIndex(kind="ivf"): an IndexIVFFlat with spherical k-means lists, checked against the flat index."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fewshot.exceptions import InvalidInputError
from fewshot.retrieve import INDEX_KINDS, DenseIndex, DenseRetriever
from fewshot.retrieve._ivf_backend import DEFAULT_NPROBE, MIN_POINTS_PER_LIST, plan_lists

DIM = 48
N = 6_000
MIN_COUNT = 2_000
#: recall@10 against exact search at the default nprobe on the clustered vectors below
#: (measured 1.00 on them; ~0.99 would still pass)
RECALL_BOUND = 0.95


def clustered(n: int, seed: int = 0, centers: int = 60) -> np.ndarray:
    """Unit vectors around ``centers`` random directions (noise 0.35 per coordinate, dim 48)."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centers, DIM)).astype(np.float32)
    x = c[rng.integers(0, centers, n)] + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = clustered(N)
    ids = np.arange(N, dtype=np.int64) * 7 + 5  # ids unrelated to positions
    rng = np.random.default_rng(1)
    queries = x[rng.choice(N, 200, replace=False)] + 0.2 * rng.standard_normal((200, DIM)).astype(np.float32)
    return ids, x, queries


def build(ids: np.ndarray, x: np.ndarray, kind: str = "ivf", **kw) -> DenseIndex:
    index = DenseIndex(DIM, kind=kind, ivf_min_count=MIN_COUNT, **kw)
    index.add(ids, x)
    return index


def recall(exact: np.ndarray, got: np.ndarray) -> float:
    return float(np.mean([len(set(e) & set(g)) / len(e) for e, g in zip(exact.tolist(), got.tolist())]))


def test_ivf_is_an_index_kind():
    assert "ivf" in INDEX_KINDS


def test_recall_at_default_nprobe_and_planned_lists(data):
    ids, x, q = data
    ivf, flat = build(ids, x), build(ids, x, "flat")
    assert ivf.kind == "ivf" and len(ivf) == N
    plan = plan_lists(N)
    assert plan.nlist == min(round(4 * np.sqrt(N)), N // MIN_POINTS_PER_LIST)
    assert ivf.manifest()["ivf"]["nlist"] == plan.nlist and ivf.manifest()["ivf"]["nprobe"] == DEFAULT_NPROBE
    got, exact = ivf.search(q, 10), flat.search(q, 10)
    assert recall(exact.ids, got.ids) >= RECALL_BOUND
    # scores are exact inner products of what was found
    np.testing.assert_allclose(
        got.scores,
        np.einsum(
            "md,mkd->mk",
            q / np.linalg.norm(q, axis=1, keepdims=True),
            ivf.reconstruct(got.ids.ravel()).reshape(200, 10, DIM),
        ),
        atol=1e-5,
    )


def test_fewer_probes_lose_recall_and_all_probes_are_exact(data):
    ids, x, q = data
    ivf, flat = build(ids, x, ivf_nlist=64), build(ids, x, "flat")
    exact = flat.search(q, 10)
    ivf.set_nprobe(1)
    one = recall(exact.ids, ivf.search(q, 10).ids)
    ivf.set_nprobe(64)  # every list: the flat index's top-k
    full = ivf.search(q, 10)
    np.testing.assert_array_equal(full.ids, exact.ids)
    np.testing.assert_allclose(full.scores, exact.scores, atol=1e-6)
    assert one < 1.0


@pytest.mark.parametrize("strategy", ["auto", "selector", "subset"])
def test_filtered_search_returns_allowed_ids_only(data, strategy):
    ids, x, q = data
    rng = np.random.default_rng(2)
    allowed = rng.choice(ids, 300, replace=False)  # rare: the probed lists hold few of them
    flat = build(ids, x, "flat")
    # exact_below=0: "auto" takes the selector path too
    ivf = build(ids, x, exact_below=0, filter_strategy=strategy)
    got = ivf.search(q, 8, allowed_ids=allowed)
    assert np.isin(got.ids, allowed).all()  # k results in every row, all allowed
    exact = flat.search(q, 8, allowed_ids=allowed)
    assert recall(exact.ids, got.ids) >= 0.9
    ivf.set_nprobe(10_000)  # every list: exactly the flat index's filtered top-k
    np.testing.assert_array_equal(ivf.search(q, 8, allowed_ids=allowed).ids, exact.ids)
    # below exact_below, allowed ids are scored exactly
    small = build(ids, x, exact_below=1_000)
    np.testing.assert_array_equal(small.search(q, 8, allowed_ids=allowed).ids, exact.ids)


def test_filter_with_fewer_allowed_than_k_pads(data):
    ids, x, q = data
    ivf = build(ids, x, exact_below=0)
    hits = ivf.search(q[:5], 8, allowed_ids=[ids[3], ids[4000], 10**9])
    assert (np.sort(hits.ids[:, :2], axis=1) == np.sort([ids[3], ids[4000]])).all()
    assert (hits.ids[:, 2:] == -1).all() and np.isneginf(hits.scores[:, 2:]).all()


def test_add_remove_replace_save_load_round_trip(data, tmp_path):
    ids, x, q = data
    ivf = build(ids[:5_000], x[:5_000])
    ivf.add(ids[5_000:], x[5_000:])  # added to the trained lists
    gone = ids[:100]
    assert ivf.remove(gone) == 100 and len(ivf) == N - 100
    assert gone[0] not in ivf and ids[100] in ivf
    fresh = clustered(1, seed=9)
    ivf.add([ids[200]], fresh)  # a present id: its vector is replaced
    assert len(ivf) == N - 100
    np.testing.assert_allclose(ivf.reconstruct([ids[200], ids[300]]), np.vstack([fresh, x[300:301]]), atol=1e-6)
    assert set(ivf.ids.tolist()) == set(ids[100:].tolist())
    ivf.set_nprobe(5)
    ivf.save(tmp_path / "ix")
    manifest = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    assert manifest["kind"] == "ivf" and manifest["requested_kind"] == "ivf"
    assert manifest["ivf"]["nprobe"] == 5 and manifest["ivf"]["nlist"] == ivf.manifest()["ivf"]["nlist"]
    for mmap in (False, True):  # mapping applies to flat only; an IVF index is read in and stays writable
        back = DenseIndex.load(tmp_path / "ix", mmap=mmap)
        assert back.kind == "ivf" and not back.read_only and back.ivf_params["nprobe"] == 5
        a, b = ivf.search(q, 8), back.search(q, 8)
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_array_equal(a.scores, b.scores)
    back.remove(ids[100:110])
    back.add(ids[:10], x[:10])
    assert len(back) == N - 100 and ids[0] in back


def test_small_pool_is_searched_exactly_until_min_count(data, tmp_path):
    ids, x, q = data
    ivf = DenseIndex(DIM, kind="ivf", ivf_min_count=MIN_COUNT)
    ivf.add(ids[:1_500], x[:1_500])
    assert ivf.kind == "flat"  # below ivf_min_count: exact
    np.testing.assert_array_equal(ivf.search(q, 8).ids, build(ids[:1_500], x[:1_500], "flat").search(q, 8).ids)
    ivf.save(tmp_path / "small")
    back = DenseIndex.load(tmp_path / "small")
    assert back.kind == "flat" and back.requested_kind == "ivf"
    back.add(ids[1_500:], x[1_500:])  # reaches ivf_min_count: lists trained on all 6,000
    assert back.kind == "ivf" and len(back) == N
    np.testing.assert_allclose(back.reconstruct(ids[:3]), x[:3], atol=1e-6)
    flat = build(ids, x, "flat")
    assert recall(flat.search(q, 10).ids, back.search(q, 10).ids) >= RECALL_BOUND


@pytest.mark.parametrize("bad", [0, -3, 2.5, "8", True])
def test_bad_nprobe_is_named(bad):
    with pytest.raises(InvalidInputError, match="ivf_nprobe"):
        DenseIndex(DIM, kind="ivf", ivf_nprobe=bad)
    with pytest.raises(InvalidInputError, match="ivf_nprobe"):
        DenseIndex(DIM, kind="ivf").set_nprobe(bad)


@pytest.mark.parametrize("field", ["ivf_nlist", "ivf_min_count"])
def test_bad_list_settings_are_named(field):
    with pytest.raises(InvalidInputError, match=field):
        DenseIndex(DIM, kind="ivf", **{field: 0})


def test_served_retriever_loads_mapped(data, tmp_path):
    """What `IndexService._load(serve=True)` does: load with mmap, one thread, half scan (flat only)."""
    from fewshot.retrieve import Corpus

    ids, x, q = data
    corpus = Corpus.from_records([{"id": int(i), "text": f"t{i}"} for i in ids])
    retriever = DenseRetriever.from_vectors(corpus, x, kind="ivf", ivf_min_count=MIN_COUNT)
    assert retriever.index.kind == "ivf"
    retriever.save(tmp_path / "r")
    back = DenseRetriever.load(tmp_path / "r", encoder=retriever.encoder, mmap=True)
    back.index.n_threads = 1
    assert back.index.kind == "ivf" and back.index.enable_half_scan() is False
    np.testing.assert_array_equal(back.index.search(q, 8).ids, retriever.index.search(q, 8).ids)
