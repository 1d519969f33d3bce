"""Claims: statements checked against the runs' own data, one vocabulary for every experiment.

Each experiment module has
  summarize(table, params) -> DataFrame   one row per seed (the unit of replication) per condition
  claims(summary, params)  -> list[Claim] computed from that summary alone

Two kinds of claim:
  math       must hold to a tight tolerance against a reference computed another way than the code
             under test (closed form, root finding, exact enumeration, high-precision special
             functions); verdict pass / fail. A failure makes `actlab-verify` exit 1.
  empirical  an effect size with a confidence interval over seeds and a verdict from a `Rule`:
             reproduced (the whole interval supports the claim), not reproduced (the whole
             interval contradicts it), partly (the interval straddles the line, or there is no
             interval). Findings: they never fail the command.
A claim function that raises gives an `error` row; a claim without data a `no data` row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import Enum

import numpy as np
import pandas as pd


class Kind(str, Enum):
    MATH = "math"
    EMPIRICAL = "empirical"

    def __str__(self) -> str:
        return self.value


class Verdict(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    REPRODUCED = "reproduced"
    PARTLY = "partly"
    NOT_REPRODUCED = "not reproduced"
    ERROR = "error"
    NO_DATA = "no data"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, kw_only=True)
class Claim:
    experiment: str
    claim: str  # short id, with its condition in brackets: name[cond=...]
    statement: str  # one sentence, in our words
    kind: Kind
    verdict: Verdict
    measured: float = math.nan  # the effect size (empirical) or the checked quantity (math)
    expected: str = ""  # the rule, theory, bound or published value, as text
    ci_low: float = math.nan
    ci_high: float = math.nan
    n: int = 0  # seeds behind the interval (empirical); items checked (math)
    rule: str = ""  # how the verdict was computed, e.g. "95% t interval over seeds above 0"
    detail: str = ""
    # a math claim without data fails `actlab-verify` unless it does not apply to these runs
    # (say, a property of plain SGD in a table trained with Adam)
    required: bool = True

    def __post_init__(self):
        object.__setattr__(self, "kind", Kind(self.kind))
        object.__setattr__(self, "verdict", Verdict(self.verdict))
        if self.kind is Kind.MATH and self.verdict in (Verdict.REPRODUCED, Verdict.PARTLY,
                                                      Verdict.NOT_REPRODUCED):
            raise ValueError(f"{self.claim}: a math claim passes or fails, not {self.verdict}")
        if self.kind is Kind.EMPIRICAL and self.verdict in (Verdict.PASS, Verdict.FAIL):
            raise ValueError(f"{self.claim}: an empirical claim is reproduced or not, "
                             f"not {self.verdict}")

    @property
    def failed(self) -> bool:
        return self.kind is Kind.MATH and self.verdict is Verdict.FAIL

    def row(self) -> dict:
        d = asdict(self)
        d["kind"], d["verdict"] = self.kind.value, self.verdict.value
        return d


COLUMNS = [f for f in Claim.__dataclass_fields__]


def no_data(*, experiment: str, claim: str, statement: str, kind: Kind | str, expected: str = "",
            why: str, applies: bool = True) -> Claim:
    """A claim the table cannot judge. `applies=False`: the claim does not apply to these runs
    (so a missing math claim is not a verification failure); `why` says why."""
    return Claim(experiment=experiment, claim=claim, statement=statement, kind=kind,
                 verdict=Verdict.NO_DATA, expected=expected, detail=why, required=applies)


def math_claim(*, experiment: str, claim: str, statement: str, measured: float, expected: str,
               ok: bool, n: int, detail: str = "", rule: str = "") -> Claim:
    """A mathematical claim: `ok` is the comparison of `measured` with a reference computed
    another way (the caller says how in `expected`/`rule`). A non-finite measurement fails."""
    ok = bool(ok) and math.isfinite(measured)
    return Claim(experiment=experiment, claim=claim, statement=statement, kind=Kind.MATH,
                 verdict=Verdict.PASS if ok else Verdict.FAIL, measured=float(measured),
                 expected=expected, n=int(n), rule=rule or expected, detail=detail)


# ---------------------------------------------------------------------------------------------
# Intervals


def finite(values) -> tuple[np.ndarray, int]:
    """The finite values and how many were dropped: dropping is explicit, and reported."""
    v = np.asarray(values, dtype=float).ravel()
    keep = np.isfinite(v)
    return v[keep], int((~keep).sum())


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval over independent seeds. Any non-finite value makes all three
    nan (drop them first with `finite` and say so); fewer than 2 values give a nan interval."""
    v = np.asarray(values, dtype=float).ravel()
    if len(v) == 0 or not np.all(np.isfinite(v)):
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if len(v) < 2:
        return m, math.nan, math.nan
    from scipy import stats  # imported here: ~0.7 s that training jobs never need

    sd = float(v.std(ddof=1))
    if sd <= 1e-12 * max(1.0, abs(m)):  # every seed agrees (to rounding): no spread to build on
        return m, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * sd / math.sqrt(len(v)))
    return m, m - half, m + half


