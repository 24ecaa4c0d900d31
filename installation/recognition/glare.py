"""Glare spots found in a frame, without knowing the work under them, and taken off it.

A specular spot is light added to the picture: a core clipped white, and around it a skirt that falls off
smoothly (renderer 2 draws an elliptical Gaussian; a real varnish does much the same). The skirt breaks
everything at once - the found outline, keypoints, the places' ranking, the network, the light fit - and
no measurement of one work and place mends that (diagnose_recognition.py --without-glare). Here each
clipped core is a candidate spot; its skirt is fitted where the frame is not clipped, in the gradient
domain (a flat colour field's gradient there is the spot's alone; a work's edges are few and large, so the
fit is robust to them: iteratively reweighted, close to least absolute deviations) over a grid of radii and
shapes. A candidate is a spot where the frame's gradient meets the fitted bump's over enough of it (a white
paint's hard edge points into a bright centre too, but only along its border). Taken off: the bump subtracted, the clipped core filled
in from around it (cv2.inpaint), where nothing of the work is left.

A white ground lit near clipping cannot be told from glare, and taking a spot off there can spoil a view
the recogniser read right: so the recogniser takes a second look at the frame without its spots only when
the first look found nothing (Recognizer.recognize).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from installation.recognition.channels import channel_max, channel_min

CORE_LEVEL = 240  # every channel at or above (the frame at half size): part of a spot's clipped core
CLIPPED = 250  # any channel at or above: clipped, so the frame there says nothing of a spot's shape
MIN_CORE = 1e-4  # a core's share of the (half-size) frame, at least: smaller is a highlight, not a spot ...
MAX_CORE = 0.05  # ... and at most: larger is a white wall or work, not a spot's core
RADII = (1.3, 1.8, 2.5, 3.5, 5.0, 7.0)  # a spot's radius (exp(-2) of its peak) over its core's, tried
SQUASH = (0.4, 0.6, 0.8, 1.0, 1.25, 1.7, 2.5)  # its height over its width, tried (an oblique view squashes it)
MAX_ADDED = 400.0  # grey levels a spot may add at its centre, per channel
FIT_PIXELS = 3000  # a spot is fitted on its window shrunk to at most this many pixels (noise averaged away)
AGREE = 0.5  # the frame's gradient within this share of the bump's meets it ...
MIN_MET = 0.2  # ... over at least this share of the bump's gradient (weighed by it)
REWEIGHTS = 4  # iterations of the reweighted fit
BUMP_REACH = 2.3  # radii from its centre within which a spot is taken off (exp(-2 * 2.3^2) * 400 < 0.05)
FILL_REACH = 0.05  # the clipped pixels filled in are those where a spot adds this share of its peak or more
# A frame whose spots reach clipped pixels over more than this share of it is not looked at again without them
# (clipped_under): a spot's clipped core is at most MAX_CORE of it, so the rest is a bright wall or work the camera
# clipped, which cannot be told from glare (and cv2.inpaint took 0.3-0.6 s to fill half a frame in).
FILL_MOST = 0.1
INPAINT_RADIUS = 5  # pixels around a lost one that cv2.inpaint fills it from
INPAINT_MARGIN = INPAINT_RADIUS + 3  # pixels around the lost ones' box that a fill-in on that box alone is given

_SHAPES = np.array([(r, s) for r in RADII for s in SQUASH], np.float32)  # (shapes, 2): radius factor, squash


@dataclass(frozen=True)
class Spot:
    """A glare spot: light added as amplitude * exp(-2 d^2), d the distance from its centre over its
    radius across and radius * squash down; amplitude per channel (B, G, R), in grey levels."""
    x: float
    y: float
    radius: float
    squash: float
    amplitude: tuple[float, float, float]
    met: float  # share of the bump's gradient the frame's meets (AGREE)

    def bump(self, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
        """The spot's shape (peak 1) at the given pixel coordinates."""
        return _bump(xx, yy, self.x, self.y, self.radius, self.squash)


def _bump(xx: np.ndarray, yy: np.ndarray, x: float, y: float, radius, squash) -> np.ndarray:
    """exp(-2 d^2) about (x, y), d over `radius` across and `radius * squash` down (arrays broadcast: one
    bump per shape in _fit)."""
    return np.exp(-2 * (((xx - x) / radius) ** 2 + ((yy - y) / (radius * squash)) ** 2))


