"""Processes publishing into one results folder at the same moment lose no row.

Each worker publishes its own detector, all released together by a barrier, into a fresh
folder per round (the case where an unlocked read-modify-write loses a whole detector: both
read the empty folder, the last writer wins), then rewrites the shared index.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import threading
from pathlib import Path

import pandas as pd
import pytest

from benchmark import publish
from benchmark.core.locks import LOCK_NAME, folder_lock
from benchmark.results import store
from benchmark.results.rows import ROW_FIELDS, SCORE_FIELDS
from benchmark.results.store import (
    PublishError,
    RowsError,
    read_rows,
    read_scores,
    typed_rows,
    typed_scores,
)

WORKERS = 3
ROUNDS = 8
DETECTORS = [f"det{i}" for i in range(WORKERS)]


def tiny_rows(det: str, run_id: str) -> pd.DataFrame:
    """A fit row and two clean test metrics of ``det``, typed as a run hands them over."""
    base = {k: "" for k in ROW_FIELDS} | {
        "run_id": run_id, "detector": det, "dataset": "d", "train_aug": "none",
        "tuning": "default", "seed": 0, "params": json.dumps({"det": det}), "device": "cpu",
    }  # fmt: skip
    test = base | {"split": "test", "condition": "clean", "subset": "all", "n": 4}
    rows = [base | {"split": "train", "condition": "fit", "metric": "train_seconds", "value": 1.0},
            test | {"metric": "roc_auc", "value": 0.75},
            test | {"metric": "accuracy", "value": 0.5}]  # fmt: skip
    return typed_rows(pd.DataFrame(rows, columns=ROW_FIELDS))


def tiny_scores(det: str, run_id: str) -> pd.DataFrame:
    base = {"run_id": run_id, "detector": det, "dataset": "d", "seed": 0, "train_aug": "none",
            "tuning": "default", "condition": "clean", "family": "", "group": "",
            "threshold": 0.5}  # fmt: skip
    rows = [base | {"sample_id": f"s{i}", "label": i % 2, "score": i / 4} for i in range(4)]
    return typed_scores(pd.DataFrame(rows, columns=SCORE_FIELDS))


def _publish_rounds(root: Path, det: str, barrier) -> None:
    for r in range(ROUNDS):
        run_id = f"r{r}-{det}"
        rows, scores = tiny_rows(det, run_id), tiny_scores(det, run_id)
        barrier.wait(timeout=60)  # every worker reads and writes the folder at the same moment
        publish.publish(rows, pd.DataFrame(), root / f"round{r}", reference=DETECTORS[0],
                        title="d", scores=scores, bootstrap=0, page=False)  # fmt: skip
        publish.write_index(root)


def test_concurrent_publishes_of_different_detectors_keep_every_row(tmp_path):
    ctx = multiprocessing.get_context("fork")  # workers start in milliseconds, imports done
    barrier = ctx.Barrier(WORKERS)
    procs = [ctx.Process(target=_publish_rounds, args=(tmp_path, d, barrier)) for d in DETECTORS]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * WORKERS
    lost = {}
    for r in range(ROUNDS):
        folder = tmp_path / f"round{r}"
        try:
            rows, board = read_rows(folder), pd.read_csv(folder / "leaderboard.csv")
        except RowsError as exc:  # rows.csv of one writer, fits.csv of another
            lost[folder.name] = str(exc)
            continue
        got = {
            "rows": sorted(set(rows["detector"])),
            "run_ids": sorted(set(rows["run_id"])),
            "leaderboard": sorted(board["detector"]),
            "scores": sorted(set(read_scores(folder / "scores.csv")["detector"])),
        }
        want = {"rows": DETECTORS, "run_ids": [f"r{r}-{d}" for d in DETECTORS],
                "leaderboard": DETECTORS, "scores": DETECTORS}  # fmt: skip
        if got != want:
            lost[folder.name] = got
    assert not lost, f"rows lost in {len(lost)} of {ROUNDS} rounds: {lost}"
    index = pd.read_csv(tmp_path / "index.csv")
    assert sorted(index["folder"]) == sorted(f"round{r}" for r in range(ROUNDS))
    assert index["detectors"].tolist() == [WORKERS] * ROUNDS


def test_a_publish_kept_waiting_too_long_names_the_folder_and_its_lock_file(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "LOCK_TIMEOUT_S", 0.2)
    folder, held, done = tmp_path / "d", threading.Event(), threading.Event()

    def hold() -> None:  # another writer (a thread here: the lock keeps threads apart too)
        with folder_lock(folder, timeout=5):
            held.set()
            done.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(5)
        lock_file = re.escape(str(folder / LOCK_NAME))
        with pytest.raises(PublishError, match=f"still locked .*lock file {lock_file}"):
            publish.publish(tiny_rows("det0", "r1"), pd.DataFrame(), folder, reference="det0")
    finally:
        done.set()
        holder.join()
    assert not (folder / "rows.csv").exists()  # nothing was read or written without the lock
