"""Training data for the recognition embedding (export/recognition_embedding.py trains on it):
catalog squares of works the benchmark never uses, and the places the recogniser would rectify in
views of them, each labelled with its work or with none.

    python3 benchmarks/embedding_data.py --renderer 1 --works 1500 --views 4000 --out r1.npz

Works and view seeds lie far from the benchmark's (works 0..N, negatives from 1,000,000, views
from seed * 100,000), so a model trained here is measured on works it never saw. Renderer 3 is
never used: it is the held-out check.

Each view gives:
- its true corners, each moved by a few percent of the work's size (a quad a little off the work);
- every quadrilateral find_quads returns (what the recogniser really compares): one that covers
  the work (IoU >= POSITIVE_IOU) is labelled with it, one that hardly overlaps it (IoU <
  NEGATIVE_IOU) with none; those between are left out (half a work is neither).
An empty wall's quads are all labelled none.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from installation.camera import synthetic, synthetic2
from installation.recognition import find_quads, rectify
from installation.recognition.embedding import SIDE, square

WORK_SEED = 300_000  # far from the benchmark's works (0..N) and unknown works (1,000,000+)
VIEW_SEED = 7_000_000
POSITIVE_IOU = 0.6
NEGATIVE_IOU = 0.2
JITTER = 0.03  # of the work's size in the frame, per corner


def _iou(a: np.ndarray, b: np.ndarray, hw: tuple[int, int]) -> float:
    """Intersection over union of two quadrilaterals, rasterised at a quarter of the frame."""
    h, w = hw[0] // 4, hw[1] // 4
    ma, mb = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(ma, np.int32(np.round(a / 4)), 1)
    cv2.fillConvexPoly(mb, np.int32(np.round(b / 4)), 1)
    union = int((ma | mb).sum())
    return int((ma & mb).sum()) / union if union else 0.0


class Source:
    """One renderer's works, catalog images and views."""

    def __init__(self, which: int):
        self.which = which
        self.scene1, self.scene2 = synthetic.ViewSettings(occlusion=0.5), synthetic2.Scene2(visitor=0.4)

    def art(self, seed: int) -> np.ndarray:
        return synthetic.artwork(seed) if self.which == 1 else synthetic2.artwork2(seed)

    def catalog(self, art: np.ndarray, seed: int) -> np.ndarray:
        return art if self.which == 1 else synthetic2.catalog_scan(art, seed)

    def view(self, art: np.ndarray | None, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        if self.which == 1:
            return synthetic.view_with_truth(art, seed, self.scene1)
        frame, corners = synthetic2.render_view(art, seed, self.scene2)
        return frame, corners


def _places(frame: np.ndarray, corners: np.ndarray | None, rng) -> list[tuple[np.ndarray, bool]]:
    """(crop, covers the work) of the view's places worth learning from."""
    out = []
    if corners is not None:
        size = float(np.sqrt(cv2.contourArea(np.float32(corners))))
        for _ in range(2):
            moved = np.float32(corners) + rng.normal(0, JITTER * size, (4, 2)).astype(np.float32)
            out.append((rectify(frame, moved, SIDE), True))
    for quad, _ in find_quads(frame):
        iou = 0.0 if corners is None else _iou(quad, np.float32(corners), frame.shape[:2])
        if iou >= POSITIVE_IOU:
            out.append((rectify(frame, quad, SIDE), True))
        elif iou < NEGATIVE_IOU:
            out.append((rectify(frame, quad, SIDE), False))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--renderer", type=int, choices=(1, 2), required=True)
    p.add_argument("--works", type=int, default=1500)
    p.add_argument("--views", type=int, default=4000)
    p.add_argument("--empty", type=float, default=0.1, help="share of views of an empty wall")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    cv2.setNumThreads(1)
    src = Source(args.renderer)
    rng = np.random.default_rng([args.renderer, 17])
    arts = {}
    catalog = np.zeros((args.works, SIDE, SIDE, 3), np.uint8)
    for j in range(args.works):
        arts[j] = src.art(WORK_SEED + j)
        catalog[j] = square(src.catalog(arts[j], WORK_SEED + j))
    crops, labels = [], []
    for v in range(args.views):
        empty = rng.random() < args.empty
        j = int(rng.integers(0, args.works))
        frame, corners = src.view(None if empty else arts[j], VIEW_SEED + args.renderer * 100_000 + v)
        for crop, covers in _places(frame, corners, rng):
            crops.append(crop)
            labels.append(j if covers else -1)
        if v % 500 == 499:
            print(f"renderer {args.renderer}: {v + 1} views, {len(crops)} places", flush=True)
    np.savez_compressed(args.out, catalog=catalog, crops=np.stack(crops), labels=np.int32(labels),
                        renderer=np.int32(args.renderer))
    print(f"{args.out}: {args.works} works, {len(crops)} places ({int((np.int32(labels) < 0).sum())} of no work)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
