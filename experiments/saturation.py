"""Vanishing gradients stall learning although the error is large.

Run the default grid:  actlab -m experiment=saturation
One point:             actlab experiment=saturation activation=tanh task.input_scale=30

Inputs are multiplied by a saturation factor alpha (task.input_scale). For tanh and sigmoid the
first layer's pre-activations grow with alpha until phi'(z) is ~0 for almost every input, so the
gradient reaching the first layer per unit of error (grad_per_error = grad_norm(layer 1) / loss)
collapses while the loss is still large. relu, which does not saturate, is the comparison.

The saturated fraction has a closed form: the probe calls (input, unit) saturated when
|phi'(z)| < NEAR_ZERO * max|phi'| (actlab.probes), i.e. |z| > z* for tanh and sigmoid (z < 0 for
relu); with Gaussian inputs x ~ N(0, alpha^2 I_d), Gaussian first-layer weights of variance
weight_scale^2 / d and biases N(0, bias_scale^2), a unit's pre-activation over the inputs is
N(b, alpha^2 |w|^2) with |w|^2 ~ weight_scale^2 chi^2_d / d, so the expected fraction is
E_u[2 Phi(-z* / sqrt(alpha^2 weight_scale^2 u / d + bias_scale^2))], u ~ chi^2_d (1/2 for relu).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from actlab.claims import (
    Claim,
    Kind,
    above,
    below,
    by_setting,
    empirical,
    no_data,
    over_seeds,
)
from actlab.experiment import Experiment
from actlab.probes import NEAR_ZERO
from actlab.runner import train_one, train_seeds

NAME = "saturation"
SATURATING = ("tanh", "sigmoid")
CONTROL = "relu"


@dataclass
class Params:
    """No run parameters of its own: alpha is task.input_scale, swept by the config."""


@dataclass(frozen=True)
class Thresholds:
    # Measured first-layer saturated fraction vs the Gaussian theory: per seed the worst absolute
    # deviation over the alpha grid must stay below this. One seed's fraction averages over only
    # 64 units, each with its own |w|^2 ~ chi^2_16: the per-unit fraction has sd ~0.07, so a seed
    # is off by ~0.07/sqrt(64) ~ 0.009 at a middle alpha (the fixed 512-input probe batch adds
    # ~0.003); the worst of five alphas at about three times that is 0.03.
    theory_margin: float = 0.03
    # ... at width 64. Over w units the per-seed deviation scales like 1/sqrt(w), so the margin used
    # is theory_margin x sqrt(margin_width / w) (a table without a width column: theory_margin).
    margin_width: int = 64
    # "Falls by orders of magnitude" (the article's words): the gradient per unit of error at the
    # largest alpha below 1e-2 (two decades) of its value at the smallest alpha.
    grad_drop: float = 1e-2
    # "Stays near its initial value; at alpha = 1 it falls": the fraction of the initial loss left
    # at the end is larger at the largest alpha than at the smallest by at least this (the former
    # ladder's "stalled" >= 0.8 left minus "learns" <= 0.5 left).
    stall_gap: float = 0.3


THRESHOLDS = Thresholds()


def run(cfg, device):
    return _finish(cfg,
                   train_one(cfg, device,
                             desc=f"{NAME} {cfg.activation.name} alpha={cfg.task.input_scale:g}"))


def run_seeds(cfg, device, seeds):
    desc = f"{NAME} {cfg.activation.name} alpha={cfg.task.input_scale:g} x{len(seeds)}"
    return {s: _finish(cfg, r) for s, r in train_seeds(cfg, device, seeds, desc=desc).items()}


def _finish(cfg, res):
    extra = []
    for r in res.rows:
        r["alpha"] = cfg.task.input_scale
        r["in_dim"] = cfg.task.in_dim  # the theory of the saturated fraction needs it
    by_step: dict[int, dict] = {}
    for r in res.rows:
        if r["metric"] == "loss" and r["layer"] is None:
            by_step.setdefault(r["step"], {})["loss"] = r["value"]
        if r["metric"] in ("grad_norm", "delta_rms") and r["layer"] == 1:
            by_step.setdefault(r["step"], {})[r["metric"]] = r["value"]
    for step, d in sorted(by_step.items()):
        if "loss" in d and "grad_norm" in d and d["loss"] > 0:
            for key, metric in (("grad_norm", "grad_per_error"), ("delta_rms", "delta_per_error")):
                extra.append({"step": step, "layer": None, "metric": metric,
                              "value": d[key] / d["loss"], "alpha": cfg.task.input_scale,
                              "in_dim": cfg.task.in_dim})
    res.rows += extra
    return res


# ---------------------------------------------------------------------------------------------
# Theory


def saturation_cutoff(activation: str) -> float | None:
    """z* with |phi'(z)| < NEAR_ZERO * max|phi'| exactly when |z| > z*, in closed form:
    tanh: 1 - tanh^2 z < eps  <=>  |z| > atanh(sqrt(1 - eps));
    sigmoid: s(1 - s) < eps / 4  <=>  |z| > log((1 - s*) / s*), s* = (1 - sqrt(1 - eps)) / 2.
    None for an activation without such a symmetric cutoff."""
    eps = NEAR_ZERO
    if activation == "tanh":
        return math.atanh(math.sqrt(1 - eps))
    if activation == "sigmoid":
        s = (1 - math.sqrt(1 - eps)) / 2
        return math.log((1 - s) / s)
    return None


def theory_fraction(activation: str, alpha: float, weight_scale: float, bias_scale: float,
                    in_dim: float) -> float:
    """Expected first-layer saturated fraction (see the module docstring): relu 1/2 (phi' = 0
    exactly for z < 0, any scale); tanh/sigmoid the chi^2_d mixture of 2 Phi(-z*/sd), by
    quadrature (scipy); in_dim nan or inf gives the d -> infinity limit
    2 Phi(-z*/sqrt(a^2 s^2 + b^2)).
    nan for any other activation."""
    from scipy import integrate, stats
    from scipy.special import ndtr

    if activation == CONTROL:
        return 0.5
    zs = saturation_cutoff(activation)
    if zs is None:
        return math.nan
    a2, b2 = (alpha * weight_scale) ** 2, bias_scale**2
    if not (math.isfinite(in_dim) and in_dim > 0):
        return float(2 * ndtr(-zs / math.sqrt(a2 + b2)))
    d = float(in_dim)

    def f(u):
        return 2 * ndtr(-zs / math.sqrt(a2 * u / d + b2)) * stats.chi2.pdf(u, d) if u > 0 else \
            (2 * ndtr(-zs / math.sqrt(b2)) * stats.chi2.pdf(u, d) if b2 > 0 else 0.0)

    # the chi^2_d mass lies between these quantiles (quad over [0, inf) misses it for large d)
    lo, hi = stats.chi2.ppf(1e-13, d), stats.chi2.isf(1e-13, d)
    val, _ = integrate.quad(f, lo, hi, limit=200, epsabs=1e-12)
    return float(val)


def _theory_applies(r: pd.Series) -> str:
    """'' when the Gaussian theory covers this row's setting, else why not."""
    if r.get("task") != "teacher":
        return f"task {r.get('task')}: inputs not Gaussian"
    if r.get("init") != "gaussian":
        return f"init {r.get('init')}: rows of W not Gaussian"
    return ""


