"""Image retrieval as a detector: k-nearest training images vote (Govi, Poppi, Marinelli §4).

Govi, Poppi, Marinelli (§4) retrieve the training images most similar to a query with two
features and two similarities (four combinations, each registered: the Harris ones here):

* **Harris** (Harris & Stephens 1988): the image is resized to 299×299 grayscale and the
  Harris corner response map (``cv2.cornerHarris``) is pooled into a fixed-length descriptor:
  on a ``grid``×``grid`` spatial grid, the mean corner strength (positive response), the mean
  edge strength (negative response) and the fraction of "corner" pixels (response above 1% of
  the image maximum, the usual Harris threshold), plus a global histogram of the signed log
  response. Descriptors are standardised on the training pool.
* **ResNet-18** (He et al. 2016): the 512-d global-average-pooled penultimate activation of the
  torchvision ImageNet model (``detectors.classical.retrieval_resnet``).

The training split is the search pool. Similarity is cosine (distance ``1 − cos``) or
Euclidean. The fake score of a query is the similarity-weighted vote of its ``k`` nearest
training images' labels (weights ``max(cos, 0)`` or ``1/(distance + ε)``), with ``k`` chosen
on validation by ROC-AUC. ``retrieve`` returns the neighbours; ``retrieval_metrics`` reports
precision@k and mAP over the full ranking with "same label" as relevant. Queries meet the pool
``QUERY_BLOCK`` at a time, so memory grows with the pool (what a k-NN needs), never with the
number of queries times the pool. ``RetrievalDetector`` holds that shared part; a feature is a
subclass implementing ``_embed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import ClassVar

import numpy as np

from benchmark.core.samples import Sample, as_samples
from benchmark.protocol import BaseDetector
from benchmark.registry import pin_params, register_detector
from benchmark.toolkit.features import cached_features

EPS = 1e-6
QUERY_BLOCK = 256  # queries whose distances to the whole training pool are held at once


@dataclass(frozen=True)
class Neighbours:
    """The ``k`` nearest training items of each query, nearest first; all arrays ``(n, k)``."""

    ids: np.ndarray
    labels: np.ndarray
    distances: np.ndarray
    indices: np.ndarray


def harris_descriptor(
    samples: list[Sample], size: int = 299, grid: int = 8, n_bins: int = 16
) -> np.ndarray:
    """Pooled Harris response: ``3·grid² + n_bins`` numbers per image (see module docstring)."""
    import cv2

    cv2.setNumThreads(1)  # one process per core already (see benchmark.toolkit.features)
    out = np.zeros((len(samples), 3 * grid * grid + n_bins), dtype=np.float32)
    edges = np.linspace(0, size, grid + 1).astype(int)
    for i, s in enumerate(samples):
        gray = cv2.cvtColor(s.load(), cv2.COLOR_RGB2GRAY)
        gray = cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA)
        r = cv2.cornerHarris(gray.astype(np.float32) / 255.0, blockSize=2, ksize=3, k=0.04)
        peak = max(float(r.max()), EPS)
        # block sums by cumulative sums over the grid edges (cv2/numpy have no ragged pooling)
        maps = np.stack([np.maximum(r, 0), np.maximum(-r, 0), (r > 0.01 * peak).astype(np.float32)])
        cells = np.add.reduceat(np.add.reduceat(maps, edges[:-1], axis=1), edges[:-1], axis=2)
        area = np.outer(np.diff(edges), np.diff(edges))
        out[i, : 3 * grid * grid] = (cells / area).reshape(-1)
        signed_log = np.sign(r) * np.log10(1.0 + np.abs(r) * 1e4)
        out[i, 3 * grid * grid :] = np.histogram(signed_log, n_bins, range=(-4, 4))[0] / r.size
    strength = slice(0, 2 * grid * grid)
    out[:, strength] = np.log10(1.0 + out[:, strength] * 1e4)  # responses span decades
    return out


class RetrievalDetector(BaseDetector):
    """Shared k-NN vote, neighbours and metrics; subclasses implement ``_embed``."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"retrieval"})

    metric: str
    k: int | None
    k_grid: tuple[int, ...]
    standardize: bool

    def _embed(self, samples: list[Sample]) -> np.ndarray:
        raise NotImplementedError

    def _prepare(self, train: list[Sample]) -> None:
        """Hook run before the first embedding in ``fit`` (e.g. build a network)."""

    def _vectors(self, samples: list[Sample]) -> np.ndarray:
        x = self._embed(samples).astype(np.float64)
        if self.standardize:
            x = (x - self.mean_) / self.scale_
        if self.metric == "cos":
            x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), EPS)
        return x

    def _fit(self, train: list[Sample], val: list[Sample] | None) -> None:
        if self.metric not in ("cos", "l2"):
            raise ValueError(f"{self.meta.name}: metric must be 'cos' or 'l2', got {self.metric!r}")
        self._prepare(train)
        raw = self._embed(train).astype(np.float64)
        self.mean_ = raw.mean(axis=0) if self.standardize else 0.0
        self.scale_ = (
            np.where(raw.std(axis=0) > EPS, raw.std(axis=0), 1.0) if self.standardize else 1.0
        )
        self.index_ = self._vectors(train)
        self.index_labels_ = np.array([s.label for s in train])
        self.index_ids_ = np.array([s.id for s in train], dtype=object)
        grid = [k for k in self.k_grid if k <= len(train)] or [1]
        self.k_ = min(self.k or grid[len(grid) // 2], len(train))
        self.val_auc_ = float("nan")
        yv = np.array([s.label for s in val]) if val else np.zeros(0)
        if self.k is None and len(set(yv.tolist())) == 2:
            from sklearn.metrics import roc_auc_score

            votes = np.concatenate(
                [[self._vote(d, k) for k in grid] for d in self._blocks(self._vectors(val))],
                axis=1,
            )
            for k, vote in zip(grid, votes, strict=True):  # ascending: ties keep the smaller k
                auc = roc_auc_score(yv, vote)
                if not auc <= self.val_auc_:
                    self.k_, self.val_auc_ = k, float(auc)

    def _distances(self, q: np.ndarray) -> np.ndarray:
        if self.metric == "cos":
            return 1.0 - q @ self.index_.T
        sq = (
            (q * q).sum(1)[:, None]
            + (self.index_ * self.index_).sum(1)[None, :]
            - 2 * q @ self.index_.T
        )
        return np.sqrt(np.maximum(sq, 0.0))

    def _blocks(self, q: np.ndarray):
        """Distances of ``QUERY_BLOCK`` queries at a time to the pool (at least one block, empty
        for no queries): memory flat in the number of queries."""
        for a in range(0, max(len(q), 1), QUERY_BLOCK):
            yield self._distances(q[a : a + QUERY_BLOCK])

    def _vote(self, dist: np.ndarray, k: int) -> np.ndarray:
        idx = np.argsort(dist, axis=1, kind="stable")[:, :k]
        d = np.take_along_axis(dist, idx, axis=1)
        w = np.maximum(1.0 - d, 0.0) + EPS if self.metric == "cos" else 1.0 / (d + EPS)
        return (w * self.index_labels_[idx]).sum(1) / w.sum(1)

    def _predict_fake(self, samples: list[Sample]) -> np.ndarray:
        return np.concatenate(
            [self._vote(d, self.k_) for d in self._blocks(self._vectors(samples))]
        )

    def retrieve(self, images, k: int = 5) -> Neighbours:
        """The ``k`` nearest training items of each image (ids, labels, distances), nearest first.

        Args:
            images: samples, arrays or paths.
            k: neighbours per image.
        """
        self._check_fitted()
        idx, dists = [], []
        for dist in self._blocks(self._vectors(as_samples(images))):
            idx.append(np.argsort(dist, axis=1, kind="stable")[:, : min(k, dist.shape[1])])
            dists.append(np.take_along_axis(dist, idx[-1], axis=1))
        i = np.concatenate(idx)
        return Neighbours(self.index_ids_[i], self.index_labels_[i], np.concatenate(dists), i)

    def retrieval_metrics(self, samples, k: int = 5) -> dict[str, float]:
        """Precision@1, precision@k and mAP of labelled queries against the training pool.

        Relevant = same label as the query; mAP averages the average precision of each query
        over the full ranking of the pool.
        """
        self._check_fitted()
        samples = as_samples(samples)
        y = np.array([s.label for s in samples])
        if len(y) == 0 or not np.isin(y, (0, 1)).all():
            raise ValueError(f"{self.meta.name}: retrieval metrics need labelled (0/1) samples")
        k = min(k, len(self.index_))
        at_1, at_k, ap = [], [], []  # per query, one block of queries at a time
        for a, dist in zip(
            range(0, len(y), QUERY_BLOCK), self._blocks(self._vectors(samples)), strict=True
        ):
            ranked = self.index_labels_[np.argsort(dist, axis=1, kind="stable")]
            rel = (ranked == y[a : a + QUERY_BLOCK, None]).astype(np.float64)
            precision = np.cumsum(rel, axis=1) / np.arange(1, rel.shape[1] + 1)
            ap.append((precision * rel).sum(1) / np.maximum(rel.sum(1), 1.0))
            at_1.append(rel[:, 0])
            at_k.append(rel[:, :k].mean(1))
        return {
            "precision_at_1": float(np.concatenate(at_1).mean()),
            f"precision_at_{k}": float(np.concatenate(at_k).mean()),
            "map": float(np.concatenate(ap).mean()),
        }

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            from benchmark.protocol import NotFittedError

            raise NotFittedError(f"{self.meta.name} is not fitted yet: call fit(train, val) first")

    def n_parameters(self) -> int:
        """Numbers held in the search index (no weights are learned)."""
        return int(self.index_.size)


class HarrisRetrieval(RetrievalDetector):
    """Pooled Harris response at 299×299 + k-NN vote over the training pool."""

    #: Tried by ``run --tune N`` on validation; ``k`` is already chosen there from ``k_grid``.
    search_space: ClassVar[dict[str, tuple]] = {"grid": (4, 8, 12), "standardize": (True, False)}

    def __init__(
        self,
        metric: str = "cos",
        working_size: int = 299,
        grid: int = 8,
        k: int | None = None,
        k_grid: tuple[int, ...] = (1, 3, 5, 9, 15, 25, 41),
        standardize: bool = True,
        n_jobs: int = -1,
        use_cache: bool = True,
        seed: int = 0,
    ):
        self.metric = metric
        self.working_size = working_size
        self.grid = grid
        self.k = k
        self.k_grid = k_grid
        self.standardize = standardize
        self.n_jobs = n_jobs
        self.use_cache = use_cache
        self.seed = seed

    def _embed(self, samples: list[Sample]) -> np.ndarray:
        key = {"size": self.working_size, "grid": self.grid}
        fn = partial(harris_descriptor, **key)
        return cached_features(
            samples, fn, key, self.n_jobs, name="harris", use_cache=self.use_cache
        )

    def min_image_side(self) -> int:
        """``4·grid`` px (32 at grid 8): every pooling cell then holds a 4x4 source window,
        what one Harris response needs (3x3 Sobel derivatives summed over a 2x2 block)."""
        return 4 * int(self.grid)

    def cost_info(self) -> dict[str, object]:
        grid = f"{self.grid}x{self.grid}"
        return {
            "feature": f"Harris response pooled on {grid} at {self.working_size}px",
            "search": f"brute-force {self.metric} k-NN",
        }


_HARRIS = "Harris & Stephens 1988; Govi, Poppi, Marinelli §4 (image retrieval)"


@register_detector(  # min_side 32 = 4 px (a Harris window: 3x3 Sobel + 2x2 block) x grid 8
    family="classical",
    paper=_HARRIS,
    input_size=None,
    normalisation="grayscale 299x299",
    min_side=32,
)
def harris_retrieval_cos(**kw):
    """Harris-response descriptor, cosine k-NN vote (Govi, Poppi, Marinelli §4)."""
    return HarrisRetrieval(**pin_params(kw, metric="cos"))


@register_detector(  # min_side: as harris_retrieval_cos, same grid
    family="classical",
    paper=_HARRIS,
    input_size=None,
    normalisation="grayscale 299x299",
    min_side=32,
)
def harris_retrieval_l2(**kw):
    """Harris-response descriptor, Euclidean k-NN vote (Govi, Poppi, Marinelli §4)."""
    return HarrisRetrieval(**pin_params(kw, metric="l2"))
