"""`actlab card`: one activation through every test, beside relu, tanh, gelu and swish.

    actlab card activation=mish
    actlab card activation=leaky_relu activation.slope=0.2
    actlab card activation=custom activation.target=myact:scaled_tanh --out outputs

Each test is one experiment's grid at the card's declared scale (TESTS below: the overrides are
printed in the card), run in this process for the card's activation and for the baselines on
the same seeds. Baseline runs land in OUT/cards/_runs like any other run, so a second card reuses
them. Each row of the card is a number with its interval over seeds, the baselines' numbers and a
one-line verdict computed by the claims layer (actlab.claims): the card activation against a
reference activation, paired by seed, or against theory. Writes OUT/cards/<label>.md and a
self-contained OUT/cards/<label>.html (figures inlined) and OUT/cards/<label>.csv (the rows).
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from actlab.activations import Activation, get_activation
from actlab.claims import (
    Claim,
    Kind,
    Verdict,
    above,
    below,
    empirical,
    equivalent,
    math_claim,
    mean_ci,
    no_data,
    over_seeds,
)
from actlab.names import used_keys
from actlab.results import activation_label

BASELINES = ("relu", "tanh", "gelu", "swish")
SEEDS = (0, 1, 2)
NAME = "card"


@dataclass(frozen=True)
class Test:
    """One row of the card. `values(table, params)` turns the experiment's raw table into
    [activation, seed, value]; `judge(label, values, act)` gives the verdict (a Claim)."""

    key: str
    title: str  # what the number is, with its unit
    experiment: str | None  # None: computed here, no training
    overrides: tuple[str, ...] = ()
    values: Callable | None = None
    judge: Callable | None = None
    applies: Callable[[dict], str] = field(default=lambda props: "")  # "" or why it does not


# ---------------------------------------------------------------------------------------------
# Verdicts through the claims layer


def versus(reference: str, better: str, what: str, margin: float = 0.0) -> Callable:
    """The card activation minus `reference`, paired by seed: reproduced = better, not reproduced
    = worse, partly = no clear difference (a 95% t interval over seeds)."""

    def judge(label: str, v: pd.DataFrame, act) -> Claim:
        mine = v[v["activation"] == label].set_index("seed")["value"]
        ref = v[v["activation"] == reference].set_index("seed")["value"]
        both = mine.index.intersection(ref.index)
        diff = (mine[both] - ref[both]).to_numpy(dtype=float)
        rule = above(margin) if better == "higher" else below(-margin)
        word = "higher" if better == "higher" else "lower"
        statement = f"{label}: {what} {word} than {reference} (paired by seed)"
        if label == reference:
            return no_data(experiment=NAME, claim=f"{what}[{label} vs {reference}]",
                           statement=statement, kind=Kind.EMPIRICAL,
                           why=f"{label} is the reference itself")
        # a difference of counts or of fractions is continuous evidence, not yes/no outcomes
        ev = over_seeds(diff, rule, binary=False)
        if math.isfinite(ev.estimate) and not math.isfinite(ev.lo) and ev.estimate == 0.0:
            # every seed equal on both sides: no difference, and no interval to say more
            return Claim(experiment=NAME, claim=f"{what}[{label} vs {reference}]",
                         statement=statement, kind=Kind.EMPIRICAL, verdict=Verdict.PARTLY,
                         measured=0.0, expected=str(rule), n=ev.n,
                         rule=f"{rule}; {ev.method}", detail="identical in every seed")
        return empirical(experiment=NAME, claim=f"{what}[{label} vs {reference}]",
                         statement=statement, rule=rule, evidence=ev)

    judge.reference = reference
    return judge


def sentence(c: Claim, test: Test) -> str:
    """The verdict as one line a reader takes in."""
    ref = getattr(test.judge, "reference", None)
    if c.verdict in (Verdict.NO_DATA, Verdict.ERROR):  # the badge says which
        return c.detail
    iv = (f" (difference {c.measured:+.3g}, 95% CI [{c.ci_low:.3g}, {c.ci_high:.3g}])"
          if math.isfinite(c.ci_low) else f" (difference {c.measured:+.3g}, no interval)")
    if ref is not None:
        return {Verdict.REPRODUCED: f"better than {ref}{iv}",
                Verdict.NOT_REPRODUCED: f"worse than {ref}{iv}",
                Verdict.PARTLY: f"no clear difference from {ref}{iv}"}[c.verdict]
    ci = (f", 95% CI [{c.ci_low:.3g}, {c.ci_high:.3g}]" if math.isfinite(c.ci_low)
          and math.isfinite(c.ci_high) else "")
    return (f"measured {c.measured:.4g}{ci}; expected {c.expected}"
            + (f"; {c.detail}" if c.detail else ""))


# ---------------------------------------------------------------------------------------------
# Tests computed here (no training)


def derivative_check(act: Activation) -> tuple[float, Claim]:
    """max |phi' - central difference| at random points where phi' is locally smooth, relative to
    the max slope: the derivative the probes use against another method than autograd."""
    z = torch.empty(20_001, dtype=torch.float64).uniform_(
        -8, 8, generator=torch.Generator().manual_seed(0))
    h = 1e-5
    fd = (act.fn(z + h) - act.fn(z - h)) / (2 * h)
    d = act.deriv(z)
    smooth = (act.deriv(z + 10 * h) - act.deriv(z - 10 * h)).abs() < 1e-3 * act.max_slope
    err = float((d - fd)[smooth].abs().max() / act.max_slope)
    c = math_claim(experiment=NAME, claim=f"derivative[{act.name}]",
                   statement="The derivative actlab uses equals a central difference of the "
                   "function (h = 1e-5, float64) at 20001 random points away from kinks.",
                   measured=err, expected="max |phi' - FD| / max|phi'| < 1e-6", ok=err < 1e-6,
                   n=int(smooth.sum()))
    return err, c


def chain_factor(act: Activation, depth: int = 30) -> tuple[float, Claim]:
    """The per-layer factor of df_L/dw_1 in a one-unit chain at w = 1 (geometric mean over the
    depth), and the chain rule: autograd equals x * prod sigma'(z_k) (math, 1e-10)."""
    from experiments.gradient_chain import chain_gradient, rel_error

    g1, _ = chain_gradient(act, 1, x=0.5, w1=1.0, w=1.0)
    gl, prod = chain_gradient(act, depth, x=0.5, w1=1.0, w=1.0)
    factor = (abs(gl) / abs(g1)) ** (1 / (depth - 1)) if g1 != 0 else math.nan
    err = rel_error(gl, prod)
    c = math_claim(experiment=NAME, claim=f"chain_rule[{act.name}]",
                   statement=f"In a one-unit chain of depth {depth}, autograd's df_L/dw_1 equals "
                   "x * prod sigma'(z_k).", measured=err, expected="relative error < 1e-10",
                   ok=err < 1e-10, n=depth)
    return factor, c


