"""The upsert of a results folder: which published rows a new run's rows replace.

A run replaces, per (dataset, detector, training mode, tuning, seed, condition) group
(``GROUP_KEY``), the published rows of every group it has; other groups keep their rows (and
their run ids). A fit that failed or does not apply now has no scores, so every published row
of it goes (``unfitted``). Timing rows are replaced per (detector, device).
"""

from __future__ import annotations

import pandas as pd

GROUP_KEY = ("dataset", "detector", "train_aug", "tuning", "seed", "condition")
TIMING_KEY = ("detector", "device")


def _group(frame: pd.DataFrame) -> pd.DataFrame:
    """The upsert key of each row; fit-level rows (condition '' or 'fit') form one group."""
    cols = {}
    for col in GROUP_KEY:
        cols[col] = (
            frame[col].astype(object).where(frame[col].notna(), "").astype(str)
            if (col in frame)
            else pd.Series("", index=frame.index)
        )
    key = pd.DataFrame(cols, index=frame.index)
    key["condition"] = key["condition"].replace("", "fit")
    key["tuning"] = key["tuning"].replace("", "default")  # rows from before --tune existed
    return key


MODEL_KEY = ("dataset", "detector", "train_aug", "tuning", "seed")  # a fit, whichever run


def unfitted(rows: pd.DataFrame) -> set[tuple[str, ...]]:
    """The fits (``MODEL_KEY``) whose new fit-level row is a failure or ``not applicable``.

    Such a fit has no scores any more: every published row of it (any condition) belongs to an
    older fit and is dropped by :func:`upsert_rows`, so a detector that became ``not
    applicable`` does not keep its old scores beside its new status.
    """
    if rows is None or rows.empty or "metric" not in rows:
        return set()
    key = _group(rows)
    failed = key["condition"].eq("fit") & rows["metric"].isin(["error", "not_applicable"])
    return set(map(tuple, key.loc[failed, list(MODEL_KEY)].to_numpy()))


def upsert_rows(
    published: pd.DataFrame | None, new: pd.DataFrame, drop: set[tuple[str, ...]] | None = None
) -> pd.DataFrame:
    """``published`` with every group that ``new`` has replaced by ``new``'s rows, and every
    row of the fits in ``drop`` (default: ``unfitted(new)``) removed."""
    if published is None or published.empty:
        return new.reset_index(drop=True)
    drop = unfitted(new) if drop is None else drop
    new_keys = set(map(tuple, _group(new).to_numpy()))
    old_key = _group(published)
    stale = old_key.apply(tuple, axis=1).isin(new_keys)
    if drop:
        stale |= old_key[list(MODEL_KEY)].apply(tuple, axis=1).isin(drop)
    kept = published[~stale]
    return pd.concat([kept, new], ignore_index=True)


def upsert_timing(
    published: pd.DataFrame | None, new: pd.DataFrame, drop: set[tuple[str, ...]] | None = None
) -> pd.DataFrame:
    """Timing rows: a detector timed again on a device replaces its old rows there; the
    detectors of the fits in ``drop`` (``unfitted``) lose theirs."""
    if published is not None and drop and "detector" in published:
        published = published[~published["detector"].astype(str).isin({k[1] for k in drop})]
    if published is None or published.empty:
        return new.reset_index(drop=True)
    if new.empty:
        return published.reset_index(drop=True)
    key = [c for c in TIMING_KEY if c in new and c in published]
    new_keys = set(map(tuple, new[key].astype(str).to_numpy()))
    old = published[key].astype(str).apply(tuple, axis=1)
    return pd.concat([published[~old.isin(new_keys)], new], ignore_index=True)
