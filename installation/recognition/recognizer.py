"""Which catalog artwork is in a camera frame, or none.

1. Keypoints first: ORB descriptors of the frame vote over the whole catalog (an LSH index, so 500
   works stay real time) and the most voted works are verified by a homography (USAC); a sure match
   (many inliers) that also looks like its work (sure_accepts: keypoint_accepts' evidence, as below)
   is the answer without looking for an outline.
2. Places: candidate quadrilaterals of the picture, from luminance and colour edges (contours of
   the edge map and of its closed blobs, and quads of merged straight lines - Hough segments whose
   edges run along them - the frame's own borders included, and corners a little beyond the frame
   for a work cut by it), kept when their sides lie on edges that run along them. Each is rectified
   and described globally (luminance layout, HOG, colour layout under a fitted light), and a catalog
   work is only considered for a place of about its own aspect ratio. The textured works most like
   the best places are verified by keypoints too; every match must also explain its picture (4) or
   order its colours as the work does (whatever the cast; keypoint_accepts, sure_accepts for a sure
   one): a grid of lines on white shares forty inliers' worth of crossings with another grid, not its
   colours.
3. Grain: a noise-like texture too faint or blurred for keypoints (a plain colour explains it nearly as
   well as the work, so colour cannot tell it from a like-coloured texture) is found by its fine
   detail: band-passed cells of the work looked for, each within a few pixels, in a place's view.
4. Low texture (colour fields, stripes, hard-edge, gradients), where keypoints find nothing: each
   best place's best few works are aligned onto it (ECC, a shift) and the fraction of pixels the
   work explains under the gallery's light (level, slope, cast, tone; a visitor or glare is simply
   not explained) is compared with what a plain colour explains; beside it, whether the place's
   edges and each channel's order agree with the work's, and for a textured work the directions of
   its fine detail (spectrum.py, alignment-free). A logistic score of these (verify.py, learnt across
   the two view renderers) accepts the best pair or nothing; where it accepts nothing, the textured works
   of the best pairs not verified by keypoints yet are (RecognizerSettings.paired: a visitor or glare may
   have kept them out of step 2's check).
5. Confirm (Recognizer.confirm; track.Tracker keeps what is held): the camera and the wall stay put, so a
   work accepted on one frame is checked on the next at the place it was found - its keypoints there, its
   grain there, or keypoints over the frame and then the low-texture decision at that one place, at a
   stricter threshold - in 1-25 ms where a search takes about 100; failing that, the frame is searched.
6. Second look: a frame the search found nothing in, with a glare spot (a clipped core and a smooth skirt,
   glare.py), is searched again with the spots taken off; only then, as taking a spot off a white ground
   lit near clipping can spoil a view the first look reads right (Recognition.glare_off says so).
A grainy work must pass its grain check; a textured work whose keypoints failed must explain more
of its place (so an unknown busy work or texture is rejected). A keypoint homography must make a plausible picture. A wrong artwork
is worse than none: every threshold was set for few false positives (benchmarks/bench_recognition.py).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import cv2
import numpy as np

from installation.recognition.features import (
    FRAME_WIDTH,
    GRAIN,
    ORB_FEATURES_FRAME,
    THUMB,
    ArtworkFeatures,
    Global,
    _orb,
    describe,
)
from installation.recognition.geometry import _central, _log_aspect, _order, _plausible, descending
from installation.recognition.glare import FILL_MOST, Lit, find_spots
from installation.recognition.grain import CHANCE_CHECKS, Grain, chance_cells, chance_others, grain_found, grain_of
from installation.recognition.embedding import SIDE as EMBED_SIDE
from installation.recognition.embedding import Embedder
from installation.recognition.keypoints import (GUIDE_FROM, GUIDE_SPREAD, VOTE_DISTANCE, _guided, _homography,
                                                _keypoint_index, _spread)
from installation.recognition.light import (ColourLayouts, WorkStructure, _align, _main_axis, edge_agreement,
                                            explained, rank_agreement)
from installation.recognition.quads import find_quads, rectify
from installation.recognition.lookalikes import Lookalikes, Prior, adapted
from installation.recognition.spectrum import agreement, directions
from installation.recognition.verify import Candidate, Verifier, finite


log = logging.getLogger(__name__)

MOTIONS = {"shift": cv2.MOTION_TRANSLATION, "affine": cv2.MOTION_AFFINE, "homography": cv2.MOTION_HOMOGRAPHY}


@dataclass(frozen=True)
class RecognizerSettings:
    voted: int = 2  # works checked by keypoints: the most voted over the whole catalog ...
    min_votes: int = 5  # ... with at least this many votes ...
    described: int = 2  # ... and the first two textured works among the four most like each of the two best places
    # ... and, where the low-texture decision then accepts nothing, the textured works of its best `paired` pairs
    # not checked yet: a visitor or a glare spot may keep a work out of its place's four most like it
    paired: int = 3
    places: int = 4  # candidate quadrilaterals compared in detail
    place_weight: float = 1.0  # how much a place's picture-likeness counts beside what a work explains of it
    min_inliers: int = 10  # RANSAC inliers for a keypoint verification ...
    sure_inliers: int = 40  # ... and with this many, sure (confidence 1; no outline looked for)
    keypoint_explained: float = 0.5  # fraction of its picture a keypoint match must explain ...
    keypoint_ranks: float = 0.4  # ... or its rank agreement (a strong cast defeats the light fit, not the order)
    keypoint_min_ranks: float = 0.0  # a keypoint match whose channels order its picture otherwise is none
    textured_work: int = 300  # a catalog work with this many keypoints (of 600) is recognised by keypoints only
    refine: int = 4  # works aligned in detail onto each place for a low-texture view ...
    # ... and besides them, the works the learned description (embedding.py) finds most like the place
    # (0: the network is not loaded and its measurements count as absent in the verifier).
    embedded: int = 2
    # How each is aligned onto its place (shift | affine | homography), reaching this many thumbnail pixels
    # into the place's surroundings (a found quad a few pixels off its work). Affine, 8: +0.8 points of
    # top-1 on renderer 2 at 100 works (seeds 1 and 2), but at 500 works (seed 2) wrong works 0.4 -> 1.2 %
    # and false positives 0 -> 2 % (margin 4: 0.8 %, 1 %): more freedom bends other works onto a place.
    # So a shift, as before.
    refine_motion: str = "shift"
    refine_margin: int = 0
    structure_weight: float = 0.4  # how much layout and edges count beside colour in the global similarity
    area_weight: float = 0.0  # how strongly a larger candidate quadrilateral is preferred (a frame is larger than its work)
    quality_weight: float = 1.0  # how strongly one whose sides lie on edges is preferred
    aspect_tolerance: float = 0.2  # |log| of a place's side ratio over a work's (views up to 30 degrees, a cropped scan)
    colour_scale: float = 0.15  # relative colour distance (after cast gains) that halves the similarity
    pixel_tolerance: float = 0.12  # log-intensity difference a pixel may keep after the light fit
    colour_weight: float = 0.5  # how much the global similarity counts beside what a work explains
    plain_discount: float = 0.75  # share of what a plain colour explains that does not count for a work
    # The low-texture decision (verify.py): a logistic score fitted on renderers 1 and 2's seed-1 views (Verifier).
    verifier: Verifier = Verifier()
    # A low-texture confirmation of a held work (Recognizer.confirm) compares one place, not all: the verifier's
    # probability it needs.
    confirm_threshold: float = 0.9
    grain_cells: int = 6  # grain cells found alike that recognise a grainy work (chance: at most 4), or more
    # where the catalog's other grainy works show more of its grain (Recognizer.grain_line)
    grain_tried: int = 6  # the best (work, place) pairs whose work is grainy are checked for its grain
    # A frame the search found nothing in is searched again with its glare spots taken off (glare.py) ...
    second_look: bool = True
    # ... a second chance for an unknown work too, so its low-texture decision must be surer: at the verifier's
    # threshold then (0.73), 3 of the 17 it accepted on renderers 1 and 2's seeds 1 and 3 were unknown works
    # (p 0.80-0.88), and the 7 right ones reached 0.81-0.98.
    second_look_threshold: float = 0.9

    def __post_init__(self):
        if self.refine_motion not in MOTIONS:
            raise ValueError(f"RecognizerSettings.refine_motion {self.refine_motion!r}: use one of {', '.join(MOTIONS)}")
        if self.paired < 0:
            raise ValueError(f"RecognizerSettings.paired {self.paired}: use 0 (no late keypoint check) or more")
        if self.embedded < 0:
            raise ValueError(f"RecognizerSettings.embedded {self.embedded}: use 0 (no learned description) or more")
        if not self.verifier.threshold <= self.second_look_threshold <= 1:
            raise ValueError(f"RecognizerSettings.second_look_threshold {self.second_look_threshold}: use "
                             f"{self.verifier.threshold}-1 (a second look is never looser than the first)")
        if not self.verifier.threshold <= self.confirm_threshold <= 1:
            raise ValueError(f"RecognizerSettings.confirm_threshold {self.confirm_threshold}: use "
                             f"{self.verifier.threshold}-1 (a confirmation is never looser than the search)")
        if not 0 <= self.refine_margin <= THUMB // 4:
            raise ValueError(f"RecognizerSettings.refine_margin {self.refine_margin}: use 0-{THUMB // 4} thumbnail pixels")

    def match_accepts(self, inliers: int, explained: float, ranks: float) -> bool:
        """Whether a keypoint match of this many inliers is the work (sure_accepts from sure_inliers up,
        keypoint_accepts below): what the recogniser and crossval_recognition.py --keypoints decide."""
        return (self.sure_accepts if inliers >= self.sure_inliers else self.keypoint_accepts)(explained, ranks)

    def sure_accepts(self, explained: float, ranks: float) -> bool:
        """Whether a sure keypoint match (sure_inliers or more) is the work: it explains its picture under a
        fitted light, or its colour channels order the picture's pixels as the work's do (the mean rank
        correlation over the channels that vary; a strong cast defeats the light fit, not the order). NaN
        ranks (a plain picture) leave it to what is explained."""
        return explained >= self.keypoint_explained or ranks >= self.keypoint_ranks

    def keypoint_accepts(self, explained: float, ranks: float) -> bool:
        """Whether a few-inlier keypoint match is the work: sure_accepts' evidence, and in no case the reverse
        order (a veto for chance matches of a dozen keypoints; a sure match is spared it, as a grey
        photograph's channels order its pixels at random), nor a view that orders nothing (ranks NaN: every
        channel constant, clipped or plain, where the homography puts the work, whose light fit explains it; the
        cases met so far were quadrilaterals made triangles by the old corner order, docs/RECOGNITION.md
        "thirteenth")."""
        return self.sure_accepts(explained, ranks) and not ranks < self.keypoint_min_ranks and not np.isnan(ranks)


@dataclass(frozen=True)
class Pair:
    """A catalog work compared in detail with a place: its value (Recognizer.pairs), the fraction of
    the place it explains, and how well the place's edges agree with its own (NaN: it has none)."""
    value: float
    explained: float
    work: int
    place: int
    edges: float
    ranks: float  # light.rank_agreement (NaN: a plain work)
    similar: float  # the learned descriptions' agreement (embedding.py; NaN: not loaded)
    similar_margin: float  # ... beyond the most like other work's at the same place
    texture: float  # spectrum.agreement: the directions of the place's detail and the work's
    texture_margin: float  # ... beyond the most like other work's at the same place
    glare: float  # the share of the place the light fit calls glare (light.Explained.glare; at most half set aside)


