"""The continual experiment's summary (one row per seed per condition per setting) and claims.

Conditions: the activation with its slope and its gradient (`backward`: exact, zero_below,
leaky_below). Settings: everything else a run records that may vary in a grid (sequence, head,
learning rate, bias shift, data, architecture, ...); a claim is judged within one setting
(actlab.claims.by_setting), never across pooled ones, and pairs its two conditions by seed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from actlab.claims import (
    Claim,
    Kind,
    Rule,
    above,
    below,
    by_setting,
    empirical,
    no_data,
    over_seeds,
    paired,
)

NAME = "continual"
REGIMES = ("split", "permuted")
LONG = "long_permuted"

CONDITION = ("activation", "slope", "backward", "beta", "elu_alpha", "approximate")
SETTINGS = ("data", "sequence", "head", "lr", "bias_shift", "depth", "width", "weight_scale",
            "init", "bias_scale", "input_scale", "optimizer", "batch_size", "dtype")


@dataclass(frozen=True)
class Thresholds:
    # Each claim family (one claim name over every cell it is judged in) keeps its chance of any
    # wrong "reproduced" / "not reproduced" at 5%: Bonferroni, every interval of a family of m
    # claims at level 1 - familywise_alpha / m.
    familywise_alpha: float = 0.05
    # A slope over fewer tasks is a two-point difference, not a trend over a sequence.
    min_tasks_for_slope: int = 3
    # The share of tasks at each end of a long sequence averaged for "first -> last" in details.
    end_share: float = 0.1
    # Forgetting needs something learned: a forgetting claim is judged only where relu and leaky
    # both learned task 0 to at least chance + this margin (mean over seeds; chance 1/2 for a
    # split task, a pair of classes, with either head; 1/10 for a permuted one); elsewhere it has
    # no data. The matched comparison drops each (seed, lr) point below it.
    min_learned_margin: float = 0.1


THRESHOLDS = Thresholds()

# what each summary column means (also the figure module's axis labels)
REGIME_VALUES = ("forgetting_first", "forgetting_mean", "learned_first", "final_accuracy",
                 "inactive", "dead", "protected", "stayed_inactive", "stayed_task0", "carried",
                 "gain", "distance")
LONG_VALUES = ("acc_slope", "acc_late_slope", "dead_slope", "near_dead_slope", "weight_slope",
               "rank_slope", "near_dead_max", "acc_start", "acc_end", "dead_start", "dead_end",
               "weight_start", "weight_end", "rank_start", "rank_end")


def label(df: pd.DataFrame) -> pd.Series:
    """relu, leaky_relu 0.1, relu [leaky_below 0.1], leaky_relu 0.1 [zero_below]."""
    def one(a, s, b) -> str:
        b = "exact" if pd.isna(b) else b
        if b == "exact":
            return a if pd.isna(s) else f"{a} {s:g}"
        if a == "leaky_relu" or pd.isna(s):
            return f"{a}{'' if pd.isna(s) else f' {s:g}'} [{b}]"
        return f"{a} [{b} {s:g}]"

    b = df["backward"] if "backward" in df else pd.Series("exact", index=df.index)
    s = df["slope"] if "slope" in df else pd.Series(np.nan, index=df.index)
    return pd.Series([one(*x) for x in zip(df["activation"], s, b)], index=df.index, dtype=object)


def _keys(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    return [c for c in CONDITION if c in df.columns], [c for c in SETTINGS if c in df.columns]


# ---------------------------------------------------------------------------------------------
# Summary


def _per(d: pd.DataFrame, metric: str, how: str = "mean", where=None) -> pd.Series:
    m = d["metric"] == metric
    if where is not None:
        m &= where(d)
    return d[m].groupby("_g")["value"].agg(how)


def _trend(d: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per group: least-squares slope over the task index of the metric (mean over layers per
    task), and its mean over the first and the last THRESHOLDS.end_share of the tasks."""
    m = d["metric"] == metric
    per_task = d[m].groupby(["_g", "_task"])["value"].mean().reset_index()
    out = {}
    for g, f in per_task.groupby("_g"):
        f = f[np.isfinite(f["value"])]
        x, y = f["_task"].to_numpy(float), f["value"].to_numpy(float)
        k = max(1, int(round(THRESHOLDS.end_share * len(x))))
        ok = len(x) >= THRESHOLDS.min_tasks_for_slope
        half = len(x) // 2
        late = len(x) - half >= THRESHOLDS.min_tasks_for_slope
        out[g] = {"slope": float(np.polyfit(x, y, 1)[0]) if ok else np.nan,
                  "late_slope": float(np.polyfit(x[half:], y[half:], 1)[0]) if late else np.nan,
                  "start": float(y[:k].mean()) if len(y) else np.nan,
                  "end": float(y[-k:].mean()) if len(y) else np.nan,
                  "max": float(y.max()) if len(y) else np.nan}
    return pd.DataFrame.from_dict(out, orient="index")


