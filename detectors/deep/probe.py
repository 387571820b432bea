"""The linear probe: logistic regression on frozen pooled features, ``C`` chosen on validation.

The standard way to read how much a frozen pretrained backbone knows (as in the self-supervised
and CLIP literature, and UnivFD's linear probe on CLIP features): standardise the features,
fit scikit-learn's ``LogisticRegression`` for each ``C`` of a log grid on the training split,
keep the ``C`` with the lowest validation log-loss, and refit nothing (the validation split
only chooses). The result is written into the backbone's 2-way ``nn.Linear`` head, so the
fitted detector stays one torch module (saved, timed and explained like the others):
``softmax([0, w·(x-μ)/σ + b])[1] = sigmoid(w·(x-μ)/σ + b)``, exactly the probe's probability.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The regularisation grid (inverse strength), log-spaced over 8 decades: on standardised
#: 1280-d ImageNet features of a few hundred images the chosen C is often below 1e-3.
C_GRID = tuple(float(c) for c in np.logspace(-6, 2, 9))


@dataclass
class ProbeResult:
    """The chosen probe: ``C``, the head's weights and the validation log-loss per ``C``."""

    C: float
    weight: np.ndarray  # (d,) in raw feature units
    bias: float
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def fit_probe(
    train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray | None, val_y: np.ndarray | None,
    *, seed: int = 0, grid: tuple[float, ...] = C_GRID,
) -> ProbeResult:  # fmt: skip
    """Fit the probe on ``train`` and choose ``C`` on ``val`` (or a stratified 10% of train).

    Returns the probe folded back into raw feature units, so ``x @ weight + bias`` is its logit.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.preprocessing import StandardScaler

    from detectors.deep.preprocess import stratified_holdout

    t0 = time.perf_counter()
    train_y = np.asarray(train_y).astype(int)
    if val_x is None or val_y is None or len(val_y) == 0:
        keep, held = stratified_holdout(train_y, 0.1, seed)
        train_x, val_x, train_y, val_y = train_x[keep], train_x[held], train_y[keep], train_y[held]
    scaler = StandardScaler().fit(train_x)
    tx, vx = scaler.transform(train_x), scaler.transform(val_x)
    best: tuple[float, Any] | None = None
    history = []
    for c in grid:
        clf = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(tx, train_y)
        loss = float(log_loss(val_y, clf.predict_proba(vx)[:, 1], labels=[0, 1]))
        history.append({"C": c, "val_loss": loss})
        if best is None or loss < best[0]:
            best = (loss, clf)
    assert best is not None
    clf = best[1]
    sd = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    weight = clf.coef_[0] / sd
    bias = float(clf.intercept_[0] - np.dot(weight, scaler.mean_))
    return ProbeResult(float(clf.C), weight, bias, history, time.perf_counter() - t0)


def to_linear(probe: ProbeResult) -> Any:
    """The probe as a 2-way ``nn.Linear`` head (real logit 0, fake logit the probe's)."""
    import torch
    from torch import nn

    d = probe.weight.shape[0]
    head = nn.Linear(d, 2)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.weight[1] = torch.from_numpy(probe.weight.astype(np.float32))
        head.bias[1] = float(probe.bias)
    return head
