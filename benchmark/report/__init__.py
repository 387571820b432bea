"""Tables, statistics, figures, the summary in words and the HTML page, built from rows.

Nothing here runs a detector or decides where a table is published (``benchmark.publish``
writes them). Inside the package the flow is one way: ``tables``, ``stats``, ``seeds`` and
``markdown`` build frames and text from rows; ``figures`` draws them; ``summary`` puts the
leaderboard in words; ``page`` renders a folder's ``report.html`` and the results index.
The names below are the package's public API.
"""

from benchmark.report.markdown import markdown, markdown_table
from benchmark.report.seeds import seed_summary, seeds_of, write_seed_summary
from benchmark.report.tables import (
    DEFAULT_BOOTSTRAP,
    LEADER_METRICS,
    SHORTCUT_AUC,
    SHORTCUT_MARGIN,
    condition_table,
    leaderboard,
    robustness_summary,
    shortcut_warnings,
)

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "LEADER_METRICS",
    "SHORTCUT_AUC",
    "SHORTCUT_MARGIN",
    "condition_table",
    "leaderboard",
    "markdown",
    "markdown_table",
    "robustness_summary",
    "seed_summary",
    "seeds_of",
    "shortcut_warnings",
    "write_seed_summary",
]
