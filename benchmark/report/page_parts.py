"""The report page's parts as HTML: the leaderboard, the filter bar, detector cards, compare.

Plain HTML that reads without a script (every number is in the page); the page's inline script
(:mod:`benchmark.report.page_script`) adds sorting, filtering and the "compare two" view on top
of the ``data-*`` attributes written here: ``tr.fit`` rows carry ``data-family``,
``data-dataset``, ``data-kind``, ``data-status`` and ``data-fit``; each cell its sort value
in ``data-v``.
"""

from __future__ import annotations

import html
import json
import re

import pandas as pd

from benchmark.report.labels import FAMILIES
from benchmark.report.page_data import FolderData, citation, number, pairwise_tests

#: Leaderboard columns: (column, header, how to show it, first sort direction, tooltip).
COLUMNS = (
    ("rank", "rank", "int", "asc", "1 + the number of fits significantly better (see the rule)"),
    ("fit", "fit", "fit", "asc", "detector + what makes the fit differ (@val8, +aug, [...])"),
    ("detector_family", "family", "text", "asc", "the detector's family"),
    ("fit_kind", "fit kind", "text", "asc", "default, tuned, augmented, zero-shot, ..."),
    ("status", "status", "text", "asc", "ok, failed, not applicable, degenerate"),
    ("roc_auc", "ROC-AUC [95% CI]", "ci", "desc", "clean test ROC-AUC, bootstrap interval"),
    ("accuracy_tuned", "accuracy (tuned) [95% CI]", "ci", "desc", "at the threshold from val"),
    ("eer", "EER [95% CI]", "ci", "asc", "equal error rate"),
    ("p_vs_best", "p vs best (DeLong)", "p", "desc", "paired DeLong test against the best fit"),
    ("p_mcnemar_vs_best", "p vs best (McNemar)", "p", "desc", "exact McNemar test vs the best"),
    ("infer_ms_per_image", "ms/image", "ms", "asc", "inference, largest timed batch"),
    ("n_parameters", "parameters", "int", "asc", "learned parameters"),
    ("pretrained", "pretrained", "text", "asc", "yes / no (from scratch) / no (random init)"),
    ("tuning", "tuning", "text", "asc", "default, or tuned on validation (val:N configs)"),
    ("train_aug", "augmentation", "text", "asc", "training augmentation"),
    ("fit_mode", "checkpoint mode", "text", "asc", "released checkpoints: zero-shot/fine-tuned"),
    (
        "beats_metadata_baseline",
        "beats metadata baseline",
        "text",
        "asc",
        "ROC-AUC at least 0.05 above the metadata-only classifier",
    ),
)
DEFAULT_VALUES = {"tuning": {"default", ""}, "train_aug": {"none", ""}, "fit_mode": {""}}


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def slug(text: str) -> str:
    """An HTML id fragment: letters, digits, ``-`` and ``_`` only."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def fmt(value: object, digits: int = 3) -> str:
    v = number(value)
    if v is None:
        return (
            ""
            if value is None or (pd.api.types.is_scalar(value) and pd.isna(value))
            else (str(value))
        )
    return f"{v:.{digits}f}"


def interval(row: pd.Series, metric: str) -> str:
    lo, hi = number(row.get(f"{metric}_lo")), number(row.get(f"{metric}_hi"))
    if lo is None or hi is None:
        return fmt(row.get(metric))
    return f"{fmt(row.get(metric))} [{lo:.3f}, {hi:.3f}]"


def _cell(row: pd.Series, col: str, how: str) -> tuple[str, str]:
    """(text, sort value) of one leaderboard cell."""
    value = row.get(col)
    v = number(value)
    if how == "ci":
        return interval(row, col), "" if v is None else repr(v)
    if how == "p":
        return ("" if v is None else f"{v:.2g}"), "" if v is None else repr(v)
    if how == "int":
        return ("" if v is None else f"{int(round(v)):,}"), "" if v is None else repr(v)
    if how == "ms":
        return ("" if v is None else f"{v:.2f}"), "" if v is None else repr(v)
    text = fmt(value)
    return text, text.lower()


def _sort_type(how: str) -> str:
    return "text" if how in ("text", "fit") else "num"


def card_id(sid: str, detector: object) -> str:
    return f"card-{sid}-{slug(str(detector))}"


def kinds(row: pd.Series) -> list[str]:
    return [k.strip() for k in str(row.get("fit_kind") or "default").split(",") if k.strip()]


def leaderboard_html(data: FolderData, sid: str) -> str:
    """The sortable leaderboard: one ``tbody`` per detector family (in :data:`FAMILIES` order)
    with a heading row, and a hidden row shown when the filters leave no fit."""
    board = data.board
    cols = [c for c in COLUMNS if c[0] in board]
    cols = [
        c
        for c in cols
        if c[0] not in DEFAULT_VALUES
        or not board[c[0]].astype(object).fillna("").astype(str).isin(DEFAULT_VALUES[c[0]]).all()
    ]
    head = "".join(
        f"<th scope='col' data-first='{first}' data-type='{_sort_type(how)}'"
        f" title='{esc(tip)}' tabindex='0'>{esc(label)}</th>"
        for _, label, how, first, tip in cols
    )
    order = {f: i for i, f in enumerate(FAMILIES)}
    fams = sorted(board["detector_family"].unique(), key=lambda f: (order.get(f, 99), f))
    bodies = []
    for fam in fams:
        part = board[board["detector_family"] == fam]
        n = len(part)
        rows = [
            f"<tr class='famhead'><th colspan='{len(cols)}'>{esc(fam)} "
            f"<span class='muted'>({n} fit{'s' * (n != 1)})</span></th></tr>"
        ]
        for pos, r in part.iterrows():
            cells = []
            for col, _, how, _, _ in cols:
                text, key = _cell(r, col, how)
                if how == "fit":
                    text_html = (
                        f"<a class='fitlink' href='#{card_id(sid, r['detector'])}'>{esc(text)}</a>"
                    )
                else:
                    text_html = esc(text)
                cls = " class='t'" if how in ("text", "fit") else ""
                cells.append(f"<td{cls} data-v='{esc(key)}'>{text_html}</td>")
            attrs = {
                "family": fam,
                "dataset": r.get("dataset", ""),
                "kind": "|".join(kinds(r)),
                "status": r.get("status", "ok"),
                "fit": r["fit"],
                "row": board.index.get_loc(pos),
            }
            data_attrs = " ".join(f"data-{k}='{esc(v)}'" for k, v in attrs.items())
            rows.append(f"<tr class='fit' {data_attrs}>{''.join(cells)}</tr>")
        bodies.append(f"<tbody class='fam' data-family='{esc(fam)}'>{''.join(rows)}</tbody>")
    none = (
        f"<tbody class='none' hidden><tr><td colspan='{len(cols)}'>No fit here matches the "
        "filters.</td></tr></tbody>"
    )
    return (
        f"<div class='wrap'><table class='board' id='board-{sid}'><thead><tr>{head}</tr>"
        f"</thead>{''.join(bodies)}{none}</table></div>"
    )


def filter_bar(values: dict[str, set[str]]) -> str:
    """The page's filters (family, dataset, fit kind, status, name) over every leaderboard."""
    order = {f: i for i, f in enumerate(FAMILIES)}
    parts = []
    for key, label in (
        ("family", "family"),
        ("dataset", "dataset"),
        ("kind", "fit kind"),
        ("status", "status"),
    ):
        opts = sorted(values.get(key, set()), key=lambda v: (order.get(v, 99), v))
        options = "".join(f"<option value='{esc(v)}'>{esc(v)}</option>" for v in opts)
        parts.append(
            f"<label>{label} <select data-filter='{key}'><option value=''>all</option>"
            f"{options}</select></label>"
        )
    parts.append(
        "<label>fit <input type='search' data-filter='text' placeholder='name contains'></label>"
    )
    parts.append(
        "<label><input type='checkbox' id='group-families' checked> families as "
        "sections</label> <span id='shown' class='muted'></span>"
    )
    return f"<form class='filters' id='filters' onsubmit='return false'>{''.join(parts)}</form>"


