"""``predict [--run RUN] -d DETECTORS PATH...``: score image files and folders, print a table
and optionally write it as CSV.

A detector fitted in the run's work folder (``RUN/detectors/<name>/``) decides with the
threshold tuned on validation (its ``fit.json``); a detector declaring the ``zero_shot``
capability (a released checkpoint: ``fit([], None)`` loads it) needs no run folder and decides
at the default 0.5. ``-d`` takes comma-separated names and wildcards as ``run -d`` does; a
wildcard keeps the matches usable here (fitted in RUN or zero-shot). Folders are walked
recursively for the image suffixes the loaders read, hidden files and folders left out, in
sorted order. Every file is checked as a dataset's files are (``benchmark.data.checks``): an
unreadable one, or one below a detector's minimum side (``run`` leaves those out too), gets a
"not scored: <why>" row and the other rows are kept; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import fnmatch
import io
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ZERO_SHOT = "zero_shot"
DEFAULT_THRESHOLD = 0.5
COLUMNS = ["path", "detector", "p_fake", "threshold", "threshold_source", "verdict"]
#: A work folder's name, ``<dataset>-<fingerprint>-seed<N>-<train_aug>`` (engine.folders): how
#: the old form ``predict RUN -d ... IMAGE...`` is told from a first image folder.
_WORK_FOLDER = re.compile(r".-seed\d+-[A-Za-z0-9_]+$")


class _IntermixedParser(argparse.ArgumentParser):
    """Parses options and positionals in any order (``parse_known_intermixed_args``), so the
    old form ``predict RUN -d NAME IMAGE...``, with PATHs on both sides of ``-d``, still
    parses: plain argparse gives one ``nargs="+"`` positional only the first run of them."""

    _intermixed = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if self._intermixed:  # parse_known_intermixed_args calls this back for its passes
            return super().parse_known_args(args, namespace)
        self._intermixed = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixed = False


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``predict`` sub-command to the CLI's ``subparsers``."""
    p = subparsers.add_parser(
        "predict",
        help="fake probability of image files and folders, with fitted or zero-shot detectors",
        description="Print each image's fake probability and verdict per detector (and write "
        "them with --out). A detector fitted in RUN uses its threshold tuned on validation; a "
        "zero-shot detector (released checkpoint) needs no RUN and uses 0.5. An unreadable "
        "file, or an image whose shorter side is below a detector's minimum (`run` leaves "
        "those out), is a 'not scored' row (exit status 1); the other rows are kept.",
    )
    p.add_argument(
        "--run",
        type=Path,
        default=None,
        metavar="RUN",
        help="work folder printed by `run` (runs/<dataset>-<fp>-seed0-none), whose fitted "
        "detectors to use; may also be the first PATH, as before, when it is a work folder "
        "(has detectors/ or is named *-seed<N>-<aug>). Not needed for zero-shot detectors",
    )
    p.add_argument(
        "-d",
        "--detectors",
        "--detector",
        dest="detectors",
        required=True,
        help="comma-separated names or wildcards, e.g. 'fft_*,scratch_cnn' (a wildcard keeps "
        "the detectors fitted in RUN or zero-shot)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the rows as CSV (path, detector, p_fake, threshold, threshold_source, "
        "verdict), atomically",
    )
    p.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="image files and folders (recursive)"
    )
    p.__class__ = _IntermixedParser  # the sub-parsers action builds a plain ArgumentParser
    return p


def cmd_predict(args: argparse.Namespace) -> int:
    run_dir, paths = args.run, list(args.paths)
    if run_dir is None and len(paths) > 1 and _looks_like_work_folder(paths[0]):
        run_dir, paths = paths[0], paths[1:]
    return predict(run_dir, args.detectors, paths, args.out)


def _looks_like_work_folder(path: Path) -> bool:
    return (path / "detectors").is_dir() or bool(_WORK_FOLDER.search(path.name))


def _near(name: str, choices: list[str]) -> str:
    hits = difflib.get_close_matches(name, sorted(set(choices)), n=3, cutoff=0.5)
    return f"; did you mean {', '.join(map(repr, hits))}?" if hits else ""


@dataclass(frozen=True)
class Choice:
    """A detector to score with: its fit folder in RUN, or ``None`` for a zero-shot one."""

    name: str
    fit_dir: Path | None