def geo_mean_ci(values, level: float = 0.95) -> tuple[float, float, float]:
    """Geometric mean and interval (t interval on the logs): for ratios spanning decades.
    A value <= 0 or non-finite gives nan (the log of it is not a number)."""
    v = np.asarray(values, dtype=float).ravel()
    if len(v) == 0 or not np.all(np.isfinite(v) & (v > 0)):
        return math.nan, math.nan, math.nan
    m, lo, hi = mean_ci(np.log(v), level)
    return math.exp(m), math.exp(lo) if math.isfinite(lo) else math.nan, \
        math.exp(hi) if math.isfinite(hi) else math.nan


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial confidence interval for k successes in n trials."""
    if n <= 0:
        return math.nan, math.nan
    a = 1 - level
    from scipy import stats

    lo = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


# ---------------------------------------------------------------------------------------------
# Rules: (estimate, interval) -> verdict. Every verdict is reachable: reproduced only when the
# whole interval supports the claim, not reproduced when the whole interval contradicts it,
# partly otherwise. Without an interval a claim is at best partly; one seed cannot contradict it
# either (at most partly, see `empirical`), while seeds that all agree exactly can.


@dataclass(frozen=True)
class Rule:
    kind: str  # above | below | within | equivalent
    low: float = -math.inf
    high: float = math.inf
    level: float = 0.95  # the interval level this rule is judged on
    text: str = field(default="", compare=False)

    def verdict(self, estimate: float, lo: float, hi: float) -> Verdict:
        if not math.isfinite(estimate):
            return Verdict.NO_DATA
        has_ci = math.isfinite(lo) and math.isfinite(hi)
        if not has_ci:
            lo = hi = estimate  # judged on the estimate alone, but never "reproduced"
        inside = self.low < lo and hi < self.high if self.kind in ("above", "below") else \
            self.low <= lo and hi <= self.high
        outside = hi <= self.low or lo >= self.high if self.kind in ("above", "below") else \
            hi < self.low or lo > self.high
        if inside:
            return Verdict.REPRODUCED if has_ci else Verdict.PARTLY
        if outside:
            return Verdict.NOT_REPRODUCED
        return Verdict.PARTLY

    def __str__(self) -> str:
        return self.text


def above(t: float) -> Rule:
    return Rule("above", low=t, text=f"> {t:g}")


def below(t: float) -> Rule:
    return Rule("below", high=t, text=f"< {t:g}")


def within(lo: float, hi: float) -> Rule:
    return Rule("within", low=lo, high=hi, text=f"in [{lo:g}, {hi:g}]")


def equivalent(margin: float, center: float = 0.0) -> Rule:
    """Two one-sided tests at 5%: equivalent when the 90% interval lies within center +- margin,
    shown different when it lies wholly outside; the margin is declared with its reason."""
    return Rule("within", low=center - margin, high=center + margin, level=0.90,
                text=f"within {center:g} +- {margin:g} (TOST, 90% interval)")


@dataclass(frozen=True)
class Evidence:
    estimate: float
    lo: float
    hi: float
    n: int  # values behind the interval
    dropped: int = 0  # non-finite values left out
    method: str = ""
    seeds: int | None = None  # when the values are one per seed (over_seeds): how many

    def note(self) -> str:
        return f"{self.dropped} non-finite value(s) left out" if self.dropped else ""


def _pct(level: float) -> str:
    """95%, 90%, and a Bonferroni level such as 99.907% without rounding it to 100%."""
    text = f"{level:.0%}"
    return text if abs(level * 100 - round(level * 100)) < 1e-9 else f"{100 * level:.4g}%"


def over_seeds(values, rule: Rule, *, log: bool = False, binary: bool | None = None) -> Evidence:
    """Mean (or geometric mean, log=True) and t interval over seeds, at the rule's level.
    Non-finite values (and, on the log scale, values <= 0) are dropped and counted.
    `binary`: the values are one yes/no outcome per seed (exact binomial interval); None guesses
    it from values that are all 0 or 1, so a continuous quantity (a fraction that is 1.0 in every
    seed, a difference of counts) must pass binary=False."""
    v = np.asarray(values, dtype=float).ravel()
    bad = ~np.isfinite(v) | ((v <= 0) if log else False)
    keep = v[~bad]
    yes_no = np.isin(keep, (0.0, 1.0)).all() if binary is None else binary
    if not log and len(keep) >= 2 and yes_no and keep.any():
        # one yes/no outcome per seed: the exact binomial interval, which stays honest when every
        # seed agrees (a t interval would collapse to a point). All zeros is left to the t rule:
        # no spread, no interval, and an estimate of exactly 0 supports no "above 0"
        ev = proportion(int(keep.sum()), len(keep), rule)
        return Evidence(ev.estimate, ev.lo, ev.hi, ev.n, int(bad.sum()),
                        ev.method.replace("rate", "yes/no per seed:"), seeds=len(keep))
    f = geo_mean_ci if log else mean_ci
    m, lo, hi = f(keep, rule.level) if len(keep) else (math.nan, math.nan, math.nan)
    what = "geometric mean" if log else "mean"
    return Evidence(m, lo, hi, len(keep), int(bad.sum()),
                    f"{what}, {_pct(rule.level)} t interval over {len(keep)} seeds",
                    seeds=len(keep))


def proportion(k: int, n: int, rule: Rule) -> Evidence:
    """A rate with its exact (Clopper-Pearson) interval at the rule's level."""
    lo, hi = clopper_pearson(k, n, rule.level)
    return Evidence(k / n if n else math.nan, lo, hi, n, 0,
                    f"rate {k}/{n}, {_pct(rule.level)} Clopper-Pearson interval")


