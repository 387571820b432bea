"""The offline report page: relative links only, a headline from the numbers, renders."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from benchmark.report import figures, page, stats
from tests._report_data import scores_frame


def _folder(tmp_path):
    board = stats.leaderboard_statistics(
        figures.pd.DataFrame(
            {
                "detector": ["good", "fair", "metadata_baseline"],
                "dataset": "d",
                "status": "ok",
                "roc_auc": [0.9, 0.75, 0.55],
                "pretrained": ["no (random init)", "n/a", "n/a"],
                "beats_metadata_baseline": ["yes", "yes", ""],
            }
        ),  # fmt: skip
        scores_frame(),
        n_resamples=200,
    )
    folder = tmp_path / "results" / "d"
    folder.mkdir(parents=True)
    board.to_csv(folder / "leaderboard.csv", index=False)
    figures.roc_det_curves(scores_frame(), folder / "figures" / "roc_det.png")
    return folder, board


def test_leaderboard_statistics_columns(tmp_path):
    _, board = _folder(tmp_path)
    best = board.set_index("detector").loc["good"]
    assert best["roc_auc_lo"] < best["roc_auc_hi"] and best["rank"] == 1
    assert best["p_vs_best"] == 1.0 and best["n_groups"] == 8
    assert board.set_index("detector").loc["metadata_baseline", "p_vs_best"] < 0.05


def test_folder_and_index_pages_link_relative_files_only(tmp_path):
    folder, _ = _folder(tmp_path)
    own = page.write_folder_page(folder).read_text()
    index = page.write_index_page(tmp_path / "results").read_text()
    for text, base in ((own, folder), (index, tmp_path / "results")):
        links = re.findall(r"(?:src|href)='([^'#]+)'", text)
        assert links and not any("://" in link or link.startswith("/") for link in links)
        assert all((base / link).exists() for link in links), links
        assert "<script" not in text
    assert "figures/roc_det.png" in own and "d/figures/roc_det.png" in index
    assert "Best: good, test ROC-AUC 0.900 [" in own
    assert "random initialisation" in own


def test_headline_names_statistical_ties():
    board = figures.pd.DataFrame(
        {"detector": ["a", "b", "c"], "dataset": "d", "status": "ok", "roc_auc": [0.9, 0.88, 0.6],
         "roc_auc_lo": [0.8, 0.78, 0.5], "roc_auc_hi": [0.95, 0.93, 0.7],
         "p_vs_best": [1.0, 0.4, 0.001], "rank": [1, 1, 3], "n_groups": [4, 4, 4]}
    )  # fmt: skip
    lines = page.headline(board)
    assert lines[0].startswith("Best: a, test ROC-AUC 0.900 [0.800, 0.950]")
    assert "over 4 independent groups" in lines[0]
    assert "b (p=0.4)" in lines[1] and "c (" not in lines[1]


def _chromium() -> str:
    """The browser, or a skip; where FAKEBENCH_REQUIRE_BROWSER=1 (.ci/run sets it) a failure."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("FAKEBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail(
                "FAKEBENCH_REQUIRE_BROWSER=1 but chromium is not installed: the report page must "
                "be rendered here (`apt-get install chromium`, as .ci/run does)"
            )
        pytest.skip("chromium not installed")
    return path


def test_page_renders_in_headless_chromium(tmp_path):
    chromium = _chromium()
    folder, _ = _folder(tmp_path)
    html = page.write_index_page(tmp_path / "results")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
         "--window-size=1000,1400", html.resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 10_000