def line_pieces(act: Activation, seed: int, depth: int = 4, width: int = 16,
                n: int = 200_001) -> int:
    """Linear pieces of a random MLP (gaussian weights sigma_w = sqrt 2, biases sigma_b = 0.5) along
    a line segment through its 2-D input space, counted from the output sampled at n points: a
    kink shows as a non-zero second difference (adjacent flags are one kink). For a
    piecewise-linear activation only; tests check it against the exact count for relu."""
    g = torch.Generator().manual_seed(seed)
    dims = [2] + [width] * depth + [1]
    t = torch.linspace(-3.0, 3.0, n, dtype=torch.float64)
    p = torch.randn(2, generator=g, dtype=torch.float64)
    d = torch.randn(2, generator=g, dtype=torch.float64)
    h = p[None, :] + t[:, None] * (d / d.norm())[None, :]
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        w = torch.randn(b, a, generator=g, dtype=torch.float64) * math.sqrt(2.0 / a)
        bias = torch.randn(b, generator=g, dtype=torch.float64) * 0.5
        h = h @ w.T + bias
        if i < len(dims) - 2:
            h = act(h)
    y = h[:, 0]
    d2 = (y[2:] - 2 * y[1:-1] + y[:-2]).abs()
    flag = d2 > 1e-9 * max(float((y[1:] - y[:-1]).abs().max()), 1e-300)
    starts = flag & ~torch.cat([torch.zeros(1, dtype=torch.bool), flag[:-1]])
    return int(starts.sum()) + 1