def empirical(*, experiment: str, claim: str, statement: str, rule: Rule, evidence: Evidence,
              detail: str = "", expected: str = "") -> Claim:
    """An empirical claim judged by `rule` on `evidence`."""
    parts = [p for p in (evidence.note(), detail) if p]
    verdict = rule.verdict(evidence.estimate, evidence.lo, evidence.hi)
    if evidence.seeds is not None and evidence.seeds < 2 and verdict is Verdict.NOT_REPRODUCED:
        # one seed shows a claim fails no more than it shows it holds (where n counts units,
        # nets or settings, `seeds` is unset and the rule's verdict stands)
        verdict = Verdict.PARTLY
        parts.append("one seed: not enough to contradict it")
    return Claim(experiment=experiment, claim=claim, statement=statement, kind=Kind.EMPIRICAL,
                 verdict=verdict,
                 measured=evidence.estimate, expected=expected or str(rule), ci_low=evidence.lo,
                 ci_high=evidence.hi, n=evidence.n, rule=f"{rule}; {evidence.method}",
                 detail="; ".join(parts))


def paired(summary: pd.DataFrame, value: str, by: str, a, b,
           on: Iterable[str] = ("seed",)) -> pd.Series:
    """Per-seed difference value[by == a] - value[by == b], paired on the `on` columns (seed ids,
    never positions). Seeds present on one side only are left out."""
    on = list(on)
    left = summary[summary[by] == a].set_index(on)[value]
    right = summary[summary[by] == b].set_index(on)[value]
    for side, label in ((left, a), (right, b)):
        if side.index.duplicated().any():
            dup = side.index[side.index.duplicated()][0]
            raise ValueError(f"paired: {by}={label!r} has several rows for "
                             f"{dict(zip(on, np.atleast_1d(dup)))}; "
                             "summarize must give one row per seed and condition")
    both = left.index.intersection(right.index)
    return (left[both] - right[both]).sort_index()


