"""How ReLU units die during training, and whether anything brings them back.

Run the default grid:  actlab -m experiment=dead_relu
One cause:             actlab experiment=dead_relu activation=relu params.cause=bias

A unit is dead on the probe set (here: the whole training set) when phi'(z) = 0 for every input,
near-dead when max |phi'(z)| < 1e-3 of the activation's maximum slope (see actlab.probes). Three
causes, each swept inside one run (`params.cause`): `lr` (large learning-rate steps), `bias` (a
negative shift added to every hidden bias at initialization) and `narrow` (unlucky initialization
of narrow layers). With SGD on the full training set a dead relu unit gets exactly zero gradient,
so its incoming weights never change and it cannot revive; we measure both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from actlab.batched import train_many
from actlab.claims import NOT_REPRODUCED, PARTLY, REPRODUCED, Claim, mean_ci, no_data
from actlab.plotting import colors, plt, use_style
from actlab.runner import build_model, build_task
from actlab.trainer import TrainResult, train

NAME = "dead_relu"
CAUSES = {"lr": "trainer.lr", "bias": "params.bias_shift", "narrow": "model.width"}


@dataclass
class Params:
    cause: str = "lr"  # lr | bias | narrow: which setting this run sweeps
    lrs: list[float] = field(default_factory=lambda: [0.01, 0.03, 0.1, 0.2])
    bias_shifts: list[float] = field(default_factory=lambda: [0.0, -0.5, -1.0, -2.0])
    widths: list[int] = field(default_factory=lambda: [2, 3, 4, 8])
    bias_shift: float = 0.0  # added to every hidden bias at initialization
    near_dead_low: float = 0.05  # "stays low" for leaky_relu's near-dead fraction


def _unit_tracker():
    """An on_log hook: per hidden layer, which units are dead now, how many were dead at an
    earlier log step and are alive now (revived), and how far the incoming weights of units that
    stayed dead moved since the previous log step."""
    state: dict = {}

    def on_log(step: int, model) -> list[dict]:
        rows = []
        record: list = []
        with torch.no_grad():
            model(state["x"], record=record)
        for i, (z, _) in enumerate(record[:-1]):
            layer = i + 1
            dead = (model.act.deriv(z) == 0).all(0)
            w = torch.cat([model.layers[i].weight, model.layers[i].bias[:, None]], 1).detach().clone()
            prev = state.get(layer)
            revived, moved = 0, 0.0
            if prev is not None:
                was_dead, w_prev, ever_dead = prev
                revived = int((ever_dead & ~dead).sum())
                stayed = was_dead & dead
                if stayed.any():
                    moved = float((w[stayed] - w_prev[stayed]).abs().max())
                ever_dead = ever_dead | dead
            else:
                ever_dead = dead
            state[layer] = (dead, w, ever_dead)
            rows += [{"layer": layer, "metric": "revived_units", "value": revived},
                     {"layer": layer, "metric": "dead_weight_change", "value": moved}]
        return rows

    return on_log, state


def _values(p) -> list:
    if p.cause not in CAUSES:
        from actlab.config import ConfigError

        raise ConfigError(f"params.cause={p.cause!r}: unknown; valid choices: {', '.join(CAUSES)}")
    return {"lr": p.lrs, "bias": p.bias_shifts, "narrow": p.widths}[p.cause]


def _model(sub, task, seed: int):
    model = build_model(sub, task, seed)
    with torch.no_grad():
        for layer in model.layers[:-1]:
            layer.bias += sub.params.bias_shift
    return model


def run(cfg, device) -> TrainResult:
    return run_seeds(cfg, device, [cfg.seed], batched=False)[cfg.seed]


def run_seeds(cfg, device, seeds, batched: bool = True) -> dict[int, TrainResult]:
    """Each setting of the swept cause, for every seed: batched (train_many) or one by one."""
    p = cfg.params
    out = {s: TrainResult() for s in seeds}
    for v in _values(p):
        sub = OmegaConf.merge(cfg, OmegaConf.from_dotlist([f"{CAUSES[p.cause]}={v}"]))
        task = build_task(sub, device)
        models = [_model(sub, task, s) for s in seeds]
        trackers = [_unit_tracker() for _ in seeds]
        for _, state in trackers:
            state["x"] = task.x_train
        desc = f"{NAME} {cfg.activation.name} {p.cause}={v}"
        if batched:
            results = train_many(models, task, sub.trainer, seeds, desc=f"{desc} x{len(seeds)}",
                                 on_log=[hook for hook, _ in trackers])
        else:
            results = [train(m, task, sub.trainer, seed=s, desc=desc, on_log=hook)
                       for m, s, (hook, _) in zip(models, seeds, trackers)]
        extra = {"cause": p.cause, "cause_value": float(v), "lr": sub.trainer.lr,
                 "width": sub.model.width, "bias_shift": sub.params.bias_shift}
        for s, r in zip(seeds, results):
            out[s].rows += [{**row, **extra, "status_inner": r.status} for row in r.rows]
    return out


def _final(df: pd.DataFrame, metric: str, layer_agg: str = "mean") -> pd.DataFrame:
    """Per training: the metric at its last log step, averaged over hidden layers. Diverged
    trainings are left out (their last values describe the blow-up, not the net)."""
    keys = ["run_id", "activation", "slope", "cause", "cause_value", "seed"]
    d = df[(df["metric"] == metric) & (df["status_inner"] == "ok")]
    d = d[d["step"] == d.groupby(keys, dropna=False)["step"].transform("max")]
    return d.groupby(keys, dropna=False)["value"].agg(layer_agg).reset_index()


def _label(row) -> str:
    return row["activation"] if pd.isna(row["slope"]) else f"{row['activation']} {row['slope']:g}"


def claims(df: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    p = p or Params()
    out: list[Claim] = []
    dead = _final(df, "dead_fraction")
    relu = dead[dead["activation"] == "relu"]
    for cause, what in (("lr", "learning rate"), ("bias", "negative bias shift")):
        r = relu[relu["cause"] == cause]
        statement = f"ReLU's dead fraction rises with the {what}."
        if r.empty:
            out.append(no_data(NAME, f"dead_rises[{cause}]", statement, "empirical", "rising", "no runs"))
            continue
        # order by strength of the cause: larger lr, more negative shift
        key = r["cause_value"] if cause == "lr" else -r["cause_value"]
        r = r.assign(strength=key)
        means = r.groupby("strength")["value"].mean()
        lo_v = r[r["strength"] == r["strength"].min()]["value"]
        hi_v = r[r["strength"] == r["strength"].max()]["value"]
        diff = hi_v.mean() - lo_v.mean()
        m, lo, hi = mean_ci(hi_v.values - lo_v.values) if len(hi_v) == len(lo_v) else (diff, np.nan, np.nan)
        monotone = bool(np.all(np.diff(means.values) >= -0.02))
        verdict = REPRODUCED if (lo > 0 and monotone) else PARTLY if diff > 0 else NOT_REPRODUCED
        n_div = df[(df["activation"] == "relu") & (df["cause"] == cause)
                   & (df["status_inner"] != "ok")].groupby(["run_id", "cause_value"]).ngroups
        out.append(Claim(NAME, f"dead_rises[{cause}]", statement, "empirical", m,
                         "> 0 (strongest minus weakest)", verdict, lo, hi,
                         detail=f"{n_div} diverged trainings left out; mean dead fraction (final, over hidden layers) by " + what + ": "
                                + ", ".join(f"{(k if cause == 'lr' else -k):g}: {v:.3f}" for k, v in means.items())))
    # Dead first-layer relu units never revive: with the inputs fixed and the gradient exactly zero,
    # nothing can move them. Deeper units see inputs that keep changing, so they can come back.
    rev = df[(df["activation"] == "relu") & (df["metric"] == "revived_units")]
    mov = df[(df["activation"] == "relu") & (df["metric"] == "dead_weight_change")]
    statement = ("A first-layer ReLU unit that is dead on the whole (full-batch) training set never "
                 "revives: its incoming weights stop changing.")
    if rev.empty:
        out.append(no_data(NAME, "relu_never_revives[layer=1]", statement, "math", "0", "no relu runs"))
    else:
        r1, m1 = rev[rev["layer"] == 1], mov[mov["layer"] == 1]
        n_rev, max_move = int(r1["value"].max()), float(m1["value"].max())
        out.append(Claim(NAME, "relu_never_revives[layer=1]", statement, "math", float(n_rev),
                         "0 revived; 0 weight change", "pass" if n_rev == 0 and max_move == 0 else "fail",
                         detail=f"max revived first-layer units {n_rev}; max |change| of a dead unit's "
                                f"incoming weights between log steps {max_move:g}; {r1['run_id'].nunique()} runs"))
        deep = rev[rev["layer"] > 1]
        ever = deep.groupby(["run_id", "cause", "cause_value", "layer"])["value"].max()
        out.append(Claim(NAME, "relu_deep_units_revive",
                         "ReLU units in deeper layers can revive, because the layers below them keep changing.",
                         "empirical", float((ever > 0).mean()) if len(ever) else np.nan,
                         "reported (fraction of layer-trainings with a revival)", "reported",
                         detail=f"max units revived in one layer at one log step: {int(deep['value'].max()) if len(deep) else 0}"))
    # leaky_relu: never dead; near-dead stays low.
    leaky = df[(df["activation"] == "leaky_relu")]
    statement = "Leaky ReLU has no dead units and its near-dead fraction stays low."
    if leaky.empty:
        out.append(no_data(NAME, "leaky_alive", statement, "empirical", "0 dead", "no leaky runs"))
    else:
        nd = leaky[leaky["metric"] == "dead_fraction"]["value"].max()
        near = _final(leaky, "near_dead_fraction")
        m, lo, hi = mean_ci(near["value"])
        ok = nd == 0 and near["value"].max() < p.near_dead_low
        out.append(Claim(NAME, "leaky_alive", statement, "empirical", m,
                         f"dead = 0; near-dead < {p.near_dead_low:g}",
                         REPRODUCED if ok else PARTLY if nd == 0 else NOT_REPRODUCED, lo, hi,
                         detail=f"max dead fraction {nd:g}; final near-dead fraction max "
                                f"{near['value'].max():.3f} over {len(near)} trainings"))
    # Effect on the final loss: relu vs leaky at the strongest cause.
    loss = _final(df, "loss")
    for cause in ("lr", "bias", "narrow"):
        d = loss[loss["cause"] == cause]
        if d.empty:
            continue
        strongest = d["cause_value"].max() if cause == "lr" else d["cause_value"].min()
        d = d[d["cause_value"] == strongest]
        parts = []
        for (act, slope), g in d.groupby(["activation", "slope"], dropna=False):
            m, lo, hi = mean_ci(g["value"])
            parts.append(f"{act}{'' if pd.isna(slope) else f' {slope:g}'}: {m:.3g} [{lo:.3g}, {hi:.3g}]")
        r_ = d[d["activation"] == "relu"]["value"]
        out.append(Claim(NAME, f"final_loss[{cause}={strongest:g}]",
                         "Effect of dying on the final training loss (reported, no threshold).",
                         "empirical", float(r_.mean()) if len(r_) else np.nan, "reported", "reported",
                         detail="final loss mean [95% CI]: " + "; ".join(parts)))
    return out


def figures(df: pd.DataFrame) -> dict:
    use_style()
    dead = _final(df, "dead_fraction")
    near = _final(df, "near_dead_fraction")
    if dead.empty:
        return {}
    dead["label"] = dead.apply(_label, axis=1)
    near["label"] = near.apply(_label, axis=1)
    labels = sorted(dead["label"].unique(), key=lambda s: (not s.startswith("relu"), s))
    col = colors(labels)
    causes = [c for c in CAUSES if c in set(dead["cause"])]
    fig, axes = plt.subplots(2, len(causes), figsize=(3.4 * len(causes), 5.6), squeeze=False)
    xlabel = {"lr": "learning rate", "bias": "bias shift at init", "narrow": "width"}
    for j, cause in enumerate(causes):
        for i, (tab, ylabel) in enumerate(((dead, "dead fraction (final)"), (near, "near-dead fraction (final)"))):
            ax = axes[i][j]
            for lab in labels:
                g = tab[(tab["cause"] == cause) & (tab["label"] == lab)]
                if g.empty:
                    continue
                s = g.groupby("cause_value")["value"].agg(["mean", "sem"]).fillna(0)
                ax.errorbar(s.index, s["mean"], yerr=1.96 * s["sem"], marker="o", capsize=2,
                            color=col[lab], label=lab)
            ax.set_xlabel(xlabel[cause])
            ax.set_ylabel(ylabel)
            ax.set_ylim(-0.03, 1.03)
            if cause == "lr":
                ax.set_xscale("log")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Dying units: three causes (mean over seeds, 95% CI)")
    fig.tight_layout()
    return {"dead_relu": fig}