def critical_scale(act: Activation) -> tuple[float, str]:
    from actlab.meanfield import critical_weight_scale

    c = critical_weight_scale(act, 0.0)
    return c.weight_scale, c.reason


# ---------------------------------------------------------------------------------------------
# Values from the experiments' tables


def _final(metric: str, split_last: bool = True) -> Callable:
    def values(df: pd.DataFrame, params) -> pd.DataFrame:
        d = df[(df["metric"] == metric) & df["layer"].isna()]
        last = d.groupby(["activation", "seed"])["step"].transform("max")
        d = d[d["step"] == last]
        # a diverged run keeps its last finite numbers: count it as NaN, not as a result
        ok = d["status"].ne("diverged") if "status" in d.columns else True
        return d.assign(value=d["value"].where(ok))[["activation", "seed", "value"]]

    return values


def _chi1_ratio(df: pd.DataFrame, params) -> pd.DataFrame:
    from experiments.signal_propagation import summarize

    s = summarize(df, params)
    return s.assign(value=s["chi1_measured"] / s["chi1_theory"])[["activation", "seed", "value"]]


def _dead_by_lr(df: pd.DataFrame, params) -> pd.DataFrame:
    """The dead fraction after training, per learning rate of the grid (`condition`): the card
    compares at the largest one where every activation kept finite numbers in more than half of
    its seeds, so the comparison is made where both trained."""
    from experiments.dead_relu import summarize

    s = summarize(df, params)
    s = s[s["cause"].astype(str) == "lr"]
    return s.assign(value=s["dead_fraction"], condition=s["cause_value"])[
        ["activation", "seed", "value", "condition"]]


def common_condition(v: pd.DataFrame, among=None) -> pd.DataFrame:
    """Rows at the largest `condition` where every activation of `among` (default: all) has finite
    values in more than half of its seeds (all rows when there is no condition column; none when
    no condition qualifies)."""
    if "condition" not in v.columns:
        return v
    judged = v if among is None else v[v["activation"].isin(among)]
    needed = set(judged["activation"]) if among is None else set(among)
    share = judged.groupby(["condition", "activation"])["value"].apply(
        lambda x: np.isfinite(x).mean())
    # a condition qualifies only if every needed activation has rows there at all
    present = share.groupby(level=0).apply(lambda x: set(x.index.get_level_values(1)) >= needed)
    ok = share.groupby(level=0).min().where(present, 0.0)
    good = ok[ok > 0.5].index
    return v[v["condition"] == good.max()] if len(good) else v.iloc[0:0]


def _stall_by_alpha(df: pd.DataFrame, params) -> pd.DataFrame:
    """saturation, every hidden layer's weights x alpha: the loss left at the end as a fraction of
    the initial loss, per alpha (`condition`). relu runs there only as a matched-loss control, so
    it is left out of this row."""
    from experiments.saturation import summarize

    s = summarize(df, params)
    s = s[(s["design"].astype(str) == "all_layers") & (s["push"].astype(str) == "weight")
          & (s["control"].astype(str) == "none")]
    return s.assign(value=s["loss_ratio"], condition=s["alpha"])[
        ["activation", "seed", "value", "condition"]]


def _dip_ratio(df: pd.DataFrame, params) -> pd.DataFrame:
    from experiments.nonmonotonic import summarize

    s = summarize(df, params)
    return s.assign(value=s["ratio"])[["activation", "seed", "value"]]


def _below_bound(label: str, v: pd.DataFrame, act) -> Claim:
    r = v[v["activation"] == label]["value"].to_numpy(dtype=float)
    rule = below(1.0)
    return empirical(experiment=NAME, claim=f"dip_below_isotonic[{label}]",
                     statement=f"One {label} neuron fits the dip better than any monotone function "
                     "can (MSE / isotonic bound < 1)", rule=rule,
                     evidence=over_seeds(r, rule, log=True))


def _chi1_judge(label: str, v: pd.DataFrame, act) -> Claim:
    r = v[v["activation"] == label]["value"].to_numpy(dtype=float)
    rule = equivalent(0.1, center=1.0)
    return empirical(experiment=NAME, claim=f"chi1_theory[{label}]",
                     statement=f"{label}: chi_1 measured in wide random networks matches the "
                     "mean-field theory (within 10%)", rule=rule, evidence=over_seeds(r, rule))


