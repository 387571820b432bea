"""``python -m benchmark weights list|fetch``: see and fill the pretrained-weights caches.

``run`` never downloads (``benchmark.toolkit.weights``). ``weights list`` shows, per registered
detector that uses pretrained weights, which file it reads, where it comes from and whether
it is on this machine, then each released detector checkpoint once: its file, path, URL,
sha256 (upstream, pinned here, or "unpinned"), training data and licence. ``weights fetch
NAME...`` downloads the missing ones into the standard caches (torch hub for torchvision and
released checkpoints, Hugging Face or torch hub for timm and open_clip) on a connected machine,
checks a released file's sha256 (pinning it in ``<file>.sha256`` where upstream publishes
none; a mismatch is refused) and fails fast, saying where to copy the file, where there is no
network. Released files are never redistributed: each comes from its source's own URL.
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
    from benchmark.toolkit.weights import ChecksumMismatchError, WeightsNotFoundError, fetch, locate

    rows = weight_sources(args.pattern if args.weights_command == "list" else ",".join(args.names))
    if args.weights_command == "list":
        print(f"{'detector':30} {'cached':6} {'source':50} file")
        for name, kind, ident in rows:
            w = locate(kind, ident)
            flag = "yes" if w["cached"] else "no"
            print(f"{name:30} {flag:6} {kind + ':' + ident:50} {w['path']}")
        released = sorted({ident for _, kind, ident in rows if kind == "released"})
        if released:
            print("\nreleased checkpoints (never redistributed: `weights fetch NAME` downloads "
                  "each from its source)")  # fmt: skip
        for ident in released:
            print(released_entry(ident))
        return 0
    failed, done = 0, {}
    for name, kind, ident in rows:
        if (kind, ident) in done:  # a zero-shot row and its fine-tuned one share a file
            print(f"{name}: {kind}:{ident} -> {done[kind, ident]}")
            continue
        try:
            done[kind, ident] = path = fetch(kind, ident, timeout=args.timeout)
            pinned = f" (sha256 {locate(kind, ident)['sha256']})" if kind == "released" else ""
            print(f"{name}: {kind}:{ident} -> {path}{pinned}")
        except (WeightsNotFoundError, ChecksumMismatchError) as exc:
            print(f"error: {name}: {exc}", file=sys.stderr)
            failed += 1
    return 2 if failed else 0


def released_entry(name: str) -> str:
    """``weights list``'s block for the released checkpoint ``name``."""
    from benchmark.toolkit.weights import locate, released_file

    file, where = released_file(name), locate("released", name)
    sha = where["sha256"]
    if sha != "unpinned":
        sha += " (upstream)" if file.sha256 else " (pinned here by weights fetch)"
    lines = [f"  {name} (cached: {'yes' if where['cached'] else 'no'})",
             f"    file      {file.filename}", f"    path      {where['path']}",
             f"    url       {file.url}", f"    sha256    {sha}",
             f"    trained   {file.training_data}", f"    licence   {file.licence}"]  # fmt: skip
    for need in where["requires"]:
        flag = "yes" if need["cached"] else "no"
        lines.append(f"    needs     {need['kind']}:{need['id']} (cached: {flag}) {need['path']}")
    return "\n".join(lines)
