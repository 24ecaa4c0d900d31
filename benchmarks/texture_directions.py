"""How well the directions of a picture's detail (installation/recognition/spectrum.py) tell works apart:
each view rectified at its work's true corners, described, and compared with every catalog work's
description; the share of views whose own work comes first (and among the first three) and the median
agreement and margin over the best other work, by kind (photographs by name with --by-photo).

    python3 benchmarks/texture_directions.py --renderer 1|2|3 [--seed 1] [--views 160] [--by-photo | --no-photos]

Every other view is of one of the shipped photographs (bench_recognition.py's catalog: 100 works of the
renderer and the photographs it finds), so that textures are well represented; empty walls are skipped.
The true corners stand for a found quad: this measures the description, not the quads.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import cv2
import numpy as np

from installation.recognition.features import GRAIN, compute_features
from installation.recognition.quads import rectify
from installation.recognition.spectrum import agreement, directions

sys.path.insert(0, str(Path(__file__).parent))
from bench_recognition import Renderer, catalog_works, check_numbers, shipped_photos, view_arguments  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    view_arguments(p, views=160)
    p.add_argument("--by-photo", action="store_true", help="each photograph a row of its own")
    p.add_argument("--no-photos", action="store_true", help="the renderer's works only")
    args = p.parse_args()
    check_numbers(args, {"views": (1, None)})
    cv2.setNumThreads(1)
    ren = Renderer(args.renderer, args.occlusion)
    photos = [] if args.no_photos else shipped_photos(None)
    works = catalog_works(ren, args.works, photos)
    catalog = directions(np.stack([compute_features(ren.catalog_image(art, k)).square
                                   for k, (_, _, art) in enumerate(works)]))
    rng = np.random.default_rng([args.seed, args.renderer, 7])
    rows = collections.defaultdict(list)  # kind -> (rank, agreement, margin)
    for k in range(args.views):
        photo = bool(photos) and k % 2 == 0
        i = args.works + int(rng.integers(0, len(photos))) if photo else int(rng.integers(0, args.works))
        wid, kind, art = works[i]
        frame, corners = ren.view_and_corners(art, args.seed * 100_000 + 70_000 + k)
        seen = directions(rectify(frame, np.float32(corners).reshape(4, 2), GRAIN)[None])[0]
        a = agreement(catalog, seen)
        others = np.delete(a, i)
        rows[wid if kind == "photo" and args.by_photo else kind].append((int((others > a[i]).sum()), a[i],
                                                                         a[i] - others.max()))
    print(f"renderer {args.renderer}, seed {args.seed}: {args.views} views at their true corners, "
          f"{len(works)} works ({len(photos)} photographs)")
    for name in sorted(rows):
        v = np.float64(rows[name])
        print(f"  {name:<24} {len(v):4d} views: first {100 * (v[:, 0] == 0).mean():5.1f} %, among three "
              f"{100 * (v[:, 0] < 3).mean():5.1f} %, agreement {np.median(v[:, 1]):.2f}, margin {np.median(v[:, 2]):+.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
