"""``python -m benchmark weights list|fetch``: see and fill the pretrained-weights caches.

``run`` never downloads (``benchmark.toolkit.weights``). ``weights list`` shows, per registered
detector that uses pretrained weights, which file it reads, where it comes from and whether
it is on this machine; ``weights fetch NAME...`` downloads the missing ones into the standard
caches (torch hub for torchvision, Hugging Face or torch hub for timm) on a connected machine
and fails fast, saying where to copy the file, where there is no network.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``weights`` sub-command to the CLI's ``subparsers``."""
    p = subparsers.add_parser(
        "weights", help="list or fetch pretrained weights (run never downloads)"
    )
    sub = p.add_subparsers(dest="weights_command", required=True, help="list or fetch")
    ls = sub.add_parser("list", help="which weights each detector reads, and whether cached")
    ls.add_argument("pattern", nargs="?", default=None, help="detector wildcard, e.g. 'resnet*'")
    fe = sub.add_parser("fetch", help="download detectors' weights into the standard caches")
    fe.add_argument("names", nargs="+", help="detector names or wildcards")
    fe.add_argument("--timeout", type=float, default=20.0, help="network timeout in seconds")
    return p


def weight_sources(pattern: str | None = None) -> list[tuple[str, str, str]]:
    """``(detector, kind, id)`` for each matching detector that declares pretrained weights."""
    from benchmark.plugins import create_detector, list_detectors

    out = []
    for name in list_detectors(pattern):
        det = create_detector(name)
        spec = det.weights_source_spec() if "pretrained_weights" in det.capabilities else None
        if spec is not None:
            out.append((name, *spec))
    return out


def cmd_weights(args: argparse.Namespace) -> int:
    """Run ``weights list`` or ``weights fetch``; 0 on success, 2 when a fetch failed."""
    from benchmark.toolkit.weights import WeightsNotFoundError, fetch, locate

    if args.weights_command == "list":
        rows = weight_sources(args.pattern)
        print(f"{'detector':30} {'cached':6} {'source':50} file")
        for name, kind, ident in rows:
            w = locate(kind, ident)
            flag = "yes" if w["cached"] else "no"
            print(f"{name:30} {flag:6} {kind + ':' + ident:50} {w['path']}")
        return 0
    failed = 0
    for name, kind, ident in weight_sources(",".join(args.names)):
        try:
            path = fetch(kind, ident, timeout=args.timeout)
            print(f"{name}: {kind}:{ident} -> {path}")
        except WeightsNotFoundError as exc:
            print(f"error: {name}: {exc}", file=sys.stderr)
            failed += 1
    return 2 if failed else 0