class Verified(NamedTuple):
    """A work's keypoints matched in a frame (Recognizer._verify): RANSAC inliers, and where the work's
    corners land (None: no plausible homography)."""
    inliers: int
    quad: np.ndarray | None
    work: int  # the work's index


class KeypointCheck(NamedTuple):
    """What was measured of one keypoint match weighed (RecognizerSettings.match_accepts), as
    Recognition.checks lists them and a benchmark dump writes each (a JSON list in this order)."""
    work: str  # the work's id
    inliers: int
    explained: float  # the fraction of the place it explains where its homography puts it
    ranks: float | None  # light.rank_agreement there (None: a plain work)

    @classmethod
    def of(cls, row) -> KeypointCheck:
        """A dumped row; ValueError saying what is wrong with any other."""
        if not (isinstance(row, (list, tuple)) and len(row) == 4 and isinstance(row[0], str)
                and finite(row[1]) and finite(row[2]) and (row[3] is None or finite(row[3]))):
            raise ValueError(f"a keypoint match {str(row)[:120]}: give {', '.join(cls._fields)} (ranks may be null)")
        return cls(row[0], int(row[1]), float(row[2]), None if row[3] is None else float(row[3]))


@dataclass(frozen=True)
class KeypointMatch:
    """The catalog work keypoints verified (inliers 0: none), and what was measured of each
    match weighed on the way."""
    work: int
    inliers: int
    quad: np.ndarray | None
    weighed: list[KeypointCheck]


@dataclass(frozen=True)
class Place:
    """A candidate quadrilateral, how picture-like it is, its global similarity to every work, and
    its learned description's agreement with every work's (NaN: no network loaded)."""
    quad: np.ndarray
    weight: float
    scores: np.ndarray
    similar: np.ndarray


def _beyond_others(agreements: np.ndarray, i: int) -> float:
    """Work i's agreement with a place beyond the most agreeing other work's; beyond 0 where there is no
    other (a one-work catalog: an unknown picture must not gain a margin of its own agreement plus one)."""
    return float(agreements[i] - np.delete(agreements, i).max(initial=0.0))


def _rounded(x: float) -> float | None:
    return None if np.isnan(x) else round(x, 4)


MIN_FRAME_SIDE = 16
MAX_FRAME_ASPECT = 12.0
CONFIRM_REACH = 0.15  # a keypoint confirmation looks this far (of the quad's size) around where the work was ...
CONFIRM_MIN_REACH = 32  # ... and at least this many pixels (a small work: its found quad a few pixels off)
RECHECK_REACH = 0.15  # a second acceptance takes the found quad nearest the held one, its corners within this share
# of the held quad's diagonal (Recognizer.recheck)