@dataclass(frozen=True)
class _Core:
    x: float
    y: float
    radius: float  # of a disc of the core's area, in frame pixels


def _gradients(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward differences along the last two axes (0 on the first column / row)."""
    gx, gy = np.zeros_like(img), np.zeros_like(img)
    gx[..., :, 1:] = img[..., :, 1:] - img[..., :, :-1]
    gy[..., 1:, :] = img[..., 1:, :] - img[..., :-1, :]
    return gx, gy


@dataclass(frozen=True)
class CoreMap:
    """The frame's clipped pixels at half size (every channel at CORE_LEVEL or more) and the parts they make
    once joined (labels 1 and up; 0: none): where a spot's candidates come from (also read by
    benchmarks/diagnose_recognition.py, to say why a spot drawn there was not found)."""
    core: np.ndarray  # (h, w) bool
    labels: np.ndarray  # (h, w) int32

    def sizes(self) -> np.ndarray:
        """Clipped pixels in each part (index = label; 0 counts none)."""
        sizes = np.bincount(self.labels[self.core], minlength=int(self.labels.max()) + 1)
        sizes[0] = 0
        return sizes

    def fits(self, size: int) -> bool:
        """Whether a part of this many clipped pixels is of a spot's size."""
        return MIN_CORE * self.core.size <= size <= MAX_CORE * self.core.size


