"""Alive but on life support: how long a unit pushed far into the negative region takes to return.

Run the default grid:  actlab -m experiment=softplus_revival
One activation:        actlab experiment=softplus_revival activation=leaky_relu activation.slope=0.1

One neuron y = phi(w x + b) fits the target y = 2x + 1 on x in [0, 1] (n_points inputs, 0 and 1
included) by full-batch gradient descent, starting from w = 0 and b = z0 (so every pre-activation
equals z0 < 0). We count the steps until the unit is back: its pre-activation positive on some
input (max_x (w x + b) > 0; the unit is "off", dead were it relu, until then). Everything is
deterministic (no seeds): one trajectory per (activation, z0), all z0 of one activation trained
together as independent neurons in one tensor computation.

What the gradient that moves the unit is, and what we check it against (computed another way):
  relu       phi'(z) = 0 for z < 0: the unit never moves, never comes back.
  leaky_relu phi'(z) = slope below zero, so until the unit is back the recursion is linear,
             theta <- A theta + c, and the return time is exact in closed form (eigenvalues of
             the 2x2 map). To first order it is |z0| / (lr slope K), K = 2 mean(y (1 + x)):
             linear in |z0| / slope while slope |z0| is small.
  softplus   phi'(z) = sigmoid(beta z) <= e^(beta z): each step raises max z by at most
             lr K e^(beta max z), so the time is at least (e^(beta |z0|) - 1) / (beta lr K): it
             grows like e^|z0| (proven lower bound), and it matches the gradient flow of the same
             loss (scipy's ODE solver) up to the Euler lag of gradient descent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from actlab.activations import get_activation
from actlab.claims import Claim, math_claim, no_data
from actlab.experiment import Experiment
from actlab.trainer import RunResult
from experiments.params import SoftplusRevivalParams as Params

NAME = "softplus_revival"


@dataclass(frozen=True)
class Thresholds:
    # Gradient descent is the Euler discretization of the gradient flow; on this exponentially
    # accelerating path it lags the flow by about |z0|/2 steps (plus < 1 for the crossing), which
    # is under 5% of the flow time once that is >= 100 steps. Shorter returns are not compared.
    flow_min_steps: float = 100.0
    flow_rtol: float = 0.05
    ode_rtol: float = 1e-10  # the ODE solver's own tolerance: far below flow_rtol


THRESHOLDS = Thresholds()


# ---------------------------------------------------------------------------------------------
# Run


def _inputs(n_points: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(0.0, 1.0, int(n_points))
    return x, 2 * x + 1


def steps_to_revive(act, z0s: list[float], lr: float, max_steps: int, n_points: int) -> list[float]:
    """For each z0, the first step after which max_x (w x + b) > 0, or nan if not within
    max_steps."""
    x = torch.linspace(0, 1, n_points, dtype=torch.float64)[None, :]  # (1, n)
    y = 2 * x + 1
    k = len(z0s)
    w = torch.zeros(k, 1, dtype=torch.float64)
    b = torch.tensor(z0s, dtype=torch.float64)[:, None]
    out = torch.full((k,), math.nan, dtype=torch.float64)
    for step in range(1, max_steps + 1):
        z = w * x + b
        # MSE gradient by hand (exactly what autograd would give; cheaper in this tight loop)
        g = 2 * (act(z) - y) * act.deriv(z) / x.shape[1]
        w = w - lr * (g * x).sum(1, keepdim=True)
        b = b - lr * g.sum(1, keepdim=True)
        # x runs over [0, 1]: the largest pre-activation is at x = 0 or x = 1
        back = (torch.maximum(b[:, 0], w[:, 0] + b[:, 0]) > 0) & torch.isnan(out)
        if back.any():
            out[back] = step
            if not torch.isnan(out).any():
                break
    return out.tolist()


def run(cfg, device) -> RunResult:
    p = cfg.params
    act = get_activation(cfg.activation)
    steps = steps_to_revive(act, list(p.z0s), p.lr, p.max_steps, p.n_points)
    rows = []
    for z0, s in zip(p.z0s, steps):
        common = {"step": 0, "layer": None, "z0": z0, "max_steps": p.max_steps, "lr": p.lr,
                  "n_points": p.n_points}
        rows += [{**common, "metric": "steps_to_revive", "value": s},
                 {**common, "metric": "revived", "value": float(not math.isnan(s))},
                 {**common, "metric": "slope_at_z0", "value": float(act.deriv(torch.tensor(z0)))}]
    return RunResult(rows=rows)


# ---------------------------------------------------------------------------------------------
# References, each computed another way than the trainer's loop


def leaky_closed_form(slope: float, z0s, lr: float, max_steps: int, n_points: int) -> list[float]:
    """Exact return times of the leaky unit. Until it is back every pre-activation is < 0, where
    phi(z) = slope z, so gradient descent is the affine map theta <- A theta + c with
    A = I - (2 lr slope^2 / n) X^T X and fixed point theta* = (2, 1) / slope (an exact fit);
    theta_t = theta* + V diag(lambda^t) V^T (theta_0 - theta*) from A's eigendecomposition,
    evaluated at every t <= max_steps at once."""
    x, y = _inputs(n_points)
    X = np.stack([x, np.ones_like(x)], 1)
    H = 2 * lr * slope**2 / len(x) * X.T @ X
    c = 2 * lr * slope / len(x) * X.T @ y
    star = np.linalg.solve(H, c)
    lam, V = np.linalg.eigh(np.eye(2) - H)
    t = np.arange(1, int(max_steps) + 1, dtype=float)[:, None]
    out = []
    for z0 in z0s:
        e = V.T @ (np.array([0.0, float(z0)]) - star)
        theta = star + (lam**t * e) @ V.T  # (t, 2): w_t, b_t
        back = np.nonzero(np.maximum(theta[:, 1], theta[:, 0] + theta[:, 1]) > 0)[0]
        out.append(float(back[0] + 1) if len(back) else math.nan)
    return out


def first_order_time(z0: float, slope: float, lr: float, n_points: int) -> float:
    """|z0| / (lr slope K): the leaky unit's return time while slope |z0| << 1."""
    return abs(z0) / (lr * slope * rate_constant(n_points))