def by_setting(table: pd.DataFrame, columns) -> list[tuple[str, pd.DataFrame]]:
    """(claim-id suffix, rows) for each combination of the `columns` that vary in `table`, so a
    claim is judged within one setting, never across pooled ones: [("", table)] when none vary,
    else e.g. (",lr=0.1", rows at lr 0.1)."""
    varying = [c for c in columns if c in table.columns and table[c].nunique(dropna=False) > 1]
    if not varying:
        return [("", table)]
    out = []
    for key, g in table.groupby(varying, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        out.append(("".join("," + setting_text(c, v) for c, v in zip(varying, key)), g))
    return out


def setting_text(column: str, value) -> str:
    """How a claim id names one setting: bias_scale=0.3, head=task."""
    return f"{column}={value:g}" if isinstance(value, (int, float, np.number)) else \
        f"{column}={value}"


def duplicated_cells(g: pd.DataFrame, cols: list[str]) -> str:
    """Why `g` (one setting's rows) cannot be judged: several rows per cell of `cols`, i.e. runs
    that differ only in something the table does not record; "" when there are none."""
    dup = g.duplicated(cols, keep=False)
    if not dup.any():
        return ""
    first = g[dup].iloc[0]
    return (f"{int(dup.sum())} rows share their {', '.join(cols)} with another (e.g. "
            + ", ".join(setting_text(c, first[c]) for c in cols) + "): runs that differ only in "
            "something the table does not record; judging them together would pool them")


def by_activation_setting(table: pd.DataFrame, always, others,
                          act_params) -> list[tuple[str, pd.DataFrame]]:
    """(label, rows) per combination of the `always` columns (always named in the label), the
    activation's own parameters `act_params` (named where they vary for that activation) and the
    `others` that vary (by_setting): a claim is judged within one setting, never across pooled
    ones."""
    out = []
    act_params = [c for c in act_params if c in table.columns]
    for suffix, g in by_setting(table, [c for c in others if c in table.columns]):
        for _, h in g.groupby([*always, *act_params], dropna=False, sort=True):
            same_act = table[table["activation"] == h["activation"].iloc[0]]
            extra = "".join("," + setting_text(c, h[c].iloc[0]) for c in act_params
                            if same_act[c].nunique(dropna=False) > 1)
            label = ",".join(setting_text(c, h[c].iloc[0]) for c in always)
            out.append((label + extra + suffix, h))
    return out


# ---------------------------------------------------------------------------------------------
# Tables


def claims_table(claims: list[Claim]) -> pd.DataFrame:
    return pd.DataFrame([c.row() for c in claims], columns=COLUMNS)


def format_table(df: pd.DataFrame) -> str:
    def fmt(x) -> str:
        if isinstance(x, float):
            return "nan" if math.isnan(x) else f"{x:.4g}"
        return str(x)

    cols = ["experiment", "claim", "n", "measured", "ci_low", "ci_high", "expected", "verdict"]
    rows = [[fmt(r[c]) for c in cols] for _, r in df.iterrows()]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
              for i, c in enumerate(cols)]

    def line(cells):
        return "  ".join(s.ljust(w) for s, w in zip(cells, widths))

    return "\n".join([line(cols), line(["-" * w for w in widths])] + [line(r) for r in rows])


def run_claims(exp, table: pd.DataFrame, params) -> list[Claim]:
    """One experiment's claims on its table: summarize, then judge. A claim function that breaks
    yields one `error` row (and `actlab-verify` exits 1), not a crash."""
    name = exp.name
    try:
        return list(exp.claims(exp.summarize(table, params), params))
    except Exception as e:
        return [Claim(experiment=name, claim="claims", statement="The experiment's claims could be "
                      "evaluated.", kind=Kind.EMPIRICAL, verdict=Verdict.ERROR,
                      detail=f"{type(e).__name__}: {e}")]


def judge_all(experiments: dict, tables: dict[str, pd.DataFrame],
              params: dict | None = None) -> list[Claim]:
    """Every experiment's claims on its table, in registry order, each with the params its runs
    used (`params[name]`; the experiment's defaults where none were recorded)."""
    out: list[Claim] = []
    params = params or {}
    for name, exp in experiments.items():
        if name in tables:
            out += run_claims(exp, tables[name], params.get(name) or exp.params())
    return out


def problems(claims: list[Claim], smoke_only: dict[str, bool] | None = None) -> list[str]:
    """One line per reason `actlab-verify` must exit 1: a math claim that fails, a claims function
    that raised, a math claim without data although its experiment ran beyond smoke scale."""
    smoke_only = smoke_only or {}
    lines = []
    for c in claims:
        where = f"{c.experiment}/{c.claim}"
        if c.failed:
            lines.append(f"FAILED: {where}: measured {c.measured:.6g}, "
                         f"expected {c.expected}; {c.detail}")
        elif c.verdict is Verdict.ERROR:
            lines.append(f"ERROR: {where}: claims raised {c.detail}")
        elif (c.kind is Kind.MATH and c.verdict is Verdict.NO_DATA and c.required
              and not smoke_only.get(c.experiment)):
            lines.append(f"NO DATA: {where}: {c.detail} (a math claim needs its runs: rerun "
                         f"`actlab -m experiment={c.experiment}`)")
    return lines

