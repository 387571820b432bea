"""run --tune N: hyper-parameters chosen on validation only, cached, recorded in every row."""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmark import registry, report
from benchmark.core import events
from benchmark.engine import tuning
from benchmark.engine.config import ExecutionConfig, RunSpec
from benchmark.plugins import create_detector
from benchmark.protocol import BaseDetector, DetectorMeta
from benchmark.report.tuning import markdown_section, side_by_side
from benchmark.results.store import read_rows
from benchmark.run import run

LOG: dict[str, list] = {"fit": [], "predicted": []}


class Toy(BaseDetector):
    """Scores image contrast; ``direction=1`` (the default) ranks the classes backwards."""

    search_space: ClassVar[dict[str, tuple]] = {"direction": (1, -1), "scale": (10.0, 20.0)}

    def __init__(self, direction: int = 1, scale: float = 10.0, fail: bool = False, seed: int = 0):
        self.direction = direction
        self.scale = scale
        self.fail = fail
        self.seed = seed

    def _fit(self, train, val):
        if self.fail:
            raise RuntimeError("toy failure")
        LOG["fit"].append((self.direction, self.scale, len(train)))

    def _predict_fake(self, samples):
        LOG["predicted"].extend(s.id for s in samples)
        std = np.array([s.load().std() for s in samples])
        return 1.0 / (1.0 + np.exp(-self.direction * (std - 40.0) / self.scale))


@pytest.fixture
def toy():
    registry.register_detector(
        family="baseline", paper="t", input_size=None, normalisation="none", name="zz_toy"
    )(lambda **kw: Toy(**kw))
    LOG.update(fit=[], predicted=[])
    yield
    registry.DETECTORS.remove("zz_toy")


@given(n=st.integers(1, 12), seed=st.integers(0, 50))
def test_candidates_defaults_first_within_budget(n: int, seed: int) -> None:
    det = Toy()
    det.meta = DetectorMeta("zz_toy", "baseline", "t", None, "none")
    cands = tuning.candidates(det, n, seed)
    assert cands[0] == {"direction": 1, "scale": 10.0}  # the defaults are always tried
    assert 1 <= len(cands) <= min(n, 4)
    assert len({json.dumps(c, sort_keys=True) for c in cands}) == len(cands)  # no repeats
    for c in cands:
        assert c["direction"] in (-1, 1) and c["scale"] in (10.0, 20.0)
    if n >= 4:
        assert len(cands) == 4  # a grid within the budget is tried whole
    assert cands == tuning.candidates(det, n, seed)  # the seed fixes the draw


def test_bad_search_space_is_a_clear_error() -> None:
    class Bad(Toy):
        search_space: ClassVar[dict[str, tuple]] = {"gamma": (1, 2)}

    det = Bad()
    det.meta = DetectorMeta("zz_bad", "baseline", "t", None, "none")
    with pytest.raises(ValueError, match="zz_bad: search_space names 'gamma'"):
        tuning.search_space(det)


def test_tune_picks_on_validation_and_never_sees_test(toy, tiny_dataset) -> None:
    det = create_detector("zz_toy")
    said: list[str] = []
    with events.listen(said.append):
        result = tuning.tune(det, tiny_dataset.train, tiny_dataset.val, n=4, seed=0)
    steps = [m for m in said if ": configuration " in m]  # one line per candidate fitted
    assert [m.split()[2] for m in steps] == ["1/4", "2/4", "3/4", "4/4"]
    assert steps[0].startswith("zz_toy: configuration 1/4 {'direction': 1, 'scale': 10.0}")
    assert result.params["direction"] == -1  # the default ranks backwards on validation
    assert result.n_tried == 4 and result.seconds > 0
    assert result.val_auc > 0.5 > result.default_val_auc
    assert [c for c, _ in result.scores][0] == {"direction": 1, "scale": 10.0}
    assert all(n == len(tiny_dataset.train) for *_, n in LOG["fit"])  # fitted on train only
    test_ids = {s.id for s in tiny_dataset.test}
    assert not test_ids & set(LOG["predicted"])
    assert result.fitted is not None and result.fitted.direction == -1