def predict(
    run_dir: Path | None, detectors: str, paths: list[Path], out: Path | None = None
) -> int:
    """Print (and with ``out`` write) each image's fake probability and verdict per detector.

    Returns 0 when every row is scored, 1 when some image was not scored, 2 when a detector
    could not be loaded (its error on stderr; the other detectors' rows are still written).
    """
    from benchmark.protocol import NotApplicableError

    choices = resolve_detectors(detectors, check_run_dir(run_dir))
    images = collect_images(paths)
    checks = {path: _check(path) for path in images}
    for path, check in checks.items():
        if not check["ok"]:
            print(f"error: {path}: {check['reason']}: {check['detail']}", file=sys.stderr)
    rows, notes, status = [], [], 0
    for choice in choices:
        try:
            det, threshold, source, note = _load(choice)
        except (FileNotFoundError, ValueError, KeyError, NotApplicableError) as exc:
            print(f"error: {choice.name}: {exc}", file=sys.stderr)
            status = 2
            continue
        notes.append(f"{choice.name}: threshold {threshold:.3f} ({note})")
        rows += _score(det, choice.name, threshold, source, checks)
        del det  # one model in memory at a time
    order = {path: i for i, path in enumerate(images)}
    rows.sort(key=lambda r: order[r["path"]])  # stable: detector order within an image
    _print_table(notes, rows)
    if out is not None and rows:
        from benchmark.core.io import atomic_write_text

        print(f"wrote {atomic_write_text(out, _csv_text(rows))}")
    if status == 0 and any(r["p_fake"] is None for r in rows):
        status = 1
    return status


def check_run_dir(run_dir: Path | None) -> Path | None:
    """``run_dir`` when it is a folder; a missing one is an error naming its near siblings."""
    if run_dir is None or Path(run_dir).is_dir():
        return run_dir
    run_dir = Path(run_dir)
    siblings = [p.name for p in run_dir.parent.glob("*") if p.is_dir()]
    raise FileNotFoundError(
        f"{run_dir}: run folder not found{_near(run_dir.name, siblings)} "
        "(`run` prints its work folder, e.g. runs/default-<fingerprint>-seed0-none)"
    )


def fitted_in(run_dir: Path | None) -> dict[str, Path]:
    """The complete fits of a work folder (``fit.json`` is written last), by folder name
    (``<detector>`` and tuned ``<detector>@val<N>``)."""
    if run_dir is None:
        return {}
    folders = sorted((Path(run_dir) / "detectors").glob("*"))
    return {p.name: p for p in folders if (p / "fit.json").is_file()}


