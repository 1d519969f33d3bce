"""Without an activation, depth buys nothing: any stack of linear layers is one linear layer.

Run the default grid:  actlab -m experiment=linear_collapse
One point:             actlab experiment=linear_collapse activation=identity model.depth=10

For phi(z) = a z the network is x -> W_eff x + b_eff with W_eff = W_out (a W_L) ... (a W_1) and
the biases folded through. Each run checks, in float64 and outside torch, that the folded map
(a numpy product of the weight arrays) reproduces the trained network's own forward pass, and
records the closed-form least-squares affine fit of the same data (numpy.linalg.lstsq) and every
net's full-training-set MSE (float64). Claims: no linear-activation net beats least squares, the
trained ones reach it, and relu and tanh networks of the same size go far below it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from actlab.claims import Claim, Kind, below, empirical, math_claim, no_data, over_seeds
from actlab.experiment import Experiment
from actlab.runner import build, build_task, train_seed_models
from actlab.trainer import train
from experiments.params import LinearCollapseParams as Params

NAME = "linear_collapse"
LINEAR = ("identity", "linear")
NONLINEAR = ("relu", "tanh")


@dataclass(frozen=True)
class Thresholds:
    # Folded map vs the network's forward, relative to max(1, max |output|), both float64: 20
    # products of 32-wide matrices accumulate a few hundred roundings of 1.1e-16, ~1e-13; 1e-10
    # leaves room and still catches any nonlinearity (an output activation, a bias left out).
    collapse_tol: float = 1e-10
    # The float64 MSE of a linear map can sit below the float64 least-squares optimum only by
    # rounding (~1e-15 relative); 1e-9 is far above that and far below any real gap.
    lstsq_tol: float = 1e-9
    # "Reaches the least-squares loss": the trained net's MSE within 5% above it (a gap a
    # longer run closes; far smaller than the gap to the nonlinear nets).
    reach_tol: float = 0.05
    # "Far below": a nonlinear net's MSE under half of the best linear fit's.
    far_below: float = 0.5


THRESHOLDS = Thresholds()


def fold_arrays(weights: list[np.ndarray], biases: list[np.ndarray],
                slope: float) -> tuple[np.ndarray, np.ndarray]:
    """(W_eff, b_eff) of layers y = a (W h + b) (a = slope for hidden layers, 1 for the output),
    multiplied out in numpy float64."""
    m = np.eye(weights[0].shape[1])
    c = np.zeros(weights[0].shape[1])
    for i, (w, b) in enumerate(zip(weights, biases)):
        a = slope if i < len(weights) - 1 else 1.0
        w, b = np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)
        m = a * (w @ m)
        c = a * (w @ c + b)
    return m, c


def fold(model, slope: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(W_eff, b_eff) of a network whose hidden activation is z -> slope * z, computed from its
    weight arrays in numpy float64 (not through the network's forward)."""
    ws = [layer.weight.detach().cpu().double().numpy() for layer in model.layers]
    bs = [layer.bias.detach().cpu().double().numpy() for layer in model.layers]
    m, c = fold_arrays(ws, bs, slope)
    return torch.from_numpy(m), torch.from_numpy(c)


def lstsq_loss(x, y) -> float:
    """MSE of the best affine fit, in closed form: numpy.linalg.lstsq in float64."""
    x = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64)
    y = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y, dtype=np.float64)
    xd = np.concatenate([x, np.ones((len(x), 1))], 1)
    sol = np.linalg.lstsq(xd, y, rcond=None)[0]
    return float(((xd @ sol - y) ** 2).mean())


def run(cfg, device):
    model, task = build(cfg, device)
    res = train(model, task, cfg.trainer, seed=cfg.seed,
                desc=f"{NAME} {cfg.activation.name} d={cfg.model.depth}")
    return _finish(cfg, model, task, res)


def run_seeds(cfg, device, seeds):
    task = build_task(cfg, device)
    desc = f"{NAME} {cfg.activation.name} d={cfg.model.depth} x{len(seeds)}"
    models, results = train_seed_models(cfg, task, seeds, desc=desc)
    return {s: _finish(cfg, m, task, r) for s, m, r in zip(seeds, models, results)}


