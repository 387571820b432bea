"""The report page: one offline HTML file linking every table and figure of a results folder.

``write_folder_page(folder)`` writes ``folder/report.html`` for one table set (a dataset's
published folder or a run's ``tables/``); ``write_index_page(results)`` writes
``results/index.html`` with one section per published table set. Both use relative links
only, inline CSS, no script and no CDN, so the page reads the same from a file system, a zip
or a static web server. Each section opens with a headline in words, generated from the
numbers: the best detector with its 95% interval, which detectors it does not beat
significantly, which rows do not beat the metadata-only baseline and which ran from random
initialisation (the last two from ``benchmark.report.summary``).
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import pandas as pd

from benchmark.core.io import atomic_write_text
from benchmark.report.figures import FIGURES_DIR
from benchmark.report.ranks import RANK_RULE
from benchmark.report.summary import run_summary

ALPHA = 0.05
CAPTIONS = {
    "roc_det": "ROC and DET curves of every detector (clean test split).",
    "auc_vs_resolution": "ROC-AUC vs test resolution.",
    "robustness_heatmap": "Robustness: ROC-AUC per detector and corruption, mean over severities.",
    "auc_vs_severity": "ROC-AUC vs corruption severity (0 = clean).",
    "pareto": "Accuracy vs cost: ROC-AUC (95% interval) vs ms/image; marker area ∝ parameters.",
    "confusion": "Confusion matrices at each detector's threshold tuned on validation.",
    "score_density": "Score densities of real and fake test images with the tuned threshold.",
    "reliability": "Reliability diagram with expected calibration error (ECE).",
    "training_curves": "Training curves of the deep detectors (loss, validation ROC-AUC).",
    "spectra": "Mean log-magnitude Fourier spectra of real and fake test images, and fake − real.",
}
SALIENCY_CAPTION = (
    "Grad-CAM of the fake logit and gradient saliency on correct and wrong test predictions "
    "(a fixed, seeded sample)."
)
CSS = """body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0}td,th{border:1px solid #ccc;
padding:2px 6px;text-align:right}td:first-child,th:first-child{text-align:left}
.figs{display:grid;grid-template-columns:1fr 1fr;gap:1em;align-items:start}
figure{margin:0}
figure img{width:100%;border:1px solid #ddd}figcaption{font-size:13px;color:#444}
.headline li{margin:.2em 0}.muted{color:#777;font-size:13px}"""


def _fmt(value: object, digits: int = 3) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.{digits}f}"
    return "" if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else str(value)


def _interval(row: pd.Series, metric: str) -> str:
    lo, hi = row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
    if lo is None or pd.isna(lo):
        return _fmt(row.get(metric))
    return f"{_fmt(row.get(metric))} [{lo:.3f}, {hi:.3f}]"


def headline(board: pd.DataFrame, seed_spread: pd.DataFrame | None = None) -> list[str]:
    """Sentences about one dataset's leaderboard: best, statistical ties, baseline, random init."""
    ok = board[(board.get("status", "ok") == "ok") & board["roc_auc"].notna()]
    lines: list[str] = []
    if ok.empty:
        return ["No detector produced a test score."]
    ranked = ok.sort_values("roc_auc", ascending=False)
    best = ranked.iloc[0]
    has_ci = "roc_auc_lo" in ok and ok["roc_auc_lo"].notna().any()
    line = f"Best: {best['detector']}, test ROC-AUC {_interval(best, 'roc_auc')}"
    if has_ci:
        groups = best.get("n_groups")
        unit = f"{int(groups)} independent groups" if pd.notna(groups) else "images"
        line += f" (95% bootstrap interval over {unit})"
    lines.append(line + ".")
    if "p_vs_best" in ok and ok["p_vs_best"].notna().any():
        others = ranked.iloc[1:]
        tied = others[others.get("rank") == 1] if "rank" in others else others.iloc[:0]
        if len(tied):
            lines.append(
                f"Also rank 1 (no detector significantly better; DeLong, Holm-adjusted, "
                f"α = {ALPHA}): "
                + ", ".join(f"{r.detector} (p={r.p_vs_best:.2g})" for r in tied.itertuples())
                + ". Read their order as a tie."
            )
        else:
            lines.append(f"{best['detector']} alone ranks 1 (DeLong, Holm-adjusted, α = {ALPHA}).")
    else:
        lines.append("No per-image scores here: no intervals or significance tests.")
    for sentence in run_summary(board, tables=None, seed_spread=seed_spread)[1:]:
        lines.append(sentence)
    return lines


def _table(board: pd.DataFrame) -> str:
    cols = [
        ("rank", "rank"), ("detector", "detector"), ("status", "status"),
        ("roc_auc", "ROC-AUC [95% CI]"), ("accuracy_tuned", "accuracy (tuned) [95% CI]"),
        ("eer", "EER [95% CI]"), ("p_vs_best", "p vs best (DeLong)"),
        ("p_mcnemar_vs_best", "p vs best (McNemar)"), ("infer_ms_per_image", "ms/image"),
        ("n_parameters", "parameters"), ("pretrained", "pretrained"),
        ("beats_metadata_baseline", "beats metadata baseline"),
    ]  # fmt: skip
    cols = [(c, label) for c, label in cols if c in board]
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in cols)
    body = []
    for _, r in board.iterrows():
        cells = []
        for c, _ in cols:
            if c in ("roc_auc", "accuracy_tuned", "eer"):
                text = _interval(r, c)
            elif c.startswith("p_"):
                text = _fmt(r.get(c)) if pd.isna(r.get(c)) else f"{r.get(c):.2g}"
            else:
                text = _fmt(r.get(c), 2 if c == "infer_ms_per_image" else 3)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def section(folder: Path, link_from: Path) -> str:
    """HTML of one table set: headline, leaderboard, figures, links (relative to ``link_from``)."""
    folder = Path(folder)
    rel = Path(os.path.relpath(folder, link_from)).as_posix()
    prefix = "" if rel == "." else rel + "/"
    # "n/a" (no pretrained weights) is a value here, not a missing one
    board = pd.read_csv(folder / "leaderboard.csv", keep_default_na=False, na_values=[""])
    spread_file = folder / "seeds" / "leaderboard_seeds.csv"
    spread = pd.read_csv(spread_file) if spread_file.is_file() else None
    name = ", ".join(sorted(board["dataset"].dropna().astype(str).unique())) or folder.name
    parts = [f"<h2 id='{html.escape(rel)}'>{html.escape(name)}"
             f" <span class='muted'>({html.escape(rel)})</span></h2>"]  # fmt: skip
    items = "".join(f"<li>{html.escape(s)}</li>" for s in headline(board, spread))
    parts.append(f"<ul class='headline'>{items}</ul>")
    parts.append(_table(board))
    figs = sorted((folder / FIGURES_DIR).glob("*.png"))
    order = list(CAPTIONS)
    figs.sort(key=lambda p: (order.index(p.stem) if p.stem in order else len(order), p.name))
    parts.append("<div class='figs'>")
    for fig in figs:
        caption = CAPTIONS.get(fig.stem, fig.stem.replace("_", " "))
        if fig.stem.startswith("saliency_"):
            caption = f"{fig.stem[len('saliency_') :]}: {SALIENCY_CAPTION}"
        src = html.escape(f"{prefix}{FIGURES_DIR}/{fig.name}")
        parts.append(f"<figure><a href='{src}'><img src='{src}' alt='{html.escape(caption)}'>"
                     f"</a><figcaption>{html.escape(caption)}</figcaption></figure>")  # fmt: skip
    parts.append("</div>")
    tables = sorted(p.name for p in folder.glob("*") if p.name.endswith((".csv", ".csv.gz", ".md")))
    links = " · ".join(f"<a href='{html.escape(prefix + t)}'>{html.escape(t)}</a>" for t in tables)
    parts.append(f"<p>Tables: {links}</p>")
    return "\n".join(parts)


