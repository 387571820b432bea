"""Publishing never loses a row: per-dataset folders, upsert by group, readable files."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import stat

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmark import publish
from benchmark.cli import main
from benchmark.results import store

FAST = ["--corruptions", "jpeg", "--severities", "1", "--resolutions", "none", "--no-timing"]


@pytest.fixture(scope="module")
def folder_dataset(tmp_path_factory):
    """real/ and fake/ folders of 32-px PNGs: the layout a user brings."""
    from PIL import Image

    from tests.conftest import _tiny_image

    root = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(1)
    for label, cls in ((0, "real"), (1, "fake")):
        (root / cls).mkdir()
        for i in range(20):
            Image.fromarray(_tiny_image(rng, 32, bool(label))).save(root / cls / f"{i:02d}.png")
    return root


def _argv(dataset, out, results) -> list[str]:
    return ["run", "-d", "fft_spectrum", "--dataset", str(dataset), "--out", str(out),
            "--results", str(results), *FAST]  # fmt: skip


COLS = ["dataset", "detector", "train_aug", "seed", "condition", "split", "subset", "metric",
        "value", "run_id"]  # fmt: skip


def _rows(groups: list[tuple[str, str]], run_id: str) -> pd.DataFrame:
    return pd.DataFrame(
        columns=COLS,
        data=[
            {"dataset": "d", "detector": det, "train_aug": "none", "seed": 0, "condition": cond,
             "split": "test", "subset": "all", "metric": m, "value": v, "run_id": run_id}
            for det, cond in groups
            for m, v in (("roc_auc", 0.5), ("accuracy", 0.6))
        ]
    )  # fmt: skip


GROUPS = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["clean", "jpeg@1", "fit", ""])),
    unique=True,
    max_size=8,
)


@given(old=GROUPS, new=GROUPS)
def test_upsert_replaces_exactly_the_groups_the_run_produced(old, new):
    merged = store.upsert_rows(_rows(old, "old"), _rows(new, "new"))
    norm = {(d, c or "fit") for d, c in new}
    for det, cond in old:
        part = merged[(merged["detector"] == det) & (merged["condition"] == cond)]
        if (det, cond or "fit") in norm:  # a fit error ('') and fit rows are one group
            assert (part["run_id"] == "new").all()
        else:
            assert len(part) == 2 and (part["run_id"] == "old").all()
    assert len(merged[merged["run_id"] == "new"]) == 2 * len(new)
    key = ["detector", "condition", "metric"]
    assert not merged[key].duplicated().any()


def test_partial_runs_keep_every_published_row(tmp_path, folder_dataset, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ["run", "--dataset", str(folder_dataset), "--out", "runs", *FAST]
    assert main([*base, "-d", "fft_spectrum,metadata_baseline"]) == 0
    pub = tmp_path / "results" / folder_dataset.name
    first = pd.read_csv(pub / "rows.csv")
    assert set(first["detector"]) == {"fft_spectrum", "metadata_baseline"}
    scores = publish.read_scores(pub / "scores.csv")  # every clean test image, per detector
    assert scores.groupby("detector")["sample_id"].nunique().tolist() == [8, 8]
    assert scores["score"].between(0, 1).all() and set(scores["label"]) == {0, 1}

    # a partial run (one detector, clean only) replaces only its own clean rows
    assert main([*base, "-d", "fft_spectrum", "--corruptions", "none"]) == 0
    rows = pd.read_csv(pub / "rows.csv")
    board = pd.read_csv(pub / "leaderboard.csv")
    assert set(board["detector"]) == {"fft_spectrum", "metadata_baseline"}
    old_run = first["run_id"].iloc[0]
    kept = rows[(rows["detector"] == "metadata_baseline")]
    assert len(kept) == (first["detector"] == "metadata_baseline").sum()
    assert (kept["run_id"] == old_run).all()
    fft_jpeg = rows[(rows["detector"] == "fft_spectrum") & (rows["condition"] == "jpeg@1")]
    assert len(fft_jpeg) and (fft_jpeg["run_id"] == old_run).all()  # not re-run: kept
    fft_clean = rows[(rows["detector"] == "fft_spectrum") & (rows["condition"] == "clean")]
    assert len(fft_clean) and (fft_clean["run_id"] != old_run).all()  # re-run: replaced
    assert len(rows) == len(first)
    index = pd.read_csv(tmp_path / "results" / "index.csv")
    assert index["folder"].tolist() == [folder_dataset.name]


def test_quick_run_never_touches_published_results(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = tmp_path / "results"
    (results / "default").mkdir(parents=True)
    (results / "default" / "leaderboard.csv").write_text("published\n")
    assert main(["run", "-d", "fft_spectrum", "--quick", "--out", "runs", *FAST]) == 0
    assert sorted(p.name for p in results.rglob("*")) == ["default", "leaderboard.csv"]
    assert (results / "default" / "leaderboard.csv").read_text() == "published\n"
    assert list(tmp_path.glob("runs/*/runs/*/tables/leaderboard.md"))


def test_a_folder_with_tables_but_no_rows_is_refused(tmp_path, capsys, folder_dataset):
    pub = tmp_path / "results" / folder_dataset.name
    pub.mkdir(parents=True)
    (pub / "leaderboard.csv").write_text("old\n")
    argv = _argv(folder_dataset, tmp_path / "runs", tmp_path / "results")
    assert main(argv) != 0
    assert "refusing to overwrite" in capsys.readouterr().err
    assert (pub / "leaderboard.csv").read_text() == "old\n"


def test_written_tables_are_world_readable(tmp_path, folder_dataset):
    old = os.umask(0o022)
    try:
        argv = _argv(folder_dataset, tmp_path / "runs", tmp_path / "res")
        assert main(argv) == 0
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "res").rglob("*") if p.is_file()]
    assert files and {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o644}


def test_report_accepts_a_run_folder_a_rows_file_and_a_results_folder(
    tmp_path, capsys, folder_dataset
):
    argv = _argv(folder_dataset, tmp_path / "runs", tmp_path / "res")
    assert main(argv) == 0
    work = next((tmp_path / "runs").iterdir())
    run = next((work / "runs").iterdir())
    capsys.readouterr()
    assert main(["report", str(work)]) == 0  # the folder `run` prints
    assert (run / "tables" / "leaderboard.md").is_file()
    assert main(["report", str(run / "rows.csv"), "--results", str(tmp_path / "pub")]) == 0
    assert (tmp_path / "pub" / folder_dataset.name / "leaderboard.csv").is_file()
    board_md = tmp_path / "res" / folder_dataset.name / "leaderboard.md"
    published = board_md.read_text()
    assert main(["report", str(tmp_path / "res")]) == 0  # a results root: rebuilt in place
    assert (tmp_path / "res" / "index.md").is_file()
    assert board_md.read_text() == published  # its title (the dataset) included
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err


def test_a_run_where_every_detector_fails_exits_nonzero_with_a_summary(
    tmp_path, capsys, folder_dataset
):
    argv = ["run", "-d", "fft_spectrum", "--dataset", str(folder_dataset), "--set",
            "fft_spectrum.n_points=nonsense", "--out", str(tmp_path / "runs"),
            "--results", str(tmp_path / "res"), *FAST]  # fmt: skip
    assert main(argv) == 1
    out = capsys.readouterr()
    assert "No detector produced a test score" in out.out
    assert "FAILED: fft_spectrum" in out.out and "KeyError" not in out.err


def test_progress_display_plain_lines_count_cells_and_give_an_eta():
    from benchmark.cli.console import ProgressDisplay
    from benchmark.core.events import emit, listen

    stream = io.StringIO()
    display = ProgressDisplay(stream=stream, live=False)
    display.start([("a", 2), ("b", 3)])
    with listen(display.message):
        emit("a epoch 1/2: train_loss=0.1")  # a training epoch reaches the display
    display.cell("a", "fitted")
    display.cell("b", "fitted")  # 'a' failed after its fit: its other cell counts as done
    lines = stream.getvalue().splitlines()
    assert "5 cells" in lines[0]
    assert lines[1].endswith("a epoch 1/2: train_loss=0.1")
    assert "[1/2 a 1/2] fitted | 1/5 cells" in lines[2] and "ETA" in lines[2]
    assert "[2/2 b 1/3] fitted | 3/5 cells" in lines[3]


def test_summary_names_random_init_weak_and_failed_rows_and_the_seed_spread(tmp_path):
    from benchmark.report.summary import run_summary

    board = pd.DataFrame(
        {
            "detector": ["good", "weak", "rand", "metadata_baseline", "broken"],
            "dataset": "d",
            "roc_auc": [0.9, 0.6, 0.7, 0.58, np.nan],
            "status": ["ok", "ok", "ok", "ok", "failed"],
            "error": ["", "", "", "", "fit: RuntimeError: boom\ntraceback"],
            "pretrained": ["n/a", "n/a", "no (random init)", "n/a", "n/a"],
            "beats_metadata_baseline": ["yes", "NO", "yes", "", "NO"],
        }
    )
    spread = pd.DataFrame({"roc_auc_std": [0.02, 0.06, np.nan], "roc_auc_min": [0.7, 0.6, 0.5],
                           "roc_auc_max": [0.8, 0.75, 0.5],
                           "seeds": ["0,1,2", "0,1,2", "0"]})  # fmt: skip
    text = "\n".join(run_summary(board, tables=tmp_path, seed_spread=spread))
    assert "Best on d: good, test ROC-AUC 0.900; next rand 0.700" in text
    assert "random initialisation" in text and "rand" in text and "weights fetch" in text
    assert "metadata-only baseline (ROC-AUC 0.580" in text and "weak, broken" in text
    assert "FAILED: broken: fit: RuntimeError: boom" in text and "traceback" not in text
    assert "over seeds 0, 1, 2" in text and "0.020–0.060" in text and "2 detector fits" in text
    assert "not measured" in "\n".join(run_summary(board, tables=None))


def test_run_ids_differ_within_one_second():
    from benchmark.core.io import make_run_id

    assert len({make_run_id() for _ in range(5)}) == 5


def test_republishing_keeps_n_a_in_published_timing(tmp_path):
    """A published table's "n/a" is a value: reading it back for an upsert must not blank it."""
    path = tmp_path / store.TIMING_FILE
    path.write_text("detector,device,memory_layout,batch\nfft_spectrum,cpu,n/a,1\n")
    merged = store.upsert_timing(store.read_optional(path), pd.DataFrame())
    assert merged["memory_layout"].tolist() == ["n/a"]