def filter_values(board: pd.DataFrame) -> dict[str, set[str]]:
    return {
        "family": set(board["detector_family"].astype(str)),
        "dataset": set(board["dataset"].astype(str)) if "dataset" in board else set(),
        "kind": {k for _, r in board.iterrows() for k in kinds(r)},
        "status": set(board["status"].astype(str)) if "status" in board else {"ok"},
    }


def compare_html(data: FolderData, sid: str) -> str:
    """Two selects and the comparison they show, with its data (pairwise tests) as JSON."""
    board = data.board
    fams = [c for c in board.columns if c.startswith("auc_")]
    fits = []
    for _, r in board.iterrows():
        fits.append(
            {
                "fit": str(r["fit"]),
                "family": str(r["detector_family"]),
                "status": str(r.get("status", "ok")),
                "dataset": str(r.get("dataset", "")),
                "rank": number(r.get("rank")),
                "n": number(r.get("n")),
                **{
                    k: number(r.get(k))
                    for k in (
                        "roc_auc",
                        "roc_auc_lo",
                        "roc_auc_hi",
                        "accuracy_tuned",
                        "accuracy_tuned_lo",
                        "accuracy_tuned_hi",
                        "eer",
                        "infer_ms_per_image",
                        "n_parameters",
                    )
                },
                "per_family": {c[4:]: number(r.get(c)) for c in fams},
            }
        )
    payload = {"fits": fits, "tests": pairwise_tests(data), "alpha": 0.05}
    text = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
    scored = [i for i, f in enumerate(fits) if f["roc_auc"] is not None]
    options = "".join(f"<option value='{i}'>{esc(fits[i]['fit'])}</option>" for i in scored)
    pick = (
        f"<label>A <select class='cmp-a'>{options}</select></label> "
        f"<label>B <select class='cmp-b'>{options}</select></label>"
    )
    return (
        f"<details class='compare' id='compare-{sid}' open><summary>Compare two fits "
        "(paired tests on the test images both scored)</summary>"
        f"{pick}<div class='cmp-out' aria-live='polite'><p class='muted'>Choose two fits."
        f"</p></div><script type='application/json' class='cmp-data'>{text}</script>"
        "</details>"
    )