def rate_constant(n_points: int) -> float:
    """K = 2 mean(y (1 + x)): an input-weighted gradient pulls max z up by lr phi' K per step."""
    x, y = _inputs(n_points)
    return float(2 * np.mean(y * (1 + x)))


def softplus_lower_bound(z0: float, beta: float, lr: float, n_points: int) -> float:
    """(e^(beta |z0|) - 1) / (beta lr K): with every z <= M < 0, sigmoid(beta z) <= e^(beta M) and
    0 <= softplus <= y, so M rises by at most lr K e^(beta M) per step and u = e^(-beta M) falls by
    at most beta lr K per step; the unit is back only once u < 1."""
    return math.expm1(beta * abs(z0)) / (beta * lr * rate_constant(n_points))


def softplus_flow_time(z0: float, beta: float, lr: float, n_points: int, horizon: float) -> float:
    """Time (in steps of size lr) for the gradient flow d theta/dt = -lr grad L(theta) of the
    softplus unit to bring max_x z above 0 (scipy's LSODA with an event); nan beyond `horizon`."""
    from scipy.integrate import solve_ivp
    from scipy.special import expit

    x, y = _inputs(n_points)

    def field_(t, th):
        z = th[0] * x + th[1]
        g = 2 * (np.logaddexp(beta * z, 0.0) / beta - y) * expit(beta * z) / len(x)
        return [-lr * float((g * x).sum()), -lr * float(g.sum())]

    def back(t, th):
        return max(th[1], th[0] + th[1])

    back.terminal, back.direction = True, 1
    sol = solve_ivp(field_, (0.0, horizon), [0.0, float(z0)], events=back, method="LSODA",
                    rtol=THRESHOLDS.ode_rtol, atol=1e-12)
    hits = sol.t_events[0]
    return float(hits[0]) if len(hits) else math.nan


