"""Figures that need the images or the fitted detectors, written at the end of ``run``.

* Mean log-magnitude Fourier spectra of real and fake test images, per manipulation family
  when the dataset names them, and fake − real (Leonardi §1.1; the up-sampling peaks that
  Durall et al. 2020 detect show up in the difference).
* Training curves of deep detectors from their fitted folders (``epochs.csv`` when the
  training loop writes one, else the history kept in ``training.json``/``fit.json``).
* Grad-CAM and gradient saliency grids of every detector declaring the ``torch`` capability
  (``torch_module()``; :mod:`benchmark.explain.saliency`).

All go to ``<tables>/figures/``; ``benchmark.run.publish_run`` writes the folder's
``report.html`` afterwards, once, so it links them. A figure that fails is reported and skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.core import events
from benchmark.core.samples import Dataset, Sample
from benchmark.explain.saliency import SaliencyUnavailable, pick_examples, saliency_grid
from benchmark.plugins import load_detector
from benchmark.report import figures
from benchmark.report.figures import FIGURES_DIR, _draw_all, _save, plt, training_curves

log = logging.getLogger(__name__)
MAX_SPECTRUM_SIZE = 256  # images are resized to one side before the FFT (spectra must align)
MAX_SPECTRUM_IMAGES = 400  # per class/family: enough for a smooth mean, bounded cost


def spectrum_size(samples: Sequence[Sample]) -> int:
    """Median short side of (up to 50 of) the images, at most ``MAX_SPECTRUM_SIZE``.

    Resizing to the images' own size adds no interpolation artefacts of its own.
    """
    sides = [min(s.load().shape[:2]) for s in list(samples)[:50]]
    return int(min(MAX_SPECTRUM_SIZE, np.median(sides))) if sides else MAX_SPECTRUM_SIZE


def mean_log_spectrum(samples: Sequence[Sample], size: int) -> np.ndarray:
    """Mean of log(1 + |FFT|) of the grey images, centred (DC in the middle), ``(size, size)``."""
    import cv2

    acc = np.zeros((size, size))
    for s in samples:
        grey = cv2.cvtColor(s.load(), cv2.COLOR_RGB2GRAY).astype(np.float64)
        if grey.shape != (size, size):
            grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)
        acc += np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(grey))))
    return acc / max(len(samples), 1)


def spectra_figure(samples: Sequence[Sample], path: Path, title: str = "") -> Path | None:
    """Mean spectra of reals, fakes and each fake family, and each minus the reals' mean."""
    reals = [s for s in samples if s.label == 0][:MAX_SPECTRUM_IMAGES]
    fakes = [s for s in samples if s.label == 1]
    if not reals or not fakes:
        return None
    groups: dict[str, list[Sample]] = {"all fakes": fakes[:MAX_SPECTRUM_IMAGES]}
    families = sorted({str(s.meta.get("family", "")) for s in fakes} - {""})
    if len(families) > 1:
        for fam in families:
            groups[fam] = [s for s in fakes if s.meta.get("family") == fam][:MAX_SPECTRUM_IMAGES]
    size = spectrum_size(reals)
    real_mean = mean_log_spectrum(reals, size)
    means = {k: mean_log_spectrum(v, size) for k, v in groups.items()}
    n = len(means) + 1
    fig, axes = plt.subplots(2, n, figsize=(2.6 * n, 5.4), squeeze=False, layout="constrained")
    vmin, vmax = np.percentile(real_mean, [1, 99.9])
    axes[0, 0].imshow(real_mean, cmap="viridis", vmin=vmin, vmax=vmax)
    axes[0, 0].set_title(f"real (n={len(reals)})", fontsize=8)
    axes[1, 0].axis("off")
    lim = max(float(np.abs(m - real_mean).max()) for m in means.values()) or 1.0
    for j, (name, m) in enumerate(means.items(), start=1):
        axes[0, j].imshow(m, cmap="viridis", vmin=vmin, vmax=vmax)
        axes[0, j].set_title(f"{name} (n={len(groups[name])})", fontsize=8)
        im = axes[1, j].imshow(m - real_mean, cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[1, j].set_title(f"{name} − real", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes[1, :].tolist(), shrink=0.8, label="Δ mean log(1+|FFT|)")
    fig.suptitle(f"Mean log-magnitude spectra ({size} px), test split {title}", fontsize=10)
    return _save(fig, path)


def training_histories(detectors_dir: Path) -> dict[str, pd.DataFrame]:
    """Per-epoch history of every fitted detector under ``detectors_dir`` that has one."""
    out = {}
    for folder in sorted(p for p in Path(detectors_dir).glob("*") if p.is_dir()):
        csv = folder / "epochs.csv"
        try:
            if csv.is_file():
                out[folder.name] = pd.read_csv(csv)
                continue
            for name in ("training.json", "fit.json"):
                info_file = folder / name
                if info_file.is_file():
                    history = json.loads(info_file.read_text()).get("history")
                    if history:
                        out[folder.name] = pd.DataFrame(history)
                        break
        except (ValueError, OSError, pd.errors.ParserError) as exc:
            events.emit(f"training curve of {folder.name} skipped: {folder}: {exc}")
    return {k: v for k, v in out.items() if "epoch" in v}


def _test_scores(det_name: str, scores: pd.DataFrame | None, det: Any,
                 test: list[Sample]) -> np.ndarray:  # fmt: skip
    """This detector's test scores: from the run's ``scores`` when they hold them all, else
    predicted."""
    if scores is not None and not scores.empty:
        sc = scores[scores["detector"] == det_name].drop_duplicates("sample_id", keep="last")
        by_id = dict(zip(sc["sample_id"], sc["score"], strict=True))
        if all(s.id in by_id for s in test):
            return np.array([by_id[s.id] for s in test], dtype=float)
    return det.predict_proba(test)[:, 1]


def saliency_figures(detectors_dir: Path, test: list[Sample], tables: Path, title: str = "",
                     only: Sequence[str] | None = None,
                     scores: pd.DataFrame | None = None) -> dict[str, Path]:  # fmt: skip
    """A Grad-CAM/saliency grid per fitted CNN detector under ``detectors_dir`` (in ``only``)."""
    out = {}
    for folder in sorted(p for p in Path(detectors_dir).glob("*") if (p / "fit.json").is_file()):
        if only is not None and folder.name not in only:  # explain what this run fitted
            continue
        try:
            det = load_detector(folder)
            if "saliency" not in det.capabilities:
                continue
            threshold = float(json.loads((folder / "fit.json").read_text())["threshold"])
            test_scores = _test_scores(folder.name, scores, det, test)
            picks = pick_examples(test, test_scores, threshold)
            path = Path(tables) / FIGURES_DIR / f"saliency_{folder.name}.png"
            out[f"figure_saliency_{folder.name}"] = saliency_grid(
                det, picks, path, title=f"{folder.name} {title}, threshold {threshold:.3f}"
            )
        except SaliencyUnavailable as exc:  # not a CNN classifier: nothing to explain
            log.info("no saliency for %s: %s", folder.name, exc)
        except Exception as exc:  # noqa: BLE001 - never crash a run
            plt.close("all")
            log.warning("saliency of %s failed", folder.name, exc_info=True)
            events.emit(f"Grad-CAM of {folder.name} skipped: {type(exc).__name__}: {exc}")
    return out


def write_run_figures(
    dataset: Dataset,
    detectors_dir: Path,
    tables: Path,
    scores: pd.DataFrame | None = None,
    detectors: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Spectra, training curves and Grad-CAM grids of a run into ``tables/figures/``.

    Args:
        dataset: the run's dataset (its test split is drawn).
        detectors_dir: the work folder's ``detectors/`` (the fitted detectors).
        tables: the folder the run's tables went to (published dataset folder or run tables).
        scores: the run's per-image test scores (the Grad-CAM examples are picked from them).
        detectors: the run's detectors: only their Grad-CAM grids are (re)drawn (None: all).
    """
    if not figures.enabled():
        return {}
    tables, detectors_dir = Path(tables), Path(detectors_dir)
    events.emit(f"figures from images and fits -> {tables / FIGURES_DIR}")
    paths = _draw_all(
        {
            "spectra": (spectra_figure, dataset.test),
            "training_curves": (training_curves, training_histories(detectors_dir)),
        },
        tables / FIGURES_DIR,
        dataset.name,
    )
    paths |= saliency_figures(detectors_dir, dataset.test, tables, dataset.name, detectors, scores)
    return paths