HELD_METHODS = ("keypoints", "grain", "global")


@dataclass(frozen=True, eq=False)
class Held:
    """What confirms an accepted recognition in the next frames (Recognizer.confirm): the work (its
    index and id, so that another catalog's Held is refused), its quad (at FRAME_WIDTH, in a frame of
    `frame_hw`), how it was recognised, how picture-like its place was when it was found (the
    low-texture decision weighs the place by it), and the pairs of other works the search compared at any
    of its places, best first (a confirmation's verifier margin is measured against the best, `rival`, as
    it was in the search - none: the margin is this frame's alone; a second acceptance's against all)."""
    work: int
    artwork_id: str
    quad: np.ndarray
    method: str  # one of HELD_METHODS
    weight: float
    frame_hw: tuple[int, int]
    rivals: tuple[Pair, ...] = ()

    def __post_init__(self):
        quad = np.asarray(self.quad, np.float32)
        if quad.shape != (4, 2) or not np.isfinite(quad).all():
            raise ValueError(f"Held.quad {self.quad!r}: give the 4 corners (x, y) of the work's place")
        if self.method not in HELD_METHODS:
            raise ValueError(f"Held.method {self.method!r}: use one of {', '.join(HELD_METHODS)}")
        object.__setattr__(self, "quad", quad)
        object.__setattr__(self, "frame_hw", tuple(int(v) for v in self.frame_hw))

    @property
    def rival(self) -> Pair | None:
        """The best other work's pair (Recognizer.confirm), or None."""
        return self.rivals[0] if self.rivals else None


@dataclass(frozen=True)
class Recognition:
    artwork_id: str | None
    confidence: float
    method: str  # keypoints | grain | global | none
    seconds: float
    quad: list | None = None  # where the work is: by keypoints its own corners (its top-left first), otherwise
    # the found outline's from the screen's top-left (geometry._order); the two differ on a sheared outline only
    candidates: list[Candidate] | None = None  # the low-texture decision's compared pairs, the believed first
    checks: list[KeypointCheck] | None = None  # the keypoint matches a search weighed (its answer's among them)
    confirmed: bool = False  # found where the work held from an earlier frame was (Recognizer.confirm), or near it
    # by its outline found anew (Recognizer.recheck)
    still: bool = False  # the scene of a frame searched or confirmed a moment ago: its answer, unchecked (Tracker)
    held: Held | None = field(default=None, compare=False, repr=False)  # what confirms it next (accepted only)
    glare_off: bool = False  # found on a second look, the frame's glare spots taken off (Recognizer.recognize)