TESTS: tuple[Test, ...] = (
    Test("derivative", "max |phi' - finite difference| / max slope", None),
    Test("chain", "per-layer factor of df/dw1, one-unit chain at w = 1 (depth 30)", None),
    Test("critical", "critical weight scale sigma_w* (chi_1 = 1, sigma_b = 0)", None),
    Test("pieces", "linear pieces of a random 4 x 16 net along a line (piecewise linear only)",
         None, judge=versus("relu", "higher", "linear pieces"),
         applies=lambda props: "" if props["piecewise_linear"] else
         "not piecewise linear (measured on a grid): its networks have no linear pieces"),
    Test("chi1", "chi_1 measured / theory at sigma_w = 1 (width 256, depth 30)",
         "signal_propagation",
         ("model.weight_scale=1.0", "model.bias_scale=0.0", "model.width=256"),
         _chi1_ratio, _chi1_judge),
    Test("dead", "dead fraction after training at the largest stable lr", "dead_relu",
         ("params.cause=lr",), _dead_by_lr, versus("relu", "lower", "dead fraction")),
    Test("saturation", "loss left (final / initial) with every hidden W x alpha, at the largest "
         "alpha where it and tanh trained (3 x 64, SGD 0.1, 300 steps)", "saturation",
         ("params.design=all_layers", "params.pushes=[weight]"), _stall_by_alpha,
         versus("tanh", "lower", "loss left under saturation"),
         applies=lambda props: "" if props["saturating"] else
         "does not saturate (measured on a grid): scaling its pre-activations up makes the "
         "signal grow, not stall (at lr 0.1 such networks diverge from alpha = 3 on)"),
    Test("dip", "one neuron on the dip: MSE / isotonic bound (noise 0.1; < 1 beats every "
         "monotone function)", "nonmonotonic", ("params.target=dip", "params.noise=0.1"),
         _dip_ratio, _below_bound),
    Test("digits", "test accuracy on digits (3 x 64, Adam 1e-3, 300 steps)", "gradient_flow",
         ("task=digits", "model.depth=3", "model.width=64", "model.weight_scale=1.0",
          "trainer.optimizer=adam", "trainer.lr=0.001", "trainer.steps=300",
          "trainer.log_every=100", "trainer.probes=false"),
         _final("test_accuracy"), versus("relu", "higher", "digits test accuracy")),
    Test("mnist1d", "test accuracy on MNIST-1D (3 x 64, Adam 1e-3, 300 steps)",
         "gradient_flow",
         ("task=mnist1d", "model.depth=3", "model.width=64", "model.weight_scale=1.0",
          "trainer.optimizer=adam", "trainer.lr=0.001", "trainer.steps=300",
          "trainer.log_every=100", "trainer.probes=false"),
         _final("test_accuracy"), versus("relu", "higher", "MNIST-1D test accuracy")),
)


# ---------------------------------------------------------------------------------------------
# Running


def card_label(act_cfg: dict) -> str:
    """The card's name: the activation's table label plus the parameters it reads
    (leaky_relu_slope0.2); a custom one by its target."""
    label = activation_label(act_cfg)
    if act_cfg.get("name") == "custom":
        return label
    keys = [k for k in used_keys(act_cfg["name"], str(act_cfg.get("backward", "exact")))
            if k not in ("target", "derivative")]
    extra = "".join(f"_{k}{act_cfg[k]}" for k in keys)
    back = act_cfg.get("backward", "exact")
    return label + extra + ("" if back in ("exact", None) else f"_{back}")


def _table(out: Path, experiment: str, summaries: list[dict]) -> pd.DataFrame:
    frames = []
    for s in summaries:
        df = pd.read_csv(out / "runs" / experiment / s["run_id"] / "metrics.csv")
        frames.append(df.assign(status=s["status"]))
    return pd.concat(frames, ignore_index=True)


def test_values(test: Test, params, card: pd.DataFrame, base: pd.DataFrame,
                label: str) -> pd.DataFrame:
    """[activation, seed, value] of the card's runs (labelled `label`: a swish with beta 2 is not
    the swish baseline) and the baselines', each table summarized on its own; where the test
    sweeps a condition, the rows at the largest one where the card activation and the reference
    both trained."""
    mine = test.values(card, params).assign(activation=label)
    theirs = test.values(base, params)
    ref = getattr(test.judge, "reference", None)
    return common_condition(pd.concat([mine, theirs[theirs["activation"].isin(BASELINES)]],
                                      ignore_index=True), among=[label, ref] if ref else None)


