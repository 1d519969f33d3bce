"""Dynamical isometry: the input-output Jacobian's singular values at the edge of chaos, by depth.

Run the default grid:  actlab -m experiment=jacobian_spectrum
One point:             actlab experiment=jacobian_spectrum activation=tanh model.bias_scale=0.05

Pennington, Schoenholz & Ganguli 2017 ("Resurrecting the sigmoid in deep learning through dynamical
isometry"): at the edge of chaos (chi_1 = 1) the mean squared singular value of the Jacobian
J = d h_L / d x = D_L W_L ... D_1 W_1 of a random MLP is chi_1^L = 1 at every depth, but the
spread of the singular values around it depends on the weights and the activation. By free
probability the variance of the squared singular values (normalized by their mean squared) adds
up over layers: per layer mu_2 / mu_1^2 - 1 from D^2 (mu_k = E[phi'(sqrt(q*) z)^(2k)]) plus 1
for Gaussian weights (Marchenko-Pastur), 0 for orthogonal ones. So orthogonal tanh at small q*
(D^2 ~ 1: moment excess m = mu_2 / mu_1^2 - 1 -> 0 as q* -> 0) keeps the spectrum concentrated
as depth grows, relu (D^2 is 0 or 1: m = 1 at every q) cannot with either init, and Gaussian
weights spread with depth for every activation.

For each run (activation, sigma_b = model.bias_scale, seed): the critical sigma_w* from
actlab.meanfield.critical_weight_scale (where there is none, e.g. swish, whose chi_1 jumps over 1:
no measurement, the reason recorded, unless params.weight_scale_fallback is set; the claims about
criticality then have no data). Then for each init in params.inits, params.networks random MLPs
(actlab.models.MLP, width model.width, depth max(params.depths), weights at sigma_w*, biases
N(0, sigma_b^2)) and params.n_inputs inputs each, scaled so the first layer's pre-activation
variance is q* (q_1 = params.input_q_fallback where q* is unbounded: relu at sigma_b > 0, whose
chi does not depend on q). The Jacobian of the hidden stack at each depth L in params.depths is the
prefix of one network, accumulated forward in float64 (J_l = diag(phi'(z_l)) W_l J_{l-1}, with the
activation's analytic derivative: the Jacobian backprop sees), and its singular values by SVD.

Recorded per (init, depth, seed), means over the seed's networks x inputs: sv_log_std (the std of
ln s over the singular values resolved in float64, i.e. above s_max x width x depth x eps: relu's
exactly-zero singular values, and the deepest Gaussian products' smallest, are rounding noise and
left out; `sv_resolved` is the fraction kept, so a spread is a lower bound where it is < 1),
sv_max_over_mean, sv_mean_sq (theory: the product of chi over the layers' mean-field q, 1 at the
fixed point), sv_sq_var (var(s^2) / mean(s^2)^2; theory `sv_sq_var_theory`, the free-probability
sum above) and the quantiles sv_q05, sv_q50, sv_q95 of the pooled singular values (unresolved ones
counted as 0); a histogram of log10 s at the largest depth.

Claimed (per activation and sigma_b, from the table's own depths and width): the mean squared
singular value is chi_1^L = 1 within a finite-width margin, for each init; Gaussian weights spread
with depth; where theory predicts isometry for orthogonal weights (sqrt(m / (m + 1)) < 0.5:
tanh at small q*), orthogonal keeps the spread at the largest depth below Gaussian's and its
growth with depth under half Gaussian's; elsewhere (relu) the orthogonal spread grows too. A math
claim checks the quadrature behind m against its closed form for a positively homogeneous phi
(relu: m = 1). Since a Gaussian spread over unresolved values is a lower bound, the comparisons
with it are conservative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from actlab.activations import get_activation
from actlab.claims import (
    Claim,
    Kind,
    Rule,
    Verdict,
    above,
    below,
    by_activation_setting,
    duplicated_cells,
    empirical,
    math_claim,
    no_data,
    over_seeds,
    paired,
)
from actlab.config import Init, ModelConfig
from actlab.experiment import Experiment
from actlab.meanfield import Q_MAX, Q_MIN, chi_at, critical_weight_scale, expect, q_gap, q_star
from actlab.models import MLP
from actlab.results import CONFIG_COLUMNS
from actlab.trainer import RunResult
from experiments.params import JacobianSpectrumParams as Params

NAME = "jacobian_spectrum"


@dataclass(frozen=True)
class Thresholds:
    # Claim 1: |ln(measured msv / theory)| at the largest depth L within msv_log_tol x L / width
    # (TOST on the geometric mean over seeds). Finite width moves chi_1 by O(1/width) per layer:
    # the empirical q of `width` units has relative variance 2 / width, which shifts E[chi_l]
    # through chi's curvature, and the per-layer ratio of squared norms fluctuates by O(1/width),
    # which biases ln(msv) (Jensen) by -O(L / width). 2 per layer covers both at the measured size
    # (width 128, L = 64, 120 networks: ln E[msv] ~ +0.3 for Gaussian tanh, ln of 8-network means
    # ~ -0.2 for relu; the margin is 1.0 there), while a sigma_w 1% off the critical one moves
    # ln(msv) by 2 x 0.01 x L = 1.3 at L = 64.
    msv_log_tol: float = 2.0
    # Claim 2b: orthogonal's growth of sv_log_std with ln(depth) below this fraction of Gaussian's.
    # In the large-width theory the spread's variance grows like L m (orthogonal) vs L (m + 1)
    # (Gaussian), so the spreads' ratio is ~ sqrt(m / (m + 1)): 0.26 for tanh at sigma_b = 0.05
    # (m = 0.073), 0.71 for relu (m = 1, at every q). 0.5 (m = 1/3) separates the two; the same
    # line decides where isometry is predicted (claims 2) and where it is not (claim 3).
    flat_ratio: float = 0.5
    # Claim 2a: Gaussian's sv_log_std minus orthogonal's at the largest depth above this
    spread_gap: float = 0.0
    # Claim 3 and spread_grows for Gaussian: the slope of sv_log_std vs ln(depth) above this
    min_slope: float = 0.0
    # The moment excess by quadrature (a composite Gauss-Legendre rule split at the kink, good to
    # ~1e-14) vs its closed form for a positively homogeneous phi: a wrong rule (a kink inside a
    # panel, phi' for phi'^2) is off by far more.
    moment_tol: float = 1e-9
    # Singular values below s_max x width x depth x eps are rounding noise (an SVD is backward
    # stable to ~ width eps s_max; the product of `depth` matrices adds ~ depth width eps s_max)
    resolve_factor: float = 1.0


THRESHOLDS = Thresholds()
EPS = float(np.finfo(np.float64).eps)
# the histogram of log10 s at the largest depth: fixed bins, so seeds and runs add up
HIST_EDGES = np.arange(-16.0, 2.0 + 1e-9, 0.25)
STATS = ("sv_log_std", "sv_max_over_mean", "sv_mean_sq", "sv_sq_var", "sv_q05", "sv_q50",
         "sv_q95", "sv_resolved")
# the activation and its parameters' table columns (whatever parameters the registry has)
ACT_KEYS = ("activation", *(c for c, k in CONFIG_COLUMNS.items() if k.startswith("activation.")))
# the measurement's own size, recorded in its rows (params.*: no config column holds them)
MEASURE = ("networks", "n_inputs")
SETTING = (*ACT_KEYS, "bias_scale", "width", *MEASURE)


def _seed_of(*keys: int) -> int:
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0])


# ---------------------------------------------------------------------------------------------
# Theory


@dataclass(frozen=True)
class Theory:
    critical_weight_scale: float  # nan where chi_1 never equals 1
    edge_weight_scale: float
    critical_detail: str
    weight_scale: float  # measured at: the critical one, the fallback, or nan (not measured)
    weight_scale_detail: str
    q_star: float
    input_q: float  # the inputs' q_1
    input_q_detail: str
    moment_excess: float  # mu_2 / mu_1^2 - 1 at q_1
    msv: dict  # depth -> prod of chi over the mean-field q_1..q_L
    sq_var: dict  # (init, depth) -> free-probability variance of s^2 / mean(s^2)^2
    closed_excess: float = math.nan  # the moment excess from a closed form, where there is one
    closed_excess_detail: str = ""


def moments(act, q: float) -> tuple[float, float]:
    """(mu_1, mu_2) = E[phi'(sqrt(q) z)^2], E[phi'(sqrt(q) z)^4] (composite rule; q clamped to
    [Q_MIN, Q_MAX] as chi_at does: at q = 0 a kink counts its limit, not phi'(0))."""
    q = min(max(q, Q_MIN), Q_MAX)
    return expect(lambda u: act.deriv(u) ** 2, q), expect(lambda u: act.deriv(u) ** 4, q)


def closed_form_excess(act) -> tuple[float, str]:
    """(m, how) for a positively homogeneous phi, whose phi'(u)^2 is phi'(1)^2 for u > 0 and
    phi'(-1)^2 for u < 0, each with probability 1/2 at any q: m = 2 (a^4 + b^4) / (a^2 + b^2)^2 - 1
    (relu: 1); (nan, why not) otherwise. Homogeneity is checked on a float64 grid of the run's own
    activation, never assumed from its name."""
    z = torch.linspace(-6.0, 6.0, 1201, dtype=torch.float64)
    with torch.no_grad():
        f, f2 = act(z), act(2 * z)
        a, b = (float(act.deriv(torch.tensor(v, dtype=torch.float64))) ** 2 for v in (1.0, -1.0))
    scale = float(f.abs().max()) or 1.0
    if float((f2 - 2 * f).abs().max()) > 1e-12 * scale:
        return math.nan, "no closed form: phi is not positively homogeneous"
    if a + b == 0:
        return math.nan, "no closed form: phi'(+-1) = 0"
    return (2 * (a * a + b * b) / (a + b) ** 2 - 1,
            f"positively homogeneous: phi'(1)^2 = {a:g}, phi'(-1)^2 = {b:g}, each with "
            "probability 1/2")


def theory(act, sigma_b: float, depths, inits, fallback: float | None,
           q_fallback: float) -> Theory:
    """The critical point, the inputs' q_1 and the mean-field predictions at every depth."""
    crit = critical_weight_scale(act, sigma_b)
    sw = crit.weight_scale
    if math.isfinite(sw):
        how, q = "critical: chi_1 = 1", crit.q_star
    elif fallback is not None:
        sw, how = float(fallback), f"params.weight_scale_fallback (no critical sigma_w: " \
                                    f"{crit.reason})"
        q = q_star(act, sw, sigma_b)
    else:
        sw, how, q = math.nan, (f"not measured: no critical sigma_w ({crit.reason}) and "
                                "params.weight_scale_fallback is null"), math.nan
    if not math.isfinite(sw):
        return Theory(crit.weight_scale, crit.edge, crit.reason, sw, how, q, math.nan, "",
                      math.nan, {}, {})
    if math.isfinite(q):
        q1, qhow = q, "q* (the fixed point of the q map)"
    else:
        q1, qhow = float(q_fallback), ("params.input_q_fallback: q* is unbounded at this "
                                       "sigma_w (q grows every layer)")
    qs, chis, ms = [], [], []
    ql = q1
    for _ in range(max(depths)):
        qs.append(ql)
        chis.append(chi_at(act, ql, sw))
        m1, m2 = moments(act, ql)
        ms.append(m2 / m1**2 - 1 if m1 > 0 else math.nan)
        ql = ql + q_gap(act, min(ql, Q_MAX), sw, sigma_b) if ql < Q_MAX else ql
    msv = {int(d): float(np.prod(chis[:d])) for d in depths}
    sq_var = {(Init(i).value, int(d)): float(sum(ms[:d]) + (d if Init(i) is Init.gaussian else 0))
              for i in inits for d in depths}
    closed, chow = closed_form_excess(act)
    return Theory(crit.weight_scale, crit.edge, crit.reason, sw, how, q, q1, qhow, ms[0], msv,
                  sq_var, closed, chow)


# ---------------------------------------------------------------------------------------------
# The measurement


def build_network(act, width: int, depth: int, weight_scale: float, bias_scale: float, init,
                  seed: int, device="cpu") -> MLP:
    """An MLP of `depth` hidden layers (width -> width) in float64, initialized from `seed` by
    MLP.reset (orthogonal: nn.init.orthogonal_ with gain sigma_w; gaussian: N(0, sigma_w^2 /
    width)), drawn on the CPU (the same numbers on every device)."""
    cfg = ModelConfig(depth=depth, width=width, weight_scale=weight_scale, bias_scale=bias_scale,
                      init=Init(init))
    torch.manual_seed(seed)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # drawn in float64: an orthogonal W to rounding
    try:
        model = MLP(width, 1, cfg, act)
    finally:
        torch.set_default_dtype(old)
    return model.to(device)


def make_inputs(width: int, n: int, q1: float, weight_scale: float, bias_scale: float, seed: int,
                device="cpu") -> torch.Tensor:
    """n inputs with |x|^2 / width = (q_1 - sigma_b^2) / sigma_w^2, so the first layer's
    pre-activations have mean square q_1 (for Gaussian weights on average; exactly their
    sigma_w^2 |x|^2 / width part for orthogonal ones)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, width, generator=g, dtype=torch.float64)
    a2 = max(q1 - bias_scale**2, 0.0) / weight_scale**2
    return (x / x.norm(dim=1, keepdim=True) * math.sqrt(a2 * width)).to(device)


@torch.no_grad()
def input_jacobians(model: MLP, act, x: torch.Tensor, depths) -> dict[int, torch.Tensor]:
    """{L: d h_L / d x} for each L in `depths` (h_L the L-th hidden layer's output; x a batch:
    each is (batch, width, in_dim)), by forward accumulation J_l = diag(phi'(z_l)) W_l J_{l-1}
    with the activation's analytic derivative. The output layer is not used."""
    want, out = {int(d) for d in depths}, {}
    h, jac = x, None
    for i, layer in enumerate(model.layers[:max(want)], start=1):
        z = layer(h)
        w = layer.weight
        jac = w.expand(len(x), *w.shape) if jac is None else torch.matmul(w, jac)
        jac = act.deriv(z).unsqueeze(-1) * jac
        h = act(z)
        if i in want:
            out[i] = jac
    return out


def spectrum_stats(s: np.ndarray, width: int, depth: int) -> dict:
    """The recorded statistics of k Jacobians' singular values `s` (k, n): per-Jacobian values
    averaged over the k, quantiles of the pooled values. Unresolved values (below s_max x width x
    depth x eps x resolve_factor) count as 0 and are left out of the logs."""
    s = np.asarray(s, dtype=float).reshape(-1, s.shape[-1])
    floor = s.max(axis=1, keepdims=True) * width * depth * EPS * THRESHOLDS.resolve_factor
    ok = (s > floor) & (s > 0)
    clean = np.where(ok, s, 0.0)
    lam = clean**2
    lstd = [float(np.log(v[k]).std()) if k.sum() >= 2 else math.nan for v, k in zip(s, ok)]
    mean = clean.mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mom = lam.mean(axis=1)
        sq_var = (lam**2).mean(axis=1) / mom**2 - 1
        mx = np.where(mean > 0, clean.max(axis=1) / mean, np.nan)
    q05, q50, q95 = np.quantile(clean, [0.05, 0.5, 0.95])
    return {"sv_log_std": float(np.mean(lstd)), "sv_max_over_mean": float(np.mean(mx)),
            "sv_mean_sq": float(mom.mean()), "sv_sq_var": float(np.mean(sq_var)),
            "sv_q05": float(q05), "sv_q50": float(q50), "sv_q95": float(q95),
            "sv_resolved": float(ok.mean())}


def histogram(s: np.ndarray, width: int, depth: int) -> np.ndarray:
    """The fraction of all singular values in each HIST_EDGES bin of log10 s (resolved ones
    only, clipped into the range: the fractions sum to sv_resolved)."""
    s = np.asarray(s, dtype=float).reshape(-1, s.shape[-1])
    floor = s.max(axis=1, keepdims=True) * width * depth * EPS * THRESHOLDS.resolve_factor
    v = s[(s > floor) & (s > 0)]
    lg = np.clip(np.log10(v), HIST_EDGES[0], HIST_EDGES[-1] - 1e-9)
    return np.histogram(lg, HIST_EDGES)[0] / s.size


def measure(act, th: Theory, width: int, bias_scale: float, p, seed: int,
            device="cpu") -> list[dict]:
    """One seed: params.networks networks per init, each at every depth, params.n_inputs inputs
    each (the same inputs for every init)."""
    depths = sorted({int(d) for d in p.depths})
    top = max(depths)
    size = {"networks": int(p.networks), "n_inputs": int(p.n_inputs),
            "weight_scale": th.weight_scale}
    rows = []
    for i, init in enumerate(dict.fromkeys(Init(v) for v in p.inits)):
        svs = {d: [] for d in depths}
        for k in range(int(p.networks)):
            model = build_network(act, width, top, th.weight_scale, bias_scale, init,
                                  _seed_of(seed, i, k), device)
            x = make_inputs(width, int(p.n_inputs), th.input_q, th.weight_scale, bias_scale,
                            _seed_of(seed, 1_000_003, k), device)
            for d, jac in input_jacobians(model, act, x, depths).items():
                svs[d].append(torch.linalg.svdvals(jac).cpu().numpy())
            del model
        common = {"step": 0, "layer": None, "init": init.value, **size}
        for d in depths:
            s = np.concatenate(svs[d])
            rows += [{**common, "depth": d, "metric": m, "value": v}
                     for m, v in spectrum_stats(s, width, d).items()]
            if d == top:
                h = histogram(s, width, d)
                centers = (HIST_EDGES[:-1] + HIST_EDGES[1:]) / 2
                rows += [{**common, "depth": d, "metric": "sv_hist", "log10_sv": float(c),
                          "value": float(f)} for c, f in zip(centers, h) if f > 0]
    return rows


def theory_rows(th: Theory) -> list[dict]:
    base = {"step": 0, "layer": None}
    rows = [{**base, "metric": m, "value": float(v), "detail": d} for m, v, d in [
        ("critical_weight_scale", th.critical_weight_scale, th.critical_detail),
        ("edge_weight_scale", th.edge_weight_scale, ""),
        ("weight_scale_used", th.weight_scale, th.weight_scale_detail),
        ("q_star", th.q_star, ""),
        ("input_q", th.input_q, th.input_q_detail),
        ("moment_excess", th.moment_excess, "mu_2 / mu_1^2 - 1 of phi'(sqrt(q_1) z)^2"),
        ("moment_excess_closed_form", th.closed_excess, th.closed_excess_detail)]]
    rows += [{**base, "depth": d, "metric": "msv_theory", "value": v} for d, v in th.msv.items()]
    rows += [{**base, "init": i, "depth": d, "metric": "sv_sq_var_theory", "value": v}
             for (i, d), v in th.sq_var.items()]
    return rows


def check(p: Params) -> None:
    """Range checks the types cannot express, before anything is computed."""
    from actlab.config import ConfigError

    def need(ok: bool, key: str, value, what: str) -> None:
        if not ok:
            raise ConfigError(f"params.{key}={value}: {what}")

    need(len(p.depths) > 0 and all(d >= 1 for d in p.depths), "depths", list(p.depths),
         "must be one or more integers >= 1")
    need(len(p.inits) > 0, "inits", list(p.inits), "must name at least one init")
    need(p.networks >= 1, "networks", p.networks, "must be an integer >= 1")
    need(p.n_inputs >= 1, "n_inputs", p.n_inputs, "must be an integer >= 1")
    fb = p.weight_scale_fallback
    need(fb is None or (fb > 0 and math.isfinite(fb)), "weight_scale_fallback", fb,
         "must be null or a number > 0")
    need(p.input_q_fallback > 0 and math.isfinite(p.input_q_fallback), "input_q_fallback",
         p.input_q_fallback, "must be a number > 0")


def run(cfg, device) -> RunResult:
    return run_seeds(cfg, device, [cfg.seed])[cfg.seed]


def run_seeds(cfg, device, seeds) -> dict[int, RunResult]:
    """The theory once; each seed's networks measured (none where there is no sigma_w)."""
    p = cfg.params
    check(p)
    act = get_activation(cfg.activation)
    width, sb = int(cfg.model.width), float(cfg.model.bias_scale)
    th = theory(act, sb, sorted({int(d) for d in p.depths}), [Init(i) for i in p.inits],
                p.weight_scale_fallback, float(p.input_q_fallback))
    base = theory_rows(th)
    out = {}
    for s in seeds:
        rows = [dict(r) for r in base]
        if math.isfinite(th.weight_scale):
            rows += measure(act, th, width, sb, p, s, device)
        out[s] = RunResult(rows=rows)
    return out


# ---------------------------------------------------------------------------------------------
# Summary: one row per run (part "run") and one per init, depth and seed (part "spectrum")

RUN_METRICS = ("critical_weight_scale", "edge_weight_scale", "weight_scale_used", "q_star",
               "input_q", "moment_excess", "moment_excess_closed_form")
COLUMNS = ["part", *SETTING, "seed", "init", "depth", "weight_scale", "critical",
           *RUN_METRICS, "critical_detail", "weight_scale_detail", "closed_form_detail",
           "msv_theory",
           "sv_sq_var_theory", *STATS]


def summarize(df: pd.DataFrame, params: Params | None = None) -> pd.DataFrame:
    if df.empty or "metric" not in df.columns:
        return pd.DataFrame(columns=COLUMNS)
    df = df.copy()
    for c in ("init", "depth", "detail", *MEASURE):
        if c not in df.columns:
            df[c] = np.nan
    keys = [c for c in (*ACT_KEYS, "bias_scale", "width", "seed") if c in df.columns]
    runs = df.groupby("run_id")[keys].first()
    top = df[df["init"].isna() & df["depth"].isna()]
    val = top.groupby(["run_id", "metric"])["value"].first().unstack("metric")
    val = val.reindex(columns=list(RUN_METRICS))
    det = top.groupby(["run_id", "metric"])["detail"].first().unstack("metric")
    det = det.reindex(columns=["critical_weight_scale", "weight_scale_used",
                               "moment_excess_closed_form"])
    info = val.assign(critical_detail=det["critical_weight_scale"],
                      weight_scale_detail=det["weight_scale_used"],
                      closed_form_detail=det["moment_excess_closed_form"])
    info["critical"] = np.isfinite(info["critical_weight_scale"].astype(float))
    run_part = runs.join(info, how="inner").assign(part="run")
    parts = [run_part.reset_index()]
    sp = df[df["metric"].isin(STATS) & df["init"].notna() & df["depth"].notna()]
    if not sp.empty:
        idx = ["run_id", "init", "depth"]
        s = sp.groupby([*idx, "metric"])["value"].first().unstack("metric")
        s = s.reindex(columns=list(STATS))
        for c in (*MEASURE, "weight_scale"):
            s[c] = sp.groupby(idx)[c].first() if c in sp.columns else np.nan
        s = s.reset_index()
        msv = df[df["metric"] == "msv_theory"].groupby(["run_id", "depth"])["value"].first()
        var = df[df["metric"] == "sv_sq_var_theory"].groupby(idx)["value"].first()
        s["msv_theory"] = msv.reindex(pd.MultiIndex.from_frame(s[["run_id", "depth"]])).to_numpy()
        s["sv_sq_var_theory"] = var.reindex(pd.MultiIndex.from_frame(s[idx])).to_numpy()
        s = s.merge(run_part.drop(columns=["part"]).reset_index(), on="run_id")
        parts.append(s.assign(part="spectrum"))
    out = pd.concat(parts, ignore_index=True).reindex(columns=COLUMNS)
    out["depth"] = pd.to_numeric(out["depth"], errors="coerce")
    return out.sort_values(["part", *[c for c in SETTING if c in out.columns], "init", "depth",
                            "seed"], ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Claims


def _groups(d: pd.DataFrame, always: tuple[str, ...], others) -> list[tuple[str, pd.DataFrame]]:
    return by_activation_setting(d, always, others, ACT_KEYS[1:])


def slope(depth, value) -> float:
    """Least-squares slope of `value` against ln(depth) over the finite points; nan with fewer
    than two distinct depths."""
    d, v = np.asarray(depth, dtype=float), np.asarray(value, dtype=float)
    keep = np.isfinite(d) & np.isfinite(v) & (d > 0)
    if len(np.unique(d[keep])) < 2:
        return math.nan
    return float(np.polyfit(np.log(d[keep]), v[keep], 1)[0])


def slopes(g: pd.DataFrame, init: str) -> pd.Series:
    """Per seed: the slope of sv_log_std against ln(depth) for one init."""
    h = g[g["init"] == init]
    return pd.Series({seed: slope(x["depth"], x["sv_log_std"]) for seed, x in h.groupby("seed")},
                     dtype=float).sort_index()


ST_MOMENT = ("The moment excess mu_2 / mu_1^2 - 1 of phi'^2 by quadrature (which sets the "
             "theory's spectral variance) equals its closed form for a positively homogeneous "
             "phi.")
ST_MSV = ("At the critical sigma_w the mean squared singular value of the input-output Jacobian "
          "is chi_1^L = 1 (the mean-field product of chi over the layers) at the largest depth, "
          "within a finite-width margin.")
ST_GROWS = ("The spread of the Jacobian's singular values (std of ln s) grows with depth at "
            "criticality for this init.")
ST_BELOW = ("Where theory predicts dynamical isometry for orthogonal weights, the orthogonal "
            "network's singular-value spread at the largest depth is below the Gaussian one's "
            "(paired by seed).")
ST_FLAT = ("Where theory predicts dynamical isometry for orthogonal weights, the orthogonal "
           "spread stays roughly flat in depth: its slope against ln(depth) is under half the "
           "Gaussian one's.")


def _moment_claims(runs: pd.DataFrame) -> list[Claim]:
    T = THRESHOLDS
    out: list[Claim] = []
    have = runs[np.isfinite(runs["moment_excess"].astype(float))]
    closed = have[np.isfinite(have["moment_excess_closed_form"].astype(float))]
    for label, g in _groups(closed, ("activation", "bias_scale"), ("width",)):
        r = g.iloc[0]
        m, c = float(r["moment_excess"]), float(r["moment_excess_closed_form"])
        out.append(math_claim(
            experiment=NAME, claim=f"moment_excess_closed_form[{label}]", statement=ST_MOMENT,
            measured=m, expected=f"{c:.12g} ({r['closed_form_detail']})",
            ok=abs(m - c) <= T.moment_tol, n=1, rule=f"|quadrature - closed form| <= "
                                                      f"{T.moment_tol:g}"))
    if not out:
        why = "; ".join(sorted({str(v) for v in have["closed_form_detail"].dropna()})) \
            or "no measured run"
        out.append(no_data(experiment=NAME, claim="moment_excess_closed_form",
                           statement=ST_MOMENT, kind=Kind.MATH, applies=False,
                           why=f"no run has a closed form: {why}"))
    return out


def _msv_claims(g: pd.DataFrame, label: str) -> list[Claim]:
    T = THRESHOLDS
    out = []
    top = int(g["depth"].max())
    width = float(g["width"].iloc[0])
    margin = T.msv_log_tol * top / width
    rule = Rule("within", low=math.exp(-margin), high=math.exp(margin), level=0.90,
                text=f"within a factor exp(+-{margin:.3g}) of theory (+- {T.msv_log_tol:g} L / "
                     f"width, L = {top}, width {width:g}; TOST, 90% interval)")
    for init in sorted(g["init"].dropna().unique()):
        d = g[(g["init"] == init) & (g["depth"] == top)].set_index("seed").sort_index()
        ratio = d["sv_mean_sq"].astype(float) / d["msv_theory"].astype(float)
        th = float(d["msv_theory"].iloc[0]) if len(d) else math.nan
        c = empirical(
            experiment=NAME, claim=f"msv_is_one[{label},init={init}]", statement=ST_MSV,
            rule=rule, evidence=over_seeds(ratio, rule, log=True),
            detail=(f"per seed: mean over networks x inputs of mean(s^2) / theory {th:.6g} at "
                    f"depth {top}; ratios: " + ", ".join(f"{v:.3g}" for v in ratio)))
        out.append(_overflow_counts_against(c, ratio))
    return out


def _overflow_counts_against(c: Claim, ratio: pd.Series) -> Claim:
    """A seed whose mean squared singular value overflowed (inf) is evidence against msv = 1,
    not a missing value: with any such seed the claim is at most partly reproduced, and with
    most seeds overflowing it is not reproduced."""
    r = np.asarray(ratio, dtype=float)
    n_inf, n = int(np.isposinf(r).sum()), int(np.isfinite(r).sum() + np.isposinf(r).sum())
    if not n_inf:
        return c
    note = (f"{n_inf} of {n} seed(s) overflowed (mean(s^2) = inf): counted against msv = 1, "
            "not left out")
    if 2 * n_inf > n:
        verdict = Verdict.NOT_REPRODUCED
        note += "; most seeds overflowed: not reproduced"
    elif c.verdict is Verdict.REPRODUCED or c.verdict is Verdict.NO_DATA:
        verdict = Verdict.PARTLY
        note += "; at most partly"
    else:
        verdict = c.verdict
    return replace(c, verdict=verdict, detail="; ".join(p for p in (c.detail, note) if p))


def _spread_claims(g: pd.DataFrame, label: str) -> list[Claim]:
    T = THRESHOLDS
    out = []
    top = int(g["depth"].max())
    inits = set(g["init"].dropna())
    depths = sorted(g["depth"].dropna().unique())
    m = float(g["moment_excess"].astype(float).iloc[0])
    ratio_theory = math.sqrt(m / (m + 1)) if m >= 0 else math.nan
    isometric = ratio_theory < T.flat_ratio
    why_pred = (f"moment excess m = mu_2 / mu_1^2 - 1 = {m:.4g} at q_1: predicted orthogonal / "
                f"Gaussian spread ~ sqrt(m / (m + 1)) = {ratio_theory:.3g} "
                f"({'<' if isometric else '>='} {T.flat_ratio:g})")
    if not math.isfinite(ratio_theory):
        why_pred = f"moment excess m = {m} is not a number: no prediction"
    rule_g = above(T.min_slope)
    few = len(depths) < 2
    # Gaussian weights spread for every activation; orthogonal ones too where no isometry is
    # predicted (or no prediction is possible: then only the Gaussian claim is made)
    predicted = math.isfinite(ratio_theory)
    grows = ["gaussian"] if isometric or not predicted else ["gaussian", "orthogonal"]
    for init in grows:
        claim = f"spread_grows[{label},init={init}]"
        if init not in inits or few:
            out.append(no_data(experiment=NAME, claim=claim, statement=ST_GROWS,
                               kind=Kind.EMPIRICAL, expected=str(rule_g),
                               why=f"no {init} rows" if init not in inits
                               else f"fewer than two depths ({depths})"))
            continue
        sl = slopes(g, init)
        out.append(empirical(
            experiment=NAME, claim=claim, statement=ST_GROWS, rule=rule_g,
            evidence=over_seeds(sl, rule_g, binary=False),
            detail=(f"per seed: least-squares slope of sv_log_std against ln(depth) over depths "
                    f"{', '.join(f'{d:g}' for d in depths)}; slopes: "
                    + ", ".join(f"{v:.3g}" for v in sl) + f"; {why_pred}")))
    if not (isometric and predicted):
        return out
    rule_b, rule_f = above(T.spread_gap), below(T.flat_ratio)
    if not {"gaussian", "orthogonal"} <= inits or few:
        why = (f"fewer than two depths ({depths})" if few
               else f"needs gaussian and orthogonal rows (has {', '.join(sorted(inits))})")
        return out + [no_data(experiment=NAME, claim=f"{c}[{label}]", statement=s,
                              kind=Kind.EMPIRICAL, expected=str(r), why=why)
                      for c, s, r in (("orthogonal_below_gaussian", ST_BELOW, rule_b),
                                      ("orthogonal_flat", ST_FLAT, rule_f))]
    at_top = g[g["depth"] == top]
    diff = paired(at_top, "sv_log_std", "init", "gaussian", "orthogonal")
    res = at_top.groupby("init")["sv_resolved"].mean()
    out.append(empirical(
        experiment=NAME, claim=f"orthogonal_below_gaussian[{label}]", statement=ST_BELOW,
        rule=rule_b, evidence=over_seeds(diff, rule_b, binary=False),
        detail=(f"per seed: Gaussian minus orthogonal sv_log_std at depth {top}: "
                + ", ".join(f"{v:.3g}" for v in diff) + "; resolved fraction "
                + ", ".join(f"{k} {v:.2f}" for k, v in res.items())
                + " (a Gaussian spread over unresolved values is a lower bound: conservative); "
                + why_pred)))
    gauss = next((c for c in out if c.claim == f"spread_grows[{label},init=gaussian]"), None)
    if gauss is None or gauss.verdict is not Verdict.REPRODUCED:
        return out + [no_data(
            experiment=NAME, claim=f"orthogonal_flat[{label}]", statement=ST_FLAT,
            kind=Kind.EMPIRICAL, expected=str(rule_f),
            why=(f"the Gaussian spread is not shown to grow with depth "
                 f"({gauss.verdict if gauss else 'no claim'}): no growth to be a fraction of"))]
    sg, so = slopes(g, "gaussian"), slopes(g, "orthogonal")
    both = sg.index.intersection(so.index)
    sg, so = sg[both], so[both]
    ratio = (so / sg.where(sg > 0)).sort_index()
    out.append(empirical(
        experiment=NAME, claim=f"orthogonal_flat[{label}]", statement=ST_FLAT, rule=rule_f,
        evidence=over_seeds(ratio, rule_f, binary=False),
        detail=("per seed: slope of sv_log_std against ln(depth), orthogonal / Gaussian "
                "(a seed whose Gaussian slope is <= 0 is left out): "
                + ", ".join(f"{a:.3g}/{b:.3g}" for a, b in zip(so, sg)) + f"; {why_pred}")))
    return out


def claims(summary: pd.DataFrame, params: Params | None = None) -> list[Claim]:
    part = summary["part"] if "part" in summary.columns else pd.Series(dtype=str)
    runs, spec = summary[part == "run"], summary[part == "spectrum"]
    families = (("msv_is_one", ST_MSV), ("spread_grows", ST_GROWS))
    if runs.empty and spec.empty:
        return [no_data(experiment=NAME, claim=c, statement=s, kind=Kind.EMPIRICAL, why="no runs")
                for c, s in families] + [
            no_data(experiment=NAME, claim="moment_excess_closed_form", statement=ST_MOMENT,
                    kind=Kind.MATH, applies=False, why="no runs")]
    out: list[Claim] = _moment_claims(runs)
    # settings without a critical point: no data, with the reason
    nocrit = runs[~runs["critical"].astype(bool)]
    for label, g in _groups(nocrit, ("activation", "bias_scale"), ("width",)):
        r = g.iloc[0]
        why = f"no critical sigma_w: {r['critical_detail']}"
        if isinstance(r["weight_scale_detail"], str) and r["weight_scale_detail"].startswith(
                "params.weight_scale_fallback"):
            why += (f"; measured at the fallback sigma_w = {float(r['weight_scale_used']):g}, "
                    "which is not critical (shown in the figures, not judged)")
        out += [no_data(experiment=NAME, claim=f"{c}[{label}]", statement=s,
                        kind=Kind.EMPIRICAL, why=why) for c, s in families]
    crit = spec[spec["critical"].astype(bool)] if not spec.empty else spec
    have = set(map(tuple, crit[["activation", "bias_scale"]].drop_duplicates().to_numpy())) \
        if not crit.empty else set()
    for label, g in _groups(runs[runs["critical"].astype(bool)], ("activation", "bias_scale"),
                            ("width",)):
        if (g["activation"].iloc[0], g["bias_scale"].iloc[0]) not in have:
            out += [no_data(experiment=NAME, claim=f"{c}[{label}]", statement=s,
                            kind=Kind.EMPIRICAL, why="no spectrum rows for this setting")
                    for c, s in families]
    if crit.empty:
        return out
    for label, g in _groups(crit, ("activation", "bias_scale"), ("width", *MEASURE)):
        dup = duplicated_cells(g, ["seed", "init", "depth"])
        if dup:
            out += [no_data(experiment=NAME, claim=f"{c}[{label}]", statement=s,
                            kind=Kind.EMPIRICAL, why=dup) for c, s in families]
            continue
        out += _msv_claims(g, label)
        out += _spread_claims(g, label)
    return out


EXPERIMENT = Experiment(
    name=NAME,
    title="Dynamical isometry: the input-output Jacobian's singular values at the edge of chaos, "
          "by depth.",
    summary=(
        "Random MLPs at the critical weight scale (chi_1 = 1, from mean-field theory; none for "
        "activations whose chi_1 jumps over 1) with Gaussian and orthogonal weights: the singular "
        "values of the Jacobian of the last hidden layer with respect to the input, in float64, "
        "at several depths. Claimed: the mean squared singular value stays at chi_1^L = 1 within "
        "a finite-width margin; Gaussian weights spread the spectrum with depth; where theory "
        "predicts dynamical isometry (orthogonal tanh at small q*) orthogonal weights keep the "
        "spread below the Gaussian one and nearly flat in depth, and where it does not (relu) "
        "the orthogonal spread grows too (Pennington, Schoenholz & Ganguli 2017). Checked: the "
        "quadrature of the theory's moment excess against its closed form for relu-like phi."
    ),
    command="actlab -m experiment=jacobian_spectrum",
    params=Params,
    run=run,
    run_seeds=run_seeds,
    summarize=summarize,
    claims=claims,
    figures="experiments.figures.jacobian_spectrum:figures",
    reads=("activation", "model.width", "model.bias_scale"),
)
