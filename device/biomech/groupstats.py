"""Group comparisons for researchers, as the paper reports them: a two-sided Mann-Whitney U
test per measure between two groups, p-values corrected with Benjamini-Hochberg.

Input: a CSV or TSV table with a header row, one row per participant, a group column and one
column per measure (empty, ``NA`` or ``nan`` for a missing value). Columns that are not
numbers (pseudonyms, affected hand) are left out and listed.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

MISSING = {"", "na", "nan", "n/a"}


class TableError(ValueError):
    """A table that cannot be analysed, with the reason."""


@dataclass(frozen=True)
class Comparison:
    measure: str
    n: tuple[int, int]
    median: tuple[float, float]
    u: float
    p: float
    p_bh: float


@dataclass(frozen=True)
class GroupReport:
    groups: tuple[str, str]
    rows: list[Comparison]
    skipped: list[str]

    def to_tsv(self, alpha: float = 0.05) -> str:
        a, b = self.groups
        out = io.StringIO()
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["measure", f"n_{a}", f"n_{b}", f"median_{a}", f"median_{b}", "U",
                         "p", "p_bh", f"significant_bh_{alpha:g}"])
        for r in self.rows:
            writer.writerow([r.measure, *r.n, *(f"{m:.6g}" for m in r.median), f"{r.u:g}",
                             f"{r.p:.4g}", f"{r.p_bh:.4g}",
                             "" if math.isnan(r.p_bh) else ("yes" if r.p_bh < alpha else "no")])
        return out.getvalue()


def read_table(path: Path) -> list[dict[str, str]]:
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise TableError(f"{path}: cannot read ({exc})") from exc
    first = text.splitlines()[0] if text.strip() else ""
    if not first:
        raise TableError(f"{path}: empty table")
    delimiter = "\t" if path.suffix.lower() == ".tsv" or "\t" in first else ","
    rows = list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
    if not rows:
        raise TableError(f"{path}: a header but no rows")
    return rows


def _number(text: str | None) -> float | None:
    """The cell as a number, ``nan`` when missing, ``None`` when it is not a number."""
    cell = (text or "").strip()
    if cell.lower() in MISSING:
        return math.nan
    try:
        return float(cell)
    except ValueError:
        return None


def compare_groups(rows: list[dict[str, str]], *, group_column: str = "group",
                   groups: tuple[str, str] | None = None) -> GroupReport:
    if group_column not in rows[0]:
        raise TableError(f"no column {group_column!r}; columns are {', '.join(rows[0])}")
    present = sorted({r[group_column].strip() for r in rows} - {""})
    if groups is None:
        if len(present) != 2:
            raise TableError(f"column {group_column!r} has groups {present}: name the two to "
                             "compare")
        groups = (present[0], present[1])
    for g in groups:
        if g not in present:
            raise TableError(f"no participant in group {g!r}; groups are {present}")
    results, skipped = [], []
    for column in rows[0]:
        if column == group_column:
            continue
        cells = [_number(r[column]) for r in rows]
        if any(c is None for c in cells) or all(math.isnan(c) for c in cells):
            skipped.append(column)
            continue
        samples = []
        for g in groups:
            x = np.array([c for c, r in zip(cells, rows, strict=True)
                          if r[group_column].strip() == g])
            samples.append(x[~np.isnan(x)])
        a, b = samples
        if a.size and b.size:
            test = stats.mannwhitneyu(a, b, alternative="two-sided")
            u, p = float(test.statistic), float(test.pvalue)
        else:
            u, p = math.nan, math.nan
        median = tuple(float(np.median(s)) if s.size else math.nan for s in samples)
        results.append((column, (int(a.size), int(b.size)), median, u, p))
    if not results:
        raise TableError("no numeric measure column to compare")
    ps = np.array([r[4] for r in results])
    adjusted = np.full(ps.size, math.nan)
    tested = ~np.isnan(ps)
    if tested.any():
        adjusted[tested] = stats.false_discovery_control(ps[tested], method="bh")
    rows_out = [Comparison(m, n, med, u, p, float(q))
                for (m, n, med, u, p), q in zip(results, adjusted, strict=True)]
    return GroupReport(groups, rows_out, skipped)
