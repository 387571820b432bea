"""The freeze-policy table: backbone × policy from the fits' own parameters."""

from __future__ import annotations

import json

import pandas as pd

from benchmark.report.freeze import freeze_table, markdown_section


def test_one_row_per_backbone_fit_in_policy_order():
    fits = [("lite_full", {"arch": "efficientnet_lite0", "freeze": "full", "input_size": 224}),
            ("lite_head", {"arch": "efficientnet_lite0", "freeze": "head", "input_size": 224}),
            ("lite_l1", {"arch": "efficientnet_lite0", "freeze": "last_n", "last_n": 1,
                         "input_size": 224}),
            ("sift_svm", {"vocab": 64})]  # fmt: skip
    rows = pd.DataFrame({"detector": [n for n, _ in fits], "dataset": ["d"] * 4,
                         "params": [json.dumps(p) for _, p in fits]})  # fmt: skip
    board = pd.DataFrame({"detector": [n for n, _ in fits], "dataset": ["d"] * 4,
                          "tuning": ["default"] * 4, "pretrained": ["yes"] * 3 + ["n/a"],
                          "roc_auc": [0.9, 0.7, 0.8, 0.6], "roc_auc_lo": [0.85, 0.6, 0.7, 0.5],
                          "roc_auc_hi": [0.95, 0.8, 0.9, 0.7], "train_seconds": [100, 2, 30, 1],
                          "status": ["ok"] * 4})  # fmt: skip
    table = freeze_table(board, rows)
    assert list(table["freeze"]) == ["head", "last_n=1", "full"]
    assert list(table["roc_auc"]) == [0.7, 0.8, 0.9]
    text = markdown_section(table)
    assert "0.800 [0.700, 0.900]" in text and "Freeze policy" in text
    assert markdown_section(freeze_table(board.iloc[3:], rows.iloc[3:])) == ""
