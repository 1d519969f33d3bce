"""Counting the linear pieces of ReLU networks exactly.

Run:        actlab experiment=linear_regions
Variation:  actlab experiment=linear_regions model.bias_scale=0.1 params.nets=20

Everything here is one computation over many settings, so one run does it all (the settings are
columns): exact piece counts (actlab.regions) along [-R, R] for 1-D inputs and along a random line
through an 8-D input space, for random He-normal nets at a fixed total number of neurons split
into different depths, for growing numbers of neurons, for trained nets near their data (before
and after training; shown, not claimed), and for the tent-map construction whose k layers make 2^k
pieces. A tanh net is checked to have no linear piece at all (the detector's control: a relu net
of the same shape, whose kinks the exact walk counts), and a small ReLU net trained on 2-D XOR is
mapped. The unit of replication is a random net: its `seed` names it in every setting, so claims
aggregate over settings within a seed first and put their intervals over seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from actlab.activations import get_activation
from actlab.claims import Claim, Kind, empirical, math_claim, no_data, over_seeds, within
from actlab.config import ModelConfig
from actlab.experiment import Experiment
from actlab.models import MLP
from actlab.regions import count_pieces, model_arrays, sampled_pieces, tent_network
from actlab.runner import build
from actlab.trainer import RunResult, train
from experiments.params import LinearRegionsParams as Params

NAME = "linear_regions"


@dataclass(frozen=True)
class Thresholds:
    # "About as many pieces along a line as neurons" (Hanin & Rolnick 2019: at initialization the
    # expected number of pieces along a line grows like the number of neurons, times a constant of
    # order 1, whatever the depth): the per-seed mean over depths of pieces per neuron lies within
    # a factor of 4 of 1. Exponential growth in depth (the tent map: 2^16 pieces from 32 neurons
    # at depth 16) lands far outside.
    per_neuron: tuple[float, float] = (0.25, 4.0)
    # "Grows about linearly in the neurons": the per-seed log-log slope of pieces vs neurons is
    # closer to 1 (linear) than to 0.5 (square root) or 1.5; midway points 0.75 and 1.25.
    linear_slope: tuple[float, float] = (0.75, 1.25)


THRESHOLDS = Thresholds()
# The flat-step detector: a second difference of the network's output on a grid of FLAT_GRID
# points over [-R, R] is "zero" when below FLAT_TOL x max(1, max |f|). Float64 round-off on a
# linear stretch stays under ~2e-14 x scale; a tanh net's second differences at step 3e-3 are
# ~1e-6 (above 5e-11 even at its inflection points); a relu kink gives ~slope change x step.
FLAT_GRID = 2001
FLAT_TOL = 1e-12


def _random_net(depth: int, width: int, in_dim: int, sigma_b: float, seed: int) -> MLP:
    torch.manual_seed(seed)
    cfg = ModelConfig(depth=depth, width=width, weight_scale=math.sqrt(2.0), bias_scale=sigma_b)
    return MLP(in_dim, 1, cfg, get_activation("relu")).double()


def _line(in_dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if in_dim == 1:
        return np.zeros(1), np.ones(1)
    d = np.random.default_rng(seed).normal(size=in_dim)
    return np.zeros(in_dim), d / np.linalg.norm(d)


def run(cfg, device):
    p = cfg.params
    sb = cfg.model.bias_scale
    rows = []

    def add(construction, phase, depth, width, in_dim, seed, pieces, merged, **extra):
        common = {"step": 0, "layer": None, "construction": construction, "phase": phase,
                  "depth": depth, "width": width, "input_dim": in_dim, "seed": seed,
                  "neurons": depth * width, **extra}
        rows.extend([{**common, "metric": "pieces", "value": pieces},
                     {**common, "metric": "pieces_merged", "value": merged}])

    for k in p.tent_depths:
        w, b = tent_network(k)
        add("tent", "init", k, 2, 1, cfg.seed,
            *count_pieces(w, b, np.zeros(1), np.ones(1), 0.0, 1.0))
    settings = [("shape", d, p.total_neurons // d) for d in p.shape_depths
                if p.total_neurons % d == 0]
    settings += [("neurons", p.neuron_depth, w) for w in p.neuron_widths]
    for sweep, depth, width in settings:
        for in_dim in (1, p.line_dim):
            for net in range(p.nets):
                # the seed identifies net `net` in every setting: claims aggregate per seed
                seed = cfg.seed * 100_000 + net
                ws, bs = model_arrays(_random_net(depth, width, in_dim, sb, seed))
                pt, d = _line(in_dim, seed)
                pieces = count_pieces(ws, bs, pt, d, -p.R, p.R)
                extra = {"sweep": sweep}
                if net == 0:  # cross-check against dense sampling once per setting
                    extra["sampled"] = sampled_pieces(ws, bs, pt, d, -p.R, p.R)
                add("random", "init", depth, width, in_dim, seed, *pieces, **extra)
    rows += _flat_steps(cfg)
    # trained nets near their data: the configured model and task (1-D sine by default); shown in
    # the figure and the summary (no claim: neither the article nor theory gives a direction)
    for net in range(p.trained_nets):
        sub = OmegaConf.merge(cfg, {"seed": cfg.seed * 100_000 + net})
        model, task = build(sub, device)
        lo, hi = float(task.x_train.min()), float(task.x_train.max())
        before = count_pieces(*model_arrays(model), np.zeros(1), np.ones(1), lo, hi)
        r = train(model, task, sub.trainer, seed=sub.seed, desc=f"{NAME} trained net {net}")
        after = count_pieces(*model_arrays(model), np.zeros(1), np.ones(1), lo, hi)
        kw = {"final_loss": r.final.get("loss", math.nan), "sweep": "trained"}
        add("random", "init", cfg.model.depth, cfg.model.width, 1, sub.seed, *before, **kw)
        add("random", "trained", cfg.model.depth, cfg.model.width, 1, sub.seed, *after, **kw)
    rows += _region_map(cfg, device)
    return RunResult(rows=rows)


def _flat_steps(cfg) -> list[dict]:
    """Where is the network's output linear along the line? Second differences on a grid: zero
    (below FLAT_TOL) on a linear stretch. A tanh net (smooth, analytic: no linear stretch) and, as
    the detector's control, a relu net of the same shape, whose kinks are counted exactly."""
    p, sb = cfg.params, cfg.model.bias_scale
    t = torch.linspace(-p.R, p.R, FLAT_GRID, dtype=torch.float64)[:, None]
    rows = []
    for construction, act, scale in (("tanh", "tanh", 1.5),
                                     ("relu_control", "relu", math.sqrt(2.0))):
        torch.manual_seed(cfg.seed)
        net = MLP(1, 1, ModelConfig(depth=4, width=16, weight_scale=scale, bias_scale=sb),
                  get_activation(act)).double()
        with torch.no_grad():
            f = net(t)[:, 0]
        curv = (f[2:] - 2 * f[1:-1] + f[:-2]).abs()
        flat = curv <= FLAT_TOL * max(1.0, float(f.abs().max()))
        common = {"step": 0, "layer": None, "construction": construction, "phase": "init",
                  "depth": 4, "width": 16, "input_dim": 1, "seed": cfg.seed, "neurons": 64}
        rows += [{**common, "metric": "flat_fraction", "value": float(flat.double().mean())},
                 {**common, "metric": "grid_steps", "value": len(curv)},
                 {**common, "metric": "curved_steps", "value": int((~flat).sum())}]
        if act == "relu":  # the exact kinks of the control, by the exact walk (another method)
            _, merged = count_pieces(*model_arrays(net), np.zeros(1), np.ones(1), -p.R, p.R)
            rows.append({**common, "metric": "pieces_merged", "value": merged})
    return rows


