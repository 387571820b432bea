"""The report page: one offline HTML file with a working leaderboard and every figure.

``write_folder_page(folder)`` writes ``folder/report.html`` for one table set (a dataset's
published folder or a run's ``tables/``); ``write_index_page(results)`` writes
``results/index.html`` with one section per published table set. Both use relative links
only, an inline style sheet and an inline script, no CDN and no request of any kind, so the
page reads the same from a file system, a zip or a static web server. Each section opens with
a headline in words, generated from the numbers (the best fit with its 95% interval, which
fits it does not beat significantly, which do not beat the metadata-only baseline and which ran
from random initialisation; the last two from ``benchmark.report.summary``), then the
leaderboard (sortable, filterable, families as sections; :mod:`benchmark.report.page_parts`),
the "compare two" view, the figures, a card per detector and links to the tables.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import pandas as pd

from benchmark.core.io import atomic_write_text
from benchmark.report.page_data import FolderData, read_folder
from benchmark.report.page_parts import (
    cards_html,
    compare_html,
    filter_bar,
    filter_values,
    leaderboard_html,
    slug,
)
from benchmark.report.page_script import CSS, SCRIPT
from benchmark.report.plotting import FIGURES_DIR
from benchmark.report.ranks import ALPHA, RANK_RULE
from benchmark.report.summary import run_summary

CAPTIONS = {
    "roc_det": "ROC and DET curves (clean test), one row per detector family: its best three "
    "fits by ROC-AUC in colour, the others grey.",
    "pareto": "Accuracy vs cost per detector family: ROC-AUC (95% interval) vs ms/image, marker "
    "area ∝ parameters; every other fit grey, the Pareto front of all fits in black.",
    "reliability": "Reliability diagram per detector family, with the expected calibration error "
    "(ECE) of its best three fits by ROC-AUC; the others grey.",
    "training_curves": "Training curves, one panel per deep fit (by family, best validation "
    "ROC-AUC first): training and validation loss, validation ROC-AUC.",
    "auc_vs_resolution": "ROC-AUC vs test resolution; the best six fits by clean ROC-AUC in "
    "colour.",
    "robustness_heatmap": "Robustness: ROC-AUC per fit and corruption, mean over severities.",
    "auc_vs_severity": "ROC-AUC vs corruption severity (0 = clean); the best six fits by clean "
    "ROC-AUC in colour.",
    "confusion": "Confusion matrices at each fit's threshold tuned on validation.",
    "score_density": "Score densities of real and fake test images with the tuned threshold.",
    "spectra": "Mean log-magnitude Fourier spectra of real and fake test images, and fake − real.",
}
SALIENCY_CAPTION = (
    "Grad-CAM of the fake logit and gradient saliency on correct and wrong test predictions "
    "(a fixed, seeded sample)."
)
WIDE = {"roc_det", "reliability", "pareto", "training_curves"}  # full-width figures


def _fmt(value: object, digits: int = 3) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.{digits}f}"
    return "" if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else str(value)


def _interval(row: pd.Series, metric: str) -> str:
    lo, hi = row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
    if lo is None or pd.isna(lo):
        return _fmt(row.get(metric))
    return f"{_fmt(row.get(metric))} [{lo:.3f}, {hi:.3f}]"


def _name(row: pd.Series) -> str:
    """A leaderboard row's fit name (its ``fit`` column; the detector where there is none)."""
    fit = row.get("fit")
    return str(fit) if isinstance(fit, str) and fit else str(row.get("detector"))


def headline(board: pd.DataFrame, seed_spread: pd.DataFrame | None = None) -> list[str]:
    """Sentences about one dataset's leaderboard: best, statistical ties, baseline, random init."""
    ok = board[(board.get("status", "ok") == "ok") & board["roc_auc"].notna()]
    lines: list[str] = []
    if ok.empty:
        return ["No detector produced a test score."]
    ranked = ok.sort_values("roc_auc", ascending=False)
    best = ranked.iloc[0]
    has_ci = "roc_auc_lo" in ok and ok["roc_auc_lo"].notna().any()
    line = f"Best: {_name(best)}, test ROC-AUC {_interval(best, 'roc_auc')}"
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
                f"Also rank 1 (no fit significantly better; DeLong, Holm-adjusted, "
                f"α = {ALPHA}): "
                + ", ".join(f"{_name(r)} (p={r['p_vs_best']:.2g})" for _, r in tied.iterrows())
                + ". Read their order as a tie."
            )
        else:
            lines.append(f"{_name(best)} alone ranks 1 (DeLong, Holm-adjusted, α = {ALPHA}).")
    else:
        lines.append("No per-image scores here: no intervals or significance tests.")
    for sentence in run_summary(board, tables=None, seed_spread=seed_spread)[1:]:
        lines.append(sentence)
    return lines