def core_map(frame_bgr: np.ndarray) -> CoreMap:
    """The clipped pixels of the frame at half size, parts of one spot split by the work's structure joined."""
    h, w = frame_bgr.shape[0] // 2, frame_bgr.shape[1] // 2
    small = cv2.resize(frame_bgr, (w, h), interpolation=cv2.INTER_AREA)
    core = channel_min(small) >= CORE_LEVEL
    joined = cv2.dilate(core.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    return CoreMap(core, cv2.connectedComponents(joined, connectivity=8)[1])


def _cores(frame_bgr: np.ndarray) -> list[_Core]:
    """The clipped cores of the frame (CoreMap's parts) of a spot's size."""
    cores = core_map(frame_bgr)
    out = []
    for k, size in enumerate(cores.sizes()):
        if k and cores.fits(size):
            ys, xs = np.nonzero((cores.labels == k) & cores.core)
            out.append(_Core((xs.mean() + 0.5) * 2, (ys.mean() + 0.5) * 2, max(3.0, np.sqrt(len(ys) / np.pi) * 2)))
    return out


def _fit(frame: np.ndarray, clipped: np.ndarray, core: _Core, shapes: np.ndarray = _SHAPES) -> Spot:
    """The spot about a core that best explains the unclipped frame's gradients around it, of the `shapes`
    (radius over the core's, squash) tried."""
    H, W = frame.shape[:2]
    reach_x, reach_y = core.radius * max(RADII) * 1.1, core.radius * max(RADII) * max(SQUASH) * 1.1
    x0, x1 = int(max(0, core.x - reach_x)), int(min(W, core.x + reach_x + 1))
    y0, y1 = int(max(0, core.y - reach_y)), int(min(H, core.y + reach_y + 1))
    step = max(1.0, core.radius / 3)
    sw, sh = max(8, int((x1 - x0) / step)), max(8, int((y1 - y0) / step))
    while sw * sh > FIT_PIXELS:
        sw, sh = int(sw * 0.8), int(sh * 0.8)
    window = cv2.resize(frame[y0:y1, x0:x1], (sw, sh), interpolation=cv2.INTER_AREA)
    bad = cv2.resize(clipped[y0:y1, x0:x1], (sw, sh), interpolation=cv2.INTER_AREA) > 0
    keep = ~cv2.dilate(bad.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    xs = (x0 + (np.arange(sw) + 0.5) * (x1 - x0) / sw).astype(np.float32)
    ys = (y0 + (np.arange(sh) + 0.5) * (y1 - y0) / sh).astype(np.float32)
    xx, yy = np.meshgrid(xs, ys)
    gx, gy = _gradients(np.ascontiguousarray(window.transpose(2, 0, 1)))
    # Channels before pixels ((3, P), (shapes, 3, P)): numpy reduces a long last axis fast, a middle one slowly.
    seen = np.concatenate([gx[:, keep], gy[:, keep]], 1)  # (3, P): the frame's gradients
    # float32 throughout (a core's centre is a numpy float64 mean): half the memory the reweighting walks through.
    radius = shapes[:, 0, None, None] * np.float32(core.radius)
    bumps = _bump(xx, yy, np.float32(core.x), np.float32(core.y), radius, shapes[:, 1, None, None])  # (shapes, h, w)
    bx, by = _gradients(bumps)
    shape = np.concatenate([bx[:, keep], by[:, keep]], 1)[:, None, :]  # (shapes, 1, P): each bump's gradients
    weight = np.ones((len(shapes),) + seen.shape, np.result_type(seen, shape))
    weighed, residual = np.empty_like(weight), np.empty_like(weight)  # reused: no new arrays a reweighting
    for _ in range(REWEIGHTS):
        np.multiply(weight, shape, out=weighed)
        amplitude = np.clip((weighed * seen).sum(2) / ((weighed * shape).sum(2) + 1e-9), 0, MAX_ADDED)
        np.multiply(amplitude[:, :, None], shape, out=residual)
        np.subtract(seen[None], residual, out=residual)
        np.abs(residual, out=residual)
        np.maximum(residual, 0.3, out=weight)
        np.reciprocal(weight, out=weight)
    cost = residual.sum((1, 2))
    best = int(np.argmin(cost))
    predicted = amplitude[best][:, None] * shape[best]  # (3, P)
    # Where the bump's gradient is met by the frame's (within AGREE of it): throughout a real skirt; only
    # along its border for a white shape's hard edge, whose gradients also point into a bright centre.
    meets = np.abs(seen - predicted) <= AGREE * np.abs(predicted)
    share = float((np.abs(predicted) * meets).sum() / max(float(np.abs(predicted).sum()), 1e-6))
    return Spot(float(core.x), float(core.y), float(shapes[best, 0] * core.radius), float(shapes[best, 1]),
                tuple(float(a) for a in amplitude[best]), share)


def find_spots(frame_bgr: np.ndarray, min_met: float = MIN_MET) -> list[Spot]:
    """The glare spots in a BGR frame: each clipped core whose fitted skirt is a smooth bump (met by the frame's
    gradient over `min_met` of it; 0: every candidate, as benchmarks/diagnose_recognition.py asks)."""
    return [s for s in _fitted(frame_bgr, _cores(frame_bgr)) if s.met >= min_met]


def spot_of_shape(frame_bgr: np.ndarray, x: float, y: float, radius: float, squash: float) -> Spot:
    """The spot of this shape at (x, y), its light fitted as find_spots fits it (over the window a core of a
    third of its radius would give, as renderer 2's clipped cores mostly are): how well the light is fitted
    once the shape is right (benchmarks/diagnose_recognition.py)."""
    return _fitted(frame_bgr, [_Core(x, y, radius / 3)], np.float32([[3.0, squash]]))[0]


def _fitted(frame_bgr: np.ndarray, cores: list[_Core], shapes: np.ndarray = _SHAPES) -> list[Spot]:
    """The spot fitted about each core (_fit), of the `shapes` tried."""
    if not cores:
        return []
    frame = frame_bgr.astype(np.float32)
    clipped = (channel_max(frame_bgr) >= CLIPPED).astype(np.uint8)
    return [_fit(frame, clipped, c, shapes) for c in cores]


def _window(spot: Spot, h: int, w: int) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): the part of an h x w frame within BUMP_REACH radii of a spot (beyond, it adds less than a
    twentieth of a grey level)."""
    x0, x1 = int(max(0, spot.x - BUMP_REACH * spot.radius)), int(min(w, spot.x + BUMP_REACH * spot.radius + 1))
    tall = BUMP_REACH * spot.radius * spot.squash
    return int(max(0, spot.y - tall)), int(min(h, spot.y + tall + 1)), x0, x1


def _lost(frame_bgr: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """(h, w) uint8: the clipped pixels where spots add FILL_REACH of their peak or more (`reach`: the largest share
    any spot adds, per pixel), grown a little - what taken_off fills in."""
    lost = ((channel_max(frame_bgr) >= CLIPPED) & (reach > FILL_REACH)).astype(np.uint8)
    return cv2.dilate(lost, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))


def _bumps(spots: list[Spot], h: int, w: int) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
    """Each spot's window in an h x w frame (_window) and its shape (peak 1) over it."""
    out = []
    for spot in spots:
        y0, y1, x0, x1 = window = _window(spot, h, w)
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        out.append((window, spot.bump(xx, yy)))
    return out


@dataclass(frozen=True)
class Lit:
    """A frame with the glare spots found in it and where their light reaches, worked out once: the clipped pixels
    clipped_under counts are those taken_off fills in, from the same spots' windows and shapes."""
    frame: np.ndarray  # uint8 BGR
    spots: tuple[Spot, ...]
    bumps: tuple  # each spot's window and shape over it (_bumps)
    lost: np.ndarray  # (h, w) uint8: the clipped pixels the spots reach, grown a little (_lost)

    @classmethod
    def of(cls, frame_bgr: np.ndarray, spots: list[Spot]) -> Lit:
        h, w = frame_bgr.shape[:2]
        bumps = _bumps(spots, h, w)
        reach = np.zeros((h, w), np.float32)  # the largest share of its peak any spot adds, per pixel
        for (y0, y1, x0, x1), bump in bumps:
            reach[y0:y1, x0:x1] = np.maximum(reach[y0:y1, x0:x1], bump)
        return cls(frame_bgr, tuple(spots), tuple(bumps), _lost(frame_bgr, reach))

    @property
    def clipped(self) -> float:
        """The share of the frame taken_off would fill in. A spot's clipped core is at most MAX_CORE of the frame;
        far more (FILL_MOST) is a bright wall or work the camera clipped, which cannot be told from glare there."""
        return float(self.lost.mean())

    def taken_off(self) -> np.ndarray:
        """The frame (uint8 BGR, as every frame here) with the spots' light subtracted and their clipped cores
        filled in from around them. Only the bounding box of the spots' windows is worked on in floats (channel
        by channel: numpy broadcasts over a last axis of 3 slowly); the rest of the frame is copied as it is."""
        frame_bgr = self.frame
        if not self.spots:
            return frame_bgr
        h, w = frame_bgr.shape[:2]
        windows = [window for window, _ in self.bumps]
        top, bottom = min(y0 for y0, _, _, _ in windows), max(y1 for _, y1, _, _ in windows)
        left, right = min(x0 for _, _, x0, _ in windows), max(x1 for _, _, _, x1 in windows)
        light = frame_bgr[top:bottom, left:right].astype(np.float32)  # the windows' box, less the spots
        for spot, ((y0, y1, x0, x1), bump) in zip(self.spots, self.bumps):
            for c, added in enumerate(np.float32(spot.amplitude)):  # the light the spot adds in channel c, at its peak
                light[y0 - top:y1 - top, x0 - left:x1 - left, c] -= bump * added
        out = frame_bgr.copy()
        out[top:bottom, left:right] = np.clip(np.rint(light), 0, 255).astype(np.uint8)
        lost = self.lost
        if not lost.any():
            return out
        # Filled in within the lost pixels' bounding box and a margin beyond what the fill-in reads: the same pixels
        # as over the whole frame, in a fraction of the time. cv2.inpaint reads up to its radius + 1 pixels from a
        # lost pixel (gradients there); INPAINT_MARGIN leaves two more (a margin of the radius alone changed the
        # fill-in).
        x, y, bw, bh = cv2.boundingRect(lost)
        m = INPAINT_MARGIN
        bx0, by0, bx1, by1 = max(0, x - m), max(0, y - m), min(w, x + bw + m), min(h, y + bh + m)
        out[by0:by1, bx0:bx1] = cv2.inpaint(out[by0:by1, bx0:bx1], lost[by0:by1, bx0:bx1] * 255, INPAINT_RADIUS,
                                            cv2.INPAINT_TELEA)
        return out


def clipped_under(frame_bgr: np.ndarray, spots: list[Spot]) -> float:
    """The share of the frame taken_off would fill in (Lit.clipped)."""
    return Lit.of(frame_bgr, spots).clipped


def taken_off(frame_bgr: np.ndarray, spots: list[Spot]) -> np.ndarray:
    """The frame with the spots' light subtracted and their clipped cores filled in (Lit.taken_off); the frame
    itself where there are no spots."""
    return Lit.of(frame_bgr, spots).taken_off() if spots else frame_bgr
