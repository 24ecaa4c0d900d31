"""Where a search's time goes, stage by stage, on the frames of a kiosk's visits (wall clock on one core).

    python3 benchmarks/search_split.py [--renderer 2] [--seed 4] [--visits 40] [--frames 10]

Draws the visits `bench_recognition.py --views 0 --negatives 0 --visits N` draws (the same scenes and frames),
builds the recogniser as a kiosk does, and searches every frame (Recognizer.recognize, no Tracker: the searches
are what a Tracker's failed confirmations and changed scenes pay for). Each stage is timed by wrapping its
function while the frames are searched, so the printed tree adds no profiler's per-call overhead: cProfile
counts every small Python call and made find_quads look a third dearer than it is (docs/RECOGNITION.md,
nineteenth). A stage called inside another counts within it too (the second look runs a whole search again, and
its quads, pairs and the rest count under their own stages as well as under it; the alignment, light fit and
rank agreement also check a keypoint match's picture, and count there too).

Speed target (issue 12): >= 30 frames/s at 640x480 on one core with 100 works.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_recognition import (Renderer, catalog_recognizer, catalog_works, check_numbers, draws,  # noqa: E402
                               shipped_photos, visit_frame, visit_scene)
from installation.recognition import glare, quads  # noqa: E402
from installation.recognition import recognizer as rec  # noqa: E402


@dataclass(frozen=True)
class Stage:
    """A function timed while frames are searched: where it lives, its name there, how deep the printed tree
    shows it (the stage above it calls it), and what the table calls it."""
    owner: object  # a module or a class
    name: str
    depth: int
    label: str


# In the order a search runs them; each stage's callers are the nearest shallower one above it.
STAGES = (
    Stage(rec, "_keypoints", 0, "keypoints (ORB)"),
    Stage(rec.Recognizer, "_voted", 0, "votes over the catalog's keypoints"),
    Stage(rec.Recognizer, "_verify", 0, "keypoint checks of voted works"),
    Stage(rec, "find_quads", 0, "quads (find_quads)"),
    Stage(quads, "_edges", 1, "edge map"),
    Stage(quads, "_off_wall", 1, "off the wall's colours"),
    Stage(quads, "_outline_quads", 1, "contours' quads"),
    Stage(quads, "_line_quads", 1, "line quads"),
    Stage(quads, "_lines", 2, "Hough lines"),
    Stage(quads, "nested_quads", 1, "nested quads (a frame's inner edge)"),
    Stage(quads, "refine_sides", 1, "sides refined at full size"),
    Stage(rec.Recognizer, "places", 0, "places"),
    Stage(rec, "describe", 1, "global descriptions"),
    Stage(rec.Recognizer, "_similar", 1, "the network"),
    Stage(rec.Recognizer, "keypoint_match", 0, "keypoint match"),
    Stage(rec.Recognizer, "_decide_global", 0, "low-texture decision"),
    Stage(rec.Recognizer, "pairs", 1, "pairs"),
    Stage(rec.Recognizer, "_aligned", 2, "alignment (ECC)"),
    Stage(rec, "explained", 2, "light fit (explained)"),
    Stage(rec, "edge_agreement", 2, "edge agreement"),
    Stage(rec, "rank_agreement", 2, "rank agreement"),
    Stage(rec.Recognizer, "_without_glare", 0, "second look (glare taken off)"),
    Stage(rec, "find_spots", 1, "glare spots found"),
    Stage(glare.Lit, "taken_off", 1, "spots taken off"),
)


@contextlib.contextmanager
def clocked(stages: tuple[Stage, ...], spent: collections.Counter):
    """Each stage's function wrapped to add its wall-clock seconds to `spent[label]`, and put back afterwards
    (whatever happens inside: the recogniser is left as it was)."""
    originals = [(s, s.owner.__dict__[s.name]) for s in stages]
    try:
        for s, f in originals:
            setattr(s.owner, s.name, _timed(f, s.label, spent))
        yield spent
    finally:
        for s, f in originals:
            setattr(s.owner, s.name, f)


def _timed(f, label: str, spent: collections.Counter):
    @functools.wraps(f)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return f(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - start
    return timed


def table(spent: collections.Counter, total: float, frames: int) -> str:
    """The stages as a tree, each with its ms per frame and share of the searches' time."""
    lines = [f"search: {1000 * total / frames:.1f} ms a frame over {frames} frames -> {frames / total:.1f} frames/s "
             "on one core (target 30)"]
    for s in STAGES:
        seconds = spent.get(s.label, 0.0)
        lines.append(f"  {'  ' * s.depth}{s.label:<{44 - 2 * s.depth}} {1000 * seconds / frames:7.1f} ms "
                     f"{100 * seconds / total:5.1f} %")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--renderer", type=int, choices=(1, 2, 3), default=2)
    p.add_argument("--works", type=int, default=100)
    p.add_argument("--seed", type=int, default=4)
    p.add_argument("--occlusion", type=float, default=0.5, help="chance of a visitor partly in front")
    p.add_argument("--visits", type=int, default=40)
    p.add_argument("--frames", type=int, default=10, help="recognitions per visit")
    p.add_argument("--no-photos", action="store_true")
    args = p.parse_args()
    check_numbers(args, {"visits": (1, None)})
    cv2.setNumThreads(1)  # one core, as the targets say
    ren = Renderer(args.renderer, args.occlusion)
    rng = draws(args.seed, args.renderer)
    works = catalog_works(ren, args.works, [] if args.no_photos else shipped_photos(None))
    recognizer = catalog_recognizer(ren, [(wid, art) for wid, _, art in works]).recognizer
    frames = []
    for v in range(args.visits):
        _, _, art = visit_scene(ren, works, args.seed, v, rng)
        frames += [visit_frame(ren, art, args.seed, v, f) for f in range(args.frames)]
    with clocked(STAGES, collections.Counter()) as spent:
        start = time.perf_counter()
        found = sum(recognizer.recognize(frame).artwork_id is not None for frame in frames)
        total = time.perf_counter() - start
    print(f"renderer {args.renderer}, seed {args.seed}: {len(works)} works, {args.visits} visits of {args.frames} "
          f"frames, a work named on {found}")
    print(table(spent, total, len(frames)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