def run_card(act_overrides: list[str], out: Path, smoke: bool = False,
             seeds: tuple[int, ...] = SEEDS, log=print) -> dict:
    """Run every test for the activation the overrides choose and the baselines; write the card;
    return {"label", "rows", "paths", "seconds"}."""
    from omegaconf import OmegaConf

    from actlab.grid import job_config, run_grid
    from actlab.registry import experiments

    t0 = time.perf_counter()
    registry = experiments()
    probe = job_config(["experiment=gradient_flow", *act_overrides])  # checks the activation
    act_cfg = OmegaConf.to_container(probe.activation, enum_to_str=True)
    act = get_activation(probe.activation)
    label = card_label(act_cfg)
    props = dict(act.measured)
    runs = out / "cards" / "_runs"
    seed_ov = f"seed={','.join(map(str, seeds))}"
    common = [f"out_dir={runs}", seed_ov] + (["scale=smoke"] if smoke else [])
    rows, tables = [], {}
    for i, test in enumerate(TESTS, 1):
        log(f"[{i}/{len(TESTS)}] {test.key}: {test.title}")
        t1 = time.perf_counter()
        why = test.applies(props)
        if why:
            rows.append({"test": test, "value": math.nan, "claim": no_data(
                experiment=NAME, claim=f"{test.key}[{label}]", statement=test.title,
                kind=Kind.EMPIRICAL, why=why, applies=False)})
            continue
        if test.experiment is None:
            rows.append(_computed(test, act, label, act_cfg))
            continue
        exp = registry[test.experiment]
        ov = list(test.overrides)
        if smoke:  # the smoke scale's few steps win over the test's own step count
            ov = [o for o in ov if not o.startswith(("trainer.steps=", "trainer.log_every="))]
        card = run_grid(exp, [*ov, *act_overrides, *common])
        base = run_grid(exp, [*ov, f"activation={','.join(BASELINES)}", *common])
        params = OmegaConf.to_object(job_config([f"experiment={exp.name}",
                                                 *test.overrides]).params)
        v = test_values(test, params, _table(runs, exp.name, card),
                        _table(runs, exp.name, base), label)
        tables[test.key] = v
        mine = v[v["activation"] == label]["value"]
        m, lo, hi = mean_ci(mine.dropna())
        base = {b: float(v[v["activation"] == b]["value"].mean()) for b in BASELINES}
        try:
            claim = test.judge(label, v, act)
        except Exception as e:  # a verdict that cannot be computed is shown, not fatal
            claim = Claim(experiment=NAME, claim=f"{test.key}[{label}]", statement=test.title,
                          kind=Kind.EMPIRICAL, verdict=Verdict.ERROR,
                          detail=f"{type(e).__name__}: {e}")
        cond = (f"{v['condition'].iloc[0]:g}" if "condition" in v.columns and len(v)
                else "")
        rows.append({"test": test, "value": m, "ci": (lo, hi), "baselines": base,
                     "claim": claim, "seconds": time.perf_counter() - t1, "condition": cond})
    seconds = time.perf_counter() - t0
    # the page and its figures live with the other figure code, loaded only now
    write_card = importlib.import_module("experiments.figures.card").write_card
    paths = write_card(out / "cards", label, act, props, rows, tables, seeds, smoke, seconds,
                       act_overrides)
    return {"label": label, "rows": rows, "paths": paths, "seconds": seconds}


