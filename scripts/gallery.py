"""Refresh the README gallery: small PNG copies of the key figures under docs/figures/.

    python scripts/gallery.py --out outputs     # after `make figures`
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

KEY_FIGURES = [
    "gradient_flow_delta_rms", "gradient_chain_dfdw1", "gradient_chain_divergence", "saturation",
    "signal_propagation_chi1", "dead_relu", "born_dead", "softplus_revival", "gelu_approx",
    "linear_collapse", "linear_regions", "nonmonotonic", "output_constraint", "continual",
    "saturation_neuron", "nonmonotonic_ratio", "edge_of_chaos_trainability",
    "edge_of_chaos_depth_scales", "jacobian_spectrum_spread", "continual_ablation",
]
WIDTH = 900


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="outputs")
    p.add_argument("--dest", default="docs/figures")
    args = p.parse_args()
    dest = Path(args.dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in KEY_FIGURES:
        src = Path(args.out) / "figures" / f"{name}.png"
        if not src.exists():
            print(f"missing {src} (skipped)", file=sys.stderr)
            continue
        im = Image.open(src).convert("RGB")
        if im.width > WIDTH:
            im = im.resize((WIDTH, round(im.height * WIDTH / im.width)), Image.LANCZOS)
        im.save(dest / f"{name}.png", optimize=True)
        print(dest / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
