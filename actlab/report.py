"""The report: every claim with its figure, measured vs expected, verdict and the rerun command.

Built from OUT/results/*.csv (claims are re-evaluated from the tables, never retrained) and
OUT/figures/*.png. Writes OUT/report.md (markdown) and OUT/report.html, a self-contained page
rendered by a Jinja2 template straight from the claims table (the library escapes every cell;
figures inlined; verdicts as text badges; the summary sortable and filterable offline).
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from pathlib import Path

import pandas as pd

from actlab.claims import claims_table, judge_all
from actlab.results import atomic_write_text

TEMPLATE = "report.html.j2"
VERDICT_MARK = {"pass": "pass", "fail": "FAIL", "reproduced": "reproduced", "partly": "partly",
                "not reproduced": "not reproduced", "no data": "no data", "error": "ERROR"}


def _cell(x) -> str:
    """A markdown table cell: a literal | would split the cell."""
    return _fmt(x).replace("|", "\\|")


def _fmt(x) -> str:
    if isinstance(x, float):
        return "" if math.isnan(x) else f"{x:.4g}"
    return str(x)


def _interval(row) -> str:
    lo, hi = row["ci_low"], row["ci_high"]
    if isinstance(lo, float) and isinstance(hi, float) and not (math.isnan(lo) or math.isnan(hi)):
        return f"[{lo:.3g}, {hi:.3g}]"
    return ""


def build_report(out: Path, tables: dict[str, pd.DataFrame], experiments: dict,
                 params: dict | None = None) -> tuple[Path, Path]:
    table = claims_table(judge_all(experiments, tables, params))
    figs = sorted((out / "figures").glob("*.png"))
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    sections = []
    for exp in experiments:
        if exp not in tables:
            continue
        e = experiments[exp]
        sections.append({
            "name": exp, "title": e.title, "body": e.summary,
            "figures": [f for f in figs if f.stem == exp or f.stem.startswith(exp + "_")],
            "claims": [_row(r) for _, r in table[table["experiment"] == exp].iterrows()],
            "rerun": f"{e.command} out_dir={out}",
            "then": f"actlab-collect --out {out} && actlab-report --out {out}",
        })
    rows = [_row(r) for _, r in table.iterrows()]
    counts = table["verdict"].value_counts().to_dict()
    md_path, html_path = out / "report.md", out / "report.html"
    atomic_write_text(md_path, _markdown(out, now, rows, counts, sections))
    atomic_write_text(html_path, _html(out, now, rows, counts, sections))
    return md_path, html_path


def _row(r) -> dict:
    return {**{k: r[k] for k in r.index}, "measured_text": _fmt(r["measured"]),
            "interval": _interval(r), "mark": VERDICT_MARK.get(r["verdict"], r["verdict"]),
            "css": str(r["verdict"]).replace(" ", "-")}


INTRO = ("Mathematical claims (math) must hold to a tight tolerance against a reference computed "
         "another way; empirical claims carry an interval over seeds (n = seeds) and a verdict "
         "from a declared rule: reproduced when the whole interval supports the claim, not "
         "reproduced when the whole interval contradicts it, partly otherwise.")


def _markdown(out: Path, now: str, rows: list[dict], counts: dict, sections: list[dict]) -> str:
    md = ["# actlab report\n",
          f"Generated {now} from `{out}/results/*.csv` (no training). {INTRO}\n",
          "## Summary\n",
          "| experiment | claim | kind | n | measured | interval | expected | verdict |",
          "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {_cell(r['experiment'])} | {_cell(r['claim'])} | {r['kind']} | {r['n']} "
                  f"| {r['measured_text']} | {r['interval']} | {_cell(r['expected'])} "
                  f"| {r['mark']} |")
    md.append("\nVerdicts: " + ", ".join(f"{k}: {v}" for k, v in counts.items()) + "\n")
    for sec in sections:
        md += [f"## {sec['name']}: {sec['title']}\n", sec["body"] + "\n"]
        md += [f"![{f.stem}](figures/{f.name})\n" for f in sec["figures"]]
        for r in sec["claims"]:
            md.append(f"- **{r['claim']}** ({r['kind']}): {r['statement']}  \n"
                      f"  measured **{r['measured_text']}** {r['interval']} (n = {r['n']}), "
                      f"expected {r['expected']} → {r['mark']}  \n  rule: {r['rule']}"
                      + (f"  \n  _{r['detail']}_" if r["detail"] else ""))
        md.append(f"\nRerun: `{sec['rerun']}` then `{sec['then']}`\n")
    return "\n".join(md) + "\n"


def _html(out: Path, now: str, rows: list[dict], counts: dict, sections: list[dict]) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("actlab"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    images = {f: base64.b64encode(f.read_bytes()).decode() for s in sections for f in s["figures"]}
    return env.get_template(TEMPLATE).render(
        now=now, out=str(out), intro=INTRO, rows=rows, counts=counts, sections=sections,
        images=images, experiments=sorted({r["experiment"] for r in rows}),
        verdicts=[v for v in VERDICT_MARK if v in counts])
