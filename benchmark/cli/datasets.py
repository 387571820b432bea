"""``python -m benchmark datasets``: supported public datasets, layouts, and ``check PATH``.

Registered in ``benchmark/cli/__init__.py`` with :func:`add_parser` and :func:`cmd_datasets`.
Cards are the Markdown files in the repository's ``datasets/`` folder (data only, no package).
``check PATH --crop-faces none,haar,mtcnn`` checks the copy once per face pipeline (faces found
per split and class, the shortcut audit on the crops) and compares them; ``--csv FILE`` writes
the comparison as a tidy table (:data:`COMPARE_COLUMNS`).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

CARDS = Path(__file__).resolve().parents[2] / "datasets"
CROPS = ("none", "haar", "mtcnn")
COMPARE_COLUMNS = ["dataset", "crop_faces", "measure", "split", "class", "value"]


def _crops(raw: str) -> list[str]:
    names = [n.strip() for n in raw.split(",") if n.strip()]
    bad = [n for n in names if n not in CROPS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"{raw!r}: give one or more of {', '.join(CROPS)}")
    return names


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``datasets`` sub-command (and its ``check`` action) to ``subparsers``."""
    p = subparsers.add_parser(
        "datasets",
        help="supported public datasets and layouts; `datasets check PATH` validates a copy",
        description="Without arguments: the public datasets with a card in datasets/ and the "
        "folder layouts --dataset PATH understands. `check PATH`: counts per split and class, "
        "unreadable files by reason, class balance, duplicates across splits, and a shortcut "
        "audit (metadata-only baseline AUC; size, format, JPEG quality and bytes per pixel "
        "per class, with a warning when one of them alone separates the classes).",
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=["list", "check"],
        default="list",
        help="list: the supported public datasets and layouts; check PATH: audit a local copy",
    )
    p.add_argument("path", nargs="?", type=Path, help="dataset folder (for check)")
    p.add_argument("--layout", default=None, help="force a layout (see the list)")
    p.add_argument(
        "--crop-faces",
        nargs="?",
        const=["haar"],
        default=["none"],
        type=_crops,
        metavar="none,haar,mtcnn",
        help="check the face crops instead (no value: haar); several, comma-separated: check "
        "each and compare them (faces found, shortcut AUCs). Give it after PATH",
    )
    p.add_argument(
        "--csv", type=Path, default=None, help="write the comparison rows to this CSV file"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the split when none is given")
    p.add_argument("--no-baseline", action="store_true", help="skip the metadata baseline fit")
    p.add_argument("--json", action="store_true", help="print the check report as JSON")
    return p


def cards() -> list[tuple[str, str, str]]:
    """(name, title, first table row 'Layout') of every card in ``datasets/``."""
    out = []
    for card in sorted(CARDS.glob("*.md")) if CARDS.is_dir() else []:
        if card.name == "README.md":
            continue
        lines = card.read_text(encoding="utf-8").splitlines()
        title = lines[0].lstrip("# ").strip() if lines else card.stem
        layout = next(
            (ln.split("|")[2].strip() for ln in lines if ln.lower().startswith("| layout")), ""
        )
        out.append((card.stem, title, layout))
    return out


def cmd_datasets(args: argparse.Namespace) -> int:
    """List datasets and layouts, or check a local copy; returns the exit status."""
    from benchmark.plugins import list_datasets, list_layouts
    from benchmark.registry import LAYOUTS

    if args.action == "list":
        print("built-in:", ", ".join(list_datasets()))
        print(f"\npublic datasets (cards in {CARDS}):")
        for name, title, layout in cards():
            print(f"  {name:20} {title}" + (f"\n  {'':20} layout: {layout}" if layout else ""))
        print("\nlayouts --dataset PATH detects, in this order (--layout NAME forces one):")
        for name in list_layouts():
            print(f"  {name:10} {LAYOUTS.get(name).meta.description}")
        return 0
    if args.path is None:
        raise ValueError("datasets check needs a PATH")
    return _check(args)


def _check(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    reports = []
    for crop in args.crop_faces:
        if len(args.crop_faces) > 1 and not args.json:
            print(f"\n== --crop-faces {crop} ==")
        report = _check_one(args, crop, rows)
        reports.append(report)
    if args.json:
        print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=1, default=str))
    if len(args.crop_faces) > 1 and not args.json:
        _print_comparison(rows)
    if args.csv is not None:
        from benchmark.core.io import atomic_write_text

        buf = io.StringIO()
        w = csv.DictWriter(buf, COMPARE_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        atomic_write_text(args.csv, buf.getvalue())
        if not args.json:
            print(f"\ncomparison: {args.csv}")
    return 0


def _check_one(args: argparse.Namespace, crop: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Load, audit and (unless --json) print one face pipeline's check; append its CSV rows."""
    from benchmark.data.faces import black_shares, detection_rates, face_sides
    from benchmark.data.loader import load_folder
    from benchmark.engine.audit import audit, lone_auc

    method = None if crop == "none" else crop
    ds = load_folder(args.path, seed=args.seed, layout=args.layout, crop_faces=method or False)
    report = audit(ds, baseline=not args.no_baseline)
    if method:
        report["faces"] = detection_rates(ds)
        samples = [s for split in ("train", "val", "test") for s in ds.splits[split]]
        sides = face_sides(samples)
        y = np.array([s.label for s in samples])
        report["face_side_auc"] = lone_auc(y, sides) if np.isfinite(sides).all() else None
        report["black_share_auc"] = lone_auc(y, black_shares(samples))
    rows += _compare_rows(ds.name, crop, report)
    if not args.json:
        _print_report(ds, report)
    return report


def _compare_rows(name: str, crop: str, report: dict[str, Any]) -> list[dict[str, Any]]:
    def row(measure: str, value: Any, split: str = "all", cls: str = "all") -> dict[str, Any]:
        value = round(value, 4) if isinstance(value, float) else value
        return dict(zip(COMPARE_COLUMNS, [name, crop, measure, split, cls, value], strict=True))

    out = []
    for r in report.get("faces", []):
        if r["rate"] is not None:  # else the images without a face have no split
            out.append(row("images", r["found"] + r["missed"], r["split"], r["class"]))
        out.append(row("faces_found", r["found"], r["split"], r["class"]))
        if r["rate"] is not None:
            out.append(row("detection_rate", r["rate"], r["split"], r["class"]))
    if "faces" not in report:
        for split, c in report["counts"].items():
            for cls in ("real", "fake"):
                out.append(row("images", c.get(cls, 0), split, cls))
    for feature, d in report["distributions"].items():
        out.append(row(f"auc_{feature}", d["auc"]))
    if report.get("face_side_auc") is not None:
        out.append(row("auc_face_side_source", report["face_side_auc"]))
    if "black_share_auc" in report:
        out.append(row("auc_black_share", report["black_share_auc"]))
    auc = report.get("metadata_baseline_auc")
    if isinstance(auc, float):
        out.append(row("metadata_baseline_auc", auc, "test"))
    return out


def _print_comparison(rows: list[dict[str, Any]]) -> None:
    crops = list(dict.fromkeys(r["crop_faces"] for r in rows))
    keys = list(dict.fromkeys((r["measure"], r["split"], r["class"]) for r in rows))
    table = {(r["crop_faces"], r["measure"], r["split"], r["class"]): r["value"] for r in rows}
    print(f"\ncomparison ({', '.join(crops)}):")
    print(f"  {'measure':28} {'split':6} {'class':5} " + " ".join(f"{c:>8}" for c in crops))
    for m, split, cls in keys:
        if m in ("images", "faces_found") and split != "all":
            continue  # per-split counts stay in the CSV
        cells = [table.get((c, m, split, cls), "") for c in crops]
        text = [f"{v:8.3f}" if isinstance(v, float) else f"{v!s:>8}" for v in cells]
        print(f"  {m:28} {split:6} {cls:5} " + " ".join(text))


def _print_report(ds: Any, report: dict[str, Any]) -> None:
    print(f"dataset {ds.name} ({ds.description}), fingerprint {ds.fingerprint}")
    for split, c in report["counts"].items():
        print(f"  {split:6} real {c.get('real', 0):6}  fake {c.get('fake', 0):6}")
    print(f"  fake share {report['fake_share']:.1%}")
    skipped = report["skipped"]
    print(
        f"skipped files: {sum(skipped.values())}"
        + "".join(f"\n  {reason:20} {n}" for reason, n in skipped.items())
    )
    for item in ds.skipped[:10]:
        print(f"    {item['file']}: {item['reason']} ({item['detail']})")
    if "faces" in report:
        print("faces found per split and class (found / images, rate):")
        for r in report["faces"]:
            if r["rate"] is None:  # an automatic split: images without a face have no split
                print(f"  {r['split']:5} {r['class']:4} {r['found']:6} found (split made after)")
            else:
                n, rate = r["found"] + r["missed"], r["rate"]
                print(f"  {r['split']:5} {r['class']:4} {r['found']:6} / {n:6}  {rate:.1%}")
    below = report["below_min_side"]
    print("images below a detector's minimum side: " + ("none" if not below else ""))
    for b in below:
        counts = ", ".join(f"{split} {n}" for split, n in b["below"].items())
        print(f"  < {b['min_side']} px ({', '.join(b['detectors'])}): {counts}")
    print(f"exact duplicates across splits: {report['duplicates_across_splits']}")
    for dup in ds.duplicates[:5]:
        print(f"    {', '.join(dup['files'][:3])} in {', '.join(dup['splits'])}")
    print(f"formats: real {report['formats']['real']}, fake {report['formats']['fake']}")
    print("storage features per class (median [p5, p95]) and their AUC alone:")
    for name, d in report["distributions"].items():
        cells = [
            f"{cls} {d[cls]['median']:.4g} [{d[cls]['p5']:.4g}, {d[cls]['p95']:.4g}]"
            if d[cls]["n"]
            else f"{cls} n/a"
            for cls in ("real", "fake")
        ]
        print(f"  {name:16} {'; '.join(cells)}; AUC {d['auc']:.3f}")
    if report.get("face_side_auc") is not None:
        side = report["face_side_auc"]
        print(f"  {'face_side':16} the detected face's side in the source image; AUC {side:.3f}")
    if "black_share_auc" in report:
        black = report["black_share_auc"]
        print(f"  {'black_share':16} share of pure-black pixels (border); AUC {black:.3f}")
    if "metadata_baseline_auc" in report:
        auc = report["metadata_baseline_auc"]
        print(
            "metadata-only baseline test AUC: " + (f"{auc:.3f}" if isinstance(auc, float) else auc)
        )
    for w in report["warnings"]:
        print(f"WARNING: {w}")
