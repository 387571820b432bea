"""Every figure writes a PNG from tiny tables, skips empty ones and stays legible at 50 fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark import publish
from benchmark.explain import run_figures as explain
from benchmark.report import curves, figures, plotting
from tests._report_data import board_frame, condition_frame, many_fits, scores_frame
from tests.report._legibility import problems

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path) -> bool:
    data = path.read_bytes()
    return data[:8] == PNG_MAGIC and len(data) > 2000


@pytest.mark.parametrize(
    ("fn", "data"),
    [
        (figures.roc_det_curves, scores_frame()),
        (figures.confusion_matrices, scores_frame()),
        (figures.score_densities, scores_frame()),
        (figures.reliability_diagram, scores_frame()),
        (figures.auc_vs_resolution, condition_frame("resolution")),
        (figures.robustness_heatmap, condition_frame("corruption")),
        (figures.auc_vs_severity, condition_frame("corruption")),
        (figures.pareto, board_frame()),
        (
            figures.training_curves,
            {
                "cnn": pd.DataFrame(
                    {
                        "epoch": [1, 2],
                        "train_loss": [0.7, 0.5],
                        "val_loss": [0.69, 0.6],
                        "val_auc": [0.6, 0.7],
                    }
                )
            },
        ),  # fmt: skip
    ],
)
def test_each_figure_writes_a_png_and_skips_empty_input(tmp_path, fn, data):
    path = fn(data, tmp_path / "f.png", title="d")
    assert path is not None and _is_png(path)
    empty = {} if isinstance(data, dict) else data.iloc[:0]
    assert fn(empty, tmp_path / "empty.png") is None
    assert not (tmp_path / "empty.png").exists()


def test_expected_calibration_error():
    y = np.array([0, 0, 1, 1])
    assert figures.expected_calibration_error(y, np.array([0.0, 0.0, 1.0, 1.0])) == 0.0
    # all scores 0.5 in one bin where half are fakes: perfectly calibrated on average
    assert figures.expected_calibration_error(y, np.full(4, 0.5)) == 0.0
    # confident and always wrong: ECE 1
    assert figures.expected_calibration_error(y, np.array([1.0, 1.0, 0.0, 0.0])) == 1.0


@pytest.fixture
def figures_on(monkeypatch):
    monkeypatch.setenv(figures.NO_FIGURES_ENV, "0")


def test_write_tables_draws_figures_and_the_page(tmp_path, figures_on, monkeypatch):
    rows = []
    for det, auc in (("good", 0.9), ("metadata_baseline", 0.55)):
        base = {
            "detector": det,
            "dataset": "d",
            "train_aug": "none",
            "error": "",
            "pretrained": "",
            "split": "test",
            "condition": "clean",
            "subset": "all",
            "corruption": "",
            "severity": "",
            "resolution": "",
            "mode": "",
            "n": 40,
        }
        rows += [base | {"metric": "roc_auc", "value": auc},
                 base | {"metric": "accuracy", "value": 0.6}]  # fmt: skip
    paths = publish.write_tables(
        pd.DataFrame(rows), pd.DataFrame(), tmp_path, "good", scores=scores_frame(), bootstrap=50
    )
    assert (
        _is_png(paths["figure_roc_det"])
        and "figures/roc_det.png" in paths["report_page"].read_text()
    )
    monkeypatch.setenv(figures.NO_FIGURES_ENV, "1")
    assert "figure_roc_det" not in publish.write_tables(pd.DataFrame(rows), pd.DataFrame(),
                                                        tmp_path / "off", "good")  # fmt: skip


def test_write_table_figures_survives_a_broken_table(tmp_path, figures_on):
    broken = pd.DataFrame({"metric": ["roc_auc"], "value": [0.5]})  # no detector column
    paths = figures.write_table_figures(
        tmp_path, board_frame(), broken, condition_frame("resolution"), pd.DataFrame(),
        scores_frame(),
    )  # fmt: skip
    assert "figure_robustness_heatmap" not in paths  # skipped, reported, not raised
    assert {"figure_roc_det", "figure_pareto", "figure_auc_vs_resolution"} <= set(paths)
    assert all(_is_png(p) for p in paths.values())


def test_spectra_figure_per_family(tmp_path, tiny_dataset):
    path = explain.spectra_figure(tiny_dataset.test, tmp_path / "spectra.png", "tiny")
    assert _is_png(path)
    spec = explain.mean_log_spectrum(tiny_dataset.test[:2], size=32)
    assert spec.shape == (32, 32) and np.argmax(spec) == 16 * 32 + 16  # DC in the centre


def test_training_histories_read_csv_or_json_and_skip_nothing(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "epochs.csv").write_text("epoch,train_loss,val_loss\n1,0.7,0.6\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "training.json").write_text('{"history": [{"epoch": 1, "val_loss": 0.5}]}')
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "fit.json").write_text('{"threshold": 0.5}')
    got = explain.training_histories(tmp_path)
    assert sorted(got) == ["a", "b"]
    assert explain.training_histories(tmp_path / "missing") == {}


def test_default_and_tuned_fits_of_one_detector_are_drawn_apart(tmp_path):
    """A folder holds a detector's default and ``--tune`` fits side by side: two curves."""
    default = scores_frame().assign(tuning="default")
    tuned = scores_frame(seed=1).assign(tuning="val:8")
    tuned.loc[tuned["detector"] == tuned["detector"].iloc[0], "train_aug"] = "cnndetection"
    both = pd.concat([default, tuned], ignore_index=True)
    fits = dict(figures._by_detector(both))
    dets = sorted(default["detector"].unique())
    first = tuned["detector"].iloc[0]
    want = {*dets, *(f"{d}@val8" for d in dets if d != first), f"{first}@val8+cnndetection"}
    assert set(fits) == want
    for name, g in fits.items():  # each curve is one fit's scores, none mixed in
        src = default if "@" not in name else tuned
        base = src[src["detector"] == name.split("@")[0]]
        assert len(g) == len(base) and np.allclose(g["score"].to_numpy(), base["score"])
    assert _is_png(figures.roc_det_curves(both, tmp_path / "roc.png"))


