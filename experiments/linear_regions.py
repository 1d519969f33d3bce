"""Counting the linear pieces of ReLU networks exactly.

Run:        actlab experiment=linear_regions
Variation:  actlab experiment=linear_regions model.bias_scale=0.1 params.nets=20

Everything here is one computation over many settings, so one run does it all (the settings are
columns): exact piece counts (actlab.regions) along [-R, R] for 1-D inputs and along a random line
through an 8-D input space, for random He-normal nets at a fixed total number of neurons split
into different depths, for growing numbers of neurons, for trained nets near their data (before
and after training), and for the tent-map construction whose k layers make 2^k pieces. A tanh net
is checked to have no linear piece at all, and a small ReLU net trained on 2-D XOR is mapped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from actlab.activations import get_activation
from actlab.claims import FAIL, NOT_REPRODUCED, PARTLY, PASS, REPRODUCED, Claim, mean_ci, no_data
from actlab.config import ModelConfig
from actlab.models import MLP
from actlab.plotting import plt, use_style
from actlab.regions import count_pieces, model_arrays, sampled_pieces, tent_network
from actlab.runner import build
from actlab.trainer import TrainResult, train

NAME = "linear_regions"


@dataclass
class Params:
    R: float = 3.0
    nets: int = 10  # random nets (seeds) per setting
    total_neurons: int = 64
    shape_depths: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16])
    neuron_depth: int = 3
    neuron_widths: list[int] = field(default_factory=lambda: [8, 16, 32, 64, 128])
    line_dim: int = 8
    tent_depths: list[int] = field(default_factory=lambda: list(range(1, 11)))
    trained_nets: int = 10
    map_grid: int = 120
    per_neuron_range: list[float] = field(default_factory=lambda: [0.25, 4.0])


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

    def add(construction, phase, depth, width, in_dim, net, pieces, merged, **extra):
        common = {"step": 0, "layer": None, "construction": construction, "phase": phase,
                  "depth": depth, "width": width, "input_dim": in_dim, "seed": net,
                  "neurons": depth * width, **extra}
        rows.extend([{**common, "metric": "pieces", "value": pieces},
                     {**common, "metric": "pieces_merged", "value": merged}])

    for k in p.tent_depths:
        w, b = tent_network(k)
        add("tent", "init", k, 2, 1, 0, *count_pieces(w, b, np.zeros(1), np.ones(1), 0.0, 1.0))
    settings = [("shape", d, p.total_neurons // d) for d in p.shape_depths if p.total_neurons % d == 0]
    settings += [("neurons", p.neuron_depth, w) for w in p.neuron_widths]
    for sweep, depth, width in settings:
        for in_dim in (1, p.line_dim):
            for net in range(p.nets):
                seed = cfg.seed * 100_000 + net
                ws, bs = model_arrays(_random_net(depth, width, in_dim, sb, seed))
                pt, d = _line(in_dim, seed)
                pieces = count_pieces(ws, bs, pt, d, -p.R, p.R)
                extra = {"sweep": sweep}
                if net == 0:  # cross-check against dense sampling once per setting
                    extra["sampled"] = sampled_pieces(ws, bs, pt, d, -p.R, p.R)
                add("random", "init", depth, width, in_dim, net, *pieces, **extra)
    # tanh: smooth everywhere, so no interval of the line is linear
    torch.manual_seed(cfg.seed)
    tanh_net = MLP(1, 1, ModelConfig(depth=4, width=16, weight_scale=1.5, bias_scale=sb),
                   get_activation("tanh")).double()
    t = torch.linspace(-p.R, p.R, 20001, dtype=torch.float64)[:, None]
    with torch.no_grad():
        f = tanh_net(t)[:, 0]
    curv = (f[2:] - 2 * f[1:-1] + f[:-2]).abs()
    rows.append({"step": 0, "layer": None, "construction": "tanh", "phase": "init", "depth": 4,
                 "width": 16, "input_dim": 1, "metric": "flat_fraction",
                 "value": float((curv <= 1e-15 * max(1.0, float(f.abs().max()))).float().mean())})
    # trained nets near their data: the configured model and task (1-D sine by default)
    for net in range(p.trained_nets):
        sub = OmegaConf.merge(cfg, {"seed": cfg.seed * 100_000 + net})
        model, task = build(sub, device)
        lo, hi = float(task.x_train.min()), float(task.x_train.max())
        before = count_pieces(*model_arrays(model), np.zeros(1), np.ones(1), lo, hi)
        r = train(model, task, sub.trainer, seed=sub.seed, desc=f"{NAME} trained net {net}")
        after = count_pieces(*model_arrays(model), np.zeros(1), np.ones(1), lo, hi)
        kw = {"final_loss": r.final.get("loss", math.nan), "sweep": "trained"}
        add("random", "init", cfg.model.depth, cfg.model.width, 1, net, *before, **kw)
        add("random", "trained", cfg.model.depth, cfg.model.width, 1, net, *after, **kw)
    rows += _region_map(cfg, device)
    return TrainResult(rows=rows)


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
    rows = [{"step": 0, "layer": None, "construction": "map", "phase": "trained", "metric": "region_id",
             "value": int(i), "x1": float(a), "x2": float(b)}
            for i, (a, b) in zip(ids.reshape(-1), pts.tolist())]
    # Cross-check the sampled map against exact counts along some of its rows (horizontal lines):
    # the map can only miss pieces narrower than its grid step, never invent one.
    ws, bs = model_arrays(model)
    grid_ids = ids.reshape(n, n)
    for r in np.linspace(0, n - 1, 7).astype(int)[1:-1]:
        y = float(g[r])
        exact, _ = count_pieces(ws, bs, np.array([0.0, y]), np.array([1.0, 0.0]), float(g[0]), float(g[-1]))
        sampled = int((np.diff(grid_ids[r]) != 0).sum()) + 1
        common = {"step": 0, "layer": None, "construction": "map", "phase": "trained", "x2": y}
        rows += [{**common, "metric": "map_line_pieces_exact", "value": exact},
                 {**common, "metric": "map_line_pieces_sampled", "value": sampled}]
    return rows


def claims(df: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    p = p or Params()
    out: list[Claim] = []
    pcs = df[df["metric"] == "pieces"]
    tent = pcs[pcs["construction"] == "tent"]
    if tent.empty:
        out.append(no_data(NAME, "tent_2_to_the_k", "", "math", "2^k", "no tent rows"))
    else:
        wrong = tent[tent["value"] != 2.0 ** tent["depth"]]
        kmax = int(tent["depth"].max())
        out.append(Claim(NAME, "tent_2_to_the_k", "The k-layer tent-map construction has exactly 2^k pieces "
                         "on [0, 1]: depth buys exponentially many.", "math",
                         float(tent.loc[tent["depth"] == kmax, "value"].iloc[0]), f"2^{kmax} = {2 ** kmax}",
                         PASS if wrong.empty else FAIL, detail=f"{len(tent)} depths, {len(wrong)} wrong"))
    rnd = pcs[(pcs["construction"] == "random") & (pcs["phase"] == "init") & (pcs["sweep"] == "shape")]
    lo_r, hi_r = p.per_neuron_range
    statement = ("Random ReLU nets at initialization have about as many pieces along a line as neurons, "
                 "not exponentially many in depth.")
    if rnd.empty:
        out.append(no_data(NAME, "random_per_neuron", statement, "empirical", "", "no random rows"))
    for in_dim, g in rnd.groupby("input_dim"):
        per = g.assign(per=g["value"] / g["neurons"])
        by_depth = per.groupby("depth")["per"].mean()
        m, lo, hi = mean_ci(per["per"])
        deepest = int(per["depth"].max())
        ok = all(lo_r <= v <= hi_r for v in by_depth.values)
        out.append(Claim(NAME, f"random_per_neuron[input_dim={int(in_dim)}]", statement, "empirical", m,
                         f"in [{lo_r:g}, {hi_r:g}] pieces per neuron at every depth", REPRODUCED if ok else
                         PARTLY if lo_r <= m <= hi_r else NOT_REPRODUCED, lo, hi,
                         detail="pieces per neuron by depth (fixed total neurons): "
                                + ", ".join(f"{int(k)}: {v:.2f}" for k, v in by_depth.items())
                                + f"; 2^{deepest} = {2 ** deepest}"))
    neur = pcs[(pcs["construction"] == "random") & (pcs["sweep"] == "neurons")]
    if not neur.empty:
        s = neur.groupby("neurons")["value"].mean()
        slope = float(np.polyfit(np.log(s.index.values), np.log(s.values), 1)[0])
        out.append(Claim(NAME, "pieces_grow_linearly_in_neurons", "The mean piece count grows about linearly "
                         "in the number of neurons (log-log slope near 1).", "empirical", slope, "~1",
                         REPRODUCED if 0.7 <= slope <= 1.3 else PARTLY if slope > 0 else NOT_REPRODUCED,
                         detail="mean pieces by neurons: " + ", ".join(f"{int(k)}: {v:.1f}" for k, v in s.items())))
    flat = df[df["metric"] == "flat_fraction"]
    if not flat.empty:
        v = float(flat["value"].max())
        out.append(Claim(NAME, "tanh_no_linear_pieces", "A tanh network is smooth: no stretch of the line is "
                         "linear.", "math", v, "0 (fraction of grid steps with zero curvature)",
                         PASS if v == 0 else FAIL))
    samp = df[(df["metric"] == "pieces") & df["sampled"].notna()]
    if not samp.empty:
        rel = (samp["sampled"] - samp["value"]) / samp["value"]
        out.append(Claim(NAME, "sampling_agrees", "Dense sampling (200k points) finds the exact count.",
                         "empirical", float(rel.abs().max()), "~0 (sampling can only miss tiny pieces)",
                         REPRODUCED if rel.abs().max() <= 0.02 else PARTLY,
                         detail=f"{len(samp)} nets; max relative gap {rel.abs().max():.4f}"))
    ex = df[df["metric"] == "map_line_pieces_exact"]["value"].to_numpy()
    sa = df[df["metric"] == "map_line_pieces_sampled"]["value"].to_numpy()
    if len(ex):
        ok = bool(np.all(sa <= ex))
        out.append(Claim(NAME, "map_rows_vs_exact", "The sampled 2-D region map never shows more pieces along a "
                         "row than the exact count on that line (it can only miss thin ones).", "empirical",
                         float(np.mean(sa / ex)), "sampled / exact <= 1 on every row",
                         REPRODUCED if ok else NOT_REPRODUCED,
                         detail=f"{len(ex)} rows; exact {ex.astype(int).tolist()}, sampled {sa.astype(int).tolist()}"))
    tr = pcs[pcs["sweep"] == "trained"]
    if not tr.empty:
        before = tr[tr["phase"] == "init"].set_index("seed")["value"]
        after = tr[tr["phase"] == "trained"].set_index("seed")["value"]
        m, lo, hi = mean_ci((after - before).values)
        out.append(Claim(NAME, "training_changes_pieces", "Pieces near the data, after minus before training "
                         "(reported).", "empirical", m, "reported", "reported", lo, hi,
                         detail=f"before {before.mean():.1f}, after {after.mean():.1f} pieces, "
                                f"{int(tr['neurons'].iloc[0])} neurons"))
    return out


def figures(df: pd.DataFrame) -> dict:
    from matplotlib.ticker import NullFormatter

    use_style()
    pcs = df[df["metric"] == "pieces"]
    if pcs.empty:
        return {}
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    ax = axes[0]
    tent = pcs[pcs["construction"] == "tent"].sort_values("depth")
    ax.plot(tent["depth"], tent["value"], "s-", color="#D55E00", label="tent construction (width 2)")
    for in_dim, mk, c in ((1, "o", "#0072B2"), (8, "^", "#009E73")):
        g = pcs[(pcs["sweep"] == "shape") & (pcs["input_dim"] == in_dim)]
        s = g.groupby("depth")["value"].agg(["mean", "min", "max"])
        if not s.empty:
            n = int(g["neurons"].iloc[0])
            ax.plot(s.index, s["mean"], mk + "-", color=c, label=f"random init, {n} neurons, {in_dim}-D input")
            ax.fill_between(s.index, s["min"], s["max"], color=c, alpha=0.2)
    tr = pcs[(pcs["sweep"] == "trained")]
    for phase, mk in (("init", "x"), ("trained", "D")):
        g = tr[tr["phase"] == phase]
        if not g.empty:
            ax.errorbar(g["depth"].mean(), g["value"].mean(), yerr=g["value"].std(), fmt=mk, color="k",
                        capsize=3, label=f"{phase} (sine task, {int(g['neurons'].iloc[0])} neurons)")
    ax.set_yscale("log")
    ax.set_xlabel("depth")
    ax.set_ylabel("linear pieces along the line (exact)")
    ax.legend(fontsize=6.5)
    ax = axes[1]
    for in_dim, mk, c in ((1, "o", "#0072B2"), (8, "^", "#009E73")):
        g = pcs[(pcs["sweep"] == "neurons") & (pcs["input_dim"] == in_dim)]
        s = g.groupby("neurons")["value"].agg(["mean", "min", "max"])
        if not s.empty:
            ax.plot(s.index, s["mean"], mk + "-", color=c, label=f"{in_dim}-D input")
            ax.fill_between(s.index, s["min"], s["max"], color=c, alpha=0.2)
            ax.plot(s.index, s.index, "k:", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("total neurons (depth 3)")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("pieces (dotted: = neurons)")
    ax.legend(fontsize=7)
    ax = axes[2]
    m = df[df["metric"] == "region_id"]
    if not m.empty:
        m = m[m["run_id"] == m["run_id"].iloc[0]]
        n = int(round(math.sqrt(len(m))))
        ids = m["value"].to_numpy().reshape(n, n)
        rng = np.random.default_rng(0)
        perm = rng.permutation(int(ids.max()) + 1)
        ax.imshow(perm[ids.astype(int)], origin="lower", extent=(m["x1"].min(), m["x1"].max(),
                  m["x2"].min(), m["x2"].max()), cmap="tab20", interpolation="nearest")
        ax.set_title(f"{int(ids.max()) + 1} activation patterns, ReLU net on XOR")
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        ax.grid(False)
    fig.suptitle("Linear regions of ReLU networks")
    fig.tight_layout()
    return {"linear_regions": fig}
