"""Grad-CAM and gradient saliency grids for CNN detectors, on correct and wrong test predictions.

Where does a CNN look when it calls a face fake? Congiu et al. 2025 and Ohayon 2025 answer with
Grad-CAM (Selvaraju et al. 2017) and saliency maps. For every fitted detector exposing
``torch_module()`` (the ``TorchDetector`` base), this module picks a fixed, seeded sample of
test images — correctly classified reals and fakes, and misclassified ones — at the
detector's tuned threshold, and saves one labelled grid per detector: each image, its
Grad-CAM of the *fake* logit on the last convolution (the maintained ``grad-cam`` package,
``pytorch_grad_cam``), and its gradient saliency |∂ fake logit / ∂ pixel| (max over
channels; Simonyan et al. 2014, Deep Inside Convolutional Networks, ICLR workshop), computed
with ``torch.autograd`` (``grad-cam`` has no vanilla-gradient method).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core.samples import Sample
from benchmark.report.figures import _save, plt
from detectors.deep.preprocess import load_images, to_input

PER_KIND = 3  # images per row kind: correct real, correct fake, wrong
KINDS = ("correct real", "correct fake", "wrong")


class SaliencyUnavailable(RuntimeError):
    """The detector or the environment cannot produce Grad-CAM maps."""


def pick_examples(
    samples: Sequence[Sample], scores: np.ndarray, threshold: float, per_kind: int = PER_KIND,
    seed: int = 0,
) -> list[tuple[str, Sample, float]]:  # fmt: skip
    """A fixed sample: ``per_kind`` correct reals, correct fakes and wrong predictions.

    Returns ``(kind, sample, score)`` triples; the draw is seeded, so the same test set and
    scores give the same images.
    """
    y = np.array([s.label for s in samples])
    pred = (np.asarray(scores) >= threshold).astype(int)
    rng = np.random.default_rng(seed)
    picks = []
    for kind, mask in zip(
        KINDS, ((pred == y) & (y == 0), (pred == y) & (y == 1), pred != y), strict=True
    ):
        idx = np.flatnonzero(mask)
        for i in sorted(rng.choice(idx, size=min(per_kind, len(idx)), replace=False)):
            picks.append((kind, samples[i], float(scores[i])))
    return picks


def last_conv(net: Any) -> Any:
    """The last ``Conv2d`` of a network: the usual Grad-CAM target layer."""
    from torch import nn

    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise SaliencyUnavailable(f"{type(net).__name__} has no Conv2d layer for Grad-CAM")
    return convs[-1]


def maps(det: Any, samples: Sequence[Sample]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input images, Grad-CAM maps and gradient saliency maps of the fake class.

    Returns:
        ``(images (N, S, S, 3) in [0, 1], gradcam (N, S, S), saliency (N, S, S))``, each map
        scaled to [0, 1] per image.
    """
    try:
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    except ImportError as exc:
        raise SaliencyUnavailable(
            "the grad-cam package is not installed: pip install --no-deps 'grad-cam>=1.5' ttach "
            "(--no-deps: it requires opencv-python-headless, which would overwrite the "
            "opencv-contrib-python build fakebench needs)"
        ) from exc
    import torch

    if "saliency" not in det.capabilities:
        # retrieval detectors expose an embedding network, not a real/fake classifier
        raise SaliencyUnavailable(
            f"{type(det).__name__} is not a torch classifier (it declares no 'saliency' "
            "capability: no torch_module() real/fake network to explain)"
        )
    net = det.torch_module()
    dev = next(net.parameters()).device
    size = int(getattr(det, "input_size_", getattr(det, "input_size", 0)) or 0)
    if size <= 0:
        raise SaliencyUnavailable(f"{type(det).__name__}: no input size")
    raw = load_images(list(samples), size)
    x = to_input(raw, det.normalisation, dev)
    # A frozen backbone (freeze=head) has requires_grad off, and then no gradient reaches its
    # last convolution: switch every parameter on for the explanation, restore afterwards.
    frozen = [p for p in net.parameters() if not p.requires_grad]
    try:
        for p in frozen:
            p.requires_grad_(True)
        with torch.enable_grad():
            cam = GradCAM(model=net, target_layers=[last_conv(net)])
            with cam:
                grad_cam = cam(input_tensor=x, targets=[ClassifierOutputTarget(1)] * len(x))
            xg = x.clone().requires_grad_(True)
            net.zero_grad(set_to_none=True)
            net(xg)[:, 1].sum().backward()
            sal = xg.grad.detach().abs().amax(dim=1).cpu().numpy()
    finally:
        for p in frozen:
            p.requires_grad_(False)
        net.zero_grad(set_to_none=True)
    sal = sal / np.maximum(sal.reshape(len(sal), -1).max(1), 1e-12)[:, None, None]
    images = raw.permute(0, 2, 3, 1).numpy().astype(np.float32) / 255.0
    return images, np.asarray(grad_cam, dtype=np.float32), sal.astype(np.float32)


def saliency_grid(det: Any, picks: list[tuple[str, Sample, float]], path: Path,
                  title: str = "") -> Path:  # fmt: skip
    """One figure: per picked image a column with the image, its Grad-CAM and its saliency."""
    from pytorch_grad_cam.utils.image import show_cam_on_image

    if not picks:
        raise SaliencyUnavailable("no test images to explain")
    images, cams, sals = maps(det, [p[1] for p in picks])
    n = len(picks)
    fig, axes = plt.subplots(3, n, figsize=(1.9 * n, 6.4), squeeze=False, layout="constrained")
    for j, (kind, sample, score) in enumerate(picks):
        truth = "fake" if sample.label else "real"
        axes[0, j].imshow(images[j])
        axes[0, j].set_title(f"{kind}\n{truth}, p(fake)={score:.2f}", fontsize=7)
        axes[1, j].imshow(show_cam_on_image(images[j], cams[j], use_rgb=True))
        axes[2, j].imshow(sals[j], cmap="inferno")
        for i in range(3):
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
    axes[0, 0].set_ylabel("image", fontsize=8)
    axes[1, 0].set_ylabel("Grad-CAM (fake)", fontsize=8)
    axes[2, 0].set_ylabel("|gradient| saliency", fontsize=8)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)
