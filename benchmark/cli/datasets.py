"""``python -m benchmark datasets``: supported public datasets, layouts, and ``check PATH``.

Registered in ``benchmark/cli/__init__.py`` with :func:`add_parser` and :func:`cmd_datasets`.
Cards are the Markdown files in the repository's ``datasets/`` folder (data only, no package).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

CARDS = Path(__file__).resolve().parents[2] / "datasets"


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
    p.add_argument("--crop-faces", action="store_true", help="check the face crops instead")
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
    from benchmark.data.loader import load_folder
    from benchmark.engine.audit import audit

    ds = load_folder(args.path, seed=args.seed, layout=args.layout, crop_faces=args.crop_faces)
    report = audit(ds, baseline=not args.no_baseline)
    if args.json:
        print(json.dumps(report, indent=1, default=str))
        return 0
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
    if "metadata_baseline_auc" in report:
        auc = report["metadata_baseline_auc"]
        print(
            "metadata-only baseline test AUC: " + (f"{auc:.3f}" if isinstance(auc, float) else auc)
        )
    for w in report["warnings"]:
        print(f"WARNING: {w}")
    return 0
