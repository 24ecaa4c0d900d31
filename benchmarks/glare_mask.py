"""How much of a big glare spot the light fit sets aside as glare: renderer 2's views of a work under a spot
of at least `--min-glare` of its shorter side, each rendered again without the glare (everything else drawn
alike), the work's catalog thumbnail compared at its true corners with both.

    python3 benchmarks/glare_mask.py [--seed 7] [--views 150] [--min-glare 0.25]

Per view and on average: the fraction of the picture the work explains with the glare and without it
(light.explained), the share of the picture the glare lit (the two renderings differ by more than 12 grey
levels), the share of the lit pixels the fit called glare, and the share of what it called glare that the
glare did not light. What the fit neither explains nor sets aside counts against the right work.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import cv2
import numpy as np

from installation.camera import synthetic2
from installation.recognition import Recognizer
from installation.recognition.features import THUMB
from installation.recognition.light import _RING, Explained, explained
from installation.recognition.quads import rectify

sys.path.insert(0, str(Path(__file__).parent))
from bench_recognition import Renderer, catalog_recognizer, check_numbers  # noqa: E402

LIT = 12  # grey levels between the two renderings that count as lit by the glare
WORKS = 100


@dataclasses.dataclass(frozen=True)
class Measured:
    kind: str
    glare: float  # the largest spot's radius over the work's shorter side
    with_glare: float  # explained fraction
    without: float
    lit: float  # share of the picture the glare lit
    lit_masked: float  # share of the lit pixels called glare
    masked_unlit: float  # share of the pixels called glare that the glare did not light


@dataclasses.dataclass(frozen=True)
class View:
    frame: np.ndarray
    corners: np.ndarray  # the work's, in the frame


@dataclasses.dataclass(frozen=True)
class Compared:
    explained: Explained  # light.explained's measurement of the one pair
    aligned: np.ndarray  # the view aligned onto the work's thumbnail, float32


def _compared(recognizer: Recognizer, work: int, view: View) -> Compared:
    """The work compared at its true corners."""
    thumbs, aligned = recognizer._aligned(rectify(view.frame, np.float32(view.corners), THUMB), [work])
    return Compared(explained(thumbs, aligned, recognizer.s.pixel_tolerance), aligned[0].astype(np.float32))


def measure(recognizer: Recognizer, work: int, kind: str, glare: float, lit_view: View, clean_view: View) -> Measured:
    """The work compared at its true corners with its view under glare and with the same view without it."""
    lit_up, clean = _compared(recognizer, work, lit_view), _compared(recognizer, work, clean_view)
    lit = (np.abs(lit_up.aligned - clean.aligned).max(2) > LIT)[_RING:-_RING, _RING:-_RING].ravel()
    masked = lit_up.explained.glare[0]
    return Measured(kind, float(glare), float(lit_up.explained.fractions[0]), float(clean.explained.fractions[0]),
                    float(lit.mean()), float((masked & lit).sum() / max(lit.sum(), 1)),
                    float((masked & ~lit).sum() / max(masked.sum(), 1)))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--views", type=int, default=150, help="views drawn (those under a big enough spot are measured)")
    p.add_argument("--min-glare", type=float, default=0.25, help="the spot's radius over the work's side, at least")
    args = p.parse_args()
    check_numbers(args, {"views": (1, None), "min_glare": (0.0, 1.0)})
    cv2.setNumThreads(1)
    ren = Renderer(2, 0.5)
    works = [(ren.kind(i), ren.art(i)) for i in range(WORKS)]
    recognizer = catalog_recognizer(ren, [(f"work-{k:04d}", art) for k, (_, art) in enumerate(works)]).recognizer
    no_glare = dataclasses.replace(ren.settings2, glare=0.0)
    rng = np.random.default_rng([args.seed, 2])
    rows = []
    for k in range(args.views):
        i, seed, info = int(rng.integers(0, WORKS)), args.seed * 100_000 + k, {}
        lit_up = synthetic2.render_view(works[i][1], seed, ren.settings2, info=info)
        if info.get("glare", 0.0) < args.min_glare:
            continue
        # moment None: no per-frame draws, so the scene without glare is the same scene
        clean = synthetic2.render_view(works[i][1], seed, no_glare)
        rows.append(measure(recognizer, recognizer.ids.index(f"work-{i:04d}"), works[i][0], info["glare"],
                            View(*lit_up), View(*clean)))
    print(f"renderer 2, seed {args.seed}: {len(rows)} of {args.views} views under a spot of >= {args.min_glare} of the "
          "work's side")
    print("kind          spot  explained: with glare  without   lit  lit called glare  glare not lit")
    for r in rows:
        print(f"{r.kind:<13} {r.glare:4.2f}  {r.with_glare:21.3f}  {r.without:7.3f}  {r.lit:4.2f}  {r.lit_masked:16.2f}  "
              f"{r.masked_unlit:13.2f}")
    if rows:
        mean = lambda f: np.mean([getattr(r, f) for r in rows])
        print(f"mean          {mean('glare'):4.2f}  {mean('with_glare'):21.3f}  {mean('without'):7.3f}  {mean('lit'):4.2f}  "
              f"{mean('lit_masked'):16.2f}  {mean('masked_unlit'):13.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
