"""What a fit is called, and which family it belongs to: one name in every table and figure.

A results folder can hold several fits of one detector side by side: its defaults, a fit tuned
on validation (``--tune 8``), one trained on augmented images (``--train-aug``), a released
checkpoint used as published or fine-tuned, a pretrained architecture run from random
initialisation (the ``--allow-random-init`` ablation). :func:`fit_label` names each; the
leaderboard stores the name as its ``fit`` column and the figures and the page read it from
there, so a fit is called the same everywhere. :func:`detector_family` sorts detectors into the
report's families (:data:`FAMILIES`), from their registration and the fit's own columns.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import pandas as pd

#: The report's detector families, in the order sections and panels are drawn.
FAMILIES = ("classical", "spectral", "from scratch", "pretrained", "released", "baseline", "other")
#: Words in a classical detector's module or name that mark a frequency-domain method.
SPECTRAL_WORDS = ("fft", "dct", "spectr", "frequen", "fourier")
#: Parameters that tell fits of one detector apart, and how a label shows their values
#: (released checkpoints: ``mode`` = used as published or fine-tuned on the train split).
LABEL_PARAMS = {"mode": {"zero_shot": "zero-shot", "finetune": "fine-tuned"}}
RANDOM_INIT = "random init"


def params_of(value: Any) -> dict[str, Any]:
    """A fit's parameters from the ``params`` column (JSON text) or a dict; {} otherwise."""
    if isinstance(value, dict):
        return value
    try:
        params = json.loads(str(value))
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}


def _text(value: Any, empty: str = "") -> str:
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return empty
    return str(value).strip()


def is_random_init(pretrained: Any) -> bool:
    """Whether a ``pretrained`` value (``fits.csv``'s or the leaderboard's) says a pretrained
    architecture ran from random initialisation without its weights (not by design)."""
    text = _text(pretrained).lower()
    return text in ("false", "no") or text.startswith("no (random")


def fit_parts(
    tuning: Any = None, train_aug: Any = None, pretrained: Any = None, params: Any = None
) -> list[tuple[str, str]]:
    """What makes a fit differ from the detector's defaults: ``(kind, suffix)`` pairs, e.g.
    ``("tuned", "@val8")``, ``("augmented", "+cnndetection")``, ``("zero-shot", " [zero-shot]")``,
    ``("random init", " [random init]")``; [] for a default fit."""
    parts = []
    tun = _text(tuning, "default")
    if tun not in ("default", ""):
        parts.append(("tuned", "@" + tun.replace(":", "")))
    aug = _text(train_aug, "none")
    if aug not in ("none", ""):
        parts.append(("augmented", "+" + aug))
    p = params_of(params)
    for name, names in LABEL_PARAMS.items():
        value = _text(p.get(name))
        if value:
            shown = names.get(value, value.replace("_", "-"))
            parts.append((shown, f" [{shown}]"))
    if is_random_init(pretrained) and p.get("pretrained") is not False:
        parts.append((RANDOM_INIT, f" [{RANDOM_INIT}]"))
    return parts


def fit_label(
    detector: Any,
    tuning: Any = None,
    train_aug: Any = None,
    pretrained: Any = None,
    params: Any = None,
) -> str:
    """One name per fit: the detector, ``@val8`` for a fit tuned with ``--tune 8`` (the name
    ``predict -d`` takes), ``+cnndetection`` for a training augmentation, `` [zero-shot]`` or
    `` [fine-tuned]`` for a released checkpoint's ``mode``, `` [random init]`` for a pretrained
    architecture run without its weights (an ablation, never the method); plain for defaults."""
    suffix = "".join(s for _, s in fit_parts(tuning, train_aug, pretrained, params))
    return str(detector) + suffix


def fit_kind(
    tuning: Any = None, train_aug: Any = None, pretrained: Any = None, params: Any = None
) -> str:
    """The kinds of :func:`fit_parts` joined with ", " (``"tuned, augmented"``), or "default"."""
    return ", ".join(k for k, _ in fit_parts(tuning, train_aug, pretrained, params)) or "default"


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series([None] * len(frame), index=frame.index)


def fit_labels(frame: pd.DataFrame) -> pd.Series:
    """:func:`fit_label` of every row of ``frame`` (columns it lacks count as defaults)."""
    cols = [_column(frame, c) for c in ("detector", "tuning", "train_aug", "pretrained", "params")]
    return pd.Series(
        [fit_label(*v) for v in zip(*cols, strict=True)], index=frame.index, dtype=object
    )