def cards_html(data: FolderData, sid: str) -> str:
    """One card per detector, under a heading per family: its fits with their intervals,
    ranks and per-family AUCs, robustness, cost, parameters and citation."""
    board = data.board
    order = {f: i for i, f in enumerate(FAMILIES)}
    out = ["<h3>Detectors by family</h3>"]
    fams = sorted(board["detector_family"].unique(), key=lambda f: (order.get(f, 99), f))
    for fam in fams:
        part = board[board["detector_family"] == fam]
        out.append(f"<h4>{esc(fam)}</h4>")
        for det, fits in part.groupby("detector", sort=True):
            out.append(_card(data, sid, str(det), fits))
    return "<div class='cards'>" + "".join(out) + "</div>"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table class='small'><tr>{head}</tr>{body}</table>"


def _card(data: FolderData, sid: str, det: str, fits: pd.DataFrame) -> str:
    fams = [c for c in fits.columns if c.startswith("auc_")]
    best = fits["roc_auc"].max() if "roc_auc" in fits else None
    summary = (
        f"<summary><b>{esc(det)}</b> <span class='muted'>{len(fits)} fit"
        f"{'s' * (len(fits) != 1)}{', best ROC-AUC ' + fmt(best) if number(best) else ''}"
        "</span></summary>"
    )
    parts = [summary]
    cite = citation(det)
    if cite:
        parts.append(f"<p class='cite'>Method: {esc(cite)}</p>")
    rows = [
        [
            r["fit"],
            r.get("fit_kind", ""),
            r.get("status", ""),
            fmt(r.get("rank"), 0),
            interval(r, "roc_auc"),
            interval(r, "accuracy_tuned"),
            interval(r, "eer"),
            fmt(r.get("val_roc_auc")),
            *[fmt(r.get(c)) for c in fams],
        ]
        for _, r in fits.iterrows()
    ]
    parts.append(
        _table(
            [
                "fit",
                "kind",
                "status",
                "rank",
                "ROC-AUC [95% CI]",
                "accuracy (tuned) [95% CI]",
                "EER [95% CI]",
                "val ROC-AUC",
                *[f"AUC {c[4:]}" for c in fams],
            ],
            rows,
        )
    )
    parts.append(_robustness(data, det, fits))
    cost = [
        [
            r["fit"],
            fmt(r.get("infer_ms_per_image"), 2),
            fmt(r.get("latency_ms_p90_b1"), 2),
            _cell(r, "n_parameters", "int")[0],
            fmt(r.get("train_seconds"), 1),
            fmt(r.get("tuning_seconds"), 1),
        ]
        for _, r in fits.iterrows()
    ]
    parts.append(
        "<p><b>Cost</b></p>"
        + _table(
            ["fit", "ms/image", "latency p90 ms (batch 1)", "parameters", "train s", "tuning s"],
            cost,
        )
    )
    params = []
    for _, r in fits.iterrows():
        p = data.params.get((det, str(r.get("tuning") or "default")))
        if p:
            text = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(p.items()))
            params.append(f"<p class='params'><b>{esc(r['fit'])}</b>: {esc(text)}</p>")
    parts.append(
        "<p><b>Parameters</b></p>"
        + ("".join(params) or "<p class='muted'>not recorded (no fit)</p>")
    )
    errors = fits[fits.get("status", "ok") != "ok"] if "status" in fits else fits.iloc[:0]
    for _, r in errors.iterrows():
        parts.append(
            f"<p class='error'>{esc(r['fit'])}: {esc(r.get('status'))}: "
            f"{esc(r.get('error', ''))}</p>"
        )
    return f"<details class='card' id='{card_id(sid, det)}'>{''.join(parts)}</details>"