def resolve_detectors(patterns: str, run_dir: Path | None) -> list[Choice]:
    """Names and wildcards as ``run -d`` resolves them (the registry's ``names``), plus the
    fits in ``run_dir``; each kept when fitted there or zero-shot."""
    from benchmark.plugins import list_detectors
    from benchmark.registry import RegistryError

    fitted = fitted_in(run_dir)
    chosen: dict[str, Choice] = {}
    for pattern in [p.strip() for p in patterns.split(",") if p.strip()]:
        if pattern in fitted:
            hits = [pattern]
        else:
            try:
                hits = list_detectors(pattern)
            except RegistryError:
                hits = []
            hits += [n for n in fitted if n not in hits and fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            raise ValueError(
                f"unknown detector {pattern!r}{_near(pattern, list_detectors() + list(fitted))} "
                "(`python -m benchmark list` shows them)"
            )
        usable = [n for n in hits if n in fitted or is_zero_shot(n)]
        if not usable:
            raise ValueError(_not_usable(pattern, hits, run_dir, fitted))
        for name in usable:
            chosen.setdefault(name, Choice(name, fitted.get(name)))
    if not chosen:
        raise ValueError("-d: no detector named")
    return list(chosen.values())


def is_zero_shot(name: str) -> bool:
    """Whether registered detector ``name`` declares the ``zero_shot`` capability."""
    from benchmark.plugins import create_detector, list_detectors

    return name in list_detectors() and ZERO_SHOT in create_detector(name).capabilities


def _not_usable(pattern: str, hits: list[str], run_dir: Path | None, fitted: dict) -> str:
    from benchmark.plugins import list_detectors

    zero_shot = [n for n in list_detectors() if is_zero_shot(n)]
    also = f"; zero-shot detectors: {', '.join(zero_shot) or 'none'}"
    if run_dir is None:
        where = "give the work folder `run` fitted it in with --run RUN"
    else:
        where = f"fitted in {run_dir}: {', '.join(fitted) or 'none'}"
    if hits == [pattern]:
        return f"no fitted detector {pattern!r} and it is not zero-shot ({where}{also})"
    return (
        f"{pattern!r} matches {', '.join(hits)}: no fitted detector among them and none is "
        f"zero-shot ({where}{also})"
    )


def collect_images(paths: list[Path]) -> list[Path]:
    """Files as given, folders walked recursively for image suffixes (hidden entries left
    out, sorted); each file once, in argument order. A missing path is an error."""
    from benchmark.core.samples import IMAGE_SUFFIXES

    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)}: no such image file or folder")
    found: dict[Path, None] = {}
    for path in map(Path, paths):
        if not path.is_dir():
            found.setdefault(path)
            continue
        inside = []
        for top, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            inside += [
                Path(top) / f
                for f in files
                if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES
            ]
        if not inside:
            raise FileNotFoundError(
                f"{path}: no image in this folder ({', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        for file in sorted(inside):
            found.setdefault(file)
    return list(found)


def _check(path: Path) -> dict[str, Any]:
    """The loaders' check of one file (full decode), without their size floor: each
    detector's minimum side is applied per detector."""
    from benchmark.data.checks import check_file

    return check_file(path, min_side=1)


def _load(choice: Choice) -> tuple[Any, float, str, str]:
    """The detector, its threshold, the threshold's source and a note saying where it is from."""
    from benchmark.plugins import create_detector, load_detector

    if choice.fit_dir is not None:
        info_file = choice.fit_dir / "fit.json"
        info = json.loads(info_file.read_text())
        rule = info.get("threshold_rule", "")
        note = f"tuned on validation{', ' + rule if rule else ''}: {info_file}"
        return load_detector(choice.fit_dir), float(info["threshold"]), "validation", note
    det = create_detector(choice.name)
    det.fit([], None)  # a zero-shot detector's fit loads its released checkpoint
    note = "zero-shot, not fitted in a run: no validation threshold, the default 0.5"
    return det, DEFAULT_THRESHOLD, f"default {DEFAULT_THRESHOLD}", note


def _score(
    det: Any, name: str, threshold: float, source: str, checks: dict[Path, dict[str, Any]]
) -> list[dict[str, Any]]:
    """One row per image: ``p_fake`` and a fake/real verdict, or ``None`` and why not."""
    from benchmark.core.samples import Sample

    min_side = det.min_image_side()
    why: dict[Path, str] = {}
    usable = []
    for path, check in checks.items():
        if not check["ok"]:
            why[path] = f"{check['reason']}: {check['detail']}"
        elif min(check["width"], check["height"]) < min_side:
            side = min(check["width"], check["height"])
            why[path] = f"shorter side {side} px is below {name}'s minimum of {min_side} px"
        else:
            meta = {"width": check["width"], "height": check["height"]}
            usable.append(Sample(str(path), -1, path, meta))
    probs: dict[Path, float] = {}
    if usable:
        try:
            fake = det.predict_proba(usable)[:, 1]
            probs = {s.path: float(p) for s, p in zip(usable, fake, strict=True)}
        except Exception as exc:  # one detector failing must not lose the others' rows
            print(f"error: {name}: predict_proba failed: {exc!r}", file=sys.stderr)
            why |= {s.path: f"{name} failed: {type(exc).__name__}: {exc}" for s in usable}
    rows = []
    for path in checks:
        p = probs.get(path)
        verdict = f"not scored: {why[path]}" if p is None else "fake" if p >= threshold else "real"
        rows.append(dict(zip(COLUMNS, (path, name, p, threshold, source, verdict), strict=True)))
    return rows


def _print_table(notes: list[str], rows: list[dict[str, Any]]) -> None:
    for note in notes:
        print(note)
    width = max([len(str(r["path"])) for r in rows] + [40])
    dwidth = max([len(r["detector"]) for r in rows] + [8])
    print(f"\n{'image':{width}} {'detector':{dwidth}} p(fake)  verdict")
    for r in rows:
        score = "-" if r["p_fake"] is None else f"{r['p_fake']:.3f}"
        verdict = {"fake": "FAKE"}.get(r["verdict"], r["verdict"])
        print(f"{str(r['path']):{width}} {r['detector']:{dwidth}} {score:>7}  {verdict}")


def _csv_text(rows: list[dict[str, Any]]) -> str:
    from benchmark.core.io import FLOAT_FORMAT

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        p = "" if r["p_fake"] is None else FLOAT_FORMAT % r["p_fake"]
        writer.writerow(r | {"path": str(r["path"]), "p_fake": p,
                             "threshold": FLOAT_FORMAT % r["threshold"]})  # fmt: skip
    return buf.getvalue()
