"""One name per fit everywhere (leaderboard.csv/.md, figures, page) and the report's families."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from benchmark.report import labels
from benchmark.report.markdown import markdown
from benchmark.report.plotting import _labelled, with_fit
from benchmark.report.tables import leaderboard
from tests._report_data import scores_frame


@pytest.mark.parametrize(
    ("args", "name", "kind"),
    [
        (("sift_rf",), "sift_rf", "default"),
        (("sift_rf", "default", "none", "n/a", "{}"), "sift_rf", "default"),
        (("sift_rf", "val:8"), "sift_rf@val8", "tuned"),
        (("resnet18", "default", "cnndetection"), "resnet18+cnndetection", "augmented"),
        (("resnet18", "val:8", "cnndetection"), "resnet18@val8+cnndetection", "tuned, augmented"),
        (("resnet18", None, None, "no (random init)"), "resnet18 [random init]", "random init"),
        (("resnet18", None, None, "False"), "resnet18 [random init]", "random init"),
        # pretrained=False by design (the scratch control) is the method, not an ablation
        (("lite0_scratch", None, None, "False", {"pretrained": False}), "lite0_scratch",
         "default"),
        (("lite0_scratch", None, None, "no (from scratch)"), "lite0_scratch", "default"),
        (("univfd", None, None, "yes", '{"mode": "zero_shot"}'), "univfd [zero-shot]",
         "zero-shot"),
        (("univfd", "val:8", None, "yes", {"mode": "finetune"}), "univfd@val8 [fine-tuned]",
         "tuned, fine-tuned"),
        (("x", None, None, None, {"mode": "linear_probe"}), "x [linear-probe]", "linear-probe"),
    ],
)  # fmt: skip
def test_fit_label_and_kind(args, name, kind):
    assert labels.fit_label(*args) == name
    assert labels.fit_kind(*args[1:]) == kind


@pytest.mark.parametrize(
    ("detector", "pretrained", "params", "family"),
    [
        ("sift_rf", "n/a", None, "classical"),
        ("harris_retrieval_cos", "n/a", None, "classical"),
        ("fft_spectrum", "n/a", None, "spectral"),
        ("dct_frank", "n/a", None, "spectral"),
        ("metadata_baseline", "n/a", None, "baseline"),
        ("scratch_cnn", "n/a", None, "from scratch"),
        ("npr", "n/a", None, "from scratch"),
        ("resnet18", "n/a", None, "pretrained"),  # not applicable (no weights): still pretrained
        ("efficientnet_lite0", "yes", None, "pretrained"),
        ("resnet18", "no (random init)", None, "pretrained"),  # the ablation of a pretrained one
        ("efficientnet_lite0_scratch", "no (from scratch)", '{"pretrained": false}',
         "from scratch"),
        ("any_registered_or_not", "yes", {"mode": "zero_shot"}, "released"),
        ("unknown_fit", "yes", None, "pretrained"),
        ("unknown_fit", "n/a", None, "other"),
    ],
)  # fmt: skip
def test_detector_family(detector, pretrained, params, family):
    assert labels.detector_family(detector, pretrained, params) == family


def _rows(detector, tuning="default", params=None, pretrained=""):
    base = {"detector": detector, "dataset": "d", "train_aug": "none", "error": "",
            "tuning": tuning, "pretrained": pretrained, "params": json.dumps(params or {}),
            "split": "test", "condition": "clean", "subset": "all", "corruption": "",
            "severity": "", "resolution": "", "mode": "", "n": 40}  # fmt: skip
    return [base | {"metric": "roc_auc", "value": 0.8}, base | {"metric": "accuracy", "value": 0.7}]


def test_leaderboard_names_each_fit_and_the_table_and_figures_agree():
    rows = pd.DataFrame(
        _rows("sift_rf") + _rows("sift_rf", "val:8") + _rows("resnet18", pretrained="False")
        + _rows("univfd", params={"mode": "zero_shot"}, pretrained="True")
    )  # fmt: skip
    board = leaderboard(rows, pd.DataFrame())
    got = dict(zip(board["fit"], zip(board["detector_family"], board["fit_kind"],
                                     board["fit_mode"], strict=True), strict=True))  # fmt: skip
    assert got == {
        "sift_rf": ("classical", "default", ""),
        "sift_rf@val8": ("classical", "tuned", ""),
        "resnet18 [random init]": ("pretrained", "random init", ""),
        "univfd [zero-shot]": ("released", "zero-shot", "zero-shot"),
    }
    cols = list(board.columns)
    assert cols.index("fit") == cols.index("detector") + 1
    assert cols.index("detector_family") == cols.index("pretrained") + 1
    # the figures name a fit by the leaderboard's column, whatever frame they draw
    scores = pd.concat([scores_frame().assign(tuning=t) for t in ("default", "val:8")])
    scores = scores[scores["detector"] == "good"].assign(detector="sift_rf")
    drawn = set(_labelled(with_fit(scores, board))["detector"])
    assert drawn == {"sift_rf", "sift_rf@val8"}
    md = markdown(board, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), "d")
    assert "| sift_rf@val8 | sift_rf | classical | tuned |" in md
    assert "| univfd [zero-shot] | univfd | released | zero-shot |" in md
