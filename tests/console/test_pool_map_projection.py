"""The pool map's PCA against scikit-learn's, and its fixed signs."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA

from fewshot.service.pool_map import PROJECTIONS, pca_2d


def test_pca_matches_scikit_learn_up_to_sign_and_is_deterministic():
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((40_000, 48)) * np.linspace(3, 0.1, 48)).astype(np.float32)
    ours = pca_2d(X)
    ref = PCA(n_components=2, svd_solver="full").fit_transform(X.astype(np.float64))
    for j in range(2):
        sign = np.sign(ours[:, j] @ ref[:, j])
        np.testing.assert_allclose(ours[:, j], sign * ref[:, j], rtol=0, atol=1e-3 * np.abs(ref[:, j]).max())
    np.testing.assert_array_equal(pca_2d(X), ours)
    flipped = pca_2d(-X)  # the data mirrored: the same picture, signs fixed by the loadings
    np.testing.assert_allclose(np.abs(flipped), np.abs(ours), atol=1e-4)
    assert pca_2d(np.zeros((0, 5), np.float32)).shape == (0, 2)
    assert "pca" in PROJECTIONS