@pytest.fixture(scope="module")
def fifty():
    return many_fits(n=50, n_images=24)


LEGIBLE = {
    "roc_det": (curves, curves.roc_det_curves, "scores"),
    "reliability": (curves, curves.reliability_diagram, "scores"),
    "pareto": (curves, curves.pareto, "board"),
    "training_curves": (curves, curves.training_curves, "histories"),
    "auc_vs_resolution": (figures, figures.auc_vs_resolution, "resol"),
    "auc_vs_severity": (figures, figures.auc_vs_severity, "robust"),
    "robustness_heatmap": (figures, figures.robustness_heatmap, "robust"),
    "confusion": (figures, figures.confusion_matrices, "scores"),
    "score_density": (figures, figures.score_densities, "scores"),
}


@pytest.mark.parametrize("name", list(LEGIBLE))
def test_each_figure_stays_legible_at_50_fits(tmp_path, monkeypatch, fifty, name):
    """Drawn with 50 fits, no legend covers a plotting area, no text overlaps another, and no
    label sits on a plot it does not belong to (bounding boxes from the Agg renderer)."""
    module, fn, table = LEGIBLE[name]
    found = {}
    save = module._save

    def measured(fig, path):
        found["problems"] = problems(fig)
        return save(fig, path)

    monkeypatch.setattr(module, "_save", measured)
    assert _is_png(fn(fifty[table], tmp_path / f"{name}.png", title="d"))
    assert found["problems"] == []


def test_legibility_check_sees_a_legend_over_the_plot():
    """The check can fail: matplotlib's own best-placed legend of 50 lines covers the axes."""
    fig, ax = figures.plt.subplots(figsize=(4, 3))
    for i in range(50):
        ax.plot([0, 1], [i, i + 1], label=f"fit_{i:02d}")
    ax.legend()
    ax.annotate("a", (0.5, 10))
    ax.annotate("a", (0.5, 10))
    found = problems(fig)
    figures.plt.close(fig)
    assert any(p.startswith("legend") for p in found)
    assert any("'a' overlaps text 'a'" in p for p in found)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-0.5, 1.5), max_size=40), st.floats(0.001, 0.2))
def test_spread_keeps_labels_apart_inside_the_column(desired, gap):
    at = plotting.spread(desired, gap)
    assert len(at) == len(desired)
    if len(at) > 1:
        step = min(gap, 1.0 / (len(at) - 1))
        assert np.diff(np.sort(at)).min() >= step - 1e-9
        assert (np.argsort(at) == np.argsort(desired, kind="stable")).all()  # order kept
    assert ((at >= -1e-9) & (at <= 1 + 1e-9)).all()
    apart = sorted(desired)
    if all(0 <= d <= 1 for d in apart) and all(
        b - a >= gap for a, b in zip(apart, apart[1:], strict=False)
    ):
        assert np.allclose(at, desired)  # labels already apart stay where their points are
