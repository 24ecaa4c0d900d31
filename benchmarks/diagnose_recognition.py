"""Where the recogniser loses the views it misses: for each miss, is the work's own outline among the
candidate quadrilaterals (find_quads), among the places compared in detail (Recognizer.places), and
how does the right work rank there? The renderers give each view's true corners.

    python3 benchmarks/diagnose_recognition.py [--renderer 1|2|3] [--views 150] [--seed 7]

The views are bench_recognition.py's first `--views` views for the same renderer and seed, with its catalog (its
works and the photographs it ships, where the packages that hold them are installed: the header counts them): view
k here is view k of that benchmark's dump, made with its default flags, for k below its `--views` (its views after
those are of the photographs). So a seed no setting was fitted on stays held out here too, and two seeds are other
scenes (until 2026-12-07 every seed drew the same scenes, view seeds 9000 on, with other works hung in them).

Rows: right; "no good quad" (no candidate within IoU 0.8 of the work's outline); "good quad not in
places" (a candidate, but not among the places compared in detail); "in places, work rank R" (the
place is compared; the right work is the R-th most alike there: 0 means the decision rejected it).

    python3 benchmarks/diagnose_recognition.py --renderer 2 --without-glare

also renders each missed view again without its glare spots (renderer 2 draws everything else alike) and
says how many of the misses under a spot the recogniser then gets right, by where they were lost: what glare
costs, all of it (the outline, keypoints, the network, the light fit), as opposed to what one measurement
recovers. A last line splits a spot in two: its clipped core (every channel at CLIPPED or above with
the spot, below it without) and its skirt (the smooth rest): how many of those misses are right with only
the skirt taken off (the core kept, as no de-glare can see through it), with the skirt taken off and the core
filled in from around it (cv2.inpaint), and with only the core filled in - what taking a spot off a frame
could earn, and which part of it. And one line measures the recogniser's own spots (glare.py) on those
misses against what the renderer drew: on how many a spot was found; what became of each spot drawn (FATES:
found - a spot centred within half its radius -, fitted but not smooth enough, no clipped core to start from,
its core joined with other clipped parts, too large or too small, or beside its centre); and the skirt's error
(mean grey levels off the view without glare, where the spot changed it by more than SKIRT_CHANGE and clipped
no channel) before and after glare.py takes its spots off - a measure of the finding and the fit alone, without
a recognition: 0 would be exact -, then split: taken off with the shapes drawn (centre, radius, squash) and their
light fitted as glare.py fits it (glare.spot_of_shape), and with the shapes drawn and the light that best explains
the view without glare (least squares): what the shape costs, what the light costs, and what is left of the
additive model itself (the renderer adds its spots before its tone curve, clipping and blur).

    python3 benchmarks/diagnose_recognition.py --renderer 2 --views 300 --seed 1 --list

also prints a line per miss (before the tally): its view seed, kind and work, the answer, where it was lost, what
renderer 2 drew there (visitor, glare, span, cast, ...) and the work's own compared pair with the verifier's belief in
it (p, against its threshold: how far from taken a rejected work was), to look at again.

    python3 benchmarks/diagnose_recognition.py --renderer 3 --views 300 --seed 1 --with-outline

recognises each miss again with the work's true outline first among the candidate quads (the rest of the search as
it is), and says how many are then right by where they were lost: for the misses with no good quad, what finding
outlines could earn; for the others, whether the comparison or the outline loses them.

    python3 benchmarks/diagnose_recognition.py --renderer 3 --views 120 --seed 5 --drop visitors

draws every view again without one or more things the renderer draws (DROPS: renderer 2's visitors, glare,
frames, textured walls, cast; renderer 3's too, and its reflections, lens distortion, cheap sensors, motion blur,
shadows, neighbours, labels, mats), everything else alike, and says how many are right as drawn and without
them, and how many views each way changed: what that thing costs the recogniser. Renderer 3 draws each thing
from its own random stream, but its lens distortion also moves the pose it solves for.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import sys
from pathlib import Path
from unittest import mock

import cv2
import numpy as np

import installation.recognition.recognizer as recognizer_module
from installation.recognition import find_quads
from installation.recognition.glare import (CLIPPED as CLIPPED_ANY, MAX_CORE, MIN_MET, CoreMap, Spot, core_map,
                                            find_spots, spot_of_shape, taken_off)
from installation.recognition.verify import features

sys.path.insert(0, str(Path(__file__).parent))
from bench_recognition import (DROPS, Renderer, catalog_recognizer, catalog_works, check_numbers,  # noqa: E402
                             checked_drop, draws, drawn_without, shipped_photos, view_seed)

GOOD_IOU = 0.8
CLIPPED = 245  # every channel at or above: a glare spot's clipped core (nothing of the work is left there)
PARTS = ("skirt off, core kept", "skirt off, core filled in", "core filled in")
SKIRT_CHANGE = 8  # grey levels (any channel) a spot must add to a pixel to count as its skirt
FATES = ("found", "fitted but not smooth enough (met < MIN_MET)", "no clipped core (the spot does not clip)",
         "core joined with other clipped parts (centre beyond r/2)", "core too large (a white ground or wall)",
         "core too small", "core beside its centre")


@dataclasses.dataclass(frozen=True)
class SpotFit:
    """glare.py's spots on one view against the spots drawn: found at all, what became of each drawn spot
    (FATES; "found": a spot centred within half its radius), and the skirt's mean error before and after
    taking the spots off: as found; of the shapes drawn, their light fitted as glare.py fits it; and of the
    shapes drawn, with the light that best explains the view without glare (least squares; what the additive
    model can do at best)."""
    found: bool
    fates: tuple[str, ...]  # one per drawn spot
    before: float
    after: float
    shaped: float
    lit: float


def _fate(cores: CoreMap, x: float, y: float, r: float, candidates: list) -> str:
    """Why glare.py found a spot drawn at (x, y) of radius r, or did not (FATES), from the frame's clipped parts
    and every spot it fitted (find_spots with min_met 0)."""
    near = [s for s in candidates if np.hypot(s.x - x, s.y - y) <= r / 2]
    if any(s.met >= MIN_MET for s in near):
        return FATES[0]
    if near:
        return FATES[1]
    h, w = cores.core.shape
    part = cores.labels[min(h - 1, max(0, int(y / 2))), min(w - 1, max(0, int(x / 2)))]
    if part:
        size = cores.sizes()[part]
        return FATES[3] if cores.fits(size) else (FATES[4] if size > MAX_CORE * cores.core.size else FATES[5])
    ys, xs = np.nonzero(cores.core)
    return FATES[6] if (np.hypot((xs + 0.5) * 2 - x, (ys + 0.5) * 2 - y) <= r / 2).any() else FATES[2]


def _spot_fit(frame: np.ndarray, clear: np.ndarray, drawn: list) -> SpotFit | None:
    """How well glare.py finds and takes off the spots of a view (None: the spots clip all they touch)."""
    skirt = (np.abs(frame.astype(np.float32) - clear).max(2) > SKIRT_CHANGE) & (frame.max(2) < CLIPPED_ANY)
    if not skirt.any():
        return None
    candidates = find_spots(frame, min_met=0.0)
    spots = [s for s in candidates if s.met >= MIN_MET]
    error = lambda view: float(np.abs(view.astype(np.float32) - clear)[skirt].mean())
    cores = core_map(frame)
    shaped = [spot_of_shape(frame, x, y, r, squash) for x, y, r, squash in drawn]
    return SpotFit(bool(spots), tuple(_fate(cores, x, y, r, candidates) for x, y, r, _ in drawn), error(frame),
                   error(taken_off(frame, spots)), error(taken_off(frame, shaped)),
                   error(taken_off(frame, _best_lit(frame, clear, shaped))))


def _best_lit(frame: np.ndarray, clear: np.ndarray, spots: list[Spot]) -> list[Spot]:
    """The spots with the light (per channel) that best explains the frame over the view without glare, by
    least squares where any spot adds 5 % of its peak or more and nothing clipped."""
    yy, xx = np.mgrid[0:frame.shape[0], 0:frame.shape[1]].astype(np.float32)
    bumps = np.stack([s.bump(xx, yy) for s in spots], -1)  # (h, w, spots)
    where = (bumps.max(2) > 0.05) & (frame.max(2) < CLIPPED_ANY)
    if where.sum() < len(spots):
        return spots
    added = (frame.astype(np.float32) - clear)[where]  # (P, 3)
    light = np.linalg.lstsq(bumps[where], added, rcond=None)[0]  # (spots, 3)
    return [dataclasses.replace(s, amplitude=tuple(float(a) for a in row)) for s, row in zip(spots, light)]


def _mask(quad: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    m = np.zeros(hw, np.uint8)
    cv2.fillPoly(m, [np.int32(np.round(quad))], 1)
    return m


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


@dataclasses.dataclass(frozen=True)
class Lost:
    """Where a missed view's work was lost: its row, and at a compared place the work's rank there."""
    row: str  # "no good quad" | "good quad not in places" | "in places"
    rank: int | None = None  # 0: first there, and the decision rejected it; 4: fourth or lower

    @property
    def label(self) -> str:
        return self.row if self.rank is None else f"{self.row}, work rank {self.rank}"


def _where_lost(recognizer, frame: np.ndarray, corners: np.ndarray, work: int) -> Lost:
    """No found quad near the work's outline, a good quad not among the places compared, or the work's rank
    at a compared place."""
    hw = frame.shape[:2]
    truth = _mask(corners, hw)
    found = find_quads(frame)
    if not any(_iou(_mask(q, hw), truth) > GOOD_IOU for q, _ in found):
        return Lost("no good quad")
    places = recognizer.places(frame, found)
    good = [pl for pl in places if _iou(_mask(pl.quad, hw), truth) > GOOD_IOU]
    if not good:
        return Lost("good quad not in places")
    return Lost("in places", min(int((good[0].scores > good[0].scores[work]).sum()), 4))


def _glare_parts(glared: np.ndarray, clear: np.ndarray) -> dict[str, np.ndarray]:
    """The view with parts of its glare taken off (PARTS), from the view with it and without it."""
    core = (glared.min(2) >= CLIPPED) & (clear.min(2) < CLIPPED)
    mask = core.astype(np.uint8) * 255
    return {PARTS[0]: np.where(core[..., None], glared, clear),
            PARTS[1]: cv2.inpaint(clear, mask, 5, cv2.INPAINT_TELEA),
            PARTS[2]: cv2.inpaint(glared, mask, 5, cv2.INPAINT_TELEA)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--renderer", type=int, choices=(1, 2, 3), default=2)
    p.add_argument("--works", type=int, default=100)
    p.add_argument("--views", type=int, default=150)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--without-glare", action="store_true",
                   help="render each miss again without its glare spots (renderer 2) and count those then right")
    p.add_argument("--with-outline", action="store_true",
                   help="recognise each miss again with the work's true outline first among the candidates")
    p.add_argument("--list", action="store_true",
                   help="a line per miss: its view seed, kind, work, answer, where it was lost, what was drawn (renderer "
                        "2) and the work's own best compared pair")
    p.add_argument("--drop", default=None, metavar="NAME[,NAME]",
                   help="draw every view again without these (DROPS: renderers 2 and 3) and count those right")
    args = p.parse_args()
    check_numbers(args, {"views": (1, None)})
    if args.without_glare and args.renderer != 2:
        print(f"--without-glare with --renderer {args.renderer}: only renderer 2 draws a view again without its "
              "glare and everything else alike; use --renderer 2", file=sys.stderr)
        return 2
    changes = checked_drop(args.renderer, args.drop)
    cv2.setNumThreads(1)
    ren = Renderer(args.renderer, 0.5)
    dropped = None if changes is None else drawn_without(ren, changes)  # the same views without them (--drop)
    clear = drawn_without(ren, DROPS[2]["glare"]) if args.without_glare else None  # the same views without glare
    # The benchmark's catalog: its works, then the real photographs it ships (views of them are not diagnosed).
    works = catalog_works(ren, args.works, shipped_photos(None))
    recognizer = catalog_recognizer(ren, [(wid, art) for wid, _, art in works]).recognizer
    # bench_recognition.py's draws and view seeds, in its order: view k here is that benchmark's view k of the same
    # renderer and seed (until 2026-12-07 every seed drew the same scenes, view seeds 9000 on, other works in them).
    rng = draws(args.seed, args.renderer)
    tally: collections.Counter = collections.Counter()
    glared: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)  # by where each was lost
    parts: collections.Counter = collections.Counter()  # of the glare misses, right with parts of the spot off
    fits: list[SpotFit] = []  # glare.py's spots on the glare misses
    undrawn: collections.Counter = collections.Counter()  # --drop: right without, views gained and lost
    outlined: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)  # --with-outline, by row
    for k in range(args.views):
        i = int(rng.integers(0, args.works))
        wid, kind, art = works[i]
        seed = view_seed(args.seed, k)
        info: dict = {}
        frame, corners = ren.view_and_corners(art, seed, info=info)
        r = recognizer.recognize(frame)
        if dropped is not None:
            other = recognizer.recognize(dropped.view(art, seed)).artwork_id == wid
            undrawn["right"] += other
            undrawn["gained"] += other and r.artwork_id != wid
            undrawn["lost"] += r.artwork_id == wid and not other
        if r.artwork_id == wid:
            tally["right"] += 1
            continue
        # By the recogniser's own index of the work: its catalog is ordered by id (the photographs first), not as
        # the works were drawn.
        lost = _where_lost(recognizer, frame, corners, recognizer.ids.index(wid))
        tally[("none" if r.artwork_id is None else "wrong", lost.label)] += 1
        if args.list:
            print(_miss_line(recognizer, seed, kind, wid, r, lost, info))
        if args.with_outline:
            outlined[lost.row]["missed"] += 1
            outlined[lost.row]["right"] += _with_outline(recognizer, frame, corners).artwork_id == wid
        if args.without_glare and info.get("glare", 0.0) > 0:
            glared[lost.row]["missed"] += 1
            without = clear.view(art, seed)
            glared[lost.row]["right"] += recognizer.recognize(without).artwork_id == wid
            for part, view in _glare_parts(frame, without).items():
                parts[part] += recognizer.recognize(view).artwork_id == wid
            fit = _spot_fit(frame, without, info["glare_spots"])
            if fit is not None:
                fits.append(fit)
    photos = len(works) - args.works
    print(f"renderer {args.renderer}, {args.views} views of {args.works} works (seed {args.seed}; the catalog also "
          f"holds {photos} photographs):")
    for key, n in sorted(tally.items(), key=lambda kv: -kv[1]):
        print(f"  {key if isinstance(key, str) else ': '.join(key):<45} {n}")
    if args.with_outline:
        rows = ", ".join(f"{row} {c['right']} of {c['missed']}" for row, c in sorted(outlined.items()))
        print(f"right with the work's true outline first among the candidates: "
              f"{sum(c['right'] for c in outlined.values())} of {sum(c['missed'] for c in outlined.values())} misses; "
              f"by row: {rows or 'none'}")
    if dropped is not None:
        print(f"drawn without {args.drop}: right {tally['right']} -> {undrawn['right']} of {args.views} "
              f"({undrawn['gained']} views gained, {undrawn['lost']} lost)")
    if args.without_glare:
        rows = ", ".join(f"{row} {c['missed']} ({c['right']} right without it)" for row, c in sorted(glared.items()))
        print(f"misses under a glare spot: {sum(c['missed'] for c in glared.values())}; right when drawn again "
              f"without it: {sum(c['right'] for c in glared.values())}; by row: {rows or 'none'}")
        print("right with part of the spot taken off: " + "; ".join(f"{part}: {parts[part]}" for part in PARTS))
        print(_fit_line(fits))
    return 0


def _miss_line(recognizer, seed: int, kind: str, wid: str, r, lost: Lost, info: dict) -> str:
    """One miss, to look at it again (Renderer.view_and_corners(art, seed)): its kind and work, the answer, where it
    was lost, what renderer 2 drew (its numbers), and the work's own best compared pair (verify.Candidate) with how
    much the recogniser's verifier believes it (p, against its threshold)."""
    drawn = ", ".join(f"{name} {value:.2f}" if not isinstance(value, bool) else name
                      for name, value in info.items() if isinstance(value, (bool, int, float, np.floating)) and value)
    candidates = list(r.candidates or [])
    own = next((k for k, c in enumerate(candidates) if c.work == wid), None)
    pair = "not compared" if own is None else ", ".join(
        [f"{name} {getattr(candidates[own], name):.2f}" for name in ("value", "explained", "edges", "ranks", "similar",
                                                                      "glare")
         if getattr(candidates[own], name) is not None] + [f"p {_believed(recognizer, candidates, own):.2f}"])
    return (f"miss view {seed}: {kind} {wid} -> {r.artwork_id or 'none'} ({lost.label}); drawn: {drawn or '-'}; "
            f"own pair: {pair}")