def _run(tmp_path, dataset, tune: int):
    spec = RunSpec(detectors=("zz_toy",), timing=False, tune=tune)
    result = run(spec, dataset, execution=ExecutionConfig(out=tmp_path))
    return read_rows(result.run_dir / "rows.csv"), result.outcomes


def test_run_tune_rows_cache_and_side_by_side(toy, tmp_path, tiny_dataset) -> None:
    rows, _ = _run(tmp_path, tiny_dataset, tune=3)
    assert set(rows["tuning"]) == {"val:3"}
    params = {json.dumps(json.loads(p), sort_keys=True) for p in rows["params"]}
    assert len(params) == 1 and json.loads(params.pop())["direction"] == -1  # chosen params
    by_metric = rows.set_index("metric")["value"]
    assert by_metric["n_configs_tried"] == 3 and by_metric["tuning_seconds"] > 0
    assert len(LOG["fit"]) == 3  # the winner's fit in the search is its refit: no 4th fit
    clean = rows.query("condition == 'clean' and subset == 'all' and metric == 'roc_auc'")
    tuned_auc = clean.query("split == 'test'")["value"].item()

    fits = len(LOG["fit"])
    rows_again, _ = _run(tmp_path, tiny_dataset, tune=3)  # cached choice and fit
    assert len(LOG["fit"]) == fits and set(rows_again["tuning"]) == {"val:3"}

    rows_default, _ = _run(tmp_path, tiny_dataset, tune=0)
    assert set(rows_default["tuning"]) == {"default"} and len(LOG["fit"]) == fits + 1
    assert (tmp_path / next(tmp_path.iterdir()).name / "detectors" / "zz_toy@val3").is_dir()

    default_board = report.leaderboard(rows_default, pd.DataFrame())
    assert side_by_side(default_board, rows_default).empty  # nothing tuned: no section
    assert markdown_section(default_board, rows_default) == ""

    both = pd.concat([rows, rows_default], ignore_index=True)
    board = report.leaderboard(both, pd.DataFrame())
    assert sorted(board["tuning"]) == ["default", "val:3"]  # side by side, not averaged
    table = side_by_side(board, both)
    row = table.iloc[0]
    assert row["roc_auc_tuned"] == pytest.approx(tuned_auc)
    assert row["roc_auc_tuned"] > row["roc_auc_default"]
    assert json.loads(row["chosen_params"]) == {"direction": -1, "scale": 10.0}
    assert row["n_configs_tried"] == 3
    assert "Tuned on validation vs defaults" in markdown_section(board, both)


def test_every_candidate_failing_is_a_failed_row(toy, tmp_path, tiny_dataset) -> None:
    spec = RunSpec(
        detectors=("zz_toy",),
        timing=False,
        tune=2,
        overrides={"zz_toy": {"fail": True}},
    )
    result = run(spec, tiny_dataset, execution=ExecutionConfig(out=tmp_path))
    run_dir, outcomes = result.run_dir, result.outcomes
    assert not outcomes[0].ok and outcomes[0].error == "fit: RuntimeError: toy failure"
    rows = read_rows(run_dir / "rows.csv")
    assert rows["metric"].tolist() == ["error"] and rows["tuning"].item() == "val:2"


def test_cli_tune_option(monkeypatch, capsys) -> None:
    from benchmark import cli

    args = cli._parser().parse_args(["run", "--all", "--tune"])
    assert args.tune == tuning.DEFAULT_TUNE_N
    assert cli._parser().parse_args(["run", "--all"]).tune == 0
    assert cli.main(["run", "-d", "fft_spectrum", "--tune", "-1"]) == 2
    assert "--tune" in capsys.readouterr().err