def _finish(cfg, model, task, res):
    last = max(r["step"] for r in res.rows)
    x = task.x_train.detach().cpu().double().numpy()
    y = task.y_train.detach().cpu().double().numpy()
    # the trained net on the whole training set in float64 (the trainer's `loss` sees only the
    # probe batch, its first 512 examples, while least squares fits all of them)
    model = model.cpu().double()
    with torch.no_grad():
        f = model(torch.from_numpy(x)).numpy()
    res.rows += [{"step": last, "layer": None, "metric": "lstsq_loss", "value": lstsq_loss(x, y)},
                 {"step": last, "layer": None, "metric": "train_mse",
                  "value": float(((f - y) ** 2).mean())}]
    if cfg.activation.name in LINEAR:
        slope = cfg.activation.slope if cfg.activation.name == "linear" else 1.0
        w, b = fold(model, slope)
        g = x @ w.numpy().T + b.numpy()
        err = float(np.abs(f - g).max() / max(1.0, float(np.abs(f).max())))
        res.rows += [{"step": last, "layer": None, "metric": "collapse_error", "value": err},
                     {"step": last, "layer": None, "metric": "folded_loss",
                      "value": float(((g - y) ** 2).mean())}]
    return res


def summarize(df: pd.DataFrame, params: Params | None = None) -> pd.DataFrame:
    """One row per (activation, depth, seed): final probe loss, full-training-set MSE, the
    least-squares MSE, and for linear nets the collapse error and the folded map's MSE.
    A diverged (or failed) run keeps its row with `diverged` set and its losses nan."""
    metrics = ["loss", "train_mse", "lstsq_loss", "collapse_error", "folded_loss"]
    cols = ["activation", "depth", "seed", "status", "diverged", "slope", *metrics, "gap", "ratio"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    if "slope" not in df.columns:
        df = df.assign(slope=np.nan)
    # the slope is a key: linear nets of two slopes at one depth and seed are two rows, not one
    # picked by first() (NaN for activations without a slope: kept by dropna=False)
    keys = ["activation", "slope", "depth", "seed"]
    d = df[df["metric"].isin(metrics)]
    d = d[d["step"] == d.groupby("run_id")["step"].transform("max")]
    out = df.groupby(keys, dropna=False)[["status"]].first()
    out["diverged"] = out["status"] != "ok"
    wide = d.groupby([*keys, "metric"], dropna=False)["value"].first().unstack("metric")
    for m in metrics:
        out[m] = wide[m] if m in wide.columns else np.nan
    out.loc[out["diverged"], ["loss", "train_mse", "folded_loss"]] = np.nan
    out["ratio"] = out["train_mse"] / out["lstsq_loss"]
    out["gap"] = out["ratio"] - 1
    return out.reset_index()[cols]


def _by_slope(s: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(id suffix, rows) per slope; suffix "" when the rows have one slope (or none)."""
    if s.empty:
        return []
    if "slope" not in s.columns or s["slope"].nunique(dropna=False) <= 1:
        return [("", s)]
    return [(f",slope={v:g}", g) for v, g in s.groupby("slope", dropna=False, sort=False)]


def _reaches(act: str, tag: str, s: pd.DataFrame) -> list[Claim]:
    T = THRESHOLDS
    # a seed with a diverged depth has no worst gap (nan): it is left out, and counted
    worst = s.groupby("seed")["gap"].max().where(~s.groupby("seed")["diverged"].any())
    rule = below(T.reach_tol)
    by_depth = s.groupby("depth")["gap"].mean()
    return [empirical(
        experiment=NAME, claim=f"reaches_lstsq[{act}{tag}]",
        statement=f"Trained {act} nets of every depth reach the least-squares loss.",
        rule=rule, evidence=over_seeds(worst.values, rule),
        expected=f"per seed, worst depth's MSE / lstsq - 1 {rule}",
        detail="per seed the worst gap over depths (full-training-set float64 MSE); a seed with a "
               "diverged depth is left out; mean gap by depth: " +
               ", ".join(f"{int(d)}: {g:.3g}" for d, g in by_depth.items()))]


def claims(summary: pd.DataFrame, params: Params | None = None) -> list[Claim]:
    T = THRESHOLDS
    out: list[Claim] = []
    lin = summary[summary["activation"].isin(LINEAR)]
    ok = lin[~lin["diverged"]]
    n_div = int(lin["diverged"].sum())
    st_c = ("A linear-activation net of any depth equals the product of its weight matrices with "
            "the biases folded in.")
    st_n = "No linear-activation net beats the least-squares affine fit of its training data."
    if ok.empty:
        for cid, st in (("collapse", st_c), ("never_below_lstsq", st_n)):
            out.append(no_data(experiment=NAME, claim=cid, statement=st, kind=Kind.MATH,
                               why="no finished identity/linear runs"))
    else:
        depths = sorted(ok["depth"].unique().astype(int).tolist())
        worst = float(ok["collapse_error"].max(skipna=False))
        out.append(math_claim(
            experiment=NAME, claim="collapse", statement=st_c, measured=worst,
            expected=f"<= {T.collapse_tol:g} (relative, max over inputs and nets)",
            ok=worst <= T.collapse_tol, n=len(ok),
            rule="the network's float64 forward vs x W_eff^T + b_eff, W_eff a numpy float64 "
                 "product of its weight arrays",
            detail=f"{len(ok)} nets, depths {depths}; {n_div} diverged net(s) left out (non-finite "
                   "weights: the identity is about finite ones)"))
        # the network's own float64 forward over the training set, not its fold: the fold is an
        # affine map by construction, so its MSE can never sit below least squares and a check of
        # it could not fail; the network's can, if it is not the linear map it is said to be
        below_ = float((ok["train_mse"] / ok["lstsq_loss"] - 1).min(skipna=False))
        folded = float((ok["folded_loss"] / ok["lstsq_loss"] - 1).min())
        out.append(math_claim(
            experiment=NAME, claim="never_below_lstsq", statement=st_n, measured=below_,
            expected=f">= -{T.lstsq_tol:g} (the network's float64 training MSE / lstsq MSE - 1, "
                     "min over nets)",
            ok=below_ >= -T.lstsq_tol, n=len(ok),
            rule="reference: numpy.linalg.lstsq on [x, 1] in float64, over the whole training set",
            detail=f"{len(ok)} nets; {n_div} diverged net(s) left out; the folded maps' smallest "
                   f"MSE / lstsq - 1 {folded:.3g}"))
    # reaches least squares: per seed the worst depth
    for act in LINEAR:
        for tag, s in _by_slope(summary[summary["activation"] == act]):
            out += _reaches(act, tag, s)
    for act in NONLINEAR:
        s = summary[(summary["activation"] == act) & (summary["depth"] >= 2)]
        if s.empty:
            if act in set(summary["activation"]):
                out.append(no_data(experiment=NAME, claim=f"nonlinear_below[{act}]",
                                   statement=f"{act} nets of depth >= 2 go far below "
                                             "least squares.",
                                   kind=Kind.EMPIRICAL, why="no runs of depth >= 2"))
            continue
        worst = s.groupby("seed")["ratio"].max().where(~s.groupby("seed")["diverged"].any())
        rule = below(T.far_below)
        by_depth = s.groupby("depth")["ratio"].mean()
        out.append(empirical(
            experiment=NAME, claim=f"nonlinear_below[{act}]",
            statement=f"{act} nets of the same size (depth >= 2) go far below "
                      "the least-squares loss.",
            rule=rule, evidence=over_seeds(worst.values, rule),
            expected=f"per seed, worst depth's MSE / lstsq {rule}",
            detail="per seed the worst ratio over depths >= 2; a seed with a diverged depth is "
                   "left out; mean ratio by depth: "
                   + ", ".join(f"{int(d)}: {g:.3g}" for d, g in by_depth.items())))
    return out


EXPERIMENT = Experiment(
    name=NAME,
    title="Without an activation, depth buys nothing: "
          "any stack of linear layers is one linear layer.",
    summary=(
        "Linear-activation MLPs of depth 1 to 20 and relu and tanh nets of the same size are "
        "trained on a nonlinear target; each run folds a linear-activation net into one affine "
        "map in float64 outside torch and records the closed-form least-squares affine fit of "
        "the same data. Claimed: the folded map reproduces the network's own forward pass (any "
        "stack of linear layers is one linear layer), no linear-activation net beats least "
        "squares, the trained ones reach it, and relu and tanh nets go far below it."
    ),
    command="actlab -m experiment=linear_collapse",
    params=Params,
    run=run,
    run_seeds=run_seeds,
    summarize=summarize,
    claims=claims,
    figures="experiments.figures.linear_collapse:figures",
    # runner.build/train_seed_models and train: all four
    reads=("activation", "model", "task", "trainer"),
)
