"""A plain Durall et al. re-implementation to check ``fft_spectrum`` against.

Durall, Keuper & Keuper 2020, "Watch your Up-Convolution: CNN Based Generative Deep Neural
Networks are Failing to Reproduce Spectral Distributions" (CVPR 2020), after Durall et al.
2019, "Unmasking DeepFakes with simple features": the grayscale image's shifted 2-D spectrum
as ``20·log|F + ε|``, azimuthally averaged over **every** integer radius (their public
``radialProfile.azimuthalAverage``: centre at ``((w−1)/2, (h−1)/2)``, corners included, no
resampling, so all images must share one size), standardised, then logistic regression with
its ``C`` chosen by 5-fold cross-validation on the training split. Written independently of
``detectors.classical.fft_spectrum`` on purpose: it is the yardstick, not a variant.

``compare`` scores it (also kept to the inscribed circle) and ``fft_spectrum`` (old
``np.interp`` sampling, new bin averaging over the full circle and up to the corners, and
tuned on validation) on one dataset's test split; ``upsampling_dataset`` builds a 512-px set
whose fakes differ from the reals only by one transposed-convolution up-sampling. Run::

    python -m benchmark.durall_check --dataset ../shared/data/yonsei-ps-256
    python -m benchmark.durall_check --upsampling ../shared/data/yonsei-ps-256/real
    python -m benchmark.durall_check --upsampling DIR --eps 0.002,0.006 --quality 75  # harder
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core.events import emit
from benchmark.core.samples import Dataset, Sample, read_image
from benchmark.data import load_dataset
from benchmark.data.manifest import split_samples
from benchmark.engine.tuning import tune
from benchmark.plugins import create_detector

EPS = 1e-8


def durall_features(images: Sequence[np.ndarray]) -> np.ndarray:
    """Azimuthal average of ``20·log|F + ε|`` over every integer radius, one row per image.

    Raises:
        ValueError: when the images do not all have one size (no resampling here).
    """
    import cv2

    shapes = {img.shape[:2] for img in images}
    if len(shapes) != 1:
        raise ValueError(f"durall_features needs one image size, got {sorted(shapes)}")
    ((h, w),) = shapes
    y, x = np.indices((h, w))
    r = np.hypot(x - (w - 1) / 2.0, y - (h - 1) / 2.0).astype(int).ravel()
    counts = np.bincount(r)
    out = np.empty((len(images), counts.size))
    for i, img in enumerate(images):
        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float64)
        spec = 20.0 * np.log(np.abs(np.fft.fftshift(np.fft.fft2(gray)) + EPS))
        out[i] = np.bincount(r, weights=spec.ravel()) / counts
    return out


def durall_reference_aucs(
    train: Sequence[Sample], test: Sequence[Sample], seed: int = 0
) -> dict[str, float]:
    """Test ROC-AUC of the re-implementation fitted on ``train`` (C by 5-fold CV on train):
    ``"full"`` with every radius up to the corners (Durall's), ``"circle"`` with only the radii
    below half the shorter side (the inscribed circle), to tell what the corners are worth.
    The spectra are computed once for both.
    """
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_images = [s.load() for s in train]
    xtr = durall_features(train_images)
    xte = durall_features([s.load() for s in test])
    ytr, yte = [s.label for s in train], [s.label for s in test]
    circle = min(train_images[0].shape[:2]) // 2
    out = {}
    for name, cols in (("full", slice(None)), ("circle", slice(0, circle))):
        clf = LogisticRegressionCV(Cs=10, cv=5, scoring="roc_auc", max_iter=5000, random_state=seed)
        with warnings.catch_warnings():  # scikit-learn 1.8+ announces new defaults; plain L2
            warnings.simplefilter("ignore", FutureWarning)
            model = make_pipeline(StandardScaler(), clf).fit(xtr[:, cols], ytr)
        out[name] = float(roc_auc_score(yte, model.predict_proba(xte[:, cols])[:, 1]))
    return out


def phase_gain(img: np.ndarray, eps: float) -> np.ndarray:
    """The uneven-overlap gain of a stride-2 transposed convolution, applied to ``img``.

    With a kernel whose even and odd output phases sum to different weights, every other row
    and column is amplified: a separable gain ``(1 + ε·(−1)^y)(1 + ε·(−1)^x)`` (Odena et al.
    2016's checkerboard). It copies the image's spectrum to the Nyquist frequency, a narrow
    peak in the radial profile.
    """
    h, w = img.shape[:2]
    gy = 1.0 + eps * (-1.0) ** np.arange(h)
    gx = 1.0 + eps * (-1.0) ** np.arange(w)
    return img * (gy[:, None] * gx[None, :])[..., None]


def upsampling_dataset(
    sources: Sequence[Path],
    size: int = 512,
    seed: int = 0,
    n: int | None = None,
    eps: tuple[float, float] = (0.02, 0.06),
    quality: int = 90,
) -> Dataset:
    """``size``-px images up-sampled 4× from ``size // 4``; fakes carry a checkerboard.

    Each source photograph is centre-cropped and area-resized to ``size // 4``, then enlarged
    2× twice with Lanczos-4. Fakes (half of the photographs, chosen by ``seed``) get the
    checkerboard gain of :func:`phase_gain` (``ε`` drawn uniformly in ``eps``) after the first
    enlargement, as if it had been a transposed convolution; the second enlargement puts the
    peak at a quarter of the final sampling rate (around bin ``size / 4`` of the radial
    profile), as in a generator whose last up-convolution is followed by one more
    up-sampling. Both classes are then JPEG-encoded at ``quality`` alike. Split 65/15/20,
    stratified. The defaults make an easy set (every variant scores 1.000 at 512 px); a
    smaller ``eps`` and a lower ``quality`` make one that tells the spectral variants apart.
    """
    import cv2

    lo, hi = eps
    if not 0.0 <= lo <= hi < 1.0:
        raise ValueError(f"eps must be a range 0 <= lo <= hi < 1, got {eps}")
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {quality}")

    rng = np.random.default_rng(seed)
    paths = sorted(sources)
    if n is not None:
        paths = [paths[i] for i in np.sort(rng.choice(len(paths), min(n, len(paths)), False))]
    fake = rng.permutation(len(paths)) < len(paths) // 2
    samples = []
    q = size // 4
    for i, p in enumerate(paths):
        img = read_image(p)
        side = min(img.shape[:2])
        y0, x0 = (img.shape[0] - side) // 2, (img.shape[1] - side) // 2
        small = cv2.resize(
            img[y0 : y0 + side, x0 : x0 + side], (q, q), interpolation=cv2.INTER_AREA
        ).astype(np.float32)
        mid = cv2.resize(small, (2 * q, 2 * q), interpolation=cv2.INTER_LANCZOS4)
        if fake[i]:
            mid = phase_gain(mid, float(rng.uniform(lo, hi)))
        big = cv2.resize(mid, (size, size), interpolation=cv2.INTER_LANCZOS4)
        big = np.clip(np.rint(big), 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", big[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        big = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
        family = "transposed_conv" if fake[i] else "real"
        samples.append(Sample(f"up{i:05d}", int(fake[i]), None, {"family": family}, big))
    rest, test = split_samples(samples, [s.id for s in samples], 0.2, seed, "upsampling set")
    train, val = split_samples(rest, [s.id for s in rest], 0.15 / 0.8, seed, "upsampling set")
    key = [str(p) for p in paths] + [size, seed, lo, hi, quality]
    fp = hashlib.sha1(json.dumps(key).encode()).hexdigest()[:16]
    return Dataset(
        f"upsampling-{size}px-eps{lo:g}-{hi:g}-q{quality}",
        {"train": train, "val": val, "test": test},
        fp,
    )


def compare(dataset: Dataset, seed: int = 0, tune_n: int = 8) -> dict[str, Any]:
    """Test ROC-AUC of the reference and of ``fft_spectrum`` before/after/tuned on ``dataset``.

    ``fft_spectrum`` is fitted on train (validation only for tuning), as the harness does;
    the reference on train with 5-fold CV inside it.
    """
    from sklearn.metrics import roc_auc_score

    y = [s.label for s in dataset.test]
    out: dict[str, Any] = {"dataset": dataset.name, "summary": dataset.summary()}
    t0 = time.perf_counter()
    ref = durall_reference_aucs(dataset.train, dataset.test, seed)
    out["durall2020_reference"], out["durall2020_reference_circle"] = ref["full"], ref["circle"]
    out["durall2020_reference_seconds"] = time.perf_counter() - t0  # both fits
    for label, params in (
        ("fft_spectrum_interp_before", {"binning": "interp", "extent": "circle"}),
        ("fft_spectrum_mean_after", {"binning": "mean", "extent": "circle"}),
        ("fft_spectrum_mean_corners", {"binning": "mean", "extent": "corners"}),  # default
    ):
        emit(f"{dataset.name}: {label}")
        det = create_detector("fft_spectrum", seed=seed, **params).fit(dataset.train, dataset.val)
        out[label] = float(roc_auc_score(y, det.predict_proba(dataset.test)[:, 1]))
    det = create_detector("fft_spectrum", seed=seed)
    res = tune(det, dataset.train, dataset.val, tune_n, seed)
    out["fft_spectrum_tuned"] = float(
        roc_auc_score(y, res.fitted.predict_proba(dataset.test)[:, 1])
    )
    out["fft_spectrum_tuned_params"] = res.params
    out["fft_spectrum_tuning_seconds"] = res.seconds
    return out


def main(argv: list[str] | None = None) -> int:
    """Print ``compare``'s figures as JSON for a folder dataset or a generated up-sampling set."""
    p = argparse.ArgumentParser(prog="python -m benchmark.durall_check", description=__doc__)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--dataset", help="registered name or folder (as `run --dataset`)")
    which.add_argument("--upsampling", type=Path, help="folder of source photographs")
    p.add_argument("--size", type=int, default=512, help="side of the up-sampling set")
    p.add_argument("--n", type=int, default=None, help="use at most N source photographs")
    p.add_argument(
        "--eps",
        default="0.02,0.06",
        help="range LO,HI of the fakes' checkerboard gain (smaller: a harder set; default "
        "0.02,0.06)",
    )
    p.add_argument("--quality", type=int, default=90, help="JPEG quality both classes are saved at")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and of the fakes")
    p.add_argument("--tune", type=int, default=8, help="configurations for the tuned row")
    args = p.parse_args(argv)
    if args.upsampling is not None:
        exts = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
        files = [f for f in Path(args.upsampling).rglob("*") if f.suffix.lower() in exts]
        if len(files) < 10:
            raise SystemExit(f"{args.upsampling}: need at least 10 images, found {len(files)}")
        try:
            lo, hi = (float(v) for v in args.eps.split(","))
        except ValueError:
            raise SystemExit(f"--eps: expected LO,HI (e.g. 0.005,0.01), got {args.eps!r}") from None
        dataset = upsampling_dataset(
            files, args.size, args.seed, args.n, eps=(lo, hi), quality=args.quality
        )
    else:
        dataset = load_dataset(args.dataset, seed=args.seed)
    print(json.dumps(compare(dataset, args.seed, args.tune), indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