def _document(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        "<p class='muted'>Test split, scored once; intervals are 95% percentile bootstrap "
        "intervals resampling whole source groups when the dataset knows them; p-values "
        "compare each detector with the best one on the same images (DeLong et al. 1988 for "
        "ROC-AUC, McNemar 1947 for accuracy at the tuned threshold). "
        + RANK_RULE
        + " Generated by fakebench."
        f"</p>{body}</body></html>\n"
    )


def write_folder_page(folder: Path) -> Path:
    """``folder/report.html`` for one table set."""
    folder = Path(folder)
    return atomic_write_text(
        folder / "report.html", _document("fakebench report", section(folder, folder))
    )


def write_index_page(results: Path) -> Path:
    """``results/index.html``: every published table set under ``results``, one section each."""
    results = Path(results)
    folders = sorted(p.parent for p in results.rglob("leaderboard.csv"))
    toc = "".join(
        f"<li><a href='#{html.escape(Path(os.path.relpath(f, results)).as_posix())}'>"
        f"{html.escape(Path(os.path.relpath(f, results)).as_posix())}</a></li>"
        for f in folders
    )
    body = f"<ul>{toc}</ul>" + "\n".join(section(f, results) for f in folders)
    return atomic_write_text(results / "index.html", _document("fakebench results", body))