def summarize(df: pd.DataFrame, params=None) -> pd.DataFrame:
    """One row per seed per condition (activation, slope, backward) and setting.

    Regime sequences (split, permuted): forgetting of task 0 and mean forgetting over the earlier
    tasks; task 0's accuracy right after learning it; final mean accuracy; at the start of the
    later tasks (1..), the inactive (z <= 0 on every input of the task) and gradient-dead unit
    fractions and, over them, the protected weight fraction (each a mean over later tasks and
    layers); the fraction of hidden units that stayed inactive on every later task, the fraction
    that did so while task 0's inputs still activate them, and the task-0 accuracy they carry;
    the new-task accuracy gained per later task (mean) and the parameter distance travelled over
    the later tasks (sum).
    Long sequences: least-squares slopes over the task index of the new-task accuracy, dead and
    near-dead fractions and effective rank (means over hidden layers) and mean |w| (mean over
    layers), with their means over the first and last tenth of the tasks.
    `diverged`: a task's training in this group diverged (its status_task rows), or the run
    failed, or, where the group has no status_task rows, the run did not end ok (its values are
    kept here; the claims leave it out)."""
    cond, settings = _keys(df)
    keys = cond + settings + ["seed"]
    if df.empty or "metric" not in df.columns:
        return pd.DataFrame(columns=keys)
    d = df.copy()
    if "backward" in d.columns:
        d["backward"] = d["backward"].fillna("exact")
    d["_g"] = d.groupby(keys, dropna=False, sort=True).ngroup()
    d["_task"] = pd.to_numeric(d["task"], errors="coerce") if "task" in d else np.nan
    if "run_id" in d and (d.groupby("_g")["run_id"].nunique() > 1).any():
        g = d[d["_g"] == (d.groupby("_g")["run_id"].nunique() > 1).idxmax()]
        raise ValueError(f"{NAME}: runs {sorted(g['run_id'].unique())[:3]} share seed and "
                         f"condition {dict(zip(keys, g[keys].iloc[0]))}; they differ in a setting "
                         "the table does not record: collect them into separate out_dirs")
    base = d.groupby("_g")[keys].first()
    # Divergence is decided per group (one arm at one lr, head, bias shift) from its own
    # status_task rows: the run-level `status` is copied onto every row of a run that trains
    # several groups, so one diverged block would mark every group of the run. The run-level
    # status counts only when it says "failed" (nothing of the run can be trusted) or where a
    # group has no status_task rows.
    task_min = _per(d, "status_task", "min").reindex(base.index)
    if "status" in d:
        status_ok = d.groupby("_g")["status"].agg(lambda s: bool((s == "ok").all()))
        failed = d.groupby("_g")["status"].agg(lambda s: bool((s == "failed").any()))
    else:
        status_ok = pd.Series(True, index=base.index)
        failed = pd.Series(False, index=base.index)
    status_ok = status_ok.reindex(base.index).fillna(True).astype(bool)
    failed = failed.reindex(base.index).fillna(False).astype(bool)
    out = base.copy()
    out["diverged"] = failed | np.where(task_min.notna(), task_min < 1, ~status_ok)
    out["n_tasks"] = d[d["metric"] == "status_task"].groupby("_g")["_task"].nunique().reindex(
        out.index).fillna(0).astype(int)
    def later(f: pd.DataFrame) -> pd.Series:  # the tasks after the first
        return f["_task"] >= 1

    for col, new in (("task_trained", "_tt"), ("task_eval", "_te")):
        d[new] = pd.to_numeric(d[col], errors="coerce") if col in d else np.nan
    acc = d[d["metric"] == "accuracy"]
    last = acc[acc["_tt"] == acc.groupby("_g")["_tt"].transform("max")]
    diag = acc[acc["_tt"] == acc["_te"]].set_index(["_g", "_tt"])["value"]
    before = d[d["metric"] == "accuracy_before"].set_index(["_g", "_task"])["value"]
    before.index = before.index.set_names(["_g", "_tt"])
    gain = (diag - before).dropna().reset_index()
    gain = gain[gain["_tt"] >= 1].groupby("_g")["value"].mean()
    out = out.join(pd.DataFrame({
        "forgetting_first": _per(d, "forgetting", where=lambda f: f["_task"] == 0),
        "forgetting_mean": _per(d, "forgetting"),
        "learned_first": acc[(acc["_tt"] == 0) & (acc["_te"] == 0)].groupby("_g")["value"].mean(),
        "final_accuracy": last.groupby("_g")["value"].mean(),
        "inactive": _per(d, "inactive_fraction", where=later),
        "dead": _per(d, "dead_fraction", where=later),  # regime sequences (long: below)
        "protected": _per(d, "protected_fraction", where=later),
        "stayed_inactive": _per(d, "stayed_inactive_fraction"),
        "stayed_task0": _per(d, "stayed_inactive_task0_active"),
        "carried": _per(d, "carried_accuracy", where=lambda f: f["layer"].isna()),
        "gain": gain,
        "distance": _per(d, "distance", "sum", where=later),
    }))
    dl = d[d["sequence"] == LONG] if "sequence" in d else d.iloc[:0]
    trends = {"acc": _trend(dl, "new_task_accuracy"), "dead": _trend(dl, "dead_fraction"),
              "near_dead": _trend(dl, "near_dead_fraction"),
              "weight": _trend(dl, "weight_magnitude"), "rank": _trend(dl, "effective_rank")}
    for name, tr in trends.items():
        for col in ("slope", "start", "end"):
            out[f"{name}_{col}"] = tr[col].reindex(out.index) if len(tr) else np.nan
    out["near_dead_max"] = (trends["near_dead"]["max"].reindex(out.index)
                            if len(trends["near_dead"]) else np.nan)
    out["acc_late_slope"] = (trends["acc"]["late_slope"].reindex(out.index)
                             if len(trends["acc"]) else np.nan)
    long = out["sequence"] == LONG if "sequence" in out else pd.Series(False, index=out.index)
    out.loc[long, "dead"] = np.nan
    for c in REGIME_VALUES + LONG_VALUES:
        if c not in out.columns:
            out[c] = np.nan
    out = out.reset_index(drop=True)
    out["label"] = label(out)
    return out


