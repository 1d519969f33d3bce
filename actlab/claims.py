"""Claims: statements checked against a run's own data, and the statistics they use.

An experiment module's `claims(df)` returns a list of `Claim`. Mathematical claims (`kind="math"`)
must hold to a tight tolerance and make `actlab-verify` exit non-zero when they fail. Empirical
claims (`kind="empirical"`) carry an effect size with a confidence interval over seeds and a
verdict (reproduced / partly / not reproduced); they are findings and never fail the command.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

PASS, FAIL = "pass", "fail"
REPRODUCED, PARTLY, NOT_REPRODUCED = "reproduced", "partly", "not reproduced"
NO_DATA = "no data"


@dataclass
class Claim:
    experiment: str
    claim: str  # short id
    statement: str  # one sentence, in our words
    kind: str  # "math" or "empirical"
    measured: float
    expected: str  # theory, bound or published value, as text
    verdict: str
    ci_low: float = math.nan
    ci_high: float = math.nan
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.kind == "math" and self.verdict == FAIL

    def row(self) -> dict:
        return asdict(self)


def no_data(experiment: str, claim: str, statement: str, kind: str, expected: str, why: str) -> Claim:
    return Claim(experiment, claim, statement, kind, math.nan, expected, NO_DATA, detail=why)


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval over independent seeds (nan interval for n < 2)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if len(v) < 2:
        return m, math.nan, math.nan
    from scipy import stats  # imported here: ~0.7 s that training jobs never need

    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return m, m - half, m + half


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial confidence interval for k successes in n trials."""
    a = 1 - level
    from scipy import stats

    lo = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def geo_mean_ci(values, level: float = 0.95) -> tuple[float, float, float]:
    """Geometric mean and interval (t interval on the logs): for ratios spanning decades."""
    m, lo, hi = mean_ci(np.log10(np.asarray(values, dtype=float)), level)
    return 10**m, 10**lo, 10**hi


def claims_table(claims: list[Claim]) -> pd.DataFrame:
    cols = list(Claim.__dataclass_fields__)
    return pd.DataFrame([c.row() for c in claims], columns=cols)


def format_table(df: pd.DataFrame) -> str:
    def fmt(x) -> str:
        if isinstance(x, float):
            return "nan" if math.isnan(x) else f"{x:.4g}"
        return str(x)

    cols = ["experiment", "claim", "measured", "ci_low", "ci_high", "expected", "verdict"]
    rows = [[fmt(r[c]) for c in cols] for _, r in df.iterrows()]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)]
    line = lambda cells: "  ".join(s.ljust(w) for s, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(cols), line(["-" * w for w in widths])] + [line(r) for r in rows])


def verdict_below(mean: float, hi: float, threshold: float) -> str:
    """'reproduced' when the whole interval lies below the threshold, 'partly' when only the mean
    does (or there is no interval: one seed), else 'not reproduced'."""
    if not math.isfinite(mean):
        return NO_DATA
    if mean >= threshold:
        return NOT_REPRODUCED
    return REPRODUCED if math.isfinite(hi) and hi < threshold else PARTLY


def verdict_within(mean: float, lo: float, hi: float, low: float, high: float) -> str:
    """Like verdict_below, for an interval [low, high]."""
    if not math.isfinite(mean):
        return NO_DATA
    if not low <= mean <= high:
        return NOT_REPRODUCED
    ok = math.isfinite(lo) and math.isfinite(hi) and low <= lo and hi <= high
    return REPRODUCED if ok else PARTLY


def evaluate(experiments: dict, tables: dict[str, pd.DataFrame]) -> list[Claim]:
    """Every experiment's claims on its table, in registry order. A claim function that breaks on
    an unexpected table (say, one whose runs all failed) yields one 'error' row, not a crash."""
    out: list[Claim] = []
    for name, module in experiments.items():
        if name not in tables:
            continue
        try:
            out += module.claims(tables[name])
        except Exception as e:  # reported in the table; the other experiments still get checked
            out.append(Claim(name, "claims", "", "empirical", math.nan, "", "error",
                             detail=f"{type(e).__name__}: {e}"))
    return out