def _region_map(cfg, device) -> list[dict]:
    """Activation-pattern ids of a small ReLU net trained on 2-D XOR, on a grid over the square."""
    sub = OmegaConf.merge(cfg, OmegaConf.create({
        "task": {"name": "xor", "in_dim": 2, "n_train": 512, "n_test": 128},
        "model": {"depth": 3, "width": 8, "weight_scale": math.sqrt(2.0)},
        "trainer": {"steps": 300, "optimizer": "adam", "lr": 0.01, "batch_size": 0}}))
    model, task = build(sub, device)
    train(model, task, sub.trainer, seed=sub.seed, desc=f"{NAME} xor map")
    n = cfg.params.map_grid
    g = torch.linspace(-2.5, 2.5, n, dtype=torch.float32)
    xx, yy = torch.meshgrid(g, g, indexing="xy")
    pts = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    record: list = []
    with torch.no_grad():
        model(pts.to(device), record=record)
    pattern = torch.cat([(z > 0) for z, _ in record[:-1]], 1).cpu().numpy()
    _, ids = np.unique(pattern, axis=0, return_inverse=True)
    rows = [{"step": 0, "layer": None, "construction": "map", "phase": "trained",
             "metric": "region_id", "value": int(i), "x1": float(a), "x2": float(b)}
            for i, (a, b) in zip(ids.reshape(-1), pts.tolist())]
    # Cross-check the sampled map against exact counts along some of its rows (horizontal lines):
    # the map can only miss pieces narrower than its grid step, never invent one.
    ws, bs = model_arrays(model)
    grid_ids = ids.reshape(n, n)
    for r in np.linspace(0, n - 1, 7).astype(int)[1:-1]:
        y = float(g[r])
        exact, _ = count_pieces(ws, bs, np.array([0.0, y]), np.array([1.0, 0.0]), float(g[0]),
                                float(g[-1]))
        sampled = int((np.diff(grid_ids[r]) != 0).sum()) + 1
        common = {"step": 0, "layer": None, "construction": "map", "phase": "trained", "x2": y}
        rows += [{**common, "metric": "map_line_pieces_exact", "value": exact},
                 {**common, "metric": "map_line_pieces_sampled", "value": sampled}]
    return rows


