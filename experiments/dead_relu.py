"""How ReLU units die during training, and whether anything brings them back.

Run the default grid:  actlab -m experiment=dead_relu
One cause:             actlab experiment=dead_relu activation=relu params.cause=bias

A unit is dead on the probe set (here: the whole training set) when phi'(z) = 0 for every input,
near-dead when max |phi'(z)| < 1e-3 of the activation's maximum slope (see actlab.probes). Three
causes, each swept inside one run (`params.cause`): `lr` (large learning-rate steps), `bias` (a
negative shift added at initialization to the biases of the first `params.shift_layers` hidden
layers; 0: all) and `narrow` (unlucky initialization of narrow layers). With SGD on the full
training set a dead relu unit gets exactly zero gradient,
so its incoming weights never change and, in the first layer (whose inputs are fixed), it cannot
revive; deeper units see inputs that keep changing.

One definition for every activation: a unit is *off* when its pre-activation is <= 0 on every
training input (for relu, off = dead; for leaky relu, the units that would be dead if they were
relu). At every log step the run records, per hidden layer, the off fraction, how many units were
off at an earlier log step, how many of those came back (pre-activation > 0 on some input at a
later log step), and how far the incoming weights of units that stayed off moved. So leaky's
off units can be compared with relu's dead ones: do they still move, do they come back?
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from actlab.batched import train_many
from actlab.claims import (
    Claim,
    above,
    empirical,
    math_claim,
    no_data,
    over_seeds,
    paired,
)
from actlab.experiment import Experiment
from actlab.runner import build_model, build_task
from actlab.trainer import RunResult, train
from experiments.params import DeadReluParams as Params

NAME = "dead_relu"
CAUSES = {"lr": "trainer.lr", "bias": "params.bias_shift", "narrow": "model.width"}
# the direction in which each cause is "stronger": larger lr, more negative shift, narrower layer
STRENGTH = {"lr": 1.0, "bias": -1.0, "narrow": -1.0}
WHAT = {"lr": "learning rate", "bias": "negative bias shift", "narrow": "narrowness"}
# rows the unit tracker writes per hidden layer and log step
TRACKED = ("off_fraction", "ever_off_units", "came_back_units", "stayed_off_units",
           "off_weight_change", "off_weight_rel_change")


@dataclass(frozen=True)
class Thresholds:
    # A setting is compared only where most seeds trained without diverging: at lr = 0.2 every
    # relu training blows up, and a difference with no seeds left says nothing. The strongest
    # setting used is the strongest at which more than this fraction of seeds kept finite values.
    min_finite_share: float = 0.5


THRESHOLDS = Thresholds()


# ---------------------------------------------------------------------------------------------
# Run


def _unit_tracker():
    """An on_log hook: per hidden layer, which units are off (pre-activation <= 0 on every input)
    now, how many were off at an earlier log step (`ever_off_units`), how many of those have been
    on again at a later log step (`came_back_units`, cumulative), how many stayed off since the
    previous log step, and how far their incoming weights (and bias) moved: the largest absolute
    change and the mean change relative to the weight vector's norm. Non-finite weights (a
    diverging training) give NaN rows and leave the state alone."""
    state: dict = {}

    def on_log(step: int, model) -> list[dict]:
        rows = []
        record: list = []
        with torch.no_grad():
            model(state["x"], record=record)
        for i, (z, _) in enumerate(record[:-1]):
            layer = i + 1
            lin = model.layers[i]
            w = torch.cat([lin.weight, lin.bias[:, None]], 1).detach().clone()
            if not (bool(torch.isfinite(z).all()) and bool(torch.isfinite(w).all())):
                rows += [{"layer": layer, "metric": m, "value": math.nan} for m in TRACKED]
                continue
            off = (z <= 0).all(0)
            prev = state.get(layer)
            move, rel = torch.zeros((), dtype=w.dtype), torch.full((), math.nan, dtype=w.dtype)
            if prev is None:
                ever = back = stayed = torch.zeros_like(off)
            else:
                prev_off, w_prev, ever, back = prev
                ever = ever | prev_off  # off at some earlier log step
                back = back | (ever & ~off)
                stayed = prev_off & off
                if bool(stayed.any()):
                    d = w[stayed] - w_prev[stayed]
                    move = d.abs().max()
                    rel = (d.norm(dim=1) / w_prev[stayed].norm(dim=1).clamp_min(1e-30)).mean()
            state[layer] = (off, w, ever, back)
            values = torch.stack([off.to(w.dtype).mean(), ever.sum().to(w.dtype),
                                  back.sum().to(w.dtype), stayed.sum().to(w.dtype), move,
                                  rel]).to(torch.float64).tolist()
            rows += [{"layer": layer, "metric": m, "value": v} for m, v in zip(TRACKED, values)]
        return rows

    return on_log, state


def _values(p) -> list:
    if p.shift_layers < 0:
        from actlab.config import ConfigError

        raise ConfigError(f"params.shift_layers={p.shift_layers}: must be an integer >= 0 (0: "
                          "every hidden layer)")
    return {"lr": p.lrs, "bias": p.bias_shifts, "narrow": p.widths}[p.cause]


def _model(sub, task, seed: int):
    model = build_model(sub, task, seed)
    with torch.no_grad():
        hidden = model.layers[:-1]
        for layer in hidden[: sub.params.shift_layers] if sub.params.shift_layers > 0 else hidden:
            layer.bias += sub.params.bias_shift
    return model


def run(cfg, device) -> RunResult:
    return run_seeds(cfg, device, [cfg.seed], batched=False)[cfg.seed]


def run_seeds(cfg, device, seeds, batched: bool = True) -> dict[int, RunResult]:
    """Each setting of the swept cause, for every seed: batched (train_many) or one by one."""
    p = cfg.params
    out = {s: RunResult() for s in seeds}
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


# ---------------------------------------------------------------------------------------------
# Summary: one row per training (seed x activation x slope x cause x setting)

KEYS = ["activation", "slope", "cause", "cause_value", "seed"]
SUMMARY_VALUES = ["dead_fraction", "near_dead_fraction", "off_fraction", "loss", "l1_ever_off",
                  "l1_came_back", "deep_ever_off", "deep_came_back", "l1_stayed_off",
                  "l1_off_move_max", "l1_off_rel_move", "deep_off_rel_move"]


def _label(activation, slope) -> str:
    return activation if pd.isna(slope) else f"{activation} {slope:g}"


def summarize(df: pd.DataFrame, params: Params | None = None) -> pd.DataFrame:
    """One row per seed per condition (activation, slope, cause, cause_value), from each
    training's last log step: dead / near-dead / off fractions (mean over hidden layers), the
    training loss, and the tracker's layer-1 and deeper-layer counts (units ever off with a
    later log step to come back in, units that came back), the number of layer-1 unit-intervals
    that stayed off and how far their weights moved. A training that diverged keeps its row with
    `diverged` True and every value NaN (its last values describe the blow-up, not the net)."""
    cols = ["label", *KEYS, "lr", "width", "bias_shift", "optimizer", "diverged", *SUMMARY_VALUES]
    if df.empty or "cause" not in df.columns:
        return pd.DataFrame(columns=cols)
    d = df.copy()
    if "optimizer" not in d.columns:
        # a table from before the optimizer was recorded: the trainer's default
        d["optimizer"] = "sgd"
    if "slope" not in d.columns:
        d["slope"] = np.nan
    d["slope"] = pd.to_numeric(d["slope"], errors="coerce")
    d.loc[d["activation"] != "leaky_relu", "slope"] = np.nan
    # one training: a run (activation, slope, cause, seed) x a setting
    tk = ["run_id", "cause_value"]
    bad = d["status_inner"].fillna("ok").ne("ok")
    if "status" in d.columns:
        bad |= d["status"].fillna("ok").ne("ok")
    d["_bad"] = bad
    d["_last"] = d.groupby(tk)["step"].transform("max")
    g = d.groupby(tk)
    base = g.agg(activation=("activation", "first"), slope=("slope", "first"),
                 cause=("cause", "first"), seed=("seed", "first"), lr=("lr", "first"),
                 width=("width", "first"), bias_shift=("bias_shift", "first"),
                 optimizer=("optimizer", "first"), diverged=("_bad", "any")).reset_index()
    last = d[d["step"] == d["_last"]]
    layer = last["layer"].astype(float)

    def final(metric: str, where=None, how: str = "mean", frame=None, lay=None) -> pd.Series:
        f = last if frame is None else frame
        lay_ = layer if lay is None else lay
        m = f["metric"] == metric
        if where is not None:
            m &= where(lay_)
        return f[m].groupby(tk)["value"].agg(how).rename(metric)

    lay_all = d["layer"].astype(float)
    parts = [
        final("dead_fraction"), final("near_dead_fraction"), final("off_fraction"),
        final("loss"),
        final("ever_off_units", lambda x: x == 1).rename("l1_ever_off"),
        final("came_back_units", lambda x: x == 1).rename("l1_came_back"),
        final("ever_off_units", lambda x: x > 1, "sum").rename("deep_ever_off"),
        final("came_back_units", lambda x: x > 1, "sum").rename("deep_came_back"),
        final("stayed_off_units", lambda x: x == 1, "sum", d, lay_all).rename("l1_stayed_off"),
        final("off_weight_change", lambda x: x == 1, "max", d, lay_all).rename("l1_off_move_max"),
        final("off_weight_rel_change",
              lambda x: x == 1, "mean", d, lay_all).rename("l1_off_rel_move"),
        final("off_weight_rel_change",
              lambda x: x > 1, "mean", d, lay_all).rename("deep_off_rel_move"),
    ]
    out = base.set_index(tk).join(parts).reset_index()
    for c in SUMMARY_VALUES:
        if c not in out.columns:
            out[c] = np.nan
    out.loc[out["diverged"], SUMMARY_VALUES] = np.nan
    out["label"] = [_label(a, s) for a, s in zip(out["activation"], out["slope"])]
    out["seed"] = out["seed"].astype(int)
    # The claims pair trainings by seed within (label, cause, setting): two trainings there (runs
    # that differ in a setting this summary does not key on: depth, another width or lr, ...) would
    # be paired by position. Refused with one line instead.
    dup = out[out.duplicated(KEYS, keep=False)]
    if len(dup):
        r = dup.iloc[0]
        raise ValueError(f"{NAME}: {len(dup)} trainings share seed and condition (e.g. "
                         f"{r['label']}, {r['cause']}={r['cause_value']:g}, seed {int(r['seed'])}, "
                         f"runs {sorted(dup['run_id'].astype(str).unique())[:3]}): they differ in "
                         "a setting the claims do not key on; "
                         "collect each setting into its own out_dir")
    return out[cols].sort_values(["label", "cause", "cause_value", "seed"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Claims


def _strongest(s: pd.DataFrame, cause: str, labels: list[str]) -> tuple[float | None, str]:
    """The strongest setting of `cause` at which, for every activation in `labels`, more than
    THRESHOLDS.min_finite_share of the seeds trained without diverging; and a note on the
    stronger settings skipped."""
    c = s[(s["cause"] == cause) & s["label"].isin(labels)]
    if c.empty:
        return None, ""
    skipped = []
    for v in sorted(c["cause_value"].unique(), key=lambda v: -STRENGTH[cause] * v):
        at = c[c["cause_value"] == v]
        shares = [(~at[at["label"] == lab]["diverged"]).mean() if (at["label"] == lab).any()
                  else 0.0
                  for lab in labels]
        if min(shares) > THRESHOLDS.min_finite_share:
            note = (f"skipped {cause} = {', '.join(skipped)} (most seeds diverged)" if skipped
                    else "")
            return float(v), note
        skipped.append(f"{v:g}")
    return None, f"every setting of {cause} diverged in most seeds"


def _weakest(s: pd.DataFrame, cause: str) -> float | None:
    c = s[s["cause"] == cause]
    return None if c.empty else float(min(c["cause_value"].unique(),
                                          key=lambda v: STRENGTH[cause] * v))


def _n_diverged(s: pd.DataFrame) -> str:
    n = int(s["diverged"].sum())
    return f"{n} diverged training(s) left out" if n else ""


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _ratio(num: pd.Series, den: pd.Series) -> float:
    n, d = float(num.sum()), float(den.sum())
    return n / d if d > 0 else math.nan


def claims(summary: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    s = summary
    out: list[Claim] = []
    relu = s[s["label"] == "relu"]

    # -- the dead fraction rises with the cause (relu), strongest minus weakest, paired by seed
    for cause in [c for c in CAUSES if c in set(relu["cause"])]:
        cid = f"dead_rises[cause={cause}]"
        statement = (f"ReLU's final dead fraction is higher at the strongest {WHAT[cause]} "
                     "than at the weakest.")
        r = relu[relu["cause"] == cause]
        hi, skipped = _strongest(relu, cause, ["relu"])
        lo = _weakest(relu, cause)
        if r.empty or hi is None or lo is None or hi == lo:
            out.append(no_data(experiment=NAME, claim=cid, statement=statement, kind="empirical",
                               expected="> 0",
                               why=skipped or "no relu runs with two settings of this cause"))
            continue
        diff = paired(r, "dead_fraction", "cause_value", hi, lo)
        rule = above(0.0)
        means = r.groupby("cause_value")["dead_fraction"].mean()
        out.append(empirical(
            experiment=NAME, claim=cid, statement=statement, rule=rule,
            evidence=over_seeds(diff, rule),
            detail=_join(f"{cause} {hi:g} minus {lo:g}, paired by seed", skipped, _n_diverged(r),
                         "mean dead fraction by setting: "
                         + ", ".join(f"{k:g}: {v:.3f}" for k, v in means.items()))))

    # -- first-layer dead relu units never come back (math: zero gradient, fixed inputs)
    cid = "relu_never_revives[layer=1]"
    statement = ("A first-layer ReLU unit that is dead on the whole (full-batch) training set "
                 "never revives: its incoming weights stop changing.")
    ok_relu = relu[~relu["diverged"]]
    # The theorem needs plain SGD: Adam (or any momentum) keeps moving a weight whose gradient has
    # become zero, so a dead unit may move and revive there without anything being wrong.
    opt = (ok_relu["optimizer"].fillna("sgd") if "optimizer" in ok_relu.columns
           else pd.Series("sgd", ok_relu.index))
    sgd = ok_relu[opt == "sgd"]
    other = sorted(set(opt[opt != "sgd"]))
    not_sgd = (f"{int((opt != 'sgd').sum())} training(s) with optimizer {', '.join(other)} "
               "left out (the theorem is for plain SGD: momentum moves a weight after its "
               "gradient is zero)"
               if other else "")
    checked = int(sgd["l1_ever_off"].sum()) if len(sgd) else 0
    if checked == 0:
        out.append(no_data(experiment=NAME, claim=cid, statement=statement, kind="math",
                           expected="0 came back; 0 weight change",
                           why=_join("no first-layer relu unit trained with plain SGD was dead at "
                                     "a log step before the last", not_sgd),
                           # no SGD training at all: the theorem does not apply
                           applies=len(sgd) > 0))
    else:
        back = float(sgd["l1_came_back"].max())
        move = float(sgd["l1_off_move_max"].max())
        out.append(math_claim(
            experiment=NAME, claim=cid, statement=statement, measured=back, n=checked,
            expected="0 came back; 0 change (exact: phi'(z) = 0 on every input, so dL/dW = 0)",
            ok=back == 0 and move == 0,
            detail=_join(f"{checked} first-layer unit(s) dead at a log step with a later one to "
                         f"revive in, over {len(sgd)} trainings; most units back in one training "
                         f"{back:g}; largest |change| of a dead unit's incoming weights between "
                         f"log steps {move:g} over {int(sgd['l1_stayed_off'].sum())} "
                         "unit-intervals", _n_diverged(relu), not_sgd)))

    # -- deeper relu units do come back: per seed, the share of dead deep units that came back
    cid = "relu_deep_units_revive"
    statement = ("ReLU units in deeper layers can revive, because the layers below them keep "
                 "changing: a positive share of the deep units that were dead at a log step is "
                 "active again later.")
    rates = (ok_relu.groupby("seed").apply(lambda g: _ratio(g["deep_came_back"],
                                                            g["deep_ever_off"]),
                                           include_groups=False)
             if len(ok_relu) else pd.Series(dtype=float))
    if rates.empty:
        out.append(no_data(experiment=NAME, claim=cid, statement=statement, kind="empirical",
                           expected="> 0", why="no relu runs"))
    else:
        rule = above(0.0)
        out.append(empirical(
            experiment=NAME, claim=cid, statement=statement, rule=rule,
            evidence=over_seeds(rates, rule),
            detail=_join("per seed: units that came back / units dead at an earlier log step, "
                         "layers >= 2, pooled over causes and settings within the seed (a seed "
                         "without dead deep units has no rate)", _n_diverged(relu),
                         f"{int(ok_relu['deep_came_back'].sum())} of "
                         f"{int(ok_relu['deep_ever_off'].sum())} "
                         "deep dead units came back in all")))

    # -- leaky relu, per slope: its off units come back, and fewer of them end off
    leaky = s[s["activation"] == "leaky_relu"]
    causes = [c for c in CAUSES if c in set(s["cause"])]
    for slope in sorted(leaky["slope"].dropna().unique()):
        lab = _label("leaky_relu", slope)
        lk = leaky[leaky["label"] == lab]
        ok_lk = lk[~lk["diverged"]]
        cid = f"leaky_comes_back[slope={slope:g}]"
        statement = (f"Leaky ReLU (slope {slope:g}) units whose pre-activation is <= 0 on every "
                     "training input (dead, were they relu) still get a gradient and come back in "
                     "the first layer, where dead relu units never do.")
        rates = (ok_lk.groupby("seed").apply(lambda g: _ratio(g["l1_came_back"], g["l1_ever_off"]),
                                             include_groups=False)
                 if len(ok_lk) else pd.Series(dtype=float))
        rule = above(0.0)
        if rates.empty:
            out.append(no_data(experiment=NAME, claim=cid, statement=statement, kind="empirical",
                               expected=str(rule), why="no leaky runs at this slope"))
        else:
            relu_move = float(ok_relu["l1_off_rel_move"].max()) if len(ok_relu) else math.nan
            out.append(empirical(
                experiment=NAME, claim=cid, statement=statement, rule=rule,
                evidence=over_seeds(rates, rule),
                detail=_join("per seed: first-layer units back on / units off at an earlier log "
                             "step, pooled over causes and settings within the seed (a seed with "
                             "no off unit has no rate)",
                             _n_diverged(lk),
                             f"{int(ok_lk['l1_came_back'].sum())} of "
                             f"{int(ok_lk['l1_ever_off'].sum())} off units came back in all; their "
                             f"incoming weights moved by {ok_lk['l1_off_rel_move'].mean():.3g} of "
                             "their norm per log interval on average (relu's dead first-layer "
                             f"units: largest {relu_move:.3g})")))

        # fewer leaky units end off than relu units end dead, at each cause's strongest setting
        cid = f"leaky_fewer_off[slope={slope:g}]"
        statement = (f"At each cause's strongest setting, fewer leaky ReLU (slope {slope:g}) units "
                     "end off on every training input than ReLU units end dead (mean over the "
                     "causes, per seed).")
        per_cause, notes = [], []
        for cause in causes:
            hi, skipped = _strongest(s, cause, ["relu", lab])
            if hi is None:
                notes.append(f"{cause}: {skipped or 'no data'}")
                continue
            at = s[(s["cause"] == cause) & (s["cause_value"] == hi)]
            diff = paired(at, "off_fraction", "label", "relu", lab)
            per_cause.append(diff.rename(cause))
            notes.append(f"{cause} = {hi:g}: {diff.mean():+.3f}"
                         + (f" ({skipped})" if skipped else ""))
        rule = above(0.0)
        if not per_cause:
            out.append(no_data(experiment=NAME, claim=cid, statement=statement, kind="empirical",
                               expected=str(rule), why="; ".join(notes) or "no runs"))
        else:
            by_seed = pd.concat(per_cause, axis=1).mean(axis=1, skipna=False)
            out.append(empirical(
                experiment=NAME, claim=cid, statement=statement, rule=rule,
                evidence=over_seeds(by_seed, rule),
                detail=_join("relu dead fraction minus leaky off fraction (final, mean over hidden "
                             "layers), paired by seed, then averaged over the causes within each "
                             "seed; a seed with a diverged training at one of them is left out",
                             "by cause: " + ", ".join(notes))))

        # final loss: relu above leaky at each cause's strongest setting
        for cause in causes:
            cid = f"relu_loss_higher[cause={cause},slope={slope:g}]"
            statement = (f"At the strongest {WHAT[cause]}, ReLU ends with a higher training loss "
                         f"than leaky ReLU (slope {slope:g}): dead units cost fit.")
            hi, skipped = _strongest(s, cause, ["relu", lab])
            rule = above(1.0)
            if hi is None:
                out.append(no_data(experiment=NAME, claim=cid, statement=statement,
                                   kind="empirical", expected=str(rule), why=skipped or "no runs"))
                continue
            at = s[(s["cause"] == cause) & (s["cause_value"] == hi)
                   & s["label"].isin(["relu", lab])].assign(
                log_loss=lambda t: np.log(t["loss"]))
            ratio = np.exp(paired(at, "log_loss", "label", "relu", lab))
            out.append(empirical(
                experiment=NAME, claim=cid, statement=statement, rule=rule,
                evidence=over_seeds(ratio, rule, log=True),
                detail=_join(f"relu / leaky final loss at {cause} = {hi:g}, paired by seed",
                             skipped, _n_diverged(at),
                             f"mean loss relu {at[at['label'] == 'relu']['loss'].mean():.3g}, "
                             f"leaky {at[at['label'] == lab]['loss'].mean():.3g}")))
    return out


EXPERIMENT = Experiment(
    name=NAME,
    title="How ReLU units die during training, and whether anything brings them back.",
    summary=(
        "MLPs with relu and other activations are trained full batch under three causes of "
        "dying units, each swept inside one run (params.cause): large learning rates, a "
        "negative bias shift at initialization and narrow layers; at every log step each hidden "
        "layer's units that are off (dead for relu) are tracked: how many come back and how far "
        "their incoming weights move. Claimed: relu's dead fraction rises with each cause; a "
        "dead first-layer relu unit never revives while deeper ones can; leaky relu's off units "
        "come back, fewer of them end off than relu units end dead, and relu ends with a higher "
        "training loss at each cause's strongest setting."
    ),
    command="actlab -m experiment=dead_relu",
    params=Params,
    run=run,
    run_seeds=run_seeds,
    summarize=summarize,
    claims=claims,
    figures="experiments.figures.dead_relu:figures",
    # build_model/build_task/train(_many); causes set trainer.lr, model.width
    reads=("activation", "model", "task", "trainer"),
)
