"""report.md and report.html from a claims table: every row keeps its cells, whatever the text."""

import math
from dataclasses import dataclass
from html.parser import HTMLParser

import pandas as pd

from actlab.claims import Kind, Verdict, empirical, math_claim, over_seeds, within
from actlab.experiment import Experiment
from actlab.report import build_report


class _Tables(HTMLParser):
    """Cells per row of every table in a page."""

    def __init__(self):
        super().__init__()
        self.rows, self._row = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = 0
        elif tag in ("td", "th") and self._row is not None:
            self._row += 1

    def handle_endtag(self, tag):
        if tag == "tr":
            self.rows.append(self._row)
            self._row = None


@dataclass
class _P:
    pass


def _fake():
    def claims(summary, p):
        return [
            math_claim(experiment="fake", claim="pipes[a|b]", statement="x | y", measured=0.01,
                       expected="|measured/theory - 1| <= 0.03", ok=True, n=4),
            empirical(experiment="fake", claim="slope", statement="d ln(steps) / d ln|z0| ~ 1",
                      rule=within(0.8, 1.2),
                      evidence=over_seeds([0.9, 1.0, 1.1, math.nan], within(0.8, 1.2)),
                      detail="<script>alert(1)</script>"),
        ]

    return Experiment(name="fake", title="Fake.", summary="A fake experiment.", command="none",
                      params=_P, run=lambda cfg, device: None, summarize=lambda df, p: df,
                      claims=claims, figures="builtins:dict")


def test_report_rows_keep_their_cells_and_text_is_escaped(tmp_path):
    (tmp_path / "figures").mkdir()
    md, html = build_report(tmp_path, {"fake": pd.DataFrame({"run_id": ["r"]})}, {"fake": _fake()})
    page = html.read_text()
    parser = _Tables()
    parser.feed(page)
    assert parser.rows and len(set(parser.rows)) == 1, parser.rows  # header and rows: 8 cells each
    assert parser.rows[0] == 8
    assert "|measured/theory - 1| &lt;= 0.03" in page  # the pipe survives, as text
    assert "<script>alert(1)</script>" not in page  # a detail is text, never markup
    assert 'class="badge pass"' in page and 'class="badge partly"' in page
    assert not any(ord(ch) > 0x2FFF for ch in page)  # no emoji: renders without an emoji font
    # the markdown table keeps its column count too: literal pipes are escaped
    lines = [ln for ln in md.read_text().splitlines() if ln.startswith("| fake")]
    assert lines and all(ln.replace("\\|", "").count("|") == 9 for ln in lines), lines
    assert "n = 3" in page and "1 non-finite" in page  # n and dropped seeds are shown


def test_report_verdict_kinds_are_the_claims_vocabulary():
    assert {v.value for v in Verdict} >= {"pass", "fail", "reproduced", "partly", "not reproduced"}
    assert {k.value for k in Kind} == {"math", "empirical"}
