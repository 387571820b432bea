"""Train once, evaluate every condition; re-runs add only missing cells."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd

from benchmark import registry
from benchmark.engine.config import ExecutionConfig, RunSpec
from benchmark.protocol import BaseDetector
from benchmark.run import run

CALLS = {"fit": 0, "predict": 0}


class Counting(BaseDetector):
    def __init__(self, seed: int = 0):
        self.seed = seed

    def _fit(self, train, val):
        CALLS["fit"] += 1

    def _predict_fake(self, samples):
        CALLS["predict"] += 1
        return [float(s.load().std() > 40) for s in samples]


def test_trained_once_scored_per_condition(tmp_path, tiny_dataset):
    registry.register_detector(
        family="baseline", paper="t", input_size=None, normalisation="none", name="zz_count"
    )(lambda **kw: Counting(**kw))
    CALLS.update(fit=0, predict=0)
    try:
        execution = ExecutionConfig(out=tmp_path)
        spec = RunSpec(
            detectors=("zz_count",),
            timing=False,
            corruptions=("jpeg", "gaussian_noise"),
            severities=(1, 3),
            resolutions=(16,),
        )
        run_dir = run(spec, tiny_dataset, execution=execution).run_dir
        # clean + 2 corruptions x 2 severities + res16 resized + res16 native = 7 conditions;
        # validation is scored once more for the threshold
        assert CALLS == {"fit": 1, "predict": 1 + 7}
        rows = pd.read_csv(run_dir / "rows.csv")
        assert rows["condition"].nunique() >= 7
        run(spec, tiny_dataset, execution=execution)  # everything cached: no fit, no prediction
        assert CALLS == {"fit": 1, "predict": 8}
        # another threshold rule re-tunes on validation; the fit and test scores are reused
        run_dir = run(
            dataclasses.replace(spec, threshold_rule="max_f1"), tiny_dataset, execution=execution
        ).run_dir
        assert CALLS == {"fit": 1, "predict": 9}
        fit = json.loads(next(tmp_path.rglob("fit.json")).read_text())
        assert fit["threshold_rule"] == "max_f1"
        tuned = pd.read_csv(run_dir / "rows.csv").query("metric == 'threshold_tuned'")["value"]
        assert set(tuned) == {fit["threshold"]}
        # a new fit_version (code that learns differently) is never served an old fit
        Counting.fit_version = 2
        run(spec, tiny_dataset, execution=execution)
        assert CALLS == {"fit": 2, "predict": 9 + 8}  # refitted, so validation + 7 re-scored
    finally:
        registry.DETECTORS.remove("zz_count")
        Counting.fit_version = None
