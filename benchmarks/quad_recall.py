"""How often find_quads offers the work's own outline: the share of views with a candidate quadrilateral
within IoU 0.8 / 0.85 / 0.9 / 0.95 of the work's true corners, by kind, and find_quads' time a frame.

    python3 benchmarks/quad_recall.py --renderer 1|2|3 [--seed 1] [--views 300] [--occlusion 0.5]

The views are bench_recognition.py's first `--views` views for the same renderer and seed (the same
works, scenes and view seeds), so a view here is the same frame as in its dumps. On renderer 2 the
views with a visitor in front are also counted apart. Recall at IoU 0.9 is what a change to the quads
is measured by first (the recogniser cannot accept a work whose outline it never compares).

    python3 benchmarks/quad_recall.py --renderer 3 --seed 1 --drop visitors --sides

`--drop NAME[,NAME]` (renderers 2 and 3; bench_recognition.py's DROPS) also draws every view again without
those things, everything else alike, and gives the recall of those views: what they cost the outlines.
`--sides` says, for the views with no quad within IoU 0.8 of the work, how many of the work's true sides within the
frame are missing from the straight lines find_quads finds (quads._lines) and from those its line quads are made of
(quads.pick_lines): a side missing from both is not seen as a line at all (hidden, faint); one among the lines but
not picked is lost to the others (a textured wall's or a visitor's longer lines). A side beyond the frame's border
(a work the frame cuts) is not counted; the views with one are.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from installation.recognition import find_quads
from installation.recognition.quads import QUAD_WIDTH, _edges, _lines, pick_lines, segment_lines

sys.path.insert(0, str(Path(__file__).parent))
from bench_recognition import (Renderer, check_numbers, checked_drop, draws, drawn_without,  # noqa: E402
                             view_arguments, view_seed)
from diagnose_recognition import _iou, _mask  # noqa: E402

LEVELS = (0.8, 0.85, 0.9, 0.95)
GOOD = 0.8  # a view with no quad this near its work's outline (IoU) has its sides looked for (--sides)
SAME_ANGLE = np.radians(4.0)  # a line within this angle of a true side ...
SAME_OFFSET = 3.0  # ... passing this many pixels or fewer from its middle (at quads.QUAD_WIDTH) is that side


def best_iou(frame: np.ndarray, corners: np.ndarray) -> tuple[float, float]:
    """The best IoU of a found quad with the work's outline, and find_quads' seconds."""
    start = time.perf_counter()
    found = find_quads(frame)
    seconds = time.perf_counter() - start
    truth = _mask(corners, frame.shape[:2])
    return max((_iou(_mask(q, frame.shape[:2]), truth) for q, _ in found), default=0.0), seconds


def side_lines(corners: np.ndarray) -> np.ndarray:
    """The work's four sides (top, right, bottom, left: corners in that order) as lines (normal angle in [0, pi),
    offset), as quads._lines gives its rows."""
    return np.stack(segment_lines(corners, np.roll(corners, -1, axis=0)), 1)


@dataclass(frozen=True)
class Sides:
    """Of a work's sides within the frame (the middle of each inside it), how many lie on one of some lines."""
    within: int
    on_lines: int

    @property
    def missing(self) -> int:
        return self.within - self.on_lines


def sides_among(corners: np.ndarray, lines: np.ndarray, hw: tuple[int, int]) -> Sides:
    """A work's sides (corners at quads.QUAD_WIDTH's scale, in a frame of that size `hw`) within the frame, and how
    many of them lie on one of the lines (rows of normal angle, offset, ...): a line within SAME_ANGLE of the side
    (either way round: a normal near 0 and one near pi are nearly the same) that passes within SAME_OFFSET of the
    side's middle."""
    corners = np.float64(corners)
    middle = (corners + np.roll(corners, -1, axis=0)) / 2
    within = (middle >= 0).all(1) & (middle <= np.float64([hw[1] - 1, hw[0] - 1])).all(1)
    if not len(lines):
        return Sides(int(within.sum()), 0)
    dt = np.abs(side_lines(corners)[:, None, 0] - lines[None, :, 0])
    dt = np.minimum(dt, np.pi - dt)
    normal = np.stack([np.cos(lines[:, 0]), np.sin(lines[:, 0])], 1)  # (L, 2)
    apart = np.abs(middle @ normal.T - lines[None, :, 1])  # each side's middle from each line
    on = ((dt < SAME_ANGLE) & (apart < SAME_OFFSET)).any(1) & within
    return Sides(int(within.sum()), int(on.sum()))


