"""The report: every claim with its figure, measured vs expected, verdict and the rerun command.

Built from OUT/results/*.csv (claims are re-evaluated from the tables, never retrained) and
OUT/figures/*.png. Writes OUT/report.md and a self-contained OUT/report.html (figures embedded).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
import re
from pathlib import Path

import pandas as pd

from actlab.claims import claims_table, evaluate
from actlab.results import atomic_write_text

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
VERDICT_MARK = {"pass": "✅ pass", "fail": "❌ FAIL", "reproduced": "✅ reproduced",
                "partly": "🟡 partly", "not reproduced": "🔴 not reproduced", "no data": "⚪ no data",
                "reported": "ℹ️ reported", "control": "ℹ️ control"}


def _fmt(x) -> str:
    if isinstance(x, float):
        return "" if math.isnan(x) else f"{x:.4g}"
    return str(x)


def _interval(row) -> str:
    lo, hi = row["ci_low"], row["ci_high"]
    if isinstance(lo, float) and isinstance(hi, float) and not (math.isnan(lo) or math.isnan(hi)):
        return f"[{lo:.3g}, {hi:.3g}]"
    return ""


def _summary(module) -> tuple[str, str]:
    """The module docstring's first paragraph after its title line."""
    doc = (module.__doc__ or "").strip().split("\n\n")
    title = doc[0].strip()
    body = next((p for p in doc[1:] if not p.lstrip().startswith(("Run", "One", "With", "Variation"))), "")
    return title, " ".join(body.split())


def _command(name: str) -> str:
    path = CONFIG_DIR / "experiment" / f"{name}.yaml"
    if path.exists():
        for line in path.read_text().splitlines():
            m = re.match(r"#\s*Run(?: the grid)?:\s*(.+)", line)
            if m:
                return m.group(1).strip()
    return f"actlab -m experiment={name}"


def build_report(out: Path, tables: dict[str, pd.DataFrame], experiments: dict) -> tuple[Path, Path]:
    table = claims_table(evaluate(experiments, tables))
    figs = sorted((out / "figures").glob("*.png"))
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    md = ["# actlab report\n", f"Generated {now} from `{out}/results/*.csv` (no training). "
          "Mathematical claims (`math`) must hold to a tight tolerance; empirical claims carry a 95% "
          "interval over seeds and a verdict computed from the data.\n",
          "## Summary\n", "| experiment | claim | kind | measured | 95% interval | expected | verdict |",
          "|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        md.append(f"| {r['experiment']} | {r['claim']} | {r['kind']} | {_fmt(r['measured'])} | {_interval(r)} "
                  f"| {r['expected']} | {VERDICT_MARK.get(r['verdict'], r['verdict'])} |")
    counts = table["verdict"].value_counts()
    md.append("\nVerdicts: " + ", ".join(f"{k}: {v}" for k, v in counts.items()) + "\n")
    sections = []
    for exp in experiments:
        if exp not in tables:
            continue
        title, body = _summary(experiments[exp])
        rows = table[table["experiment"] == exp]
        sec = [f"## {exp}: {title}\n", body + "\n"]
        for f in figs:
            if f.stem == exp or f.stem.startswith(exp + "_"):
                sec.append(f"![{f.stem}](figures/{f.name})\n")
        for _, r in rows.iterrows():
            sec.append(f"- **{r['claim']}** ({r['kind']}): {r['statement']}  \n"
                       f"  measured **{_fmt(r['measured'])}** {_interval(r)}, expected {r['expected']} → "
                       f"{VERDICT_MARK.get(r['verdict'], r['verdict'])}" + (f"  \n  _{r['detail']}_" if r["detail"] else ""))
        sec.append(f"\nRerun: `{_command(exp)} out_dir={out}` then "
                   f"`actlab-collect --out {out} && actlab-report --out {out}`\n")
        sections.append("\n".join(sec))
    text = "\n".join(md) + "\n" + "\n".join(sections)
    md_path, html_path = out / "report.md", out / "report.html"
    atomic_write_text(md_path, text)
    atomic_write_text(html_path, _html(text, out))
    return md_path, html_path


def _html(md: str, out: Path) -> str:
    """A small, dependency-free rendering of the report's own markdown subset, images inlined."""
    lines, body, in_table, in_list = md.splitlines(), [], False, False

    def inline(s: str) -> str:
        s = html.escape(s)
        s = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", s)
        s = re.sub(r"`(.+?)`", r"<code>\1</code>", s)
        s = re.sub(r"(?<!\w)_(.+?)_(?!\w)", r"<i>\1</i>", s)
        return s.replace("  \n", "<br>")

    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not in_table:
                body.append("<table><tr>" + "".join(f"<th>{inline(c)}</th>" for c in cells) + "</tr>")
                in_table = True
                i += 2  # skip the separator row
                continue
            body.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in cells) + "</tr>")
        else:
            if in_table:
                body.append("</table>")
                in_table = False
            m = re.match(r"!\[(.*)\]\((.+)\)", line)
            if line.startswith("- "):
                item = line[2:]
                while i + 1 < len(lines) and lines[i + 1].startswith("  "):
                    i += 1
                    item += "  \n" + lines[i].strip()
                if not in_list:
                    body.append("<ul>")
                    in_list = True
                body.append(f"<li>{inline(item)}</li>")
                i += 1
                continue
            if in_list:
                body.append("</ul>")
                in_list = False
            if m:
                data = base64.b64encode((out / m.group(2)).read_bytes()).decode()
                body.append(f'<p><img alt="{html.escape(m.group(1))}" src="data:image/png;base64,{data}"></p>')
            elif line.startswith("## "):
                body.append(f"<h2>{inline(line[3:])}</h2>")
            elif line.startswith("# "):
                body.append(f"<h1>{inline(line[2:])}</h1>")
            elif line.strip():
                body.append(f"<p>{inline(line)}</p>")
        i += 1
    if in_table:
        body.append("</table>")
    style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
             "line-height:1.45;color:#222}table{border-collapse:collapse;font-size:0.85em}"
             "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}th{background:#f3f3f3}"
             "img{max-width:100%;border:1px solid #eee}code{background:#f5f5f5;padding:0 3px}"
             "li{margin-bottom:0.6em}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>actlab report</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