class Recognizer:
    def __init__(self, features: dict[str, ArtworkFeatures], settings: RecognizerSettings = RecognizerSettings(),
                 embedder: Embedder | None = None):
        """`embedder`: another network than the shipped one (a benchmark's cross-validation)."""
        self.ids = list(features)
        self.s = settings
        self.features = features
        g = np.stack([features[i].glob for i in self.ids]) if self.ids else np.zeros((0, 576), np.float32)
        self.lum, self.hog = g[:, :256], g[:, 256:384]
        self.colour = ColourLayouts(g[:, 384:].reshape(len(self.ids), 3, 64))
        self.log_aspect = np.log(np.float32([features[i].size[0] / features[i].size[1] for i in self.ids]))
        self.orb = _orb(ORB_FEATURES_FRAME)
        self.index, self.owner = _keypoint_index([features[i].descriptors for i in self.ids])
        self.matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        self.textured = np.array([len(features[i].descriptors) >= self.s.textured_work for i in self.ids], bool)
        self.thumb_axes = [_main_axis(features[i].thumb) for i in self.ids]
        thumbs = (np.stack([features[i].thumb for i in self.ids]) if self.ids
                  else np.zeros((0, THUMB, THUMB, 3), np.uint8))
        self.structure = WorkStructure.of(thumbs)
        self.directions = directions(np.stack([features[i].square for i in self.ids]) if self.ids
                                     else np.zeros((0, GRAIN, GRAIN, 3), np.uint8))
        self.grain_line, self.grain = self._grains()
        self.embedder = (embedder or Embedder()) if self.s.embedded and self.ids else None
        self.vectors = self.embedder.embed(thumbs) if self.embedder else None
        self.learnt: Lookalikes | None = None  # the catalog's look-alikes the verifier was refitted on (learn)

    def textured_of(self, candidates) -> list[bool]:
        """Whether each candidate's work (Candidate.work: an id of this catalog) is textured: the verifier asks
        more of a textured work whose keypoints failed (a benchmark's dump, a look-alike's rows)."""
        return [bool(self.textured[self.ids.index(c.work)]) for c in candidates]

    def learn(self, found: Lookalikes, prior: Prior) -> None:
        """Refits the low-texture decision on the catalog's look-alikes (lookalikes.py), from the verifier's
        own fit (`prior`: made for its weights); its threshold stays."""
        self.s = replace(self.s, verifier=adapted(self.s.verifier, prior, found))
        self.learnt = found

    def _grains(self) -> tuple[dict[int, int], dict[int, Grain]]:
        """Each grainy work's line (its cells found alike that recognise it), and the works recognised by
        their grain. The line is one more than chance reaches for its grain among the catalog's other works,
        grainy or not (a grain other works show by the dozen is no proof); a work whose line is beyond its
        own cells is recognised like any other work (and named in the log)."""
        grains = {k: g for k, i in enumerate(self.ids) if (g := grain_of(self.features[i].square)) is not None}
        squares = {k: self.features[i].square for k, i in enumerate(self.ids)}
        chance = chance_cells(grains, squares, CHANCE_CHECKS)
        others = chance_others(len(grains), len(self.ids), CHANCE_CHECKS)
        if others < len(self.ids) - 1:
            log.warning("recognition: %d grainy works; each grain was checked for chance finds against %d of the others, "
                        "not all (CHANCE_CHECKS %d: a camera must start in seconds); a grain that an unchecked work "
                        "shows keeps a lower line", len(grains), others, CHANCE_CHECKS)
        line = {k: max(self.s.grain_cells, chance[k] + 1) for k in grains}
        kept = {k: g for k, g in grains.items() if line[k] <= len(g.cells)}
        shared = sorted(self.ids[k] for k in grains if k not in kept)
        if shared:
            log.info("recognition: %d grainy works whose grain other catalog works show as well (a duplicate image, "
                     "a stereo pair, one grid of dots) are recognised by colour and layout, not grain: %s",
                     len(shared), ", ".join(shared))
        return line, kept

    def global_scores(self, described: list[Global], shaped: list[np.ndarray]) -> np.ndarray:
        """(places, works): the similarity in [0, 1] of each place's description to the catalog works
        given for it (indices, `shaped[k]`); the other works score 0. One call for every place."""
        scores = np.zeros((len(described), len(self.ids)), np.float32)
        works = np.concatenate(shaped).astype(np.intp) if shaped else np.zeros(0, np.intp)
        if not len(works):
            return scores
        which = np.repeat(np.arange(len(shaped)), [len(s) for s in shaped])
        lum, hog = np.stack([g.lum for g in described]), np.stack([g.hog for g in described])
        structure = 0.5 * np.einsum("kd,kd->k", self.lum[works], lum[which]) \
            + 0.5 * np.einsum("kd,kd->k", self.hog[works], hog[which])
        colour_dist = self.colour.distances(np.stack([g.colour.reshape(3, 64) for g in described]), works, which)
        w = self.s.structure_weight
        scores[which, works] = (1 - w + w * np.clip(structure, 0, 1)) * np.exp(-np.log(2) * colour_dist / self.s.colour_scale)
        return scores

    def _aligned(self, crop: np.ndarray, idx: list[int], plain: np.ndarray | None = None,
                 motion: int = cv2.MOTION_TRANSLATION, margin: int = 0):
        """The works' thumbnails (then the plain picture) and the view aligned onto each, stacked (`crop`
        with `margin` pixels of surroundings: see light._align)."""
        extra = [] if plain is None else [plain]
        thumbs = np.stack([self.features[self.ids[i]].thumb for i in idx] + extra)
        inner = crop[margin:margin + THUMB, margin:margin + THUMB]
        views = np.stack([_align(t, self.thumb_axes[i], crop, motion, margin) for t, i in zip(thumbs, idx)]
                         + [inner] * len(extra))
        return thumbs, views

    def _voted(self, desc) -> list[int]:
        """The works whose keypoints the frame's keypoints match most often over the whole catalog (an
        approximate nearest-neighbour index): a textured work is found even where no outline is."""
        if self.index is None or desc is None or len(desc) < 8:
            return []
        matches = self.index.knnMatch(desc, k=1)
        hits = np.int64([self.owner[m[0].trainIdx] for m in matches if m and m[0].distance < VOTE_DISTANCE])
        votes = np.bincount(hits, minlength=len(self.ids))
        return [int(i) for i in descending(votes)[: self.s.voted] if votes[i] >= self.s.min_votes]

    def _verify(self, idx: int, pts: np.ndarray, desc, frame_hw: tuple[int, int]) -> Verified:
        """RANSAC inliers of a work's keypoints matched in the frame (nearest two, ratio test; `pts` the
        frame's keypoint positions), and where the work's corners land in the frame, in the work's own order:
        the homography's, which `_plausible` keeps upright. Re-sorted from the screen's top-left (`_order`, as
        until 2026-12-07) a strongly foreshortened quadrilateral may start a corner early and be rectified a
        quarter turn off (renderer 2 seed 2 view 167: a 13-inlier match of the right work explained 0.10 of its
        place so, 0.67 in its own order).
        A few inliers (a blurred texture) are grown by matching again near where the homography puts
        each keypoint, with a looser distance."""
        f = self.features[self.ids[idx]]
        pairs = self.matcher.knnMatch(f.descriptors, desc, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
        if len(good) < GUIDE_FROM:
            return Verified(0, None, idx)
        src = f.keypoints[[m.queryIdx for m in good]]
        H, inlying = _homography(src, pts[[m.trainIdx for m in good]])
        inliers = int(inlying.sum())
        if H is None:
            return Verified(0, None, idx)
        corners = np.float32([[[0, 0]], [[f.size[0], 0]], [[f.size[0], f.size[1]]], [[0, f.size[1]]]])
        quad = cv2.perspectiveTransform(corners, H).reshape(4, 2)
        if not _plausible(quad, frame_hw, f.size):
            return Verified(0, None, idx)
        # Too few inliers as they are (a blurred texture?): matched again near where H puts each keypoint -
        # only from a plausible H, as a degenerate one piles the work's keypoints onto a few frame points,
        # and from inliers across the work (GUIDE_SPREAD).
        if GUIDE_FROM <= inliers < self.s.min_inliers and _spread(src[inlying], f.size) >= GUIDE_SPREAD:
            src, dst = _guided(f, H, pts, desc)
            if len(src) > inliers:
                H2, inlying2 = _homography(src, dst)
                inliers2 = int(inlying2.sum())
                if H2 is not None and inliers2 > inliers:
                    quad2 = cv2.perspectiveTransform(corners, H2).reshape(4, 2)
                    if _plausible(quad2, frame_hw, f.size):
                        quad, inliers = quad2, inliers2
        return Verified(inliers, quad, idx)

    def _checked(self, pts: np.ndarray, desc, works: list[int], frame_hw: tuple[int, int]) -> list[Verified]:
        """Each work verified by keypoints, most inliers first."""
        if desc is None or len(desc) < 8:
            return []
        return sorted((self._verify(i, pts, desc, frame_hw) for i in works), key=lambda c: -c.inliers)

    def _described(self, places: list[Place]) -> list[int]:
        """The textured works that look most like the best places: checked by keypoints too."""
        return [int(i) for p in places[:2] for i in
                [i for i in descending(p.scores)[:4] if p.scores[i] > 0 and self.textured[i]][: self.s.described]]

    def keypoint_match(self, frame_bgr: np.ndarray, checked: list[Verified]) -> KeypointMatch:
        """The catalog work best verified by keypoints (inliers 0: none). A match must also look like the
        work where its homography puts it (RecognizerSettings.keypoint_accepts): an unknown busy work
        shares a dozen chance keypoints with some catalog work, but not its picture, and a grid of lines
        on white shares forty with another grid, but not its colours (renderer 2's grids; until 2026-12-05
        a match of sure_inliers was taken unchecked: RecognizerSettings.sure_accepts). The rule was set on
        one renderer's few-inlier matches and holds on the other's (crossval_recognition.py --keypoints)."""
        weighed = []  # what was measured of each match (the benchmark replays the rule on them)
        for inliers, quad, i in checked:  # most inliers first
            if inliers < self.s.min_inliers:
                break
            crop = rectify(frame_bgr, quad, THUMB)
            thumbs, views = self._aligned(crop, [i])
            seen = explained(thumbs, views, self.s.pixel_tolerance)
            fraction = float(seen.fractions[0])
            ranks = float(rank_agreement(self.structure.take([i]), views, seen.glare)[0])
            weighed.append(KeypointCheck(self.ids[i], int(inliers), round(fraction, 4), _rounded(ranks)))
            if self.s.match_accepts(inliers, fraction, ranks):
                return KeypointMatch(i, inliers, quad, weighed)
        return KeypointMatch(-1, 0, None, weighed)

    def _shaped(self, quad: np.ndarray) -> np.ndarray:
        """The works of about the quad's shape (indices): only they are compared with it."""
        return np.flatnonzero(np.abs(self.log_aspect - _log_aspect(quad)) < self.s.aspect_tolerance)

    def places(self, frame_bgr: np.ndarray, found: list[tuple[np.ndarray, float]]) -> list[Place]:
        """The candidate quadrilaterals that look most like a catalog work, best first. The whole
        picture, not one of its bands: a part of a colour field looks like another, plainer work, so
        smaller quadrilaterals, and those whose sides lie less on edges, weigh less; and a work is
        only considered for a quadrilateral of about its own shape."""
        if not found:
            found = [(_central(frame_bgr), 0.5)]
        biggest = max(cv2.contourArea(q) for q, _ in found)
        weights, shaped, described = [], [], []
        for quad, quality in found:
            weights.append(self._weight(quad, quality, biggest))
            # Only works of about the place's shape are compared (a quarter of the catalog, or so).
            shaped.append(self._shaped(quad))
            described.append(describe(rectify(frame_bgr, quad)) if len(shaped[-1]) else None)
        kept = [k for k, g in enumerate(described) if g is not None]
        scores = np.zeros((len(found), len(self.ids)), np.float32)
        scores[kept] = self.global_scores([described[k] for k in kept], [shaped[k] for k in kept])
        similar = self._similar(frame_bgr, [q for q, _ in found], shaped)
        out = [Place(quad, weight, row, sim) for (quad, _), weight, row, sim in zip(found, weights, scores, similar)]
        out.sort(key=lambda p: -float(p.scores.max()) * p.weight)
        kept = out[: self.s.places]
        if self.embedder is not None and len(out) > len(kept):
            # The place the network finds most like a work is compared too (global descriptions miss
            # a work under a strong cast or glare, where the network was trained to look through them).
            best = max(out, key=lambda p: float(p.similar.max()))
            if not any(best is p for p in kept):
                kept.append(best)
        return kept

    def _weight(self, quad: np.ndarray, quality: float, biggest: float) -> float:
        """How picture-like a found quad is (Place.weight): its area beside the frame's biggest found quad's, and
        how well its sides lie on edges (`quality`, find_quads')."""
        return (cv2.contourArea(quad) / biggest) ** self.s.area_weight * quality ** self.s.quality_weight

    def _similar(self, frame_bgr: np.ndarray, quads: list[np.ndarray], shaped: list[np.ndarray]) -> np.ndarray:
        """(places, works): the learned descriptions' agreement of each place with each work of about
        its shape (-1 for the others; NaN everywhere without the network)."""
        out = np.full((len(quads), len(self.ids)), np.nan if self.embedder is None else -1.0, np.float32)
        # Only places some work is of the shape of: the others' rows stay -1 (the network gives each square
        # the same vector whatever else it is given with).
        kept = [k for k, works in enumerate(shaped) if len(works)]
        if self.embedder is None or not kept:
            return out
        vectors = self.embedder.embed(np.stack([rectify(frame_bgr, quads[k], EMBED_SIDE) for k in kept]))
        for k, v in zip(kept, vectors):
            out[k, shaped[k]] = self.vectors[shaped[k]] @ v
        return out

    def _shortlist(self, p: Place) -> list[int]:
        """The works compared in detail with a place: the most like it globally, then by the network."""
        short = [int(i) for i in descending(p.scores)[: self.s.refine] if p.scores[i] > 0]
        if self.embedder is not None:
            short += [int(i) for i in descending(p.similar)[: self.s.embedded] if p.similar[i] > -1]
        return list(dict.fromkeys(short))

    def pairs(self, frame_bgr: np.ndarray, places: list[Place], grains: dict | None = None) -> list[Pair]:
        """Each place's best few works, best value first. The value is what a work explains beyond what
        a plain colour under the same light explains (a plain work explains any plain patch), weighed by
        how picture-like the place is; beside it, how well the place's edges lie on the work's. Each
        compared place's GRAIN square is left in `grains` (by place) for the grain check of the frame."""
        grains = {} if grains is None else grains
        shortlists, thumbs, views, work_views, textures = [], [], [], [], []
        for k, p in enumerate(places):
            short = self._shortlist(p)
            if not short:
                continue
            m = self.s.refine_margin
            crop = rectify(frame_bgr, p.quad, THUMB, m)
            inner = crop[m:m + THUMB, m:m + THUMB]
            plain = np.broadcast_to(np.median(inner.reshape(-1, 3), 0).astype(np.uint8), inner.shape)
            t, v = self._aligned(crop, short, plain, MOTIONS[self.s.refine_motion], m)
            shortlists.append((k, short))
            grains[k] = rectify(frame_bgr, p.quad, GRAIN)
            textures.append(agreement(self.directions, directions(grains[k][None])[0]))
            thumbs.append(t)
            views.append(v)
            work_views.append(v[:-1])  # the plain picture (last) has no edges or order of a work's
        if not shortlists:
            return []
        # One fit for every place's works at once: the same per-work fits, less per-call overhead.
        seen = explained(np.concatenate(thumbs), np.concatenate(views), self.s.pixel_tolerance)
        every, shares = seen.fractions, seen.glare.mean(1)
        # Edges and ranks of the works' views against the works' own, computed once per work, where the
        # light fit found no glare (added light hides a work's order and edges, and adds its own rim).
        structure = self.structure.take([i for _, short in shortlists for i in short])
        is_work = np.concatenate([[True] * len(short) + [False] for _, short in shortlists])  # the plain last
        work_views, glare = np.concatenate(work_views), seen.glare[is_work]
        edges = edge_agreement(structure, work_views, glare)
        ranks = rank_agreement(structure, work_views, glare)
        out, start, at = [], 0, 0
        for (k, short), texture in zip(shortlists, textures):
            fractions, glared = every[start:start + len(short) + 1], shares[start:start + len(short)]
            agree, ordered = edges[at:at + len(short)], ranks[at:at + len(short)]
            start, at = start + len(short) + 1, at + len(short)
            gain = fractions[:-1] - self.s.plain_discount * fractions[-1]
            # The global similarity weighs in too: it sees absolute colour, which the light fit forgives.
            weight = places[k].weight ** self.s.place_weight
            similar = places[k].similar
            out += [Pair(float(g) * weight * float(places[k].scores[i]) ** self.s.colour_weight, float(f), i, k,
                         float(e), float(o), float(similar[i]), _beyond_others(similar, i),
                         float(texture[i]), _beyond_others(texture, i), float(a))
                    for g, f, i, e, o, a in zip(gain, fractions, short, agree, ordered, glared)]
        return sorted(out, key=lambda p: -p.value)

    def _decide_global(self, frame_bgr, places: list[Place], found: bool, elapsed,
                       rivals: list[Pair] = ()) -> Recognition:
        """Low texture: align each candidate's thumbnail to each candidate place, and accept the work
        that explains a place best, when that is enough and clearly more than any other work explains
        of any place (`rivals`: pairs compared on an earlier frame, that count as if compared now)."""
        grains: dict[int, np.ndarray] = {}  # each place's GRAIN square: for its texture and its grain alike
        pairs = self.pairs(frame_bgr, places, grains)
        if pairs and rivals:  # kept beside this frame's pairs of the same work: the margin only shrinks
            pairs = sorted(pairs + list(rivals), key=lambda q: -q.value)
        if not pairs:
            return Recognition(None, 0.0, "none", elapsed(), places[0].quad.tolist(), [])
        # Every pair, best value first (the benchmark replays the decision from them).
        candidates = [Candidate(self.ids[p.work], round(p.value, 4), round(p.explained, 4), _rounded(p.edges),
                                _rounded(p.ranks), _rounded(p.similar), _rounded(p.similar_margin), _rounded(p.texture),
                                _rounded(p.texture_margin), _rounded(p.glare)) for p in pairs]
        grained = self._by_grain(frame_bgr, places, pairs, candidates, elapsed, grains)
        if grained is not None:
            return grained
        k, p = self.s.verifier.best(candidates, [bool(self.textured[q.work]) for q in pairs])
        best = pairs[k]
        candidates = [candidates[k]] + candidates[:k] + candidates[k + 1:]  # the believed pair first
        quad = places[best.place].quad.tolist()
        if not found or best.work in self.grain:
            # No outline found, or a grainy work that failed its check: not by colour alone.
            return Recognition(None, 0.0, "none", elapsed(), quad, candidates)
        if p >= self.s.verifier.threshold:
            place = places[best.place]
            others = tuple(q for q in pairs if q.work != best.work)  # pairs are best first
            held = Held(best.work, self.ids[best.work], place.quad, "global", place.weight, frame_bgr.shape[:2],
                        others)
            return Recognition(self.ids[best.work], round(p, 3), "global", elapsed(), quad, candidates, held=held)
        # A rejected pair keeps its (non-zero) score: 0 says that no pair could be scored at all.
        return Recognition(None, max(round(p, 3), 0.001), "none", elapsed(), quad, candidates)

    def _by_grain(self, frame_bgr, places: list[Place], pairs, candidates, elapsed,
                  views: dict | None = None) -> Recognition | None:
        """A grainy work among the best pairs whose grain is found in one of the places: a noise-like
        texture that keypoints miss (too faint, too blurred) and that a plain colour explains nearly
        as well as the work itself (so colour alone cannot tell it from a like-coloured texture). Its
        own place first, then the others: a visitor may have pulled a side out of shape (off the work's
        aspect) while the grain still lies within a cell's shift of where that place puts it. Then a
        grainy work the network puts first at a place, there (_grainy_first). Of those over their line, the one
        with the most cells found."""
        best = [(p.work, p.place) for p in pairs[: self.s.grain_tried] if p.work in self.grain]
        works = list(dict.fromkeys(i for i, _ in best))
        tried = list(dict.fromkeys(best + [(i, k) for i in works for k in range(len(places))]
                                   + self._grainy_first(places)))
        views = {} if views is None else views  # GRAIN squares by place, those pairs() made kept
        found = []
        for i, k in tried:
            if k not in views:
                views[k] = rectify(frame_bgr, places[k].quad, GRAIN)
            found.append(grain_found(self.grain[i], views[k]))
        # The most cells found wins (the first tried among equals): grainy works of one kind share chance
        # cells, and the first tried over the line was another work where the right one found more.
        passed = [n if n >= self.grain_line[i] else -1 for (i, _), n in zip(tried, found)]
        top = int(np.argmax(passed)) if passed else -1
        if top < 0 or passed[top] < 0:
            return None
        (i, k), n = tried[top], found[top]
        held = Held(i, self.ids[i], places[k].quad, "grain", places[k].weight, frame_bgr.shape[:2],
                    rivals=tuple(q for q in pairs if q.work != i))
        return Recognition(self.ids[i], self._grain_confidence(i, n), "grain", elapsed(), places[k].quad.tolist(),
                           candidates, held=held)

    def _grain_confidence(self, work: int, cells: int) -> float:
        return round(min(1.0, cells / (2 * self.grain_line[work])), 3)

    def _grainy_first(self, places: list[Place]) -> list[tuple[int, int]]:
        """(work, place) of each place whose most like work by the network is grainy. A noise-like
        texture's global description is like any other's, so it may not reach the pairs at all (renderer
        3: 5 of its 360 views). Checked at that place only: tried at every place, a grainy work the network
        merely ranked high found chance cells in another work's place (renderer 1, seed 2: 1 wrong)."""
        if self.embedder is None:
            return []
        firsts = [(int(np.argmax(p.similar)), k) for k, p in enumerate(places) if p.similar.max() > -1]
        return [(i, k) for i, k in firsts if i in self.grain]

    def sight(self, frame_bgr: np.ndarray) -> Sight | None:
        """A BGR frame of any size as this Recognizer looks at it (Sight): at FRAME_WIDTH (every size in pixels
        here - keypoints, quads, tolerances - is for this width); None for a strip of pixels, which is no camera
        view (recognised as none; scaled to FRAME_WIDTH it would ask for gigabytes)."""
        h, w = frame_bgr.shape[:2]
        if min(h, w) < MIN_FRAME_SIDE or max(h, w) > MAX_FRAME_ASPECT * min(h, w):
            return None
        scale = FRAME_WIDTH / w
        if scale != 1.0:
            shrink = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            frame_bgr = cv2.resize(frame_bgr, (FRAME_WIDTH, max(1, round(h * scale))), interpolation=shrink)
        return Sight(self, frame_bgr, scale)

    def recognize(self, frame: np.ndarray | Sight) -> Recognition:
        """The artwork in a BGR frame of any size (recognised at FRAME_WIDTH; the quad is given in the
        frame's own pixels), or in a frame's Sight (what a confirmation of it worked out is not worked out
        again)."""
        start = time.perf_counter()
        sight = self._sight_of(frame)
        if sight is None:
            return Recognition(None, 0.0, "none", time.perf_counter() - start)
        r = self._recognize(sight, start)
        if r.artwork_id is None and self.s.second_look:
            r = self._without_glare(sight.frame, start, r)
        return sight.back(r)

    def _sight_of(self, frame: np.ndarray | Sight) -> Sight | None:
        """A frame's Sight (None: a strip of pixels); a Sight another Recognizer made is refused (its keypoints
        vote over another catalog)."""
        if not isinstance(frame, Sight):
            return self.sight(frame)
        if frame.recognizer is not self:
            raise ValueError("Sight: made by another Recognizer; look at the frame with this one (Recognizer.sight)")
        return frame

    def _without_glare(self, frame_bgr: np.ndarray, start: float, first: Recognition) -> Recognition:
        """A second look at a frame the first found nothing in, with its glare spots taken off (glare.py):
        its answer if it finds a work (by the low-texture decision, at second_look_threshold), else the
        first's. Only then: taking a spot off a white ground lit near clipping spoils a view the first look
        reads right (renderer 2's grids). Nor where the spots reach clipped pixels over more of the frame than
        a spot's core could be (glare.FILL_MOST): a bright wall or work the camera clipped, not glare's to take
        off (and half a second to fill in)."""
        spots = find_spots(frame_bgr)
        lit = Lit.of(frame_bgr, spots) if spots else None
        if lit is None or lit.clipped > FILL_MOST:
            return replace(first, seconds=time.perf_counter() - start)  # finding the spots counts too
        r = self._recognize(Sight(self, lit.taken_off()), start)
        if r.artwork_id is None or (r.method == "global" and r.confidence < self.s.second_look_threshold):
            return replace(first, seconds=r.seconds)
        return replace(r, glare_off=True)

    def confirm(self, frame: np.ndarray | Sight, held: Held) -> Recognition:
        """Whether the held work is still where it was (a fixed camera, a work on its wall): that one
        work checked at that one place - its keypoints (the search's own, those near the place), its
        grain, or the search's keypoint step and then the low-texture decision over the place's shortlist
        beside the search's best rival (the held work must come first and reach
        RecognizerSettings.confirm_threshold). Not the search: the place is not looked for again, so a
        grain or low-texture confirmation gives the held quad. Grain 1-2 ms, keypoints 11-13, low texture
        23-29 where a search takes about 100 (one core, renderers 1-3, medians); anything else (another work first,
        a visitor over it, a moved camera, a frame of another shape) is none, and the caller searches."""
        check = {"keypoints": self._confirm_keypoints, "grain": self._confirm_grain,
                 "global": self._confirm_global}[held.method]
        r = self._held_again(frame, held, check)
        return r if r.artwork_id is None else replace(r, held=held)  # the held place stays the search's

    def recheck(self, frame: np.ndarray | Sight, held: Held) -> Recognition:
        """A work one search alone accepted by the low-texture decision or its grain, decided again on a later
        frame (the Tracker's second acceptance before it holds the work) at about half a search's cost: the
        search's keypoint step over the frame, then the outline looked for anew (find_quads: the found quad
        nearest the held one, RECHECK_REACH) and the low-texture decision there, beside every pair of another
        work the first search compared (Held.rivals), as sure as a confirmation (confirm_threshold). The held
        work (flagged confirmed; a keypoint match brings its own Held) or none, and the caller searches.
        The outline found anew is what makes it a second acceptance: the held quad measured again repeated a
        single search's mistake (docs/RECOGNITION.md, "Since 2026-12-06, tenth")."""
        return self._held_again(frame, held, self._decided_again)

    def _held_again(self, frame: np.ndarray | Sight, held: Held, decide) -> Recognition:
        """The held work found again by `decide(the frame's Sight, held, elapsed)`, flagged confirmed, or none
        (another work, or a frame of another shape than the held place's)."""
        start = time.perf_counter()
        self._refuse_foreign(held)
        sight = self._sight_of(frame)
        if sight is None or sight.hw != held.frame_hw:
            return Recognition(None, 0.0, "none", time.perf_counter() - start)
        elapsed = lambda: time.perf_counter() - start
        r = decide(sight, held, elapsed)
        if r.artwork_id != held.artwork_id:
            return Recognition(None, 0.0, "none", elapsed())
        return sight.back(replace(r, confirmed=True))

    def _refuse_foreign(self, held: Held) -> None:
        """A Held this Recognizer did not give (another catalog's, or one made up), refused with its reason."""
        rivals = [q.work for q in held.rivals]
        index = lambda w: isinstance(w, (int, np.integer)) and not isinstance(w, bool) and 0 <= w < len(self.ids)
        if not all(map(index, [held.work] + rivals)) or self.ids[held.work] != held.artwork_id \
                or held.work in rivals:
            raise ValueError(f"Held work {held.artwork_id!r}: not this catalog's (index {held.work}); confirm only "
                             "what this Recognizer recognised")
        if held.method == "grain" and held.work not in self.grain:
            raise ValueError(f"Held work {held.artwork_id!r}: held by its grain, but it has none here; confirm only "
                             "what this Recognizer recognised")

    def _decided_again(self, sight: Sight, held: Held, elapsed) -> Recognition:
        """Recognizer.recheck's decision, at FRAME_WIDTH: any work it names (the caller keeps the held one)."""
        none = Recognition(None, 0.0, "none", elapsed())
        found = sight.quads
        if not found:
            return none
        held_corners = _order(held.quad)  # a keypoint match's quad is in its work's order, found quads in _order's
        off = [float(np.abs(q - held_corners).max()) for q, _ in found]
        k = int(np.argmin(off))
        if off[k] > RECHECK_REACH * float(np.linalg.norm(held.quad.max(0) - held.quad.min(0))):
            return none
        quad, quality = found[k]
        shaped = self._shaped(quad)
        if not len(shaped):
            return none
        # The place weighed as the search weighs it among the frame's found quads.
        weight = self._weight(quad, quality, max(cv2.contourArea(q) for q, _ in found))
        return self._decided_at(sight, self._place(sight.frame, quad, weight, shaped), held.rivals, elapsed)

    def _confirm_keypoints(self, sight: Sight, held: Held, elapsed) -> Recognition:
        """The held work's keypoints verified in the frame near where it was: the search's own keypoints
        (ORB over the whole frame) that lie there. A textured work draws most of a frame's strongest
        corners, far more than its share of the frame's area; ORB run on the part alone at that share (as
        until 2026-12-06) kept a few of them, and a work the search then verified by 20-43 inliers
        failed its confirmation."""
        hw = sight.hw
        box = _around(held.quad, hw)
        if box is None:
            return Recognition(None, 0.0, "none", elapsed())
        x0, y0, x1, y1 = box
        pts, desc = sight.keypoints
        near = (pts[:, 0] >= x0) & (pts[:, 0] < x1) & (pts[:, 1] >= y0) & (pts[:, 1] < y1)
        match = self.keypoint_match(sight.frame, self._checked(pts[near], None if desc is None else desc[near],
                                                               [held.work], hw))
        if not match.inliers:
            return Recognition(None, 0.0, "none", elapsed())
        return self._by_keypoints(match.inliers, match.quad, match.work, elapsed, hw)

    def _confirm_grain(self, sight: Sight, held: Held, elapsed) -> Recognition:
        """The held grainy work's cells found in its place, over its line."""
        n = grain_found(self.grain[held.work], rectify(sight.frame, held.quad, GRAIN))
        if n < self.grain_line[held.work]:
            return Recognition(None, 0.0, "none", elapsed())
        return Recognition(held.artwork_id, self._grain_confidence(held.work, n), "grain", elapsed(),
                           held.quad.tolist())

    def _confirm_global(self, sight: Sight, held: Held, elapsed) -> Recognition:
        """The low-texture decision at the held place alone, weighed as when it was found, after the
        search's first step (keypoints over the whole frame: a work they verify wins there, so it wins
        here too, and a held low-texture work is then none). Only the held place's rivals and the
        search's are compared, not every place's, so it needs the verifier surer (confirm_threshold)."""
        shaped = self._shaped(held.quad)
        return self._decided_at(sight, self._place(sight.frame, held.quad, held.weight, shaped),
                                held.rivals[:1], elapsed)

    def _place(self, frame_bgr: np.ndarray, quad: np.ndarray, weight: float, shaped: np.ndarray) -> Place:
        """One quad as a Place, described as Recognizer.places describes each (`shaped`: its works)."""
        return Place(quad, weight, self.global_scores([describe(rectify(frame_bgr, quad))], [shaped])[0],
                     self._similar(frame_bgr, [quad], [shaped])[0])

    def _decided_at(self, sight: Sight, place: Place, rivals, elapsed) -> Recognition:
        """At one place, as a confirmation decides (Recognizer.confirm, recheck): the search's keypoint step
        over the whole frame (a work they verify wins), then the low-texture decision there beside `rivals`
        (pairs the search compared), accepted only as sure as confirm_threshold."""
        frame_bgr = sight.frame
        works = list(dict.fromkeys(sight.voted + self._described([place])))
        match = self.keypoint_match(frame_bgr, sight.verified(works))
        if match.inliers:
            return self._by_keypoints(match.inliers, match.quad, match.work, elapsed, sight.hw)
        r = self._decide_global(frame_bgr, [place], True, elapsed, [replace(q, place=0) for q in rivals])
        if r.artwork_id is not None and r.confidence < self.s.confirm_threshold:
            return Recognition(None, r.confidence, "none", elapsed(), r.quad, r.candidates)
        return r

    def _recognize(self, sight: Sight, start: float) -> Recognition:
        elapsed = lambda: time.perf_counter() - start
        if not self.ids:
            return Recognition(None, 0.0, "none", elapsed())
        frame_bgr, hw = sight.frame, sight.hw
        voted = sight.voted
        checked = sight.verified(voted)
        refused = []  # a sure match that does not look like its work: weighed once, not again below
        if checked and checked[0].inliers >= self.s.sure_inliers:  # a busy work, sure and like it: no outline needed
            sure = self.keypoint_match(frame_bgr, checked[:1])
            if sure.inliers:
                return replace(self._by_keypoints(sure.inliers, sure.quad, sure.work, elapsed, hw), checks=sure.weighed)
            refused, checked = sure.weighed, checked[1:]
        found = sight.quads
        places = self.places(frame_bgr, found)
        more = [i for i in dict.fromkeys(self._described(places)) if i not in voted]
        checked = sorted(checked + sight.verified(more), key=lambda c: -c.inliers)
        match = self.keypoint_match(frame_bgr, checked)
        weighed = refused + match.weighed
        if match.inliers:
            r = self._by_keypoints(match.inliers, match.quad, match.work, elapsed, hw)
        else:
            r = self._decide_global(frame_bgr, places, bool(found), elapsed)
            late = self._paired(r, set(voted) | set(more))
            if late:
                match = self.keypoint_match(frame_bgr, sight.verified(late))
                weighed += match.weighed
                if match.inliers:
                    r = self._by_keypoints(match.inliers, match.quad, match.work, elapsed, hw)
        return replace(r, checks=weighed) if weighed else r

    def _paired(self, r: Recognition, tried: set[int]) -> list[int]:
        """The textured works of a frame's best pairs (RecognizerSettings.paired) that keypoints have not
        checked yet, where the low-texture decision accepted nothing."""
        if r.artwork_id is not None or not r.candidates:
            return []
        works = dict.fromkeys(self.ids.index(c.work) for c in r.candidates[: self.s.paired])
        return [i for i in works if self.textured[i] and i not in tried]

    def _by_keypoints(self, inliers: int, quad: np.ndarray, work: int, elapsed, hw: tuple[int, int]) -> Recognition:
        conf = min(1.0, inliers / self.s.sure_inliers)
        return Recognition(self.ids[work], round(conf, 3), "keypoints", elapsed(), quad.tolist(),
                           held=Held(work, self.ids[work], quad, "keypoints", 1.0, hw))


def _keypoints(orb, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """ORB keypoint positions (N, 2) in the picture's pixels, and their descriptors (None: none found)."""
    kps, desc = orb.detectAndCompute(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY), None)
    return np.float32([k.pt for k in kps]).reshape(-1, 2), desc


def _around(quad: np.ndarray, hw: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1): the quad's bounding box grown by CONFIRM_REACH of its size, and at least by
    CONFIRM_MIN_REACH pixels, within the frame; None where less than MIN_FRAME_SIDE of it is in the frame."""
    lo, hi = quad.min(0), quad.max(0)
    grow = np.maximum(CONFIRM_REACH * (hi - lo), CONFIRM_MIN_REACH)
    x0, y0 = np.maximum(np.floor(lo - grow), 0).astype(int)
    x1, y1 = np.minimum(np.ceil(hi + grow), [hw[1], hw[0]]).astype(int)
    if x1 - x0 < MIN_FRAME_SIDE or y1 - y0 < MIN_FRAME_SIDE:
        return None
    return int(x0), int(y0), int(x1), int(y1)


class Sight:
    """A frame as one Recognizer looks at it (Recognizer.sight makes one from a frame of any size; made
    directly, the frame must be at FRAME_WIDTH already): what a search works out there before it compares
    anything - the frame's ORB keypoints, the works they vote for, the works they verify, the found quads - each
    worked out once, when first asked. A Tracker's confirmation that fails hands its Sight to the search that
    follows, which then works none of them out again: each is a function of the frame alone (the homography's
    USAC included: OpenCV seeds it alike on every call), so the answers are the same."""

    def __init__(self, recognizer: Recognizer, frame_bgr: np.ndarray, scale: float = 1.0):
        self.recognizer, self.frame, self.scale = recognizer, frame_bgr, scale
        self.hw: tuple[int, int] = frame_bgr.shape[:2]
        self._keypoints: tuple[np.ndarray, np.ndarray | None] | None = None
        self._voted: list[int] | None = None
        self._verified: dict[int, Verified] = {}
        self._quads: list[tuple[np.ndarray, float]] | None = None

    @property
    def keypoints(self) -> tuple[np.ndarray, np.ndarray | None]:
        """ORB keypoint positions over the whole frame (N, 2) and their descriptors (None: none found)."""
        if self._keypoints is None:
            self._keypoints = _keypoints(self.recognizer.orb, self.frame)
        return self._keypoints

    @property
    def voted(self) -> list[int]:
        """The works the keypoints vote for (Recognizer._voted)."""
        if self._voted is None:
            self._voted = self.recognizer._voted(self.keypoints[1])
        return self._voted

    def verified(self, works: list[int]) -> list[Verified]:
        """Each work verified by the frame's keypoints, most inliers first (Recognizer._checked)."""
        pts, desc = self.keypoints
        if desc is None or len(desc) < 8:
            return []
        for i in works:
            if i not in self._verified:
                self._verified[i] = self.recognizer._verify(i, pts, desc, self.hw)
        return sorted((self._verified[i] for i in works), key=lambda c: -c.inliers)

    @property
    def quads(self) -> list[tuple[np.ndarray, float]]:
        """The frame's candidate quadrilaterals (find_quads)."""
        if self._quads is None:
            self._quads = find_quads(self.frame)
        return self._quads

    def back(self, r: Recognition) -> Recognition:
        """A recognition's quad given back in the original frame's pixels."""
        if self.scale == 1.0 or r.quad is None:
            return r
        return replace(r, quad=(np.float32(r.quad) / self.scale).tolist())

