"""DeepfakeBench's matrix: detectors as rows, test sets as columns, frame-level AUC, with the
published numbers beside ours.

The published frame-level AUCs are those of Yan, Zhang, Yuan, Lyu, Wu, "DeepfakeBench: A
Comprehensive Benchmark of Deepfake Detection", NeurIPS 2023 D&B (its README's results table,
detectors trained on FF++ c23); each row's two averages, recomputed from its columns, match
the published ones to rounding (a test checks this transcription). They select the checkpoint
that scores best on the test set; fakebench never does (validation decides, test is scored
once), so a published number is an optimistic reference, not a target to match.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.core.video_level import VIDEO_AGGREGATIONS, video_metric
from benchmark.engine.protocol import CROSS, WITHIN
from benchmark.report.generalisation import matrix
from benchmark.report.markdown import markdown_table

CITATION = (
    'Yan, Zhang, Yuan, Lyu, Wu, "DeepfakeBench: A Comprehensive Benchmark of Deepfake '
    'Detection", NeurIPS 2023 Datasets and Benchmarks'
)
# detector, then WITHIN (6), its average, then CROSS (8), its average: frame-level AUC
_PUBLISHED = """
Meso4       0.6077 0.5920 0.6771 0.6170 0.5946 0.5701 0.6097 0.7358 0.6091 0.9113 0.5481 0.5560 0.5994 0.5660 0.7150 0.6551
MesoIncep   0.7583 0.7278 0.8542 0.8087 0.7421 0.6517 0.7571 0.7366 0.6966 0.9233 0.6069 0.6226 0.7561 0.6438 0.9049 0.7364
CNN-Aug     0.8493 0.7846 0.9048 0.8788 0.9026 0.7313 0.8419 0.7420 0.7027 0.7993 0.6464 0.6361 0.6170 0.5985 0.8739 0.7020
Xception    0.9637 0.8261 0.9799 0.9785 0.9833 0.9385 0.9450 0.7794 0.7365 0.8341 0.8163 0.7077 0.7374 0.6249 0.9379 0.7718
EfficientB4 0.9567 0.8150 0.9757 0.9758 0.9797 0.9308 0.9389 0.7909 0.7487 0.8330 0.8148 0.6955 0.7283 0.6162 0.9472 0.7718
Capsule     0.8421 0.7040 0.8669 0.8634 0.8734 0.7804 0.8217 0.7909 0.7472 0.9107 0.6841 0.6465 0.6568 0.6465 0.9078 0.7488
FWA         0.8765 0.7357 0.9210 0.9000 0.8843 0.8120 0.8549 0.7897 0.6680 0.9334 0.7403 0.6132 0.6375 0.5551 0.8539 0.7239
FaceX-ray   0.9592 0.7925 0.9794 0.9872 0.9871 0.9290 0.9391 0.7093 0.6786 0.5531 0.7655 0.6326 0.6942 0.6553 0.8989 0.6985
FFD         0.9624 0.8237 0.9803 0.9784 0.9853 0.9306 0.9434 0.7840 0.7435 0.8609 0.8024 0.7029 0.7426 0.6056 0.9450 0.7733
CORE        0.9638 0.8194 0.9787 0.9803 0.9823 0.9339 0.9431 0.7798 0.7428 0.8475 0.8018 0.7049 0.7341 0.6032 0.9412 0.7694
Recce       0.9621 0.8190 0.9797 0.9779 0.9785 0.9357 0.9422 0.7677 0.7319 0.7985 0.8119 0.7133 0.7419 0.6095 0.9446 0.7649
UCF         0.9705 0.8399 0.9883 0.9840 0.9896 0.9441 0.9527 0.7793 0.7527 0.8241 0.8074 0.7191 0.7594 0.6462 0.9528 0.7801
F3Net       0.9635 0.8271 0.9793 0.9796 0.9844 0.9354 0.9449 0.7769 0.7352 0.8431 0.7975 0.7021 0.7354 0.5914 0.9347 0.7645
SPSL        0.9610 0.8174 0.9781 0.9754 0.9829 0.9299 0.9408 0.8150 0.7650 0.8767 0.8122 0.7040 0.7408 0.6437 0.9424 0.7875
SRM         0.9576 0.8114 0.9733 0.9696 0.9740 0.9295 0.9359 0.7926 0.7552 0.8638 0.8120 0.6995 0.7408 0.6014 0.9427 0.7760
"""  # noqa: E501 - a transcribed table reads best as it was printed
AVG_WITHIN, AVG_CROSS = "Avg. within", "Avg. cross"


def _published() -> pd.DataFrame:
    cols = [*WITHIN, AVG_WITHIN, *CROSS, AVG_CROSS]
    rows = {line.split()[0]: list(map(float, line.split()[1:])) for line in
            _PUBLISHED.strip().splitlines()}  # fmt: skip
    return pd.DataFrame.from_dict(rows, orient="index", columns=cols)


#: DeepfakeBench's published frame-level AUC (rows: its detector names).
PUBLISHED = _published()
#: fakebench detectors that are DeepfakeBench's method (same architecture, trained on FF++).
COUNTERPARTS = {"xception": "Xception", "meso4": "Meso4", "mesoinception4": "MesoIncep"}


def protocol_matrix(frame: pd.DataFrame, metric: str = "roc_auc") -> pd.DataFrame:
    """DeepfakeBench's layout: one row per detector (its counterpart's published row right
    below it, ``source`` says which), DeepfakeBench's columns present in ``frame`` (its
    ``column`` field) in their order, and each side's average over the columns present.

    Args:
        frame: cross-dataset rows of the protocol with a ``column`` per published cell.
        metric: ``roc_auc`` (frame level, as published) or a video-level one (no published
            numbers then).
    """
    cells = frame[frame["column"].fillna("") != ""].assign(test_on=lambda f: f["column"],
                                                           subset="all")  # fmt: skip
    ours = matrix(cells, metric)
    within = [c for c in WITHIN if c in ours.columns]
    cross = [c for c in CROSS if c in ours.columns]
    rows = []
    for _, r in ours.iterrows():
        rows.append({"detector": r["detector"], "source": "fakebench"})
        rows[-1] |= _with_means(r, within, cross)
        theirs = COUNTERPARTS.get(str(r["detector"]))
        if theirs and metric == "roc_auc":
            rows.append({"detector": theirs, "source": "DeepfakeBench (published)"})
            rows[-1] |= _with_means(PUBLISHED.loc[theirs], within, cross)
    columns = ["detector", "source", *within, AVG_WITHIN, *cross, AVG_CROSS]
    return pd.DataFrame(rows, columns=columns)


def _with_means(row: pd.Series, within: list[str], cross: list[str]) -> dict[str, float]:
    out = {c: float(row[c]) for c in (*within, *cross)}
    for name, cols in ((AVG_WITHIN, within), (AVG_CROSS, cross)):
        vals = np.array([out[c] for c in cols], dtype=float)
        out[name] = float(vals[~np.isnan(vals)].mean()) if (~np.isnan(vals)).any() else np.nan
    return out


def protocol_markdown(frame: pd.DataFrame) -> str:
    """``deepfakebench.md``: our matrix beside the published one, the caveat, the video-level
    matrix where the test sets are videos, and the failed cells."""
    table = protocol_matrix(frame)
    best = PUBLISHED[AVG_CROSS].idxmax()
    parts = [
        "# DeepfakeBench's protocol: trained on FaceForensics++ c23\n",
        "Frame-level ROC-AUC; rows are detectors, columns test sets in DeepfakeBench's layout "
        "(FF++ c23 and c40, each FF++ manipulation's test fakes against FF++'s test reals, then "
        "the cross-dataset sets). Trained on FF++ c23's train split (real and Deepfakes, "
        "Face2Face, FaceSwap, NeuralTextures; FaceShifter held out as the `Fsh` test set), "
        "threshold and early stopping on its val split, each test split scored once. Averages "
        "are over the columns present here, for both rows.\n",
        f"Published rows: {CITATION}, frame-level AUC from its README. **DeepfakeBench selects "
        "each checkpoint on the test set; fakebench does not** (validation decides), so the "
        "published numbers are optimistic references. Published cross-dataset averages over "
        f"all eight sets: Xception {PUBLISHED.at['Xception', AVG_CROSS]:.4f}, best "
        f"{best} {PUBLISHED.at[best, AVG_CROSS]:.4f}.\n",
        markdown_table(table),
    ]
    for agg in VIDEO_AGGREGATIONS:
        video = protocol_matrix(frame, video_metric("roc_auc", agg))
        if len(video):
            parts += [f"## Video-level ROC-AUC ({agg} of each video's frame scores)\n",
                      markdown_table(video)]  # fmt: skip
    errors = frame[frame["metric"] == "error"]
    if not errors.empty:
        parts += ["## Failed cells\n", markdown_table(errors[["detector", "test_on", "error"]])]
    return "\n".join(parts)
