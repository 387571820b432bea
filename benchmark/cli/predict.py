"""``predict RUN -d DETECTOR IMAGE...``: score images with a fitted detector of a run (prints).
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path


def _near(name: str, choices: list[str]) -> str:
    hits = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    return f"; did you mean {', '.join(map(repr, hits))}?" if hits else ""


def predict(run_dir: Path, detector: str, images: list[Path]) -> int:
    """Print each image's fake probability and verdict from a detector fitted in ``run_dir``."""
    from benchmark.core.samples import as_samples, stored_size
    from benchmark.plugins import load_detector

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        siblings = [p.name for p in run_dir.parent.glob("*") if p.is_dir()]
        raise FileNotFoundError(
            f"{run_dir}: run folder not found{_near(run_dir.name, siblings)} "
            "(`run` prints its work folder, e.g. runs/default-<fingerprint>-seed0-none)"
        )
    fitted_root = run_dir / "detectors"
    have = sorted(p.name for p in fitted_root.glob("*") if (p / "fit.json").is_file())
    info_file = fitted_root / detector / "fit.json"
    if not info_file.is_file():
        raise FileNotFoundError(
            f"{run_dir}: no fitted detector {detector!r} here{_near(detector, have)} "
            f"(fitted here: {', '.join(have) or 'none'})"
        )
    missing = [str(p) for p in images if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)}: image not found")
    threshold = json.loads(info_file.read_text())["threshold"]
    det = load_detector(info_file.parent)
    samples = as_samples([str(p) for p in images])
    # the harness leaves such images out of a run (per-detector min_side): predict does too
    min_side = det.min_image_side()
    sides = [min(stored_size(s)) for s in samples]
    usable = [s for s, side in zip(samples, sides, strict=True) if side >= min_side]
    probs = iter(det.predict_proba(usable)[:, 1] if usable else [])
    print(f"{'image':40} p(fake)  verdict (threshold {threshold:.3f}, tuned on validation)")
    for path, side in zip(images, sides, strict=True):
        if side < min_side:
            print(
                f"{str(path):40} {'-':>7}  not scored: shorter side {side} px is below "
                f"{detector}'s minimum of {min_side} px"
            )
            continue
        p = next(probs)
        print(f"{str(path):40} {p:7.3f}  {'FAKE' if p >= threshold else 'real'}")
    return 0 if len(usable) == len(samples) else 1
