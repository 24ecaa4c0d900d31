"""Data for a visitor mask (the pixels a person in front of a work hides): views drawn with a visitor, and
the visitor's own pixels, found against the same view drawn again without visitors (renderers 2 and 3 draw
everything else alike: bench_recognition.drawn_without). docs/RECOGNITION.md, "Since 2026-12-06, fifth": set
aside in the comparison, with the work's outline found behind them, visitors are worth ten points on renderer 3;
a mask learnt from renderer 2's alone found renderer 3's at IoU 0.23.

    python3 benchmarks/visitor_masks.py --renderer 2 --views 1500 --out r2_visitors.npz

Train on one renderer's masks and report on the other's (renderer 3 has never been tuned on). Each view shows a
work the benchmark never uses, drawn from seeds far from its works, views and unknown works, with a visitor
whenever the renderer allows one (`--occlusion 1`: renderer 2 then draws one in 80 % of views), at
`--width` pixels across. The mask: the two views, each blurred by BLUR px, differ by more than DIFFER grey levels
summed over the channels (a visitor, not the camera noise each draw gives anew), opened by OPEN px (what is left
of the noise) - the oracle's masks in that section.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_recognition import DROPS, Renderer, _refuse, check_numbers, drawn_without  # noqa: E402

MASK_SEED = 5_000_000  # works and views far from the benchmark's (works 0..N, views seed * 100,000, unknown 1,000,000+)
BLUR = 2.0
DIFFER = 60
OPEN = 5


def visitor_mask(with_visitor: np.ndarray, without: np.ndarray) -> np.ndarray:
    """uint8 (H, W), 1 where the visitor is: the two drawings of one view differ there beyond the camera's noise."""
    blur = lambda image: cv2.GaussianBlur(image, (0, 0), BLUR).astype(np.int16)
    differs = (np.abs(blur(with_visitor) - blur(without)).sum(2) > DIFFER).astype(np.uint8)
    return cv2.morphologyEx(differs, cv2.MORPH_OPEN, np.ones((OPEN, OPEN), np.uint8))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--renderer", type=int, choices=sorted(DROPS), required=True)
    p.add_argument("--views", type=int, default=1500)
    p.add_argument("--occlusion", type=float, default=1.0, help="chance of a visitor (the renderer's own rule)")
    p.add_argument("--width", type=int, default=160, help="the views' and masks' width (the height keeps 4:3)")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    check_numbers(args, {"views": (1, None), "width": (32, 640)})
    out = Path(args.out)
    if out.suffix != ".npz":
        _refuse(f"--out {out}: give a path ending in .npz (numpy would add it, and write beside what you named)")
    if out.exists():
        _refuse(f"--out {out}: exists; give a new path (nothing is overwritten)")
    if not out.parent.is_dir():
        _refuse(f"--out {out}: no folder {out.parent}; create it or give another path")
    cv2.setNumThreads(1)
    ren = Renderer(args.renderer, args.occlusion)
    clear = drawn_without(ren, DROPS[args.renderer]["visitors"])
    size = (args.width, args.width * 3 // 4)
    views, masks = [], []
    for v in range(args.views):
        seed = MASK_SEED + args.renderer * 100_000 + v
        art = ren.unknown(seed)
        seen = ren.view(art, seed)
        masks.append(cv2.resize(visitor_mask(seen, clear.view(art, seed)), size, interpolation=cv2.INTER_NEAREST))
        views.append(cv2.resize(seen, size, interpolation=cv2.INTER_AREA))
    masks = np.stack(masks)
    # Written beside it, then renamed: a run killed while writing leaves no half file at --out to refuse next time.
    partial = out.with_name(f".{out.stem}.partial.npz")
    np.savez_compressed(partial, views=np.stack(views), masks=masks, renderer=np.int32(args.renderer))
    os.replace(partial, out)
    shown = (masks.reshape(len(masks), -1).mean(1) > 0.01).sum()
    print(f"{out}: {len(views)} views of renderer {args.renderer} at {size[0]} x {size[1]}, a visitor in {shown} "
          f"(over 1 % of the view), {100 * masks.mean():.1f} % of all pixels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