def _found_sides(frame: np.ndarray, corners: np.ndarray) -> tuple[Sides, Sides]:
    """The work's sides among find_quads' lines, and among the lines its line quads are made of."""
    scale = QUAD_WIDTH / frame.shape[1]
    small = cv2.resize(frame, (QUAD_WIDTH, round(frame.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    edges = _edges(small)
    lines, hw = _lines(edges), small.shape[:2]
    return sides_among(corners * scale, lines, hw), sides_among(corners * scale, np.vstack(pick_lines(lines, hw)), hw)


def _sides_line(found: list[tuple[Sides, Sides]]) -> str:
    """--sides' summary: of the views without a good quad, how many miss 0-4 of the work's sides within the frame."""
    tally = lambda k: " ".join(f"{n}: {sum(f[k].missing == n for f in found)}" for n in range(5))
    cut = sum(f[0].within < 4 for f in found)
    return (f"  views with no quad within IoU {GOOD} of the work: {len(found)} ({cut} with a side beyond the frame); "
            f"of its sides within the frame, missing from the lines found - {tally(0)}; from those its line quads are "
            f"made of - {tally(1)}")


def _shares(values: list[float]) -> str:
    v = np.float64(values)
    return " ".join(f">= {level}: {100 * (v >= level).mean():5.1f} %" for level in LEVELS)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    view_arguments(p)
    p.add_argument("--drop", default=None, metavar="NAME[,NAME]",
                   help="also draw every view again without these (renderers 2 and 3) and give that recall")
    p.add_argument("--sides", action="store_true",
                   help="for the views with no good quad: how many of the work's sides are among the lines found")
    args = p.parse_args()
    check_numbers(args, {"views": (1, None)})
    changes = checked_drop(args.renderer, args.drop)
    cv2.setNumThreads(1)  # one core, as the benchmark's targets say
    ren = Renderer(args.renderer, args.occlusion)
    dropped = None if changes is None else drawn_without(ren, changes)
    rng = draws(args.seed, args.renderer)  # bench_recognition.py's draws, in its order
    by_kind, by_visitor, seconds = collections.defaultdict(list), collections.defaultdict(list), []
    without, found_sides = [], []
    for k in range(args.views):
        i = int(rng.integers(0, args.works))
        info: dict = {}
        frame, corners = ren.view_and_corners(ren.art(i), view_seed(args.seed, k), info=info)
        iou, s = best_iou(frame, corners)
        by_kind[ren.kind(i)].append(iou)
        seconds.append(s)
        if "visitor" in info:
            by_visitor["with a visitor" if info["visitor"] else "no visitor"].append(iou)
        if args.sides and iou < GOOD:
            found_sides.append(_found_sides(frame, corners))
        if dropped is not None:
            without.append(best_iou(*dropped.view_and_corners(ren.art(i), view_seed(args.seed, k)))[0])
    every = [x for values in by_kind.values() for x in values]
    print(f"renderer {args.renderer}, seed {args.seed}: {len(every)} views of {args.works} works; "
          f"find_quads {1000 * np.mean(seconds):.1f} ms a frame")
    print(f"  {'all':<15} {_shares(every)}")
    for name, values in sorted(by_visitor.items()) + sorted(by_kind.items()):
        print(f"  {name:<15} {_shares(values)}  ({len(values)})")
    if args.sides:
        print(_sides_line(found_sides))
    if dropped is not None:
        print(f"  drawn without {args.drop}: {_shares(without)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