SUMMARY_METRICS = ("pieces", "pieces_merged", "sampled", "final_loss", "flat_fraction",
                   "grid_steps", "curved_steps", "map_line_pieces_exact", "map_line_pieces_sampled")
# bias_scale: a config setting, the same for every row of a run; two runs at different bias scales
# reuse the same seeds, so without it first() below kept one run's counts and dropped the other's
CONDITIONS = ["construction", "sweep", "phase", "depth", "width", "neurons", "input_dim", "x2",
              "bias_scale"]


def _groups(rows: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(id, rows) per input dimension, and per bias scale where the table has several."""
    by = ["input_dim"] + (["bias_scale"] if "bias_scale" in rows.columns
                          and rows["bias_scale"].nunique(dropna=False) > 1 else [])
    out = []
    for key, g in rows.groupby(by, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        out.append((f"input_dim={int(key[0])}"
                    + (f",bias_scale={key[1]:g}" if len(key) > 1 else ""), g))
    return out


def summarize(df: pd.DataFrame, params: Params | None = None) -> pd.DataFrame:
    """One row per seed (a random net) per condition (construction, sweep, phase, depth, width,
    input dimension; x2 for the rows of the 2-D map): its exact piece counts, the sampled count
    where it was cross-checked, the flat-step detector's counts (tanh and its relu control), and
    `diverged` (the run's status is not ok; this experiment trains only small nets, so none is
    expected, and a diverged run's rows are kept as they are)."""
    d = df[df["metric"].isin(SUMMARY_METRICS)].copy()
    cols = ["seed", *CONDITIONS, *SUMMARY_METRICS, "diverged"]
    if d.empty:
        return pd.DataFrame(columns=cols)
    for c in CONDITIONS:
        if c not in d.columns:
            d[c] = np.nan
    if "status" not in d.columns:
        d["status"] = "ok"
    # "sampled" and "final_loss" ride on the pieces rows as columns: turn them into metrics
    extra = []
    for c in ("sampled", "final_loss"):
        if c in d.columns:
            e = d[(d["metric"] == "pieces") & d[c].notna()].copy()
            e["metric"], e["value"] = c, e[c]
            extra.append(e)
    d = pd.concat([d, *extra], ignore_index=True)
    key = ["seed", *CONDITIONS]
    d[CONDITIONS] = d[CONDITIONS].astype(object).where(d[CONDITIONS].notna(), "")
    s = d.groupby([*key, "metric"])["value"].first().unstack("metric").reset_index()
    s.columns.name = None
    div = (d.groupby(key)["status"].agg(lambda v: bool((v != "ok").any()))
           .rename("diverged").reset_index())
    s = s.merge(div, on=key)
    for c in SUMMARY_METRICS:
        if c not in s.columns:
            s[c] = np.nan
    s[CONDITIONS] = s[CONDITIONS].replace("", np.nan).infer_objects()
    s["seed"] = s["seed"].astype(int)
    return s[cols].reset_index(drop=True)


def _pieces(s: pd.DataFrame, **where) -> pd.DataFrame:
    m = s["pieces"].notna()
    for k, v in where.items():
        m &= s[k] == v
    return s[m]


def claims(summary: pd.DataFrame, params: Params | None = None) -> list[Claim]:
    t = THRESHOLDS
    s = summary
    out: list[Claim] = []

    # math: the k-layer tent map has exactly 2^k pieces (closed form; the count is the exact walk)
    statement = ("The k-layer tent-map construction has exactly 2^k pieces on [0, 1]: depth buys "
                 "exponentially many.")
    tent = _pieces(s, construction="tent")
    if tent.empty:
        out.append(no_data(experiment=NAME, claim="tent_2_to_the_k", statement=statement,
                           kind=Kind.MATH, expected="2^k", why="no tent rows"))
    else:
        k = tent["depth"].astype(int)
        wrong = tent[(tent["pieces"] != 2.0 ** k) | (tent["pieces_merged"] != 2.0 ** k)]
        wrong_rows = wrong[["depth", "pieces", "pieces_merged"]].values.tolist()
        kmax = int(k.max())
        out.append(math_claim(experiment=NAME, claim="tent_2_to_the_k", statement=statement,
                              measured=float(tent.loc[k == kmax, "pieces_merged"].iloc[0]),
                              expected=f"2^{kmax} = {2 ** kmax} (closed form 2^k at every depth)",
                              ok=wrong.empty, n=len(tent),
                              rule="pieces == pieces merged == 2^k at every depth k",
                              detail=f"depths {sorted(k.tolist())}; {len(wrong)} wrong"
                                     + (f": {wrong_rows}"
                                        if len(wrong) else "")))

    # empirical: pieces per neuron at init, per seed the mean over depths (fixed total neurons)
    lo_r, hi_r = t.per_neuron
    statement = ("Random ReLU nets at initialization have about as many pieces along a line as "
                 "neurons, not exponentially many in depth.")
    rnd = _pieces(s, construction="random", phase="init", sweep="shape")
    if rnd.empty:
        out.append(no_data(experiment=NAME, claim="random_per_neuron", statement=statement,
                           kind=Kind.EMPIRICAL, why="no random nets of the depth sweep"))
    for where, g in _groups(rnd):
        g = g.assign(per=g["pieces"] / g["neurons"])
        per_seed = g.groupby("seed")["per"].mean()
        by_depth = g.groupby("depth")["per"].mean()
        deepest = int(g["depth"].max())
        rule = within(lo_r, hi_r)
        out.append(empirical(experiment=NAME, claim=f"random_per_neuron[{where}]",
                             statement=statement, rule=rule, evidence=over_seeds(per_seed, rule),
                             expected=f"in [{lo_r:g}, {hi_r:g}] pieces per neuron "
                                      "(per seed: mean over depths)",
                             detail=f"{int(g['neurons'].iloc[0])} neurons split into depths "
                                    f"{sorted(int(v) for v in by_depth.index)}; mean pieces per "
                                    "neuron by depth: "
                                    + ", ".join(f"{int(a)}: {v:.2f}" for a, v in by_depth.items())
                                    + f"; for scale, the tent construction makes 2^{deepest} = "
                                      f"{2 ** deepest} pieces from {2 * deepest} neurons in "
                                      f"{deepest} layers"))

    # empirical: pieces vs neurons at fixed depth, per seed a log-log slope
    lo_s, hi_s = t.linear_slope
    statement = ("At a fixed depth the piece count grows about linearly in the number of neurons "
                 "(log-log slope near 1).")
    neur = _pieces(s, construction="random", phase="init", sweep="neurons")
    if neur.empty:
        out.append(no_data(experiment=NAME, claim="pieces_grow_linearly_in_neurons",
                           statement=statement, kind=Kind.EMPIRICAL,
                           why="no random nets of the width sweep"))
    for where, g in _groups(neur):
        slopes = {}
        for seed, gs in g.groupby("seed"):
            if gs["neurons"].nunique() >= 2 and (gs["pieces"] > 0).all():
                slopes[seed] = float(np.polyfit(np.log(gs["neurons"].astype(float)),
                                                np.log(gs["pieces"]), 1)[0])
        rule = within(lo_s, hi_s)
        means = g.groupby("neurons")["pieces"].mean()
        out.append(empirical(experiment=NAME, claim=f"pieces_grow_linearly_in_neurons[{where}]",
                             statement=statement, rule=rule,
                             evidence=over_seeds(list(slopes.values()), rule),
                             expected=f"in [{lo_s:g}, {hi_s:g}] "
                                      "(per seed: slope of log pieces on log neurons)",
                             detail=f"depth {int(g['depth'].iloc[0])}, {g['neurons'].nunique()} "
                                    "widths per seed; mean pieces by neurons: "
                                    + ", ".join(f"{int(a)}: {v:.1f}" for a, v in means.items())))

    # math: a tanh net has no linear stretch; the detector's control on a relu net of the same shape
    tanh = s[(s["construction"] == "tanh") & s["flat_fraction"].notna()]
    statement = "A tanh network is smooth and analytic: no stretch of the line is linear."
    if tanh.empty:
        out.append(no_data(experiment=NAME, claim="tanh_no_linear_pieces", statement=statement,
                           kind=Kind.MATH, expected="0", why="no tanh rows"))
    else:
        v = float(tanh["flat_fraction"].max())
        out.append(math_claim(experiment=NAME, claim="tanh_no_linear_pieces", statement=statement,
                              measured=v,
                              expected="0 (a non-affine analytic function "
                                       "is affine on no interval)",
                              ok=v == 0, n=int(tanh["grid_steps"].sum()),
                              rule="fraction of grid steps with |second difference| <= "
                                   f"{FLAT_TOL:g} x scale == 0",
                              detail=f"{len(tanh)} net(s), {int(tanh['grid_steps'].sum())} grid "
                                     "steps"))
    ctl = s[(s["construction"] == "relu_control") & s["curved_steps"].notna()]
    statement = ("The flat-step detector sees a relu net's linear stretches: curved grid steps "
                 "occur only next to its exact kinks (at most 2 per kink), "
                 "and at least one is seen.")
    if ctl.empty:
        out.append(no_data(experiment=NAME, claim="flat_detector_control", statement=statement,
                           kind=Kind.MATH, expected="in [1, 2 x kinks]",
                           why="no relu control rows"))
    else:
        kinks = ctl["pieces_merged"] - 1
        good = (ctl["curved_steps"] >= np.minimum(1, kinks)) & (ctl["curved_steps"] <= 2 * kinks)
        out.append(math_claim(experiment=NAME, claim="flat_detector_control", statement=statement,
                              measured=float(ctl["curved_steps"].max()),
                              expected=f"in [1, 2 x {int(kinks.max())}] (kinks by the exact walk)",
                              ok=bool(good.all()), n=len(ctl),
                              rule="1 <= curved steps <= 2 x exact kinks (a kink lies in at most 2 "
                                   "three-point stencils)",
                              detail=f"curved steps {ctl['curved_steps'].astype(int).tolist()}, "
                                     f"exact kinks {kinks.astype(int).tolist()}, flat fraction "
                                     f"{ctl['flat_fraction'].round(3).tolist()}"))

    # math: dense sampling can only miss pieces (a change of pattern between two grid points needs a
    # crossing between them), never find more than the exact walk
    samp = s[s["pieces"].notna() & s["sampled"].notna()]
    statement = ("Dense sampling (200k points) never finds more pieces than the exact count: "
                 "sampling can only miss pieces narrower than its step.")
    if samp.empty:
        out.append(no_data(experiment=NAME, claim="sampling_agrees", statement=statement,
                           kind=Kind.MATH, expected="sampled <= exact",
                           why="no sampled cross-checks"))
    else:
        excess = samp["sampled"] - samp["pieces"]
        short = (-excess / samp["pieces"]).clip(lower=0)
        out.append(math_claim(experiment=NAME, claim="sampling_agrees", statement=statement,
                              measured=float(excess.max()),
                              expected="<= 0 (sampled - exact, every line)",
                              ok=bool((excess <= 0).all()), n=len(samp),
                              rule="sampled <= exact on every cross-checked line",
                              detail=f"{int((excess == 0).sum())} of {len(samp)} lines equal; "
                                     f"largest shortfall {float(short.max()) + 0.0:.2%} of the "
                                     "exact count"))

    # math: the same bound for the rows of the sampled 2-D region map
    mp = s[s["map_line_pieces_exact"].notna() & s["map_line_pieces_sampled"].notna()]
    statement = ("The sampled 2-D region map never shows more pieces along a row than the exact "
                 "count on that line (it can only miss thin ones).")
    if mp.empty:
        out.append(no_data(experiment=NAME, claim="map_rows_vs_exact", statement=statement,
                           kind=Kind.MATH, expected="sampled <= exact", why="no map rows"))
    else:
        ex, sa = mp["map_line_pieces_exact"], mp["map_line_pieces_sampled"]
        out.append(math_claim(experiment=NAME, claim="map_rows_vs_exact", statement=statement,
                              measured=float((sa - ex).max()),
                              expected="<= 0 (sampled - exact, every row)",
                              ok=bool((sa <= ex).all()), n=len(mp),
                              rule="sampled <= exact on every row",
                              detail=f"{len(mp)} rows; exact {ex.astype(int).tolist()}, sampled "
                                     f"{sa.astype(int).tolist()}"))
    return out


EXPERIMENT = Experiment(
    name=NAME,
    title="Counting the linear pieces of ReLU networks exactly.",
    summary=(
        "One run counts the linear pieces of ReLU networks exactly: along [-R, R] for 1-D "
        "inputs and along a random line through an 8-D input, for random He-normal nets at a "
        "fixed total number of neurons split into different depths, for growing numbers of "
        "neurons, for trained nets before and after training, and for the tent-map "
        "construction; it also checks a tanh net for linear stretches and maps the regions of a "
        "small ReLU net trained on 2-D XOR. Claimed: k tent layers make exactly 2^k pieces; "
        "random nets at initialization have about as many pieces along a line as neurons, "
        "growing about linearly in the neurons; a tanh net has no linear stretch while the "
        "detector sees a relu net's; and dense sampling and the sampled region map never find "
        "more pieces than the exact count."
    ),
    command="actlab experiment=linear_regions",
    params=Params,
    run=run,
    summarize=summarize,
    claims=claims,
    figures="experiments.figures.linear_regions:figures",
    # trained nets and the XOR map: runner.build and train (random nets: model)
    reads=("activation", "model", "task", "trainer"),
)
