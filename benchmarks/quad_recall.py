"""How often find_quads offers the work's own outline: the share of views with a candidate quadrilateral
within IoU 0.8 / 0.85 / 0.9 / 0.95 of the work's true corners, by kind, and find_quads' time a frame.

    python3 benchmarks/quad_recall.py --renderer 1|2|3 [--seed 1] [--views 300] [--occlusion 0.5]

The views are bench_recognition.py's first `--views` views for the same renderer and seed (the same
works, scenes and view seeds), so a view here is the same frame as in its dumps. On renderer 2 the
views with a visitor in front are also counted apart. Recall at IoU 0.9 is what a change to the quads
is measured by first (the recogniser cannot accept a work whose outline it never compares).
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from installation.recognition import find_quads

sys.path.insert(0, str(Path(__file__).parent))
from bench_recognition import Renderer, check_numbers, view_arguments  # noqa: E402
from diagnose_recognition import _iou, _mask  # noqa: E402

LEVELS = (0.8, 0.85, 0.9, 0.95)


def best_iou(frame: np.ndarray, corners: np.ndarray) -> tuple[float, float]:
    """The best IoU of a found quad with the work's outline, and find_quads' seconds."""
    start = time.perf_counter()
    found = find_quads(frame)
    seconds = time.perf_counter() - start
    truth = _mask(corners, frame.shape[:2])
    return max((_iou(_mask(q, frame.shape[:2]), truth) for q, _ in found), default=0.0), seconds


def _shares(values: list[float]) -> str:
    v = np.float64(values)
    return " ".join(f">= {level}: {100 * (v >= level).mean():5.1f} %" for level in LEVELS)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    view_arguments(p)
    args = p.parse_args()
    check_numbers(args, {"views": (1, None)})
    cv2.setNumThreads(1)  # one core, as the benchmark's targets say
    ren = Renderer(args.renderer, args.occlusion)
    rng = np.random.default_rng([args.seed, args.renderer])  # bench_recognition.py's draws, in its order
    by_kind, by_visitor, seconds = collections.defaultdict(list), collections.defaultdict(list), []
    for k in range(args.views):
        i = int(rng.integers(0, args.works))
        info: dict = {}
        frame, corners = ren.view_and_corners(ren.art(i), args.seed * 100_000 + k, info=info)
        iou, s = best_iou(frame, corners)
        by_kind[ren.kind(i)].append(iou)
        seconds.append(s)
        if "visitor" in info:
            by_visitor["with a visitor" if info["visitor"] else "no visitor"].append(iou)
    every = [x for values in by_kind.values() for x in values]
    print(f"renderer {args.renderer}, seed {args.seed}: {len(every)} views of {args.works} works; "
          f"find_quads {1000 * np.mean(seconds):.1f} ms a frame")
    print(f"  {'all':<15} {_shares(every)}")
    for name, values in sorted(by_visitor.items()) + sorted(by_kind.items()):
        print(f"  {name:<15} {_shares(values)}  ({len(values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