@lru_cache(maxsize=512)
def _registered(detector: str) -> tuple[str, str, frozenset[str]] | None:
    """(registered family, module, capabilities) of a detector, or None when not registered."""
    from benchmark.plugins import create_detector, detector_meta
    from benchmark.registry import DETECTORS, RegistryError

    try:
        meta, module = detector_meta(detector), DETECTORS.get(detector).module
    except RegistryError:
        return None
    try:  # __init__ only stores its arguments: cheap, no weights, no heavy imports
        caps = frozenset(getattr(create_detector(detector), "capabilities", ()))
    except Exception:  # noqa: BLE001 - a family is a label; a broken factory is reported elsewhere
        caps = frozenset()
    return meta.family, module, caps


def detector_family(detector: Any, pretrained: Any = None, params: Any = None) -> str:
    """The report's family of a fit (one of :data:`FAMILIES`).

    ``released``: a released checkpoint (its module under ``detectors.released`` or a ``mode``
    parameter); ``baseline``: registered as a baseline; ``spectral``: a classical detector whose
    module or name says frequency domain (:data:`SPECTRAL_WORDS`); ``classical``: the other
    classical ones; ``pretrained``: a deep detector that loads pretrained weights (the
    ``pretrained_weights`` capability), also when run from random init as an ablation; ``from
    scratch``: the other deep ones, and a pretrained architecture whose ``pretrained: false`` is
    its design (a random-init control). Unregistered detectors fall back on ``pretrained``.
    """
    name, p = str(detector), params_of(params)
    pre = _text(pretrained).lower()
    reg = _registered(name)
    family, module, caps = reg if reg is not None else ("", "", frozenset())
    if module.startswith("detectors.released") or _text(p.get("mode")) in LABEL_PARAMS["mode"]:
        return "released"
    if family == "baseline":
        return "baseline"
    if family == "classical":
        where = (module.rsplit(".", 1)[-1] + " " + name).lower()
        return "spectral" if any(w in where for w in SPECTRAL_WORDS) else "classical"
    if p.get("pretrained") is False or pre.startswith("no (from scratch"):
        return "from scratch"
    if family == "deep":
        return "pretrained" if "pretrained_weights" in caps else "from scratch"
    if pre == "yes" or is_random_init(pre):
        return "pretrained"
    return "other"


FIT_COLUMNS = ("fit", "detector_family", "fit_kind", "fit_mode")


def fit_columns(board: pd.DataFrame, rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``board`` (one row per fit, ``keys`` its identity) with :data:`FIT_COLUMNS`: the fit's
    name, its family, what kind of fit it is and the detector's ``mode`` parameter (released
    checkpoints: zero-shot or fine-tuned; empty for the others), from each fit's ``params`` in
    ``rows``. ``fit`` sits after ``detector``, the others after ``pretrained``."""
    board = board.drop(columns=[c for c in FIT_COLUMNS if c in board])
    params = pd.Series([None] * len(board), index=board.index, dtype=object)
    if "params" in rows and len(board):
        per_fit = rows.assign(**{k: _keyed(rows, k) for k in keys}).drop_duplicates(
            keys, keep="last"
        )
        table = per_fit.set_index(keys)["params"]
        params = pd.Series(
            [table.get(tuple(_keyed(board, k)[i] for k in keys)) for i in board.index],
            index=board.index,
            dtype=object,
        )
    cols = [_column(board, c) for c in ("detector", "tuning", "train_aug", "pretrained")]
    values = list(zip(*cols, params, strict=True))
    mode_names = LABEL_PARAMS["mode"]
    new = {
        "fit": [fit_label(*v) for v in values],
        "detector_family": [detector_family(v[0], v[3], v[4]) for v in values],
        "fit_kind": [fit_kind(*v[1:]) for v in values],
        "fit_mode": [
            mode_names.get(_text(params_of(v[4]).get("mode")), _text(params_of(v[4]).get("mode")))
            for v in values
        ],
    }
    out = board.copy()
    for name, values_ in new.items():
        out[name] = values_
    order = [c for c in out.columns if c not in FIT_COLUMNS]
    at = order.index("detector") + 1 if "detector" in order else 0
    order[at:at] = ["fit"]
    after = order.index("pretrained") + 1 if "pretrained" in order else len(order)
    order[after:after] = ["detector_family", "fit_kind", "fit_mode"]
    return out[order]


def _keyed(frame: pd.DataFrame, key: str) -> pd.Series:
    """A key column as text, with an empty tuning read as "default" (as the leaderboard does)."""
    col = frame[key].astype(object)
    if key == "tuning":
        col = col.where(col.notna() & (col.astype(str) != ""), "default")
    return col.astype(str)
