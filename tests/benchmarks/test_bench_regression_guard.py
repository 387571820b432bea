"""Regression guard: classical detectors keep their published per-family AUCs on ``default``.

Each detector is fitted with its default parameters on the default dataset's train split and
scored on test, per manipulation family (all reals vs that family's fakes), exactly as the
leaderboard does. Every AUC must reach the published value for that seed
(``results/default/leaderboard.csv`` for seed 0, ``results/default/seeds/seed<N>/`` for the
others) minus the spread measured over seeds 0–2
(the sample sd in ``results/default/seeds/leaderboard_seeds.csv``, at least 0.01): a code
change that costs a detector more than one seed's worth of noise fails here. Not a timed
assertion.

With the default ``--benchmark-disable`` (the normal suite) it checks the three cheap
detectors on seed 0 (about 15 s on an idle 2-core machine, most of it building the dataset);
``pytest tests/benchmarks --benchmark-enable`` checks every classical detector on seeds 0–2
(minutes: dense SIFT features of 1200 images per seed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.core import metrics
from benchmark.data import load_dataset
from benchmark.plugins import create_detector

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "results" / "default"
SEEDS_DIR = DEFAULT_DIR / "seeds"
CHEAP = ("fft_spectrum", "fft_spectrum_svm", "metadata_baseline")
FULL = (*CHEAP, "sift_svm", "sift_rf", "harris_retrieval_cos", "harris_retrieval_l2")
MIN_TOLERANCE = 0.01


def family_aucs(name: str, seed: int) -> dict[str, float]:
    """Per-family test ROC-AUC of detector ``name`` with defaults on ``default`` (``seed``)."""
    ds = load_dataset("default", seed=seed)
    det = create_detector(name, seed=seed).fit(ds.train, ds.val)
    scores = det.predict_proba(ds.test)[:, 1]
    y = np.array([s.label for s in ds.test])
    fam = np.array([str(s.meta.get("family", "")) for s in ds.test])
    out = {}
    for f in sorted(set(fam[y == 1])):
        mask = (y == 0) | (fam == f)
        out[f] = metrics.roc_auc(y[mask], scores[mask])
    return out


def published(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Published default-parameter rows of ``seed`` and the spread over seeds, by detector."""
    tables = []
    for path in (
        (DEFAULT_DIR if seed == 0 else SEEDS_DIR / f"seed{seed}") / "leaderboard.csv",
        SEEDS_DIR / "leaderboard_seeds.csv",
    ):
        t = pd.read_csv(path)
        if "tuning" in t:  # tuned rows published beside the defaults are not the reference
            t = t[t["tuning"].fillna("default") == "default"]
        tables.append(t.set_index("detector"))
    return tables[0], tables[1]


def test_classical_family_aucs_not_below_published(benchmark, capsys) -> None:
    if not (SEEDS_DIR / "leaderboard_seeds.csv").is_file():
        pytest.fail(f"{SEEDS_DIR}: published seed tables missing; the guard has no reference")
    full = not benchmark.disabled
    seeds, names = ((0, 1, 2), FULL) if full else ((0,), CHEAP)
    measured: dict[tuple[str, int], dict[str, float]] = {}

    def measure() -> None:
        for seed in seeds:
            for name in names:
                measured[name, seed] = family_aucs(name, seed)

    benchmark.pedantic(measure, rounds=1, iterations=1)
    failures, lines = [], []
    for (name, seed), aucs in measured.items():
        board, spread = published(seed)
        for fam, auc in aucs.items():
            ref = float(board.loc[name, f"auc_{fam}"])
            tol = max(float(spread.loc[name, f"auc_{fam}_std"]), MIN_TOLERANCE)
            lines.append(
                f"{name:22} seed {seed} {fam:16} {auc:.3f} (published {ref:.3f} ± {tol:.3f})"
            )
            if auc < ref - tol:
                failures.append(lines[-1])
    benchmark.extra_info["aucs"] = {f"{n}/seed{s}": a for (n, s), a in measured.items()}
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert not failures, "below the published AUC minus the seed spread:\n" + "\n".join(failures)
