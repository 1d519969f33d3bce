"""nonmonotonic's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from actlab.claims import geo_mean_ci
from actlab.plotting import colors, plt, use_style
from experiments.nonmonotonic import (
    NON_MONOTONE,
    SETTINGS,
    THRESHOLDS,
    Params,
    Target,
    _labels,
    _setting,
    data,
    isotonic_fits,
    summarize,
)

FLOOR = 1e-3  # ratios below this (an exact fit) are drawn at the floor, as a down triangle


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    use_style()
    summary = summarize(df, params)
    if summary.empty:
        return {}
    p = params if params is not None else Params()
    # settings other than noise (rows and panels) that vary in the table tell the labels apart,
    # so two settings are never drawn, or averaged, as one
    varying = [c for c in SETTINGS if c != "noise" and summary[c].nunique() > 1]
    summary = summary.assign(label=_with_setting(summary, varying))
    order = {a: i for i, a in enumerate(NON_MONOTONE)}
    labels = sorted(summary["label"].unique(),
                    key=lambda a: (a.split()[0] not in order, order.get(a.split()[0], 0), a))
    col = colors(labels)
    targets = [t.value for t in Target if t.value in set(summary["target"])]
    noises = sorted(summary["noise"].unique())
    return {"nonmonotonic": _fits(df, summary, p, labels, col, targets, noises, varying),
            "nonmonotonic_ratio": _ratios(summary, labels, col, targets, noises)}


def _with_setting(frame: pd.DataFrame, varying: list[str]) -> pd.Series:
    label = frame["label"].astype(str)
    for c in varying:
        label = label + f" {c}=" + frame[c].map(lambda v: f"{v:g}")
    return label


def _fits(df, summary, p, labels, col, targets, noises, varying):
    """Per target (columns) and noise level (rows), the first seed's data, the isotonic fits
    (the lowest error of any monotone function) and each activation's best one-neuron fit."""
    fits = df[df["metric"] == "fit"]
    if not fits.empty:
        fits = fits.assign(**{k: fits[k].where(fits[k].notna(), v) if k in fits.columns else v
                              for k, v in _setting(p).items()})
        fits = fits.assign(label=_labels(fits))
        fits = fits.assign(label=_with_setting(fits, varying))
    fig, axes = plt.subplots(len(noises), len(targets), squeeze=False,
                             figsize=(3.2 * len(targets), 2.9 * len(noises)))
    for r, noise in enumerate(noises):
        for c, tgt in enumerate(targets):
            ax = axes[r][c]
            here = summary[(summary["target"] == tgt) & (summary["noise"] == noise)]
            if here.empty:
                ax.set_axis_off()
                continue
            seed = int(here["seed"].min())
            first = here[here["seed"] == seed].iloc[0]  # its grid (n_points, x_range)
            q = dataclasses.replace(p, target=Target(tgt), noise=float(noise),
                                    n_points=int(first["n_points"]),
                                    x_range=float(first["x_range"]))
            x, y = data(q, seed)
            ax.plot(x, y, "k.", ms=2, label="data")
            iso = isotonic_fits(x, y)
            bound = first["isotonic_bound"]
            for inc, ls in ((True, "-"), (False, ":")):
                ax.plot(x, iso[inc], color="0.55", ls=ls, lw=1.2,
                        label=f"isotonic {'up' if inc else 'down'}")
            g = fits[(fits["target"] == tgt) & (fits["noise"] == noise) & (fits["seed"] == seed)]
            for lab in labels:
                h = g[g["label"] == lab].sort_values("x")
                if h.empty:
                    continue
                mono = lab.split()[0] not in NON_MONOTONE
                ax.plot(h["x"], h["value"], color=col[lab], ls="--" if mono else "-", lw=1.3,
                        label=lab)
            ax.set_title(f"{tgt}, noise {noise:g} (seed {seed})\nisotonic bound {bound:.3g}",
                         fontsize=8)
            ax.set_xlabel("x")
            if c == 0:
                ax.set_ylabel("y")
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="center right", fontsize=7)
    fig.suptitle("One neuron c·φ(wx+b)+d per activation (best restart) and the best monotone "
                 "functions (isotonic regression)")
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    return fig


def _ratios(summary, labels, col, targets, noises):
    """mse / isotonic bound per activation and target: geometric mean and 95% t interval over
    seeds (log scale); below 1 no monotone function does as well, below 0.5 is "much lower"."""
    fig, axes = plt.subplots(1, len(noises), squeeze=False, sharey=True,
                             figsize=(max(5.0, 1.5 + 1.3 * len(targets)) * len(noises), 3.8))
    width = 0.8 / max(1, len(labels))
    top = 2.0
    for ax, noise in zip(axes[0], noises):
        for i, lab in enumerate(labels):
            for j, tgt in enumerate(targets):
                v = summary[(summary["label"] == lab) & (summary["target"] == tgt)
                            & (summary["noise"] == noise)]["ratio"].astype(float).values
                v = v[np.isfinite(v)]
                if not len(v):
                    continue
                m, lo, hi = geo_mean_ci(np.maximum(v, FLOOR))
                pos = j - 0.4 + width * (i + 0.5)
                if not math.isfinite(lo):
                    lo = hi = m
                top = max(top, 1.5 * hi)
                exact = m <= FLOOR * (1 + 1e-9)
                ax.errorbar(pos, m, yerr=[[m - lo], [hi - m]], fmt="v" if exact else "o",
                            color=col[lab], ms=4, capsize=2, label=lab)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.axhline(THRESHOLDS.much_lower, color="k", lw=0.8, ls=":")
        ax.set_xticks(range(len(targets)), targets, rotation=20)
        ax.set_yscale("log")
        ax.set_title(f"noise {noise:g}" + ("  (monotone control: bound 0, no ratio)"
                                           if noise == 0 and "monotone" in targets else ""),
                     fontsize=8)
    axes[0][0].set_ylim(FLOOR / 1.5, top)
    axes[0][0].set_ylabel("mse / isotonic bound\n(geo. mean, 95% CI over seeds)")
    handles, names = axes[0][0].get_legend_handles_labels()
    uniq: dict = {}
    for h, n in zip(handles, names):
        uniq.setdefault(n, h)
    axes[0][-1].legend(uniq.values(), uniq.keys(), fontsize=6)
    fig.suptitle("Error relative to the best monotone function (line 1: the bound; dotted: "
                 f"{THRESHOLDS.much_lower:g}, 'much lower'; ▼ at {FLOOR:g}: exact fit)")
    fig.tight_layout()
    return fig
