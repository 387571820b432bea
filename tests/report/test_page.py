"""The offline report page: relative links only, a headline from the numbers, renders."""

from __future__ import annotations

import os
import re
import shutil

import pandas as pd
import pytest

from benchmark.report import figures, page, stats
from tests._report_data import many_fits, scores_frame
from tests.report._browser import Browser


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
        assert not re.search(r"<script[^>]*\bsrc=|<link\b|@import|url\(", text)  # all inline
    assert "figures/roc_det.png" in own and "d/figures/roc_det.png" in index
    assert "Best: good [random init], test ROC-AUC 0.900 [" in own  # the fit, by its name
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


def _many(tmp_path, name="d", n=14, seed=0):
    """A published folder of ``n`` fits over the families (leaderboard with statistics, scores,
    fits with parameters), for the page's browser test."""
    data = many_fits(n=n, n_images=40, seed=seed)
    scores = data["scores"].assign(dataset=name)
    board = data["board"].assign(dataset=name, pretrained="n/a", error="")
    board["fit"] = board["detector"] + board["tuning"].map({"default": "", "val:8": "@val8"})
    board["fit_kind"] = board["tuning"].map({"default": "default", "val:8": "tuned"})
    board.loc[3, "status"] = "failed"  # one row without a score
    board.loc[3, ["roc_auc", "roc_auc_lo", "roc_auc_hi"]] = float("nan")
    board["auc_gan"] = board["roc_auc"] - 0.01
    board = stats.leaderboard_statistics(board, scores[board.loc[3, "detector"] != scores[
        "detector"]], n_resamples=50)  # fmt: skip
    board = board.sort_values("roc_auc", ascending=False).reset_index(drop=True)  # as published
    folder = tmp_path / "results" / name
    folder.mkdir(parents=True)
    board.to_csv(folder / "leaderboard.csv", index=False)
    scores.to_csv(folder / "scores.csv", index=False)
    fits = board[["detector", "dataset", "tuning"]].assign(params='{"lr": 0.001}')
    fits.to_csv(folder / "fits.csv", index=False)
    return folder, board, scores


def _order(b, selector="#board-d tr.fit:not([hidden])"):
    return b.js(f"Array.from(document.querySelectorAll({selector!r})).map(r => r.dataset.fit)")


def _column(b, header):
    return b.js(f"Array.from(document.querySelectorAll('#board-d thead th'))"
                f".findIndex(th => th.textContent.startsWith({header!r})) + 1")  # fmt: skip


def test_page_works_in_headless_chromium(tmp_path):
    """The page really sorts, filters and compares in a browser, with no console error and no
    request beyond its own files."""
    chromium = _chromium()
    folder, board, scores = _many(tmp_path)
    both = pd.concat([board, _many(tmp_path, name="e", n=6, seed=1)[1]])
    index = page.write_index_page(tmp_path / "results")
    with Browser(chromium, tmp_path / "profile") as b:
        b.open(index)
        assert b.js("document.querySelectorAll('tr.fit').length") == 20
        fam = "pretrained"
        rows = f"#board-d tbody.fam[data-family='{fam}'] tr.fit"
        before = _order(b, rows)
        b.click(f"#board-d thead th:nth-child({_column(b, 'fit')})")  # a real mouse click
        by_name = _order(b, rows)
        assert by_name == sorted(before) and by_name != before
        b.click(f"#board-d thead th:nth-child({_column(b, 'fit')})")  # again: the other way
        assert _order(b, rows) == sorted(before, reverse=True)
        auc_col = _column(b, "ROC-AUC")
        b.click(f"#board-d thead th:nth-child({auc_col})")  # first click: best first
        auc = board.set_index("fit")["roc_auc"].fillna(-1.0)  # empty cells sort last
        for family in board["detector_family"].unique():
            got = _order(b, f"#board-d tbody.fam[data-family='{family}'] tr.fit")
            want = board[board["detector_family"] == family].sort_values(
                "roc_auc", ascending=False, na_position="last")["fit"]  # fmt: skip
            assert [auc.get(f) for f in got] == [auc.get(f) for f in want]
        b.click("#group-families")  # one list: sorted as a whole, no family headings
        assert _order(b) == list(board.sort_values("roc_auc", ascending=False,
                                                   na_position="last")["fit"])  # fmt: skip
        assert b.js("document.querySelectorAll('#board-d tr.famhead:not([hidden])').length") == 0
        b.click("#group-families")
        # filters: a family, a fit kind, a dataset, a status, part of a name
        for key, column, value in (
            ("family", "detector_family", fam),
            ("kind", "fit_kind", "tuned"),
            ("status", "status", "failed"),
            ("dataset", "dataset", "e"),
        ):
            want = set(board.loc[board[column] == value, "fit"])
            b.js(f"(() => {{ const s = document.querySelector('[data-filter={key}]');"
                 f" s.value = {value!r}; s.dispatchEvent(new Event('change')); }})()")  # fmt: skip
            assert set(_order(b)) == want, key
            shown = b.js("document.getElementById('shown').textContent")
            assert shown == f"{(both[column] == value).sum()} of {len(both)} fits shown"
            heads = b.js(
                "Array.from(document.querySelectorAll('#board-d tr.famhead'))"
                ".filter(h => !h.hidden).map(h => h.parentNode.dataset.family)"
            )
            assert set(heads) == set(board.loc[board["fit"].isin(want), "detector_family"])
            assert b.js("document.querySelector('#board-d tbody.none').hidden") == bool(want)
            b.js(f"(() => {{ const s = document.querySelector('[data-filter={key}]');"
                 " s.value = ''; s.dispatchEvent(new Event('change')); })()")  # fmt: skip
        b.click("[data-filter=text]")
        b.call("Input.insertText", session=True, text="@val8")  # typed, as a reader would
        assert set(_order(b)) == set(board.loc[board["fit"].str.contains("@val8"), "fit"])
        # a fit's name opens its card
        first = board.iloc[0]
        b.click(f"#board-d a.fitlink[href$='-{first['detector']}']")
        assert b.js(f"document.getElementById('card-d-{first['detector']}').open") is True
        # compare two: the p-values of the paired tests on the same images
        a_fit, b_fit = board.dropna(subset=["roc_auc"]).iloc[[0, 1]].itertuples()
        b.js("(() => { const box = document.getElementById('compare-d');"
             f" box.querySelector('.cmp-a').value = '{board.index.get_loc(a_fit.Index)}';"
             f" box.querySelector('.cmp-b').value = '{board.index.get_loc(b_fit.Index)}';"
             " box.querySelector('.cmp-b').dispatchEvent(new Event('change')); })()")  # fmt: skip
        text = b.js("document.querySelector('#compare-d .cmp-out').innerText")
        sa = scores[scores["detector"] == a_fit.detector].sort_values("sample_id")
        sb = scores[scores["detector"] == b_fit.detector].sort_values("sample_id")
        p = stats.delong_test(sa["label"], sa["score"].to_numpy(), sb["score"].to_numpy()).p_value
        shown_p = float(b.js("document.querySelector('#compare-d .p-delong').textContent"))
        assert shown_p == pytest.approx(p, rel=0.06), text
        assert a_fit.fit in text and b_fit.fit in text and "McNemar p" in text
        assert "ROC-AUC gan" in text and "shared test images" in text
        shot = b.screenshot(tmp_path / "shot.png", full_page=True)
        assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 10_000
        assert b.errors() == []
        assert all(u.startswith("file://") for u in b.requests()), b.requests()
