"""Shared plotting pieces: the style, the palette and saving. Plot functions live with their
experiment; each takes a DataFrame and returns a matplotlib Figure."""

from __future__ import annotations

import io
from pathlib import Path


class _Pyplot:
    """matplotlib.pyplot, imported on first use: every experiment module imports this file, and
    loading matplotlib (~0.6 s) in each training job or sweep worker would be wasted time."""

    def __getattr__(self, name: str):
        mod = self.__dict__.get("_module")
        if mod is None:
            import matplotlib

            matplotlib.use("Agg")  # files only, never a window
            import matplotlib.pyplot as mod

            self.__dict__["_module"] = mod
        return getattr(mod, name)


plt = _Pyplot()

STYLE = Path(__file__).with_name("actlab.mplstyle")
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255",
           "#44AA99", "#999933", "#F0E442", "#AA4499"]  # Okabe-Ito, then Paul Tol (colorblind-safe)


def use_style() -> None:
    plt.style.use(STYLE)


def colors(keys) -> dict:
    """A stable colour per key (activation names keep their colour across figures)."""
    return {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(keys)}


def save_figure(fig, out_dir: Path, name: str) -> list[Path]:
    """PNG for reports, PDF for papers; each written atomically."""
    from actlab.results import atomic_write_bytes  # (pandas: not for every training job)

    out_dir.mkdir(parents=True, exist_ok=True)
    # The style crops to the drawn content (savefig.bbox: tight); left to savefig, each format
    # would lay the figure out once more just to find that box. Found once here, the two files
    # share it (make figures: ~3 s of its ~40 s of drawing).
    bbox = None
    if plt.rcParams["savefig.bbox"] == "tight":
        fig.draw_without_rendering()
        bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(
            plt.rcParams["savefig.pad_inches"])
    paths = []
    for ext in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, bbox_inches=bbox)
        path = out_dir / f"{name}.{ext}"
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    plt.close(fig)
    return paths


__all__ = ["use_style", "colors", "save_figure", "plt"]