def _computed(test: Test, act: Activation, label: str, act_cfg: dict) -> dict:
    base_acts = {b: get_activation(b) for b in BASELINES}
    if test.key == "derivative":
        value, claim = derivative_check(act)
        base = {b: derivative_check(a)[0] for b, a in base_acts.items()}
    elif test.key == "chain":
        value, claim = chain_factor(act)
        base = {b: chain_factor(a)[0] for b, a in base_acts.items()}
        own = act_cfg.get("name") != "custom" or act_cfg.get("derivative")
        if not own or str(act_cfg.get("backward", "exact")) != "exact":
            # autograd would be compared with itself: its derivative *is* autograd's
            claim = no_data(experiment=NAME, claim=claim.claim, statement=claim.statement,
                            kind=Kind.MATH, applies=False,
                            why="its derivative is autograd's (a custom function without "
                            "activation.derivative, or a backward ablation): the chain rule "
                            "would compare autograd with itself")
    elif test.key == "pieces":
        v = pd.DataFrame([{"activation": name, "seed": s, "value": line_pieces(a, s)}
                          for name, a in [(label, act), ("relu", base_acts["relu"])]
                          for s in SEEDS])
        m, lo, hi = mean_ci(v[v["activation"] == label]["value"])
        base = {b: float(v[v["activation"] == b]["value"].mean()) if b == "relu" else math.nan
                for b in BASELINES}
        return {"test": test, "value": m, "ci": (lo, hi), "baselines": base,
                "claim": test.judge(label, v, act), "seconds": 0.0, "values": v}
    else:  # critical
        value, reason = critical_scale(act)
        base = {b: critical_scale(a)[0] for b, a in base_acts.items()}
        claim = _critical_claim(act, label, value, reason)
    return {"test": test, "value": value, "ci": (math.nan, math.nan), "baselines": base,
            "claim": claim, "seconds": 0.0}


def _critical_claim(act: Activation, label: str, sw: float, reason: str) -> Claim:
    """chi_1(sigma_w*) = 1 with q* re-solved on the quad-integrated q map and chi_1 integrated by
    scipy's adaptive quadrature (edge_of_chaos.chi1_by_quad): another method than the composite
    Gauss-Legendre rule and brentq that found the root."""
    from actlab.meanfield import q_star
    from experiments.edge_of_chaos import chi1_by_quad

    statement = "chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] equals 1 at the critical weight scale."
    if not math.isfinite(sw):
        return no_data(experiment=NAME, claim=f"critical[{label}]", statement=statement,
                       kind=Kind.MATH, why=f"no critical weight scale: {reason}", applies=False)
    chi, how = chi1_by_quad(act, sw, 0.0, q_star(act, sw, 0.0))
    if not math.isfinite(chi):
        return no_data(experiment=NAME, claim=f"critical[{label}]", statement=statement,
                       kind=Kind.MATH, why=how, applies=False)
    return math_claim(experiment=NAME, claim=f"critical[{label}]", statement=statement,
                      measured=chi, expected="chi_1 = 1 +- 1e-6 (q* and chi_1 by scipy quad)",
                      ok=abs(chi - 1) < 1e-6, n=1, detail=how)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="actlab card", description="Put one activation through every test, beside "
        + ", ".join(BASELINES) + ", and write OUT/cards/<label>.md and .html.",
        epilog="examples: actlab card activation=mish | actlab card activation=custom "
        "activation.target=myact:scaled_tanh")
    p.add_argument("overrides", nargs="*", help="activation=NAME and activation.KEY=VALUE")
    p.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    p.add_argument("--smoke", action="store_true", help="seconds, not minutes (for tests)")
    p.add_argument("--seeds", type=int, default=len(SEEDS), help="seeds per setting (default 3)")
    args = p.parse_args(argv)
    from actlab.config import ConfigError
    from actlab.errors import one_line

    bad = [o for o in args.overrides if not o.lstrip("+").startswith("activation")]
    if bad or not any(o.startswith("activation=") for o in args.overrides):
        print("error: " + (f"{bad[0]}: a card takes only activation=NAME and activation.KEY="
                           "VALUE overrides" if bad else "a card needs activation=NAME (e.g. "
                           "actlab card activation=mish)"), file=sys.stderr)
        return 2
    if args.seeds < 2:
        print(f"error: --seeds={args.seeds}: needs at least 2 (an interval over seeds)",
              file=sys.stderr)
        return 2
    try:
        res = run_card(args.overrides, Path(args.out), smoke=args.smoke,
                       seeds=tuple(range(args.seeds)),
                       log=lambda m: print(m, file=sys.stderr, flush=True))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        msg = one_line(e)
        if msg is None:
            raise
        print(f"error: {msg}", file=sys.stderr)
        return 2
    for path in res["paths"]:
        print(path)
    print(f"card {res['label']}: {len(res['rows'])} tests in {res['seconds']:.0f} s",
          file=sys.stderr)
    return 0
