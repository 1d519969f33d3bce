"""Deep narrow ReLU networks are dead at birth.

Run the default grid:  actlab -m experiment=born_dead
With biases:           actlab experiment=born_dead model.bias_scale=0.1

Monte Carlo over thousands of randomly initialized ReLU MLPs with a 1-D input on a grid over
[-R, R]: the fraction born dead, i.e. whose last hidden layer (hence the linear output) is
constant on the grid, vs depth and width. All networks of one setting are one batched tensor
computation. We also run randomized asymmetric initialization (RAI, Lu et al. 2019): in every
neuron one incoming weight, at a random position, is drawn from a positive Beta(2, 1)
distribution.

Theory for zero biases and He-normal weights. The net is positively homogeneous, so it is
constant on a grid with points of both signs iff its hidden vectors u = h(1) and v = h(-1) are
both zero at the last layer. A layer whose input vector is nonzero maps it to zero with
probability exactly 2^-w (each of the w units' Gaussian pre-activations is <= 0 with probability
1/2, independently); given both u and v nonzero (nonnegative, so correlated >= 0) it kills both
with probability >= 4^-w. The first hidden layer kills at most one side. Hence
  lower(d) = 1 - (1 - 4^-w)^(d-1)  <=  P(born dead at depth d)  <=  1 - (1 - 2^-w)^(d-1) = upper(d)
(upper: the side alive after layer 1 must die in one of layers 2..d). Both tend to 1 with depth.
At depth 2 the first layer's w weights split into m > 0 (they feed u) and w - m < 0 (they feed
v) with disjoint supports, so u and v die independently at layer 2:
  P(d = 2) = 2 * 2^-w * 2^-w + (1 - 2^(1-w)) * 4^-w = 4^-w (3 - 2^(1-w))   (exact),
against upper(2) = 2^-w: the upper bound is loose at small depth (1.6x at width 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from actlab.claims import (
    Claim,
    Evidence,
    above,
    clopper_pearson,
    empirical,
    math_claim,
    no_data,
    proportion,
)
from actlab.experiment import Experiment
from actlab.trainer import RunResult
from experiments.params import BornDeadParams as Params
from experiments.params import InitScheme

NAME = "born_dead"


INITS = tuple(i.value for i in InitScheme)


@dataclass(frozen=True)
class Thresholds:
    # Monte Carlo estimates checked against a closed form or a proven bound (math claims) use
    # 99.9% Clopper-Pearson intervals: a correct simulation fails one such check in 1000.
    math_level: float = 0.999
    # "Near one": at the deepest depth, more than 9 in 10 nets are born dead. Claimed only at
    # widths where the proven upper bound there allows it (at width 10, depth 50 it is 0.047).
    near_one: float = 0.9


THRESHOLDS = Thresholds()


# ---------------------------------------------------------------------------------------------
# Theory


def upper_bound(depth, width):
    """1 - (1 - 2^-w)^(d-1): the side (x > 0 or x < 0) alive after layer 1 must die later."""
    return 1.0 - (1.0 - 2.0 ** -np.asarray(width, float)) ** (np.asarray(depth, float) - 1)


def lower_bound(depth, width):
    """1 - (1 - 4^-w)^(d-1): every layer after the first kills a live net w.p. >= 4^-w."""
    return 1.0 - (1.0 - 4.0 ** -np.asarray(width, float)) ** (np.asarray(depth, float) - 1)


def exact_depth2(width):
    """P(born dead) with two hidden layers, zero biases, Gaussian weights: 4^-w (3 - 2^(1-w))."""
    w = np.asarray(width, float)
    return 4.0 ** -w * (3.0 - 2.0 ** (1.0 - w))


bound = upper_bound  # the name the old tables and tests used


# ---------------------------------------------------------------------------------------------
# Run


def _weights(n: int, fan_in: int, width: int, init: str, gen: torch.Generator) -> torch.Tensor:
    """(n, fan_in, width) He-normal weights; RAI replaces one weight per neuron by Beta(2, 1)."""
    w = torch.randn(n, fan_in, width, generator=gen, dtype=torch.float64) * math.sqrt(2.0 / fan_in)
    if init == "rai":
        pos = torch.randint(0, fan_in, (n, 1, width), generator=gen)
        # Beta(2, 1) by inversion: F(x) = x^2, so x = sqrt(u)
        val = torch.rand(n, 1, width, generator=gen, dtype=torch.float64).sqrt()
        w.scatter_(1, pos, val)
    return w


def constant_fraction(depth: int, width: int, init: str, n: int, bias_scale: float, R: float,
                      grid: int, gen: torch.Generator) -> int:
    """How many of n random ReLU nets (depth hidden layers of `width`) are constant on the grid."""
    x = torch.linspace(-R, R, grid, dtype=torch.float64)[None, :, None].expand(n, grid, 1)
    h = x
    for _ in range(depth):
        fan_in = h.shape[-1]
        w = _weights(n, fan_in, width, init, gen)
        b = torch.randn(n, 1, width, generator=gen, dtype=torch.float64) * bias_scale
        h = torch.relu(torch.bmm(h, w) + b)
    # The output layer is linear, so the net is constant iff the last hidden layer is.
    spread = (h.max(1).values - h.min(1).values).amax(-1)
    return int((spread == 0).sum())


def run(cfg, device) -> RunResult:
    p = cfg.params
    gen = torch.Generator().manual_seed(cfg.seed)
    rows = []
    for init in p.inits:
        for width in p.widths:
            for depth in p.depths:
                k, done = 0, 0
                while done < p.samples:
                    m = min(p.chunk, p.samples - done)
                    k += constant_fraction(depth, width, init, m, cfg.model.bias_scale, p.R, p.grid,
                                           gen)
                    done += m
                common = {"step": 0, "layer": None, "depth": depth, "width": width, "init": init,
                          "samples": p.samples}
                rows += [{**common, "metric": "born_dead_count", "value": k},
                         {**common, "metric": "born_dead_probability", "value": k / p.samples}]
    return RunResult(rows=rows)


# ---------------------------------------------------------------------------------------------
# Summary: one row per seed (run) per setting, with the theory beside it


def summarize(df: pd.DataFrame, params: Params | None = None) -> pd.DataFrame:
    """One row per (seed, bias_scale, init, width, depth): `dead` networks of `samples`, the
    estimate, and for zero biases with He init the proven bounds and (depth 2) the exact value.
    A table collected before counts were recorded: count = probability x samples."""
    cols = ["seed", "bias_scale", "init", "width", "depth", "dead", "samples", "probability",
            "upper_bound", "lower_bound", "exact"]
    d = (df[df["metric"].isin(["born_dead_count", "born_dead_probability"])]
         if "metric" in df else df)
    if d.empty:
        return pd.DataFrame(columns=cols)
    if "status" in d.columns:
        d = d[d["status"].fillna("ok") == "ok"]
    keys = ["seed", "bias_scale", "init", "width", "depth"]
    w = d.pivot_table(index=[*keys, "samples"], columns="metric", values="value").reset_index()
    w.columns.name = None
    if "born_dead_count" not in w.columns:
        w["born_dead_count"] = np.nan
    w["dead"] = w["born_dead_count"].fillna((w["born_dead_probability"] * w["samples"]).round())
    w["probability"] = w["dead"] / w["samples"]
    theory = (w["init"] == "he") & (w["bias_scale"] == 0)
    w["upper_bound"] = np.where(theory, upper_bound(w["depth"], w["width"]), np.nan)
    w["lower_bound"] = np.where(theory, lower_bound(w["depth"], w["width"]), np.nan)
    w["exact"] = np.where(theory & (w["depth"] == 2), exact_depth2(w["width"]), np.nan)
    for c in ("seed", "width", "depth", "dead", "samples"):
        w[c] = w[c].astype(int)
    return w[cols].sort_values(keys).reset_index(drop=True)


def _pooled(s: pd.DataFrame) -> pd.DataFrame:
    """Per setting, the networks of every seed together: each net is an independent draw, so
    counts add up (seeds only choose which nets are drawn)."""
    keys = ["bias_scale", "init", "width", "depth"]
    g = s.groupby(keys).agg(dead=("dead", "sum"), samples=("samples", "sum"),
                            seeds=("seed", "nunique"), upper_bound=("upper_bound", "first"),
                            lower_bound=("lower_bound", "first"),
                            exact=("exact", "first")).reset_index()
    g["probability"] = g["dead"] / g["samples"]
    return g


def _cp(k: int, n: int, level: float) -> tuple[float, float]:
    return clopper_pearson(int(k), int(n), level)


def difference(k1: int, n1: int, k2: int, n2: int, level: float) -> Evidence:
    """p1 - p2 of two independent binomial samples, with a conservative interval: each side's
    Clopper-Pearson interval at level 1 - (1 - level)/2 (Bonferroni), combined as
    [lo1 - hi2, hi1 - lo2], so the coverage is at least `level`."""
    a = 1 - (1 - level) / 2
    lo1, hi1 = _cp(k1, n1, a)
    lo2, hi2 = _cp(k2, n2, a)
    return Evidence(k1 / n1 - k2 / n2, lo1 - hi2, hi1 - lo2, int(n1 + n2), 0,
                    f"difference of two binomial rates ({k1}/{n1} - {k2}/{n2}), {level:.0%} "
                    f"interval from two {a:.1%} Clopper-Pearson intervals (Bonferroni)")


def grid_mean_difference(pairs: pd.DataFrame, level: float) -> Evidence:
    """Mean over the settings of p_he - p_rai. Settings are design points, not replicates: the
    interval is for this grid average, its width from each setting's binomial sampling (two
    independent samples per setting; Agresti-Caffo variances (k+1)/(n+2), summed), normal
    approximation. n = settings."""
    from scipy import stats

    def var(k, n):
        p = (k + 1) / (n + 2)
        return p * (1 - p) / (n + 2)

    diff = pairs["dead_he"] / pairs["samples_he"] - pairs["dead_rai"] / pairs["samples_rai"]
    s = len(pairs)
    se = math.sqrt(float((var(pairs["dead_he"], pairs["samples_he"])
                          + var(pairs["dead_rai"], pairs["samples_rai"])).sum())) / s
    z = float(stats.norm.ppf(0.5 + level / 2))
    m = float(diff.mean())
    return Evidence(m, m - z * se, m + z * se, s, 0,
                    f"mean over {s} settings of He minus RAI; {level:.0%} normal interval from the "
                    "settings' binomial variances (Agresti-Caffo), not over seeds: each setting is "
                    "one independent sample of networks per init")


def claims(summary: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    T = THRESHOLDS
    out: list[Claim] = []
    if summary.empty:
        return [no_data(experiment=NAME, claim="born_dead",
                        statement="Deep narrow ReLU nets are born dead.", kind="math",
                        why="no runs")]
    g = _pooled(summary)
    he0 = g[(g["init"] == "he") & (g["bias_scale"] == 0)].copy()
    ci = [_cp(k, n, T.math_level) for k, n in zip(he0["dead"], he0["samples"])]
    he0["lo"] = [c[0] for c in ci]
    he0["hi"] = [c[1] for c in ci]
    checked = he0[he0["depth"] >= 2]

    # -- the proven bounds hold (a check of the Monte Carlo against theory)
    for cid, statement, expected, gap, side in (
            ("below_upper_bound",
             "With zero biases and He init the born-dead probability is at most "
             "1 - (1 - 2^-width)^(depth-1) (a proven upper bound).",
             f"no {T.math_level:.1%} Clopper-Pearson interval wholly above the upper bound",
             lambda t: t["lo"] - t["upper_bound"], "above the upper bound"),
            ("above_lower_bound",
             "With zero biases and He init the born-dead probability is at least "
             "1 - (1 - 4^-width)^(depth-1) (a proven lower bound).",
             f"no {T.math_level:.1%} Clopper-Pearson interval wholly below the lower bound",
             lambda t: t["lower_bound"] - t["hi"], "below the lower bound")):
        if checked.empty:
            out.append(no_data(experiment=NAME, claim=cid, statement=statement, kind="math",
                               expected=expected, why="no zero-bias He runs with depth >= 2"))
            continue
        excess = gap(checked)
        bad = checked[excess > 0]
        out.append(math_claim(
            experiment=NAME, claim=cid, statement=statement, measured=float(excess.max()),
            n=len(checked), expected=expected, ok=bad.empty,
            rule=f"every setting's {T.math_level:.1%} interval reaches the bound (measured: the "
                 "largest distance from the interval to the bound on the wrong side; <= 0 passes)",
            detail=f"{len(bad)} of {len(checked)} settings with the whole interval {side}"
                   + ("" if bad.empty else ": " + ", ".join(
                       f"w={int(r.width)} d={int(r.depth)}: {r.probability:.3f} [{r.lo:.3f}, "
                       f"{r.hi:.3f}] bounds [{r.lower_bound:.3f}, {r.upper_bound:.3f}]"
                       for r in bad.head(5).itertuples()))))

    # -- depth 2: the exact closed form lies in the estimate's interval
    for r in he0[he0["depth"] == 2].itertuples():
        w = int(r.width)
        verdict = ("excludes it" if r.hi < r.upper_bound
                   else "contains it too: too few nets to tell them apart")
        out.append(math_claim(
            experiment=NAME, claim=f"exact_depth2[width={w}]",
            statement=f"At depth 2, width {w}, zero biases, He init, the born-dead probability is "
                      f"exactly 4^-w (3 - 2^(1-w)) = {r.exact:.4g}; the upper bound 2^-w = "
                      f"{r.upper_bound:.4g} overstates it.",
            measured=float(r.probability), n=int(r.samples), ok=r.lo <= r.exact <= r.hi,
            expected=f"{r.exact:.4g} inside the {T.math_level:.1%} Clopper-Pearson interval",
            detail=f"{int(r.dead)}/{int(r.samples)} nets dead, interval [{r.lo:.4f}, {r.hi:.4f}]; "
                   f"exact {r.exact:.4g}, upper bound {r.upper_bound:.4g} "
                   f"({r.upper_bound / r.exact:.2f}x exact; the interval {verdict}), "
                   f"lower bound {r.lower_bound:.4g}"))

    # -- rising with depth, and near one at the deepest depth (per width)
    for w, t in he0.groupby("width"):
        t = t.sort_values("depth")
        first, last = t.iloc[0], t.iloc[-1]
        w = int(w)
        d0, d1 = int(first["depth"]), int(last["depth"])
        statement = (f"At width {w} the born-dead probability rises with depth "
                     f"(depth {d1} minus depth {d0}).")
        rule = above(0.0)
        if d0 == d1:
            out.append(no_data(experiment=NAME, claim=f"rises_with_depth[width={w}]",
                               statement=statement, kind="empirical", expected=str(rule),
                               why="one depth only"))
        else:
            out.append(empirical(
                experiment=NAME, claim=f"rises_with_depth[width={w}]", statement=statement,
                rule=rule,
                evidence=difference(int(last["dead"]), int(last["samples"]), int(first["dead"]),
                                    int(first["samples"]), rule.level),
                detail=f"bounds at depth {d1}: [{last['lower_bound']:.3f}, "
                       f"{last['upper_bound']:.3f}]"))
        rule = above(T.near_one)
        statement = (f"At width {w} and depth {d1} more than {T.near_one:g} of the nets "
                     "are born dead.")
        if last["upper_bound"] <= T.near_one:
            # impossible by the upper bound: not claimed (the rise above says what happens)
            continue
        out.append(empirical(
            experiment=NAME, claim=f"near_one[width={w}]", statement=statement, rule=rule,
            evidence=proportion(int(last["dead"]), int(last["samples"]), rule),
            detail=f"proven bounds there [{last['lower_bound']:.3f}, {last['upper_bound']:.3f}]"))

    # -- RAI lowers the born-dead probability (grid average per bias scale)
    he, rai = g[g["init"] == "he"], g[g["init"] == "rai"]
    for b in sorted(set(he["bias_scale"]) & set(rai["bias_scale"])):
        pairs = he[he["bias_scale"] == b].merge(rai[rai["bias_scale"] == b], on=["width", "depth"],
                                                 suffixes=("_he", "_rai"))
        if pairs.empty:
            continue
        rule = above(0.0)
        ev = grid_mean_difference(pairs, rule.level)
        per = [difference(int(r.dead_he), int(r.samples_he), int(r.dead_rai), int(r.samples_rai),
                          rule.level)
               for r in pairs.itertuples()]
        up = sum(e.lo > 0 for e in per)
        down = sum(e.hi < 0 for e in per)
        i = int(np.argmax([e.estimate for e in per]))
        out.append(empirical(
            experiment=NAME, claim=f"rai_lowers[bias_scale={b:g}]",
            statement="Randomized asymmetric initialization lowers the born-dead probability "
                      f"(biases with scale {b:g}; mean over the width x depth grid).",
            rule=rule, evidence=ev,
            detail=f"per setting (95% Bonferroni-CP intervals of He minus RAI): {up} of {len(per)} "
                   f"wholly above 0, {down} wholly below; largest reduction {per[i].estimate:.3f} "
                   f"at width {int(pairs.iloc[i]['width'])}, depth {int(pairs.iloc[i]['depth'])}"))
    return out


EXPERIMENT = Experiment(
    name=NAME,
    title="Deep narrow ReLU networks are dead at birth.",
    summary=(
        "A Monte Carlo over thousands of randomly initialized ReLU MLPs with a 1-D input "
        "counts, per depth, width and initialization (He, or randomized asymmetric "
        "initialization), the nets born dead: constant on a grid over [-R, R]. Claimed: with "
        "zero biases and He init the probability lies between the proven bounds 1 - (1 - "
        "4^-w)^(d-1) and 1 - (1 - 2^-w)^(d-1) and equals 4^-w (3 - 2^(1-w)) at depth 2; it "
        "rises with depth and is near one for deep narrow nets; randomized asymmetric "
        "initialization lowers it."
    ),
    command="actlab -m experiment=born_dead",
    params=Params,
    run=run,
    summarize=summarize,
    claims=claims,
    figures="experiments.figures.born_dead:figures",
    # only model.bias_scale: its relu nets and its weights are drawn by itself
    reads=("model",),
)
