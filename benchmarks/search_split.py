"""Where a search's time goes, stage by stage, on the frames of a kiosk's visits (wall clock on one core).

    python3 benchmarks/search_split.py [--renderer 2] [--seed 4] [--visits 40] [--frames 10]

Draws the visits `bench_recognition.py --views 0 --negatives 0 --visits N` draws with the same --renderer, --seed
and --works (the scenes and frames; this script's defaults are the speed row's, renderer 2 and seed 4, not the
benchmark's), builds the recogniser as a kiosk does, and searches every frame (Recognizer.recognize, no Tracker:
the searches are what a Tracker's failed confirmations and changed scenes pay for). Each stage is timed by wrapping its
function while the frames are searched, so the printed tree adds no profiler's per-call overhead: cProfile
counts every small Python call and made find_quads look a sixth dearer than it is (docs/RECOGNITION.md,
nineteenth). A stage counts wherever it is called: the second look runs a whole search again, so its quads, pairs
and the rest count under their own stages as well as under it (the top-level rows add up to more than the
search); the alignment, light fit and rank agreement also check a keypoint match's picture (their rows say so),
so under "pairs" they may add up to more than it.

Speed target (issue 12): >= 30 frames/s at 640x480 on one core with 100 works.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2

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


# In the order a search runs them; a stage is shown under the one that calls it (those also called elsewhere say
# where; every top-level stage is also called by the second look).
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
    Stage(rec.Recognizer, "_aligned", 2, "alignment (ECC; keypoint match's too)"),
    Stage(rec, "explained", 2, "light fit (keypoint match's too)"),
    Stage(rec, "edge_agreement", 2, "edge agreement"),
    Stage(rec, "rank_agreement", 2, "rank agreement (keypoint match's too)"),
    Stage(rec.Recognizer, "_without_glare", 0, "second look (glare taken off)"),
    Stage(rec, "find_spots", 1, "glare spots found"),
    Stage(glare.Lit, "taken_off", 1, "spots taken off"),
)


@dataclass(frozen=True)
class Clock:
    """What the wrapped stages took, by label: wall-clock seconds and calls."""
    seconds: collections.Counter = field(default_factory=collections.Counter)
    calls: collections.Counter = field(default_factory=collections.Counter)


@contextlib.contextmanager
def clocked(stages: tuple[Stage, ...]):
    """Each stage's function wrapped to add its calls and wall-clock seconds to a Clock, and put back afterwards
    (whatever happens inside: the recogniser is left as it was)."""
    clock = Clock()
    originals = [(s, s.owner.__dict__[s.name]) for s in stages]
    try:
        for s, f in originals:
            setattr(s.owner, s.name, _timed(f, s.label, clock))
        yield clock
    finally:
        for s, f in originals:
            setattr(s.owner, s.name, f)


def _timed(f, label: str, clock: Clock):
    @functools.wraps(f)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return f(*args, **kwargs)
        finally:
            clock.seconds[label] += time.perf_counter() - start
            clock.calls[label] += 1
    return timed


def table(spent: collections.Counter, total: float, frames: int) -> str:
    """The stages as a tree, each with its ms per frame and share of the searches' time."""
    lines = [f"search: {1000 * total / frames:.1f} ms a frame over {frames} frames -> {frames / total:.1f} frames/s "
             "on one core (target 30)"]
    for s in STAGES:
        seconds = spent.get(s.label, 0.0)
        lines.append(f"  {'  ' * s.depth}{s.label:<{48 - 2 * s.depth}} {1000 * seconds / frames:7.1f} ms "
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
    found, total = 0, 0.0
    with clocked(STAGES) as clock:
        for v in range(args.visits):
            art = visit_scene(ren, works, args.seed, v, rng).art
            for f in range(args.frames):  # drawn one at a time, not timed (400 frames at once: ~370 MB)
                frame = visit_frame(ren, art, args.seed, v, f)
                start = time.perf_counter()
                found += recognizer.recognize(frame).artwork_id is not None
                total += time.perf_counter() - start
    frames = args.visits * args.frames
    print(f"renderer {args.renderer}, seed {args.seed}: {len(works)} works, {args.visits} visits of {args.frames} "
          f"frames, a work named on {found}")
    print(table(clock.seconds, total, frames))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
