"""``datasets check``: what a local copy holds and which storage shortcuts separate its classes.

Counts per split and class, skipped files by reason, class balance, exact duplicates across
splits; then the shortcut audit: per class, the distribution of image size, file format, JPEG
quality (IJG estimate from the luma quantisation table) and bytes per pixel, each one's ROC-AUC
as a lone score, and the metadata-only baseline's test AUC (``metadata_baseline``: a logistic
regression on file-storage metadata, no pixels). Images below a registered detector's minimum
side (``min_side``) are counted per split, grouped by that minimum: a run leaves them out of
that detector's splits only. A feature that alone reaches
``SEPARATES`` (AUC >= 0.9 or <= 0.1) gets a warning: a detector can score well by learning it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from benchmark.core import metrics
from benchmark.core.samples import SPLITS, Dataset, Sample, stored_size
from benchmark.data.jpeg import ijg_quality
from benchmark.plugins import create_detector, detector_meta, list_detectors

SEPARATES = 0.9


def jpeg_quality(sample: Sample) -> float:
    """IJG quality implied by a JPEG's luma table; NaN for other formats or unreadable files."""
    from PIL import Image

    if sample.path is None:
        return float("nan")
    try:
        with Image.open(sample.path) as im:
            quant = getattr(im, "quantization", None) or {}
    except Exception:  # noqa: BLE001 - an audit figure must never fail the check
        return float("nan")
    if not quant:
        return float("nan")
    return ijg_quality(np.asarray(quant[min(quant)][:64], dtype=np.float64))


def features(samples: list[Sample]) -> dict[str, np.ndarray]:
    """Per-sample storage features: pixels, bytes per pixel, JPEG quality, format code."""
    formats = sorted({str(s.meta.get("format", "")) for s in samples})
    px = np.array([float(s.meta.get("width", 0)) * float(s.meta.get("height", 0)) for s in samples])
    size = np.array([float(s.meta.get("bytes", 0)) for s in samples])
    return {
        "size_px": px,
        "bytes_per_pixel": np.divide(size, px, out=np.full_like(size, np.nan), where=px > 0),
        "jpeg_quality": np.array([jpeg_quality(s) for s in samples]),
        "format": np.array([formats.index(str(s.meta.get("format", ""))) for s in samples], float),
    }


def lone_auc(y: np.ndarray, values: np.ndarray) -> float:
    """ROC-AUC of one feature used as a score (NaN as a value of its own, ranked lowest)."""
    from sklearn.metrics import roc_auc_score

    if len(set(y.tolist())) < 2:
        return float("nan")
    v = np.where(
        np.isnan(values), np.nanmin(values) - 1 if np.isfinite(values).any() else 0, values
    )
    return float(roc_auc_score(y, v))


def below_min_side(dataset: Dataset) -> list[dict[str, Any]]:
    """Per distinct ``min_side`` of the registered detectors that leaves images out: the
    detectors, and how many images of each split fall below it (their default parameters)."""
    sides = {
        split: np.array([min(stored_size(s)) for s in dataset.splits[split]], dtype=int)
        for split in SPLITS
    }
    by_min: dict[int, list[str]] = {}
    for name in list_detectors():
        by_min.setdefault(detector_meta(name).min_side, []).append(name)
    out = []
    for min_side, names in sorted(by_min.items()):
        below = {split: int((v < min_side).sum()) for split, v in sides.items()}
        if any(below.values()):
            out.append({"min_side": min_side, "detectors": names, "below": below})
    return out


def audit(dataset: Dataset, baseline: bool = True) -> dict[str, Any]:
    """The check report of ``dataset`` as a dict (see the module docstring)."""
    allsamples = [s for split in SPLITS for s in dataset.splits[split]]
    y = np.array([s.label for s in allsamples])
    counts = {
        split: dict(Counter("fake" if s.label else "real" for s in dataset.splits[split]))
        for split in SPLITS
    }
    feats = features(allsamples)
    dists: dict[str, Any] = {}
    warnings = []
    for name, values in feats.items():
        auc = lone_auc(y, values)
        per_class = {}
        for label, cls in ((0, "real"), (1, "fake")):
            v = values[y == label]
            v = v[np.isfinite(v)]
            per_class[cls] = (
                {
                    "median": float(np.median(v)),
                    "p5": float(np.percentile(v, 5)),
                    "p95": float(np.percentile(v, 95)),
                    "n": int(v.size),
                }
                if v.size
                else {"n": 0}
            )
        dists[name] = {"auc": auc, **per_class}
        if np.isfinite(auc) and max(auc, 1 - auc) >= SEPARATES:
            warnings.append(f"{name} alone separates the classes (AUC {auc:.2f})")
    formats = {
        cls: dict(Counter(str(s.meta.get("format")) for s in allsamples if s.label == label))
        for label, cls in ((0, "real"), (1, "fake"))
    }
    report = {
        "dataset": dataset.name,
        "counts": counts,
        "fake_share": float(y.mean()) if y.size else float("nan"),
        "skipped": dataset.skip_counts(),
        "duplicates_across_splits": len(dataset.duplicates),
        "below_min_side": below_min_side(dataset),
        "formats": formats,
        "distributions": dists,
        "warnings": warnings,
    }
    if baseline:
        report["metadata_baseline_auc"] = metadata_baseline_auc(dataset)
        auc = report["metadata_baseline_auc"]
        if isinstance(auc, float) and np.isfinite(auc) and max(auc, 1 - auc) >= SEPARATES:
            warnings.append(f"the metadata-only baseline separates the classes (AUC {auc:.2f})")
    return report


def metadata_baseline_auc(dataset: Dataset) -> float | str:
    """Test ROC-AUC of ``metadata_baseline`` fitted on train; an error message if it fails."""
    try:
        det = create_detector("metadata_baseline").fit(dataset.train, dataset.val)
        scores = det.predict_proba(dataset.test)[:, 1]
        return metrics.roc_auc([s.label for s in dataset.test], scores)
    except Exception as exc:  # noqa: BLE001 - a failing baseline is reported, not fatal
        return f"failed: {type(exc).__name__}: {exc}"