# ---------------------------------------------------------------------------------------------


def summarize(df: pd.DataFrame, params: Params | None = None) -> pd.DataFrame:
    """One row per (activation, alpha, seed): the first layer's saturated fraction and gradient
    per unit of error at initialisation (step 0: measured before any step, so a run that diverged
    later still has them), the initial and final probe loss and the fraction of it left
    (`loss_ratio`, nan for a diverged or failed run: it has no final loss), and the setting the
    theory needs."""
    extra = [c for c in SETTINGS
             if c not in ("task", "init", "weight_scale", "bias_scale", "in_dim")
             and c in df.columns]
    cols = ["activation", "alpha", "seed", "status", "diverged", "task", "init", "weight_scale",
            "bias_scale", "in_dim", *extra, "saturated", "grad_per_error", "delta_per_error",
            "loss0", "loss_end", "loss_ratio"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df = df.copy()
    if "in_dim" not in df.columns:
        df["in_dim"] = np.nan  # a table from before in_dim was recorded: the d -> inf limit
    # one row per run (a seed of one activation, alpha and setting): runs that differ in a setting
    # (weight scale, width, ...) stay apart instead of being merged by a first() over the seed
    if "run_id" not in df.columns:
        df["run_id"] = (df["activation"].astype(str) + "|" + df["alpha"].astype(str) + "|"
                        + df["seed"].astype(str))
    keys = ["run_id"]
    first = df.groupby(keys)[["activation", "alpha", "seed", "status", "task", "init",
                              "weight_scale", "bias_scale", "in_dim", *extra]].first()
    d0 = df[df["step"] == 0]
    out = first.copy()
    out["diverged"] = out["status"] != "ok"
    out["saturated"] = (d0[(d0["metric"] == "saturated_fraction") & (d0["layer"] == 1)]
                        .groupby(keys)["value"].first())
    for m in ("grad_per_error", "delta_per_error"):
        out[m] = d0[d0["metric"] == m].groupby(keys)["value"].first()
    loss = df[(df["metric"] == "loss") & df["layer"].isna()].sort_values("step")
    out["loss0"] = loss.groupby(keys)["value"].first()
    out["loss_end"] = loss.groupby(keys)["value"].last()
    out.loc[out["diverged"], "loss_end"] = np.nan
    out["loss_ratio"] = out["loss_end"] / out["loss0"]
    return out.reset_index()[cols].sort_values(["activation", "alpha", "seed"], ignore_index=True)


# What a grid may vary besides activation and alpha: the claims are made within one setting.
SETTINGS = ("task", "init", "weight_scale", "bias_scale", "in_dim", "width", "depth", "optimizer",
            "lr", "steps", "batch_size")


def _margin(s: pd.DataFrame) -> float:
    """THRESHOLDS.theory_margin scaled to the runs' width (the narrowest, if several)."""
    T = THRESHOLDS
    w = pd.to_numeric(s["width"], errors="coerce").min() if "width" in s.columns else math.nan
    return (T.theory_margin * math.sqrt(T.margin_width / w) if math.isfinite(w) and w > 0
            else T.theory_margin)


def _by_seed(s: pd.DataFrame, col: str, a_hi: float, a_lo: float) -> pd.Series:
    """Per seed id: col at alpha a_hi minus col at alpha a_lo (same seed on both sides)."""
    hi = s[s["alpha"] == a_hi].set_index("seed")[col]
    lo = s[s["alpha"] == a_lo].set_index("seed")[col]
    both = hi.index.intersection(lo.index)
    return (hi[both] - lo[both]).sort_index()


def claims(summary: pd.DataFrame, params: Params | None = None) -> list[Claim]:
    if summary.empty:
        return [no_data(experiment=NAME, claim="saturation", statement="The experiment has runs.",
                        kind=Kind.EMPIRICAL, why="no runs")]
    return [c for where, g in by_setting(summary, SETTINGS) for c in _claims_one(g, where)]


def _claims_one(summary: pd.DataFrame, where: str) -> list[Claim]:
    """The claims within one setting; `where` names it in the claim ids ("" when nothing varies)."""
    T = THRESHOLDS
    out: list[Claim] = []
    acts = set(summary["activation"])
    alphas = sorted(summary["alpha"].unique())
    a_lo, a_hi = alphas[0], alphas[-1]
    span = f"alpha={a_hi:g} vs {a_lo:g}"

    # 1. the saturated fraction follows its Gaussian theory at every alpha (relu: 1/2 at every
    # alpha)
    for act in [a for a in (*SATURATING, CONTROL) if a in acts]:
        s = summary[summary["activation"] == act].copy()
        cid = f"saturated_fraction[{act}{where}]"
        st = (f"{act}: the first layer's saturated fraction at init follows the Gaussian theory at "
              "every alpha" + (", rising towards 1 as alpha grows." if act != CONTROL else
                               " (1/2: relu's phi' is 0 for z < 0 at any scale, "
                               "so it does not rise)."))
        why = {w for w in s.apply(_theory_applies, axis=1) if w}
        if why:
            out.append(no_data(experiment=NAME, claim=cid, statement=st, kind=Kind.EMPIRICAL,
                               why="no theory for this setting: " + "; ".join(sorted(why))))
            continue
        s["theory"] = [theory_fraction(act, r.alpha, r.weight_scale, r.bias_scale, r.in_dim)
                       for r in s.itertuples()]
        worst = (s["saturated"] - s["theory"]).abs().groupby(s["seed"]).max()
        th = s.groupby("alpha")["theory"].first()
        meas = s.groupby("alpha")["saturated"].mean()
        margin = _margin(s)
        rule = below(round(margin, 6))
        limit = "" if s["in_dim"].notna().all() else " (in_dim not recorded: the d -> inf limit)"
        out.append(empirical(
            experiment=NAME, claim=cid, statement=st, rule=rule,
            evidence=over_seeds(worst.values, rule),
            expected=f"worst |measured - theory| over alpha {rule}; theory {th.iloc[-1]:.4f} at "
                     f"alpha={a_hi:g}",
            detail="per seed, the worst |measured - theory| over the alpha grid; theory / mean "
                   "measured by alpha: "
                   + ", ".join(f"{a:g}: {th[a]:.3f}/{meas[a]:.3f}" for a in th.index) + limit
                   + f"; margin {T.theory_margin:g} x sqrt({T.margin_width} / width) = "
                     f"{margin:.3g}"))

    ctrl = summary[summary["activation"] == CONTROL].copy()
    for act in [a for a in SATURATING if a in acts]:
        s = summary[summary["activation"] == act].copy()
        tag = f"[{act},{span}{where}]"
        # 2. the gradient per unit of error at init falls by orders of magnitude, and more than
        # relu's
        for key, what in (("grad_per_error", "dLoss/dW_1"), ("delta_per_error", "dLoss/dz_1")):
            s[f"log_{key}"] = np.log(s[key].where(s[key] > 0))
            ratio = np.exp(_by_seed(s, f"log_{key}", a_hi, a_lo))
            rule = below(T.grad_drop)
            out.append(empirical(
                experiment=NAME, claim=f"{key}_drop" + tag,
                statement=f"{act}: the first layer's gradient per unit of error ({what}) at init "
                          f"falls by orders of magnitude from alpha={a_lo:g} to alpha={a_hi:g}.",
                rule=rule, evidence=over_seeds(ratio.values, rule, log=True),
                expected=f"ratio (alpha={a_hi:g} / alpha={a_lo:g}) {rule}",
                detail="per seed the ratio at init (step 0, before any update: a run that diverged "
                       "later counts)"))
            if ctrl.empty:
                out.append(no_data(experiment=NAME, claim=f"{key}_vs_relu" + tag,
                                   statement=f"{act}'s drop exceeds relu's.", kind=Kind.EMPIRICAL,
                                   why="no relu runs"))
                continue
            ctrl[f"log_{key}"] = np.log(ctrl[key].where(ctrl[key] > 0))
            r_ctrl = _by_seed(ctrl, f"log_{key}", a_hi, a_lo)
            r_act = _by_seed(s, f"log_{key}", a_hi, a_lo)
            both = r_act.index.intersection(r_ctrl.index)
            rel = np.exp(r_act[both] - r_ctrl[both])
            rule = below(1.0)
            out.append(empirical(
                experiment=NAME, claim=f"{key}_vs_relu" + tag,
                statement=f"The drop of {what} per unit of error is due to saturation: {act}'s "
                          f"ratio (alpha={a_hi:g} / {a_lo:g}) is below relu's, paired by seed.",
                rule=rule, evidence=over_seeds(rel.values, rule, log=True),
                expected=f"{act} ratio / relu ratio {rule}",
                detail=f"per seed id, {act}'s ratio divided by relu's (same seed), at init"))
        # 3. learning stalls at the largest alpha, and more than relu's
        gap = _by_seed(s, "loss_ratio", a_hi, a_lo)
        n_div = int(s[s["alpha"].isin([a_lo, a_hi])]["diverged"].sum())
        rule = above(T.stall_gap)
        out.append(empirical(
            experiment=NAME, claim="learning_stalls" + tag,
            statement=f"{act}: at alpha={a_hi:g} the loss stays near its initial value while at "
                      f"alpha={a_lo:g} it falls: the fraction of the initial loss left at the end "
                      f"is larger at alpha={a_hi:g}, paired by seed.",
            rule=rule, evidence=over_seeds(gap.values, rule),
            expected=f"(final/initial at alpha={a_hi:g}) - "
                     f"(final/initial at alpha={a_lo:g}) {rule}",
            detail=f"mean final/initial loss: alpha={a_lo:g}: "
                   f"{s[s['alpha'] == a_lo]['loss_ratio'].mean():.3f}, alpha={a_hi:g}: "
                   f"{s[s['alpha'] == a_hi]['loss_ratio'].mean():.3f}; a diverged run has no final "
                   f"loss: its seed is left out ({n_div} here)"))
        if ctrl.empty:
            continue
        g_ctrl = _by_seed(ctrl, "loss_ratio", a_hi, a_lo)
        both = gap.index.intersection(g_ctrl.index)
        rel = gap[both] - g_ctrl[both]
        c_div = int(ctrl[ctrl["alpha"].isin([a_lo, a_hi])]["diverged"].sum())
        rule = above(0.0)
        out.append(empirical(
            experiment=NAME, claim="learning_stalls_vs_relu" + tag,
            statement=f"The stall is due to saturation: {act}'s rise in the fraction of loss left "
                      f"(alpha={a_hi:g} minus {a_lo:g}) exceeds relu's, paired by seed.",
            rule=rule, evidence=over_seeds(rel.dropna().values, rule),
            expected=f"{act} rise - relu rise {rule}",
            detail=f"per seed id; a diverged run has no final loss, so its seed is left out "
                   f"(relu: {c_div}, {act}: {n_div} diverged runs at these alphas)"))
    return out


EXPERIMENT = Experiment(
    name=NAME,
    title="Vanishing gradients stall learning although the error is large.",
    summary=(
        "MLPs with tanh and sigmoid, and relu as the control, are trained on inputs multiplied "
        "by a saturation factor alpha (task.input_scale), recording the first layer's saturated "
        "fraction and its gradient per unit of error (grad_norm(layer 1) / loss). Claimed: the "
        "saturated fraction matches its Gaussian closed form; for tanh and sigmoid the gradient "
        "per unit of error falls by orders of magnitude from the smallest alpha to the largest, "
        "more than relu's; and at the largest alpha the loss stays near its initial value while "
        "at the smallest it falls, again beyond relu."
    ),
    command="actlab -m experiment=saturation",
    params=Params,
    run=run,
    run_seeds=run_seeds,
    summarize=summarize,
    claims=claims,
    figures="experiments.figures.saturation:figures",
    # runner.train_one(s); task.input_scale and task.in_dim also go into its rows
    reads=("activation", "model", "task", "trainer"),
)