def test_report_publishing_a_run_folder_merges_its_skip_counts(tmp_path, folder_dataset):
    from benchmark.data.checks import read_skipped

    argv = _argv(folder_dataset, tmp_path / "runs", tmp_path / "res")
    assert main(argv) == 0
    run = next(next((tmp_path / "runs").iterdir()).joinpath("runs").iterdir())
    pub = tmp_path / "pub" / folder_dataset.name
    pub.mkdir(parents=True)
    (pub / "skipped.csv").write_text(
        f"dataset,detector,reason,count\n{folder_dataset.name},other_detector,below_min_size,3\n"
    )
    assert main(["report", str(run), "--results", str(tmp_path / "pub")]) == 0
    got = {(r["detector"], r["reason"]): r["count"] for r in read_skipped(pub / "skipped.csv")}
    ran = {(r["detector"], r["reason"]): r["count"] for r in read_skipped(run / "skipped.csv")}
    assert got == ran | {("other_detector", "below_min_size"): 3}


def test_report_publishing_another_seed_refreshes_the_seed_summary(tmp_path, folder_dataset):
    for seed in ("0", "1"):
        argv = [*_argv(folder_dataset, tmp_path / "runs", tmp_path / "res"), "--seed", seed]
        assert main(argv) == 0
    runs = sorted((tmp_path / "runs").glob("*seed1*/runs/*"))
    assert len(runs) == 1
    pub = tmp_path / "pub"
    shutil.copytree(tmp_path / "res", pub)  # seeds 0 and 1 published, with their summary
    summary = pub / folder_dataset.name / "seeds" / "leaderboard_seeds.csv"
    summary.unlink()
    assert main(["report", str(runs[0]), "--results", str(pub)]) == 0  # republish seed 1
    got = pd.read_csv(summary)
    assert got["seeds"].astype(str).tolist() == ["0,1"] and got["n_seeds"].tolist() == [2]
    summary.unlink()
    assert main(["report", str(pub)]) == 0  # a results root rebuilt in place: summary too
    assert pd.read_csv(summary)["n_seeds"].tolist() == [2]


