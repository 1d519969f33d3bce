"""The report card's page and figures (for experiments/card.py): OUT/cards/<label>.md, a
self-contained .html (figures inlined, every cell escaped by Jinja2) and .csv (one row per test),
from the rows `experiments.card` computed."""

from __future__ import annotations

import base64
import io
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from actlab.plotting import colors, plt, use_style
from actlab.results import atomic_write_csv, atomic_write_text

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>actlab card: {{ label }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
line-height:1.45;color:#222}
table{border-collapse:collapse;font-size:0.88em;width:100%}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3} img{max-width:100%;border:1px solid #eee} code{background:#f5f5f5}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:0.85em;font-weight:600;
white-space:nowrap;border:1px solid}
.pass,.reproduced{background:#e6f4ea;color:#1e6b34;border-color:#9fd3ae}
.fail,.error{background:#fde8e8;color:#9b1c1c;border-color:#f2a7a7}
.partly{background:#fff6d6;color:#7a5b00;border-color:#ecd27a}
.not-reproduced{background:#fdeee4;color:#8a3a00;border-color:#f0b68c}
.no-data{background:#eee;color:#555;border-color:#ccc}
</style></head><body>
<h1>actlab card: {{ label }}</h1>
<p>{{ intro }}</p>
<p>Measured properties (on a float64 grid): {% for k, v in props.items() %}
<code>{{ k }} = {{ v }}</code>{% if not loop.last %}, {% endif %}{% endfor %}.</p>
<table><thead><tr><th>test</th><th>{{ label }}</th><th>95% CI over seeds</th>
{% for b in baselines %}<th>{{ b }}</th>{% endfor %}<th>verdict</th></tr></thead><tbody>
{% for r in rows %}<tr><td>{{ r.title }}</td><td><b>{{ r.value }}</b></td><td>{{ r.ci }}</td>
{% for b in baselines %}<td>{{ r.base[b] }}</td>{% endfor %}
<td><span class="badge {{ r.css }}">{{ r.verdict }}</span> {{ r.sentence }}</td></tr>
{% endfor %}</tbody></table>
{% for name, img in figures %}<h2>{{ name }}</h2>
<p><img alt="{{ name }}" src="data:image/png;base64,{{ img }}"></p>
{% endfor %}
<h2>How this card was made</h2>
<p>Command: <code>{{ command }}</code>. {{ n_seeds }} seeds per setting{{ scale_note }};
{{ seconds }} s on this machine. The tests and their settings:</p>
<ul>{% for t in tests %}<li><b>{{ t.key }}</b>: {{ t.title }}{% if t.experiment %} (experiment
<code>{{ t.experiment }}</code>{% if t.overrides %}, <code>{{ t.overrides }}</code>
{% endif %}){% endif %}</li>
{% endfor %}</ul>
</body></html>
"""


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    return f"{x:.4g}" if isinstance(x, (float, np.floating)) else str(x)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def function_figure(act, baselines: dict):
    use_style()
    z = torch.linspace(-5, 5, 1001, dtype=torch.float64)
    keys = [act.name, *baselines]
    col = colors(keys)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    for name, f in [(act.name, act), *baselines.items()]:
        lw, alpha = (2.4, 1.0) if name == act.name else (1.2, 0.6)
        a.plot(z, f.fn(z), color=col[name], lw=lw, alpha=alpha, label=name)
        b.plot(z, f.deriv(z), color=col[name], lw=lw, alpha=alpha, label=name)
    a.set(title="phi(z)", xlabel="z")
    b.set(title="phi'(z)", xlabel="z")
    a.legend(fontsize=8)
    return fig


def chi_figure(act, baselines: dict):
    """chi_1 against sigma_w at sigma_b = 0 from the mean-field theory, with chi_1 = 1 marked."""
    from actlab.meanfield import chi1_star

    use_style()
    sws = np.linspace(0.3, 3.0, 46)
    col = colors([act.name, *baselines])
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for name, f in [(act.name, act), *baselines.items()]:
        chis = [chi1_star(f, float(s), 0.0) for s in sws]
        lw = 2.4 if name == act.name else 1.2
        ax.plot(sws, chis, color=col[name], lw=lw, label=name)
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set(yscale="log", xlabel="sigma_w", ylabel="chi_1 (theory, sigma_b = 0)",
           title="order (chi_1 < 1) to chaos (chi_1 > 1)")
    ax.legend(fontsize=8)
    return fig


def values_figure(label: str, tables: dict, baselines: tuple):
    """Each trained test: per-seed values of the card activation and the baselines."""
    use_style()
    keys = list(tables)
    if not keys:
        return None
    col = colors([label, *baselines])
    fig, axes = plt.subplots(1, len(keys), figsize=(3.0 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        v = tables[key]
        for i, a in enumerate([label, *baselines]):
            vals = v[v["activation"] == a]["value"].to_numpy(dtype=float)
            ax.scatter(np.full(len(vals), i), vals, color=col[a], s=14)
            if np.isfinite(vals).any():
                ax.hlines(np.nanmean(vals), i - 0.3, i + 0.3, color=col[a])
        ax.set_xticks(range(len(baselines) + 1), [label, *baselines], rotation=45, fontsize=7)
        ax.set_title(key, fontsize=9)
    return fig


def write_card(folder: Path, label: str, act, props: dict, rows: list[dict], tables: dict,
               seeds, smoke: bool, seconds: float, overrides: list[str]) -> list[Path]:
    from actlab.activations import get_activation
    from experiments.card import BASELINES, TESTS, sentence

    safe = re.sub(r"[^A-Za-z0-9_.+-]", "-", label)
    base_acts = {b: get_activation(b) for b in BASELINES}
    out_rows = []
    for r in rows:
        c, t = r["claim"], r["test"]
        lo, hi = r.get("ci", (math.nan, math.nan))
        out_rows.append({
            "key": t.key, "value": _fmt(r["value"]),
            "title": t.title + (f" [at {r['condition']}]" if r.get("condition") else ""),
            "ci": f"[{lo:.4g}, {hi:.4g}]" if math.isfinite(lo) and math.isfinite(hi) else "",
            "base": {b: _fmt(r.get("baselines", {}).get(b)) for b in BASELINES},
            "verdict": str(c.verdict), "css": str(c.verdict).replace(" ", "-"),
            "sentence": sentence(c, t), "claim": c.claim, "rule": c.rule,
        })
    figures = [("The function and its derivative", _png(function_figure(act, base_acts))),
               ("chi_1 against the weight scale", _png(chi_figure(act, base_acts)))]
    vf = values_figure(label, tables, BASELINES)
    if vf is not None:
        figures.append(("Per-seed values of the trained tests", _png(vf)))
    command = "actlab card " + " ".join(overrides) + (" --smoke" if smoke else "")
    intro = (f"{label} put through actlab's tests beside {', '.join(BASELINES)}, on the same "
             f"seeds ({', '.join(map(str, seeds))}). Each verdict is computed by the claims "
             "layer: against a reference activation, paired by seed (better / no clear "
             "difference / worse, from a 95% t interval of the difference), or against theory.")
    import jinja2

    html = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        PAGE).render(label=label, intro=intro, props=props, rows=out_rows, baselines=BASELINES,
                     figures=figures, command=command, n_seeds=len(seeds),
                     scale_note=" (smoke scale: numbers meaningless)" if smoke else "",
                     seconds=f"{seconds:.0f}",
                     tests=[{"key": t.key, "title": t.title, "experiment": t.experiment,
                             "overrides": " ".join(t.overrides)} for t in TESTS])
    md = [f"# actlab card: {label}\n", intro + "\n",
          "Measured properties: " + ", ".join(f"`{k} = {v}`" for k, v in props.items()) + "\n",
          f"| test | {label} | 95% CI | " + " | ".join(BASELINES) + " | verdict |",
          "|---" * (len(BASELINES) + 4) + "|"]
    for r in out_rows:
        cells = [r["title"], r["value"], r["ci"], *(r["base"][b] for b in BASELINES),
                 f"**{r['verdict']}**: {r['sentence']}"]
        md.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    md.append(f"\nCommand: `{command}` ({seconds:.0f} s). Figures: see the .html page.\n")
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{safe}.md", folder / f"{safe}.html", folder / f"{safe}.csv"]
    atomic_write_text(paths[0], "\n".join(md))
    atomic_write_text(paths[1], html)
    atomic_write_csv(paths[2], pd.DataFrame([{k: v for k, v in r.items() if k != "base"}
                                             | {f"base_{b}": r["base"][b] for b in BASELINES}
                                             for r in out_rows]))
    return paths