# ---------------------------------------------------------------------------------------------
# Claims


def _family(m: int, rule: Rule) -> tuple[Rule, str]:
    """The rule at the Bonferroni level for a family of m claims, and the note that says so."""
    level = 1 - THRESHOLDS.familywise_alpha / max(m, 1)
    note = (f"Bonferroni over the {m} claims of this family: each interval at {level:.2%}" if m > 1
            else "")
    return replace(rule, level=level), note


def _v(d: pd.DataFrame, col: str) -> pd.Series:
    """A claim's per-seed value: diverged seeds become nan (left out by the evidence, and
    counted)."""
    return d[col].where(~d["diverged"].astype(bool)) if "diverged" in d else d[col]


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


DROPPED = ("a diverged seed is left out of its pair (its numbers measure the divergence, not "
           "continual learning)")


def _cell(d: pd.DataFrame, suffix: str) -> str:
    """sequence and head always, then the other settings that vary in the table."""
    first = d.iloc[0]
    parts = [f"sequence={first['sequence']}", f"head={first['head']}"]
    parts += [p for p in suffix.split(",") if p and not p.startswith(("sequence=", "head="))]
    return ",".join(parts)


def _arm(d: pd.DataFrame, activation: str, backward: str, slope=None) -> pd.DataFrame:
    m = (d["activation"] == activation) & (d["backward"] == backward)
    if slope is not None:
        m &= np.isclose(d["slope"].astype(float), slope)
    return d[m]