def _believed(recognizer, candidates: list, which: int) -> float:
    """The verifier's p of one compared pair, among the frame's pairs (its margin is over the best other work's)."""
    verifier = recognizer.s.verifier
    return float(verifier.probability(features(candidates, recognizer.textured_of(candidates)[which], which)))


def _with_outline(recognizer, frame: np.ndarray, corners: np.ndarray):
    """The frame recognised with the work's true outline first among the candidate quads (quality 1), the rest of
    the search as it is: the recogniser's own quad finder, wrapped for this one call."""
    finder = recognizer_module.find_quads

    def with_truth(sized: np.ndarray) -> list:
        scale = sized.shape[1] / frame.shape[1]  # the recogniser works at its own width
        return [(np.float32(corners) * scale, 1.0)] + finder(sized)

    with mock.patch.object(recognizer_module, "find_quads", with_truth):
        return recognizer.recognize(frame)


def _fit_line(fits: list[SpotFit]) -> str:
    """The line of --without-glare that sums up glare.py's spots on the misses under a spot."""
    if not fits:
        return "glare.py's spots on those misses: no skirt to measure"
    mean = lambda xs: sum(xs) / len(xs)
    fates = collections.Counter(fate for f in fits for fate in f.fates)
    return (f"glare.py's spots on those misses ({len(fits)} with a skirt): a spot found on "
            f"{sum(f.found for f in fits)}; of the {sum(fates.values())} spots drawn: "
            + ", ".join(f"{fate} {fates[fate]}" for fate in FATES)
            + f"; skirt error (mean grey levels) {mean([f.before for f in fits]):.1f} before, "
            f"{mean([f.after for f in fits]):.1f} after taking the spots off (0: exact); "
            f"{mean([f.shaped for f in fits]):.1f} with the shapes drawn, their light fitted; "
            f"{mean([f.lit for f in fits]):.1f} with the shapes drawn and the light best fitted to the view without "
            "glare")


if __name__ == "__main__":
    sys.exit(main())