def test_publishing_seed_0_after_another_seed_refreshes_the_seed_summary(tmp_path, folder_dataset):
    res = tmp_path / "res"
    for seed in ("1", "0"):  # seed 0 last: its own publish must bring it into the summary
        assert main([*_argv(folder_dataset, tmp_path / "runs", res), "--seed", seed]) == 0
    got = pd.read_csv(res / folder_dataset.name / "seeds" / "leaderboard_seeds.csv")
    assert got["seeds"].astype(str).tolist() == ["0,1"] and got["n_seeds"].tolist() == [2]


def test_a_run_records_its_dataset_and_warns_when_the_dataset_changed(
    tmp_path, folder_dataset, caplog
):
    from PIL import Image

    data = tmp_path / "faces"
    shutil.copytree(folder_dataset, data)
    res, pub = tmp_path / "res", tmp_path / "pub"
    assert main(_argv(data, tmp_path / "runs", res)) == 0
    (run,) = (tmp_path / "runs").glob("*/runs/*")
    made_on = json.loads((run / "config.json").read_text())["dataset"]
    info = store.read_dataset_info(res / data.name)
    n_samples = {split: n["real"] + n["fake"] for split, n in made_on["summary"].items()}
    assert info == {"name": made_on["name"], "fingerprint": made_on["fingerprint"],
                    "n_samples": n_samples}  # fmt: skip
    assert run.parent.parent.name.startswith(f"{data.name}-{info['fingerprint'][:10]}-")
    assert main(["report", str(run), "--results", str(pub)]) == 0  # from the run's config.json
    assert store.read_dataset_info(pub / data.name) == info
    assert main(["report", str(res / data.name)]) == 0  # rows alone: the record stays
    assert store.read_dataset_info(res / data.name) == info

    Image.open(data / "fake" / "00.png").save(data / "fake" / "extra.png")  # the files change
    with caplog.at_level(logging.WARNING):
        assert main(_argv(data, tmp_path / "runs", res)) == 0
    now = store.read_dataset_info(res / data.name)["fingerprint"]
    assert now != info["fingerprint"]
    (warning,) = [r.getMessage() for r in caplog.records if "fingerprint" in r.getMessage()]
    assert info["fingerprint"] in warning and now in warning and str(res / data.name) in warning