# ---------------------------------------------------------------------------------------------
# Summary: one row per (activation, z0); deterministic, so the seed column is the run's seed only


def summarize(df: pd.DataFrame, params: Params | None = None) -> pd.DataFrame:
    """One row per (activation label, z0): steps to come back (NaN if not within max_steps),
    whether it came back, phi'(z0), and the run parameters the references need (lr, n_points,
    max_steps, slope, beta), read from the table (params for tables that lack a column)."""
    p = params or Params()
    cols = ["seed", "label", "activation", "slope", "beta", "z0", "lr", "n_points", "max_steps",
            "steps", "revived", "slope_at_z0", "criterion"]
    d = (df[df["metric"].isin(["steps_to_revive", "revived", "slope_at_z0"])]
         if "metric" in df else df)
    if d.empty:
        return pd.DataFrame(columns=cols)
    d = d.copy()
    if "status" in d.columns:
        d = d[d["status"].fillna("ok") == "ok"]
        if d.empty:
            return pd.DataFrame(columns=cols)
    # rows written before lr and n_points were recorded per row counted the return of the *mean*
    # pre-activation; the references below are for max_x z, so such rows are marked and not judged
    d["criterion"] = "max_z" if "n_points" in d.columns else "mean_z"
    if "n_points" not in d.columns:
        d["n_points"], d["lr"] = p.n_points, p.lr  # the table's `lr` column is then trainer.lr
    for c, default in (("slope", np.nan), ("beta", np.nan), ("max_steps", p.max_steps)):
        if c not in d.columns:
            d[c] = default
    d["slope"] = pd.to_numeric(d["slope"], errors="coerce").where(d["activation"] == "leaky_relu")
    d["beta"] = pd.to_numeric(d["beta"], errors="coerce").where(d["activation"] == "softplus")
    d.loc[(d["activation"] == "softplus") & d["beta"].isna(), "beta"] = 1.0
    d["label"] = np.where(d["slope"].notna(), d["activation"] + " " + d["slope"].map("{:g}".format),
                          d["activation"])
    # every parameter the references read is a key: runs at another lr, beta, input count or budget
    # stay apart (a pivot over (seed, label, z0) alone averaged their return times)
    keys = ["seed", "label", "activation", "slope", "beta", "lr", "n_points", "max_steps", "z0"]
    t = d.groupby([*keys, "metric"], dropna=False)["value"].mean().unstack("metric").reset_index()
    t.columns.name = None
    t["criterion"] = d["criterion"].iloc[0]
    t = t.rename(columns={"steps_to_revive": "steps"})
    for c in ("steps", "revived", "slope_at_z0"):
        if c not in t.columns:
            t[c] = np.nan
    t["revived"] = t["revived"] > 0.5
    t["steps"] = t["steps"].where(t["revived"])
    return t[cols].sort_values(["label", "z0"], ascending=[True, False]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Claims


def _settings(s: pd.DataFrame, param: str) -> list[tuple[str, pd.DataFrame]]:
    """(id suffix, rows) per (param, lr, n_points, max_steps): each group gets its own reference.
    The suffix names the run parameters that vary among these rows ("" when only `param` does)."""
    run = ["lr", "n_points", "max_steps"]
    varying = [c for c in run if s[c].nunique(dropna=False) > 1]
    out = []
    for key, g in s.groupby([param, *run], dropna=False, sort=True):
        vals = dict(zip([param, *run], key))
        out.append(("".join(f",{c}={float(vals[c]):g}" for c in varying), g))
    return out


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _fmt_steps(v: float) -> str:
    return "never" if math.isnan(v) else f"{int(v)}"


def claims(summary: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    T = THRESHOLDS
    s = summary
    out: list[Claim] = []
    if "criterion" in s.columns and (s["criterion"] == "mean_z").any():
        old = s[s["criterion"] == "mean_z"]
        for act in sorted(set(old["activation"]) & {"leaky_relu", "softplus"}):
            out.append(no_data(experiment=NAME, claim=f"{act}_reference", kind="math",
                               statement=f"The {act} return times match their reference.",
                               why="rows recorded with the old criterion (the mean pre-activation "
                                   "back above 0): rerun the experiment"))
        # relu never moves either way
        s = s[(s["criterion"] != "mean_z") | (s["activation"] == "relu")]

    relu = s[s["activation"] == "relu"]
    statement = ("A ReLU unit pushed below zero never comes back: phi'(z) = 0 there, "
                 "so it never moves.")
    if relu.empty:
        out.append(no_data(experiment=NAME, claim="relu_never", statement=statement, kind="math",
                           expected="0 back", why="no relu run"))
    else:
        n = int(relu["revived"].sum())
        out.append(math_claim(
            experiment=NAME, claim="relu_never", statement=statement, measured=float(n),
            n=len(relu),
            expected="0 back within the budget (exact: a zero gradient leaves w, b unchanged)",
            ok=n == 0,
            detail=f"{len(relu)} starting points, budget {int(relu['max_steps'].max())} steps"))

    for where, g in _settings(s[s["activation"] == "leaky_relu"], "slope"):
        r0 = g.iloc[0]
        slope, lr, npts, budget = (float(r0["slope"]), float(r0["lr"]), int(r0["n_points"]),
                                   int(r0["max_steps"]))
        g = g.sort_values("z0", ascending=False)
        ref = leaky_closed_form(slope, g["z0"].tolist(), lr, budget, npts)
        meas = g["steps"].tolist()
        gap = [abs(a - b) if not (math.isnan(a) or math.isnan(b))
               else (0.0 if _same(a, b) else math.inf)
               for a, b in zip(meas, ref)]
        first = [first_order_time(z, slope, lr, npts) for z in g["z0"]]
        # log-log slope of the measured times against |z0| (1 = linear), over the returned points
        ok_pts = [(abs(z), m) for z, m in zip(g["z0"], meas) if not math.isnan(m) and m > 0]
        fit = float(np.polyfit(np.log([a for a, _ in ok_pts]),
                               np.log([m for _, m in ok_pts]), 1)[0]) \
            if len(ok_pts) >= 2 else math.nan
        out.append(math_claim(
            experiment=NAME, claim=f"leaky_closed_form[slope={slope:g}{where}]",
            statement=f"A leaky ReLU (slope {slope:g}) unit comes back after exactly the number of "
                      "steps the closed-form solution of its linear recursion gives; to first "
                      "order |z0| / (lr slope K), linear in |z0| / slope.",
            measured=float(max(gap)), n=len(g), ok=all(v == 0 for v in gap),
            expected="0 steps apart at every z0 "
                     "(closed form from the 2x2 map's eigenvalues, numpy float64)",
            detail="steps (closed form, first order) by z0: " + ", ".join(
                f"{z:g}: {_fmt_steps(m)} ({_fmt_steps(r)}, {f:.1f})"
                for z, m, r, f in zip(g["z0"], meas, ref, first))
                   + f"; log-log slope of steps vs |z0| {fit:.2f}; K = {rate_constant(npts):.4f}"))

    for where, g in _settings(s[s["activation"] == "softplus"], "beta"):
        r0 = g.iloc[0]
        beta, lr, npts, budget = (float(r0["beta"]), float(r0["lr"]), int(r0["n_points"]),
                                  int(r0["max_steps"]))
        g = g.sort_values("z0", ascending=False)
        bound = [softplus_lower_bound(z, beta, lr, npts) for z in g["z0"]]
        meas = g["steps"].tolist()
        # a censored point (not back within the budget) is consistent with any lower bound
        ratio = [m / b if not math.isnan(m) else math.inf for m, b in zip(meas, bound)]
        pts = [(abs(z), m) for z, m in zip(g["z0"], meas) if not math.isnan(m) and m > 0]
        deep = [(a, m) for a, m in pts if a >= 3] or pts
        fit = float(np.polyfit([a for a, _ in deep], np.log([m for _, m in deep]), 1)[0]) \
            if len(deep) >= 2 else math.nan
        cid = f"softplus_exp_lower_bound[beta={beta:g}{where}]"
        statement = ("A softplus unit at z0 < 0 needs at least (e^(beta |z0|) - 1) / (beta lr K) "
                     "steps to come back: alive, but its return time grows like e^|z0|.")
        by_z0 = "steps (bound) by z0: " + ", ".join(
            f"{z:g}: {_fmt_steps(m)} ({b:.4g})" for z, m, b in zip(g["z0"], meas, bound))
        if not pts:  # no unit came back within the budget: nothing was measured against the bound
            out.append(no_data(experiment=NAME, claim=cid, statement=statement, kind="math",
                               expected=">= 1 (steps / proven lower bound, every z0)",
                               why=f"no unit came back within {budget} steps ({by_z0})"))
        else:
            out.append(math_claim(
                experiment=NAME, claim=cid, statement=statement,
                measured=float(min(ratio)), n=len(g), ok=all(v >= 1 for v in ratio),
                expected=">= 1 (steps / proven lower bound, every z0)",
                detail=by_z0 + f"; d ln(steps) / d|z0| over |z0| >= 3: {fit:.3f}"))

        horizon = max(budget, 1.0) * 1e3
        flow = [softplus_flow_time(z, beta, lr, npts, horizon) for z in g["z0"]]
        checked, errs, notes = 0, [], []
        for z, m, f in zip(g["z0"], meas, flow):
            if math.isnan(m):  # not back within the budget: the flow must not be back either
                ok = math.isnan(f) or f > budget
                errs.append(0.0 if ok else math.inf)
                checked += 1
                notes.append(f"{z:g}: never ({'beyond budget' if math.isnan(f) else f'{f:.0f}'})")
            elif not math.isnan(f) and f >= T.flow_min_steps:
                errs.append(abs(m - f) / f)
                checked += 1
                notes.append(f"{z:g}: {int(m)} ({f:.1f})")
            else:
                notes.append(f"{z:g}: {int(m)} ({f:.1f}, not compared)")
        cid = f"softplus_matches_flow[beta={beta:g}{where}]"
        statement = ("A softplus unit's return time equals that of the gradient flow of the same "
                     "loss (ODE solved by scipy) up to gradient descent's Euler lag.")
        expected = (f"relative difference <= {T.flow_rtol:g} where the flow takes >= "
                    f"{T.flow_min_steps:g} steps")
        if not errs:
            out.append(no_data(experiment=NAME, claim=cid, statement=statement, kind="math",
                               expected=expected,
                               why=f"no z0 whose flow time is >= {T.flow_min_steps:g} steps"))
            continue
        out.append(math_claim(
            experiment=NAME, claim=cid, statement=statement, measured=float(max(errs)), n=checked,
            expected=expected, ok=all(e <= T.flow_rtol for e in errs),
            detail="steps (flow) by z0: " + ", ".join(notes)))
    return out


EXPERIMENT = Experiment(
    name=NAME,
    title="Alive but on life support: "
          "how long a unit pushed far into the negative region takes to return.",
    summary=(
        "One neuron y = phi(w x + b) starting from w = 0, b = z0 < 0 fits y = 2x + 1 on [0, 1] "
        "by full-batch gradient descent, and the steps until its pre-activation is positive on "
        "some input are counted, per activation and z0 (deterministic: no seeds). Claimed: a "
        "relu unit never comes back; a leaky relu unit's return time equals its closed form; a "
        "softplus unit needs at least (e^(beta |z0|) - 1) / (beta lr K) steps, growing like "
        "e^|z0|, and its time matches the gradient flow of the same loss."
    ),
    command="actlab -m experiment=softplus_revival",
    params=Params,
    run=run,
    summarize=summarize,
    claims=claims,
    figures="experiments.figures.softplus_revival:figures",
    # one hand-trained neuron: only the activation (lr, steps are params)
    reads=("activation",),
)