def _sides(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([a.assign(side="a"), b.assign(side="b")])


def _diff(a: pd.DataFrame, b: pd.DataFrame, col: str) -> pd.Series:
    both = _sides(a, b)
    return paired(both.assign(_x=_v(both, col)), "_x", "side", "a", "b")


def _mean(f: pd.DataFrame, col: str) -> float:
    if col not in f:
        return np.nan
    v = _v(f, col)
    return float(v.mean()) if v.notna().any() else np.nan


STATEMENTS = {
    "leaky_forgets_more": ("Leaky units forget the first task more than ReLU units (forgetting "
                           "of task 0 after the last task, leaky minus relu, paired by seed)."),
    "gradient_leak_forgets": ("The leak's gradient adds forgetting: with the forward pass fixed, "
                              "a gradient that leaks below 0 forgets task 0 more than one that is "
                              "zero there (leaky_below minus zero_below gradient, paired by "
                              "seed)."),
    "relu_protects_more": ("ReLU keeps a larger fraction of hidden weights protected during the "
                           "later tasks than leaky ReLU (total change over a task below "
                           "PROTECT_EPS x its row's RMS; relu minus leaky, paired by seed)."),
    "inactive_units_carry_more": ("ReLU's units that stayed inactive on every later task carry "
                                  "more of the final task-0 accuracy than leaky ReLU's (accuracy "
                                  "lost when they are knocked out; relu minus leaky, paired by "
                                  "seed)."),
    "leaky_forgets_more_matched": ("At matched plasticity leaky units still forget the first task "
                                   "more than ReLU: relu's forgetting interpolated across "
                                   "learning rates at leaky's plasticity, leaky minus relu, "
                                   "paired by seed."),
    "plasticity_loss": ("Loss of plasticity: the accuracy reached on each new permuted task falls "
                        "along the sequence (per-seed least-squares slope over the task index)."),
    "units_die": ("Units die along the sequence: the near-dead fraction (max |phi'| below 1e-3 "
                  "of the maximum slope on the task's inputs) rises (per-seed slope)."),
    "weights_grow": ("The weights grow along the sequence: mean |w| rises (per-seed slope)."),
    "rank_falls": ("The representation's effective rank (Roy & Vetterli) falls along the sequence "
                   "(per-seed slope)."),
}


def chance_level(sequence: str, head: str) -> float:
    """Task 0's chance accuracy right after learning it: a split task is a pair of classes (1/2
    with either head: a shared head trained on that pair predicts within it), a permuted task
    has all ten (1/10)."""
    return 0.5 if sequence == "split" else 0.1


def regime_cells(reg: pd.DataFrame) -> list[tuple[str, pd.DataFrame, pd.DataFrame, float]]:
    """(cell id, the cell's rows, its relu rows, leaky slope) for every setting of the regime
    grid (by_setting over every setting column, then sequence and head) and leaky slope in it."""
    _, settings = _keys(reg)
    cells = []
    for suffix, d in by_setting(reg, settings):
        for _, dd in d.groupby(["sequence", "head"], dropna=False, sort=True):
            relu = _arm(dd, "relu", "exact")
            slopes = sorted(_arm(dd, "leaky_relu", "exact")["slope"].dropna().unique())
            cells += [(f"{_cell(dd, suffix)},slope={s:g}", dd, relu, float(s)) for s in slopes]
    return cells


def _regime_claims(reg: pd.DataFrame) -> list[Claim]:
    cells = regime_cells(reg)
    m = len(cells)
    fam = {name: _family(m * (2 if name == "gradient_leak_forgets" else 1),
                         above(0.0)) for name in STATEMENTS}
    out: list[Claim] = []
    for cid, d, relu, s in cells:
        leaky = _arm(d, "leaky_relu", "exact", s)
        leaky_zero = _arm(d, "leaky_relu", "zero_below", s)
        relu_leak = _arm(d, "relu", "leaky_below", s)
        reached = (f"inactive at the start of later tasks: relu {_mean(relu, 'inactive'):.3f}, "
                   f"leaky {_mean(leaky, 'inactive'):.3f}")
        chance = chance_level(d["sequence"].iloc[0], d["head"].iloc[0])
        floor = chance + THRESHOLDS.min_learned_margin

        def learned_check(arms, chance=chance, floor=floor):
            """Whether every compared arm learned task 0 to the floor, and the text that says
            so."""
            means = [(lab, _mean(f, "learned_first")) for lab, f in arms]
            ok = all(np.isfinite(m) and m >= floor for _, m in means)
            text = (", ".join(f"{m:.3f} ({lab})" for lab, m in means)
                    + f"; chance {chance:g}, needed {floor:g}")
            return ok, f"task 0 learned to {text}"

        def judge(name, a, b, col, what, expected, extra="", tag="", cid=cid, labels=("a", "b")):
            claim = f"{name}[{cid}{tag}]"
            if a.empty or b.empty:
                out.append(no_data(experiment=NAME, claim=claim, statement=STATEMENTS[name],
                                   kind=Kind.EMPIRICAL, expected=expected,
                                   why=f"no {what} runs in this setting"))
                return
            if col == "forgetting_first":  # the two arms compared must both have learned task 0
                learned, learned_text = learned_check(list(zip(labels, (a, b))))
                if not learned:
                    out.append(no_data(experiment=NAME, claim=claim, statement=STATEMENTS[name],
                                       kind=Kind.EMPIRICAL, expected=expected,
                                       why=f"task 0 was not learned: {learned_text}"))
                    return
                extra = _join(extra, learned_text)
            if name == "inactive_units_carry_more" and "stayed_task0" in a:
                # a relu unit inactive on task 0 outputs 0 there: knocking it out changes nothing,
                # so relu's carried accuracy is 0 by construction where no unit stayed inactive on
                # the later tasks while active on task 0; judge only seeds that have such units
                st0 = _v(a, "stayed_task0")
                keep = set(a.loc[st0 > 0, "seed"])
                n_all = int(st0.notna().sum())
                if not keep:
                    out.append(no_data(
                        experiment=NAME, claim=claim, statement=STATEMENTS[name],
                        kind=Kind.EMPIRICAL, expected=expected,
                        why=f"relu has no unit inactive on every later task but active on task 0 "
                            f"in any of its {n_all} seeds (stayed_task0 = 0): its knocked-out "
                            "units output 0 on task 0, the carried accuracy is 0 by "
                            "construction, not evidence"))
                    return
                extra = _join(extra, f"judged on the {len(keep)} of {n_all} seeds where relu has "
                                     "units inactive on every later task but active on task 0 "
                                     f"(seeds {sorted(int(x) for x in keep)}); the others carry 0 "
                                     "by construction")
                a, b = a[a["seed"].isin(keep)], b[b["seed"].isin(keep)]
            rule, note = fam[name]
            ev = over_seeds(_diff(a, b, col).values, rule)
            sign = "reversed" if np.isfinite(ev.estimate) and ev.estimate < 0 else ""
            out.append(empirical(
                experiment=NAME, claim=claim, statement=STATEMENTS[name], rule=rule, evidence=ev,
                expected=expected,
                detail=_join(sign, f"{col}: {_mean(a, col):.4g} vs {_mean(b, col):.4g}", extra,
                             DROPPED, note)))

        judge("leaky_forgets_more", leaky, relu, "forgetting_first", "relu or leaky",
              "> 0 (leaky forgets more)", reached, labels=("leaky", "relu"))
        judge("gradient_leak_forgets", leaky, leaky_zero, "forgetting_first",
              "leaky_relu with zero_below", "> 0 (the leak's gradient adds forgetting)",
              "forward leaky; exact (leaky) gradient minus zero_below", tag=",forward=leaky_relu",
              labels=("leaky", "leaky zero_below"))
        judge("gradient_leak_forgets", relu_leak, relu, "forgetting_first",
              "relu with leaky_below", "> 0 (the leak's gradient adds forgetting)",
              _join("forward relu; leaky_below gradient minus exact (zero) gradient",
                    f"forward-only effect (leaky with zero_below minus relu) "
                    f"{_mean(leaky_zero, 'forgetting_first') - _mean(relu, 'forgetting_first'):.4g}"
                    if len(leaky_zero) and len(relu) else ""), tag=",forward=relu",
              labels=("relu leaky_below", "relu"))
        judge("relu_protects_more", relu, leaky, "protected", "relu or leaky",
              "> 0 (relu protects more)")
        judge("inactive_units_carry_more", relu, leaky, "carried", "relu or leaky",
              "> 0 (relu's inactive units carry more task-0 accuracy)",
              f"units that stayed inactive: relu {_mean(relu, 'stayed_inactive'):.3f}, leaky "
              f"{_mean(leaky, 'stayed_inactive'):.3f}; of all units, inactive on every later task "
              f"but active on task 0 (the ones that could carry it): relu "
              f"{_mean(relu, 'stayed_task0'):.3f}, leaky {_mean(leaky, 'stayed_task0'):.3f}")
    return out


# The plasticity a comparison is matched on: the column, and whether to interpolate on its log.
MATCH = {"distance": ("distance", True), "gain": ("gain", False)}


def _learned_points(f: pd.DataFrame, floor: float | None) -> pd.DataFrame:
    """The (seed, lr) points whose task 0 was learned to the floor (all where floor is None or
    the table has no learned_first)."""
    if floor is None or "learned_first" not in f:
        return f
    return f[f["learned_first"].astype(float) >= floor]


def matched_difference(relu: pd.DataFrame, leaky: pd.DataFrame, match: str,
                       floor: float | None = None) -> tuple[pd.Series, int, int]:
    """Per seed: the mean over leaky's learning rates of leaky's forgetting minus relu's
    forgetting interpolated (piecewise linearly, across relu's learning rates) at leaky's
    plasticity; a (seed, lr) point, relu's or leaky's, whose task 0 was not learned to `floor`
    is left out first (its forgetting is not the article's effect); a leaky point outside relu's
    range is left out (no extrapolation); a seed with none in range is nan. Also how many
    learned leaky points were in range, of how many."""
    col, log = MATCH[match]
    relu, leaky = _learned_points(relu, floor), _learned_points(leaky, floor)
    vals, used, total = {}, 0, 0
    for seed, r in relu.groupby("seed"):
        lk = leaky[leaky["seed"] == seed]
        x = _v(r, col).to_numpy(float)
        y = _v(r, "forgetting_first").to_numpy(float)
        xl = _v(lk, col).to_numpy(float)
        yl = _v(lk, "forgetting_first").to_numpy(float)
        if log:
            with np.errstate(divide="ignore", invalid="ignore"):
                x, xl = np.log(np.where(x > 0, x, np.nan)), np.log(np.where(xl > 0, xl, np.nan))
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        okl = np.isfinite(xl) & np.isfinite(yl)
        total += int(okl.sum())
        if len(x) < 2:
            vals[seed] = np.nan
            continue
        order = np.argsort(x)
        x, y = x[order], y[order]
        inside = okl & (xl >= x[0]) & (xl <= x[-1])
        used += int(inside.sum())
        vals[seed] = (float(np.mean(yl[inside] - np.interp(xl[inside], x, y))) if inside.any()
                      else np.nan)
    return pd.Series(vals, dtype=float).sort_index(), used, total


def _matched_claims(reg: pd.DataFrame) -> list[Claim]:
    _, settings = _keys(reg)
    cells = []
    for suffix, d in by_setting(reg, [c for c in settings if c != "lr"]):
        for _, dd in d.groupby(["sequence", "head"], dropna=False, sort=True):
            relu = _arm(dd, "relu", "exact")
            for s in sorted(_arm(dd, "leaky_relu", "exact")["slope"].dropna().unique()):
                for match in MATCH:
                    cells.append((_cell(dd, suffix), relu, _arm(dd, "leaky_relu", "exact", s),
                                  float(s), match))
    rule, note = _family(len(cells), above(0.0))
    name = "leaky_forgets_more_matched"
    out = []
    for where, relu, leaky, s, match in cells:
        claim = f"{name}[{where},slope={s:g},matched={match}]"
        n_lr = relu["lr"].nunique() if "lr" in relu else 0
        if relu.empty or leaky.empty or n_lr < 2:
            out.append(no_data(experiment=NAME, claim=claim, statement=STATEMENTS[name],
                               kind=Kind.EMPIRICAL, expected="> 0",
                               why="needs relu and leaky runs at two or more learning rates"))
            continue
        chance = chance_level(relu["sequence"].iloc[0], relu["head"].iloc[0])
        floor = chance + THRESHOLDS.min_learned_margin
        lr_ok, lk_ok = _learned_points(relu, floor), _learned_points(leaky, floor)
        lr_n = lr_ok[~lr_ok["diverged"].astype(bool)] if "diverged" in lr_ok else lr_ok
        lk_n = lk_ok[~lk_ok["diverged"].astype(bool)] if "diverged" in lk_ok else lk_ok
        per_seed = lr_n.groupby("seed")["lr"].nunique()
        usable = set(per_seed[per_seed >= 2].index) & set(lk_n["seed"])
        learned_text = (f"task 0 learned to chance {chance:g} + {THRESHOLDS.min_learned_margin:g}"
                        f" = {floor:g} at {len(lr_ok)} of {len(relu)} relu and {len(lk_ok)} of "
                        f"{len(leaky)} leaky (seed, lr) points; the others are left out")
        if not usable:
            out.append(no_data(experiment=NAME, claim=claim, statement=STATEMENTS[name],
                               kind=Kind.EMPIRICAL, expected="> 0",
                               why="too few (seed, lr) points learned task 0: no seed has relu "
                                   "at two or more learning rates and leaky at one; "
                                   + learned_text))
            continue
        diff, used, total = matched_difference(relu, leaky, match, floor)
        ev = over_seeds(diff.values, rule)
        what = ("parameter distance travelled over the later tasks (log scale)"
                if match == "distance" else "new-task accuracy gained per later task")
        out.append(empirical(
            experiment=NAME, claim=claim, statement=STATEMENTS[name], rule=rule, evidence=ev,
            expected="> 0 (leaky forgets more at the same plasticity)",
            detail=_join("reversed" if np.isfinite(ev.estimate) and ev.estimate < 0 else "",
                         f"matched on {what}; {used} of {total} leaky (seed, lr) points within "
                         "relu's range across learning rates (no extrapolation)", learned_text,
                         DROPPED, note)))
    return out


def never_near_dead(row) -> bool:
    """Whether the activation (its backward mode applied) has |phi'| >= 1e-3 of its maximum slope
    everywhere (checked on [-1000, 1000]): then no unit can ever be near-dead (actlab.probes)."""
    import torch

    from actlab.activations import get_activation
    from actlab.config import ActivationConfig, Backward

    slope = row.get("slope")
    try:
        act = get_activation(ActivationConfig(
            name=row["activation"], slope=1.0 if pd.isna(slope) else float(slope),
            backward=Backward(row.get("backward") or "exact")))
    except Exception:  # a custom activation, or one this table cannot rebuild: judge it
        return False
    z = torch.linspace(-1e3, 1e3, 200_001, dtype=torch.float64)
    return float(act.deriv(z).abs().min()) >= 1e-3 * act.max_slope


def _long_claims(long: pd.DataFrame) -> list[Claim]:
    cond, settings = _keys(long)
    items = []
    for suffix, d in by_setting(long, settings):
        for k, g in d.groupby(cond, dropna=False, sort=True):
            c = dict(zip(cond, k if isinstance(k, tuple) else (k,)))
            act = ",".join(f"{n}={v:g}" if isinstance(v, float) else f"{n}={v}"
                           for n, v in c.items() if not pd.isna(v)
                           and not (n == "backward" and v == "exact"))
            items.append((f"{act}{suffix}", g.sort_values("seed")))
    specs = [("plasticity_loss", "acc", below(0.0), "< 0 (published: new-task accuracy falls)"),
             ("units_die", "near_dead", above(0.0), "> 0 (published: dead units rise)"),
             ("weights_grow", "weight", above(0.0), "> 0 (published: weights grow)"),
             ("rank_falls", "rank", below(0.0), "< 0 (published: effective rank falls)")]
    out = []
    for name, col, base_rule, expected in specs:
        rule, note = _family(len(items), base_rule)
        for where, g in items:
            claim = f"{name}[{where}]"
            if not (g["n_tasks"] >= THRESHOLDS.min_tasks_for_slope).any():
                out.append(no_data(experiment=NAME, claim=claim, statement=STATEMENTS[name],
                                   kind=Kind.EMPIRICAL, expected=expected,
                                   why=f"fewer than {THRESHOLDS.min_tasks_for_slope} tasks"))
                continue
            if name == "units_die" and never_near_dead(g.iloc[0]):
                out.append(no_data(
                    experiment=NAME, claim=claim, statement=STATEMENTS[name], kind=Kind.EMPIRICAL,
                    expected=expected, why="its gradient's |phi'| never falls below 1e-3 of "
                    "its maximum (leaky relu's leak): no unit can be near-dead, a fraction that is "
                    "0 by construction is not evidence"))
                continue
            ev = over_seeds(_v(g, f"{col}_slope").values, rule)
            ends = "; ".join(
                f"{lab} {_mean(g, f'{c}_start'):.4g} -> {_mean(g, f'{c}_end'):.4g}"
                for lab, c in (("new-task accuracy", "acc"), ("dead", "dead"),
                               ("near-dead", "near_dead"), ("mean |w|", "weight"),
                               ("effective rank", "rank")))
            late = (f"new-task accuracy slope over the second half of the tasks (shown, not "
                    f"judged): {_mean(g, 'acc_late_slope'):.3g}" if name == "plasticity_loss"
                    else "")
            out.append(empirical(
                experiment=NAME, claim=claim, statement=STATEMENTS[name], rule=rule,
                evidence=ev, expected=expected,
                detail=_join(f"slope per task; {int(g['n_tasks'].max())} tasks; first -> last "
                             f"{THRESHOLDS.end_share:.0%} of tasks, mean over seeds: {ends}", late,
                             "a diverged seed is left out", note)))
    return out


def claims(summary: pd.DataFrame, p=None) -> list[Claim]:
    if summary.empty or "sequence" not in summary.columns:
        return [no_data(experiment=NAME, claim="leaky_forgets_more", kind=Kind.EMPIRICAL,
                        why="no runs", statement=STATEMENTS["leaky_forgets_more"])]
    s = summary.copy()
    if "backward" not in s:
        s["backward"] = "exact"
    if "head" not in s:
        s["head"] = "shared"
    reg = s[s["sequence"].isin(REGIMES)]
    long = s[s["sequence"] == LONG]
    out = []
    if len(reg):
        out += _regime_claims(reg) + _matched_claims(reg)
    if len(long):
        out += _long_claims(long)
    return out