def _robustness(data: FolderData, det: str, fits: pd.DataFrame) -> str:
    """The detector's robustness row(s): the summary over corruptions, and AUC per corruption."""
    summary, robust = data.robust_summary, data.robust
    if summary is None or summary.empty or "detector" not in summary:
        return "<p><b>Robustness</b> <span class='muted'>not measured here</span></p>"
    mine = summary[summary["detector"].astype(str) == det]
    if mine.empty:
        return "<p><b>Robustness</b> <span class='muted'>not measured for this detector</span></p>"
    per_corr: dict[str, dict[str, float]] = {}
    corrs: list[str] = []
    if robust is not None and not robust.empty and "corruption" in robust:
        auc = robust[(robust["detector"].astype(str) == det) & (robust["metric"] == "roc_auc")]
        tuning = auc["tuning"].fillna("default") if "tuning" in auc else "default"
        table = (
            pd.to_numeric(auc["value"], errors="coerce").groupby([tuning, auc["corruption"]]).mean()
        )
        corrs = sorted({str(c) for _, c in table.index})
        for (tun, corr), v in table.items():
            per_corr.setdefault(str(tun), {})[str(corr)] = float(v)
    rows = []
    for _, r in mine.iterrows():
        tun = str(r.get("tuning") or "default")
        fit = (
            fits[fits.get("tuning", "default").astype(str) == tun]["fit"]
            if "tuning" in fits
            else fits["fit"]
        )
        rows.append(
            [
                fit.iloc[0] if len(fit) else det,
                fmt(r.get("clean_roc_auc")),
                fmt(r.get("mean_roc_auc")),
                fmt(r.get("relative_auc_drop")),
                fmt(r.get("mCE")),
                fmt(r.get("relative_mCE")),
                *[fmt(per_corr.get(tun, {}).get(c)) for c in corrs],
            ]
        )
    return "<p><b>Robustness</b> (ROC-AUC; mCE relative to the reference detector)</p>" + _table(
        ["fit", "clean", "mean over corruptions", "relative drop", "mCE", "relative mCE", *corrs],
        rows,
    )