def _figures(folder: Path, prefix: str) -> str:
    figs = sorted((folder / FIGURES_DIR).glob("*.png"))
    order = list(CAPTIONS)
    figs.sort(key=lambda p: (order.index(p.stem) if p.stem in order else len(order), p.name))
    parts = ["<div class='figs'>"]
    for fig in figs:
        caption = CAPTIONS.get(fig.stem, fig.stem.replace("_", " "))
        if fig.stem.startswith("saliency_"):
            caption = f"{fig.stem[len('saliency_') :]}: {SALIENCY_CAPTION}"
        src = html.escape(f"{prefix}{FIGURES_DIR}/{fig.name}")
        wide = " class='wide'" if fig.stem in WIDE else ""
        parts.append(f"<figure{wide}><a href='{src}'><img src='{src}' alt='{html.escape(caption)}'"
                     f" loading='lazy'></a><figcaption>{html.escape(caption)}</figcaption>"
                     "</figure>")  # fmt: skip
    parts.append("</div>")
    return "".join(parts)


def section(folder: Path, link_from: Path, data: FolderData | None = None) -> str:
    """HTML of one table set: headline, leaderboard, compare view, figures, detector cards and
    links to its tables (relative to ``link_from``)."""
    folder = Path(folder)
    rel = Path(os.path.relpath(folder, link_from)).as_posix()
    prefix = "" if rel == "." else rel + "/"
    sid = slug(rel if rel != "." else folder.name)
    data = data if data is not None else read_folder(folder)
    board = data.board
    spread_file = folder / "seeds" / "leaderboard_seeds.csv"
    spread = pd.read_csv(spread_file) if spread_file.is_file() else None
    name = ", ".join(sorted(board["dataset"].dropna().astype(str).unique())) or folder.name
    parts = [
        f"<section class='set' id='set-{sid}'><h2 id='{html.escape(rel)}'>"
        f"{html.escape(name)} <span class='muted'>({html.escape(rel)})</span></h2>"
    ]
    items = "".join(f"<li>{html.escape(s)}</li>" for s in headline(board, spread))
    parts.append(f"<ul class='headline'>{items}</ul>")
    parts.append(leaderboard_html(data, sid))
    parts.append(compare_html(data, sid))
    parts.append(_figures(folder, prefix))
    parts.append(cards_html(data, sid))
    tables = sorted(p.name for p in folder.glob("*") if p.name.endswith((".csv", ".csv.gz", ".md")))
    links = " · ".join(f"<a href='{html.escape(prefix + t)}'>{html.escape(t)}</a>" for t in tables)
    parts.append(f"<p>Tables: {links}</p></section>")
    return "\n".join(parts)


def _document(title: str, body: str, filters: str = "") -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        "<p class='muted'>Test split, scored once; intervals are 95% percentile bootstrap "
        "intervals resampling whole source groups when the dataset knows them; p-values "
        "compare each fit with the best one on the same images (DeLong et al. 1988 for "
        "ROC-AUC, McNemar 1947 for accuracy at the tuned threshold). A fit is named by its "
        "detector and what makes it differ: @val8 tuned on validation (8 configurations), "
        "+name a training augmentation, [zero-shot]/[fine-tuned] a released checkpoint's use, "
        "[random init] a pretrained architecture run without its weights (an ablation). "
        "Generated by fakebench.</p>"
        f"<p class='rule'><b>Rank.</b> {html.escape(RANK_RULE)}</p>"
        f"{filters}{body}<script>{SCRIPT}</script></body></html>\n"
    )


def write_folder_page(folder: Path) -> Path:
    """``folder/report.html`` for one table set."""
    folder = Path(folder)
    data = read_folder(folder)
    body = section(folder, folder, data)
    return atomic_write_text(
        folder / "report.html",
        _document("fakebench report", body, filter_bar(filter_values(data.board))),
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
    datas = [read_folder(f) for f in folders]
    values: dict[str, set[str]] = {}
    for data in datas:
        for key, vals in filter_values(data.board).items():
            values.setdefault(key, set()).update(vals)
    body = f"<ul>{toc}</ul>" + "\n".join(
        section(f, results, d) for f, d in zip(folders, datas, strict=True)
    )
    return atomic_write_text(
        results / "index.html", _document("fakebench results", body, filter_bar(values))
    )
