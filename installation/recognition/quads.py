"""Finding the picture in a frame: candidate quadrilaterals from luminance and colour edges
(contours, closed and opened blobs, merged straight lines), kept when their sides lie on edges
that run along them; and rectifying a quadrilateral's view.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import cv2
import numpy as np

from installation.recognition.channels import channel_sum
from installation.recognition.geometry import _NEXT, _PREVIOUS, _intersect, _meet, _order, _shapely, descending

NORMAL_BINS = 8  # edge directions told apart when checking that an edge runs along a side


@dataclass(frozen=True)
class EdgeMap:
    mask: np.ndarray  # uint8, 255 on (dilated) edges of luminance or colour
    thin: np.ndarray  # uint8, the same edges undilated (a third of the pixels: straight lines are found on these)
    along: np.ndarray  # (NORMAL_BINS, H, W) bool: an edge whose normal is within ~25 degrees of the bin's, +-2 px


# For each bin k, 255 at bins k - 1, k and k + 1 (mod NORMAL_BINS), 0 elsewhere: a lookup table over a bin index.
_NEAR_BIN = [np.uint8([255 if (b - k) % NORMAL_BINS in (0, 1, NORMAL_BINS - 1) else 0 for b in range(256)])
             for k in range(NORMAL_BINS)]


def _edges(small_bgr: np.ndarray) -> EdgeMap:
    """Edges of luminance and of colour (a pale work on a pale wall differs in hue, not brightness),
    and which way each runs: a picture's side is an edge along it, not the tangle inside a texture."""
    lab = cv2.cvtColor(cv2.GaussianBlur(small_bgr, (5, 5), 0), cv2.COLOR_BGR2Lab)
    edges = np.zeros(lab.shape[:2], np.uint8)
    for ch, (lo, hi) in zip(cv2.split(lab), ((20, 60), (8, 24), (8, 24))):
        edges |= cv2.Canny(ch, lo, hi)
    # Directions from a coarse, half-size copy: a texture's own edges fade there, a picture's side stays.
    h, w = lab.shape[:2]
    # Colour edges count like luminance ones (each channel scaled by OpenCV - its scalars have four places, the
    # fourth unused here: numpy broadcasts over a last axis of 3 slowly; the same products).
    half = cv2.multiply(cv2.GaussianBlur(cv2.resize(lab, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
                                         .astype(np.float32), (0, 0), 1.5), (1.0, 2.5, 2.5, 0.0))
    gx, gy = cv2.Sobel(half, cv2.CV_32F, 1, 0), cv2.Sobel(half, cv2.CV_32F, 0, 1)  # (h/2, w/2, 3)
    # Each pixel's strongest channel (the first of equals, as argmax), picked channel by channel.
    power = gx * gx + gy * gy
    over_first = power[..., 1] > power[..., 0]
    over_both = power[..., 2] > np.maximum(power[..., 0], power[..., 1])
    gx_best, gy_best = (np.where(over_both, g[..., 2], np.where(over_first, g[..., 1], g[..., 0])) for g in (gx, gy))
    mask = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    normal_bin = (np.mod(np.arctan2(gy_best, gx_best), np.pi) * (NORMAL_BINS / np.pi)).astype(np.uint8) % NORMAL_BINS
    normal_bin = cv2.resize(normal_bin, (w, h), interpolation=cv2.INTER_NEAREST)
    widen = np.ones((5, 5), np.uint8)  # a side a pixel or two off its edge (dilation, rounding) still lies on it
    # A side's edge may point up to one bin (22.5 degrees) away from the side's own normal: bin k's edges are those
    # of bins k - 1, k and k + 1 (picked by a lookup table, OpenCV's: numpy's comparisons took a millisecond).
    along = np.stack([cv2.dilate(cv2.bitwise_and(mask, cv2.LUT(normal_bin, _NEAR_BIN[k])), widen)
                      for k in range(NORMAL_BINS)]) > 0
    return EdgeMap(mask, edges, along)


QUAD_WIDTH = 320  # find_quads looks for outlines in a copy of the frame this wide (every size in pixels below is at it)
MIN_EDGE_SUPPORT = 0.5  # mean fraction of a candidate quad's sides on edges running along them
SEGMENT_ALONG = 0.6  # fraction of a Hough segment on edges running along it, for it to be a line
OUTSIDE = 0.1  # how far beyond the frame (a fraction of its size) a cut work's corner may lie
LARGEST = 2  # the largest well-supported line quads kept beside the best ranked
# Line quads kept per pair of opposite lines (the LARGEST taken beside them): a textured wall's stripes, each with the
# frame's top and bottom border, made every one of the best ranked quads, and a work between its own four lines was
# not kept (renderer 2). A work cut by both borders competes with such stripes for that pair's places.
PAIR_QUADS = 2
LINES_PER_DIRECTION = 16  # the longest roughly horizontal and roughly vertical lines combined into quads (pick_lines)
# A side's line beyond each corner is looked at from END_GAP px past it (the corner's own edges, dilated, reach so
# far) to END_GAP + END_REACH px (at QUAD_WIDTH): a picture's side ends where the next begins, a textured wall's
# stripe or a band inside a work runs on past the lines crossing it. A quad ranks lower by (1 - the share of
# those stretches on edges along them) ** END_POWER. Squared, a spot's glow or a visitor's edge beyond one corner
# cost a work its place (renderer 3 seed 2 view 132; docs/RECOGNITION.md "Since 2026-12-07, sixteenth").
END_GAP, END_REACH, END_POWER = 4.0, 8.0, 1.0
CUT_AREA = 0.4  # least area (of the frame's) of a quad with three sides on the frame's border
# A candidate's least area, a fraction of the frame's: a work of aspect 0.55 whose height spans a quarter of the
# frame's (the smallest the issue names) covers 2.6 %, 2.2 % seen 30 degrees off axis. At 3 % such a work was lost.
SMALLEST_AREA = 0.02
SIDE_SAMPLES = 24  # points along a side where its support (edges running along it) is looked for
SHORTEST_SIDE = 0.08  # a candidate's shortest side and a line's least length, a fraction of the frame's height
# Hough pieces this close (px at 320 wide, and within 3 degrees) are one line. A frame's inner and outer edge lie
# 3-4 px apart there: at 5 px they merged and the frame's outer line, which nests the work, was lost.
SAME_LINE = 2.0


def _longest_sides(poly: np.ndarray) -> np.ndarray | None:
    """A quadrilateral from a convex polygon's four longest sides, extended to meet: a visitor in
    front of one corner adds short sides and a chord, but leaves the picture's long sides."""
    n = len(poly)
    if n < 5:
        return None
    poly = poly.astype(np.float64)
    lengths = np.linalg.norm(np.roll(poly, -1, axis=0) - poly, axis=1)
    keep = np.sort(descending(lengths)[:4])
    lines = [(poly[i], poly[(i + 1) % n]) for i in keep]
    corners = [_intersect(*lines[k], *lines[(k + 1) % 4]) for k in range(4)]
    if any(c is None for c in corners):
        return None
    quad = np.float32(corners)
    return quad if cv2.isContourConvex(quad.reshape(-1, 1, 2)) else None


def find_quads(frame_bgr: np.ndarray, max_candidates: int = 16) -> list[tuple[np.ndarray, float]]:
    """Candidate picture quadrilaterals (frame pixel coordinates) with their quality (how much of
    their sides lie on edges running along them; a side on the frame's border counts half), the
    most picture-like first: from the largest contours of the edge map, of its closed blobs and of
    those blobs opened (a visitor's outline touching the picture dropped) - each contour's 4-corner
    approximation, its four longest sides extended, its minimum-area rectangle - and from
    pairs of roughly horizontal and vertical straight lines (which survive a corner hidden by a
    visitor). Every outline's quads are ranked together (a textured wall's blobs come first and
    would crowd out a work's frame), by their sides' support, their size and how much their sides end at
    their corners (_ends), and the best `max_candidates` kept: each is later compared with
    the whole catalog. Their sides are then moved onto the edges at full resolution (refine_sides)."""
    h, w = frame_bgr.shape[:2]
    scale = QUAD_WIDTH / w
    small = cv2.resize(frame_bgr, (QUAD_WIDTH, round(h * scale)), interpolation=cv2.INTER_AREA)
    edges = _edges(small)
    contours = sorted(cv2.findContours(edges.mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)[0],
                      key=cv2.contourArea, reverse=True)[:8]
    # A textured work is a dense tangle of edges: closed, it is one blob whose outline is the picture's.
    closed = cv2.morphologyEx(edges.mask, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    blobs = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]
    contours = sorted(blobs, key=cv2.contourArea, reverse=True)[:2] + contours
    # Opened, thin lines leave it (a visitor's outline touching the picture, a frame's line): the picture's
    # own tangle stays, and its outline is the picture's even where a visitor's edge meets it.
    solid = cv2.findContours(cv2.morphologyEx(closed, cv2.MORPH_OPEN, np.ones((9, 9), np.uint8)),
                             cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]
    contours = sorted(solid, key=cv2.contourArea, reverse=True)[:1] + contours
    # What is not wall: a textured wall (bricks, panels, wallpaper) tangles the edge map, not this.
    contours = _off_wall(small) + contours
    area = small.shape[0] * small.shape[1]
    quads: list[tuple[np.ndarray, float]] = []

    def add(quad: np.ndarray, support: np.ndarray) -> None:
        """A quad in corner order, of a picture's shape, whose sides' support is given."""
        if np.where(support < 0, 1.0, support).mean() < MIN_EDGE_SUPPORT:
            return  # its sides do not lie on edges: a glare spot's or a shadow's box, not a picture
        # Quality: a side along the frame's border is half evidence (the work may go on beyond it).
        quality = float(np.where(support < 0, 0.5, support).mean())
        quad = quad / scale  # already in corner order: scaling keeps it
        if all(np.abs(quad - q).max() > 12 for q, _ in quads):
            quads.append((quad, quality))

    # Each contour's quads, the sides of them all measured at once (one call: less overhead).
    outlines = [_outline_quads(c, area, SHORTEST_SIDE * min(edges.mask.shape)) for c in contours]
    flat = [q for outline in outlines for q in outline]
    measured = iter(_side_support(edges, np.float64(flat), border=-1.0) if flat else [])
    for outline in outlines:
        for quad in outline:
            add(quad, next(measured))
    for quad, support in _line_quads(edges, area):
        add(quad, support)
    # The most picture-like first (the sides along edges, ending at the corners), and not too many: each is compared
    # with the whole catalog.
    ends = _ends(edges, np.float64([q for q, _ in quads]) * scale) if quads else []
    rank = [quality**2 * np.sqrt(cv2.contourArea(q)) * end for (q, quality), end in zip(quads, ends)]
    best = [quads[k] for k in descending(rank)[:max_candidates]]
    # A frame or a mat is found before the work inside it: the quads nested in every candidate are candidates
    # too, as picture-like as their outer quad (its edges are the evidence of a picture). Every one, not the
    # first 12: a small framed work on bricks ranks below the wall's long line quads.
    nested = [(inner / scale, quality) for quad, quality in best for inner in nested_quads(small, quad * scale)]
    outer = np.float32([q for q, _ in best]).reshape(-1, 4, 2)
    found = best + [n for n in nested if _apart(n[0], outer, 6)]
    if not found:
        return found
    refined = np.float32(refine_sides(frame_bgr, np.float32([q for q, _ in found])))
    kept: list[int] = []
    for k in range(len(found)):
        if _apart(refined[k], refined[kept], 2):  # two candidates moved onto the same edges are one
            kept.append(k)
    return [(refined[k], found[k][1]) for k in kept]


def _apart(quad: np.ndarray, others: np.ndarray, pixels: float) -> bool:
    """Whether some corner of `quad` is more than `pixels` from the same corner of each of `others` (K, 4, 2)."""
    return bool(len(others) == 0 or (np.abs(others - quad).max((1, 2)) > pixels).all())


REFINE_REACH = 5.0  # frame pixels a side may move to the edge beside it (found at half size, on dilated edges)
REFINE_SAMPLES = 24  # points along a side's middle 80 % where its edge is looked for
REFINE_STRONG = 2.0  # a point's edge: its strongest response over the median of its search line ...
REFINE_AGREE = 1.5  # ... within this many pixels of the side's line (a visitor's edge is not the side's)
# Columns: brightness, yellow-blue, red-green, from B, G, R rows (opponent colours span about what brightness does).
_OPPONENT = np.float32([[1 / 3, -1.0, 0.0], [1 / 3, 0.5, -1.0], [1 / 3, 0.5, 1.0]])


def refine_sides(frame_bgr: np.ndarray, quads: np.ndarray) -> list[np.ndarray]:
    """Each quad (Q, 4, 2) with its sides moved onto the strongest edge running along them within
    REFINE_REACH pixels, at the frame's full resolution. Quads are found at half resolution on dilated
    edges, a few pixels off: a small work's rectified view is then a tenth off, which its comparison
    cannot afford. A side is fitted as a line (offset and tilt) through the points whose strongest edge
    agrees with the side's median, then (twice) with that line; with too few such points it stays. A quad whose corner would move
    beyond three reaches (lines meeting at a shallow angle) stays as it was."""
    smooth = cv2.blur(frame_bgr, (3, 3)).astype(np.float32)
    q = quads.astype(np.float32)
    a, d = q, q[:, _NEXT] - q  # (Q, 4, 2): each side's start and direction
    length = np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-6)
    normal = np.stack([-d[..., 1], d[..., 0]], -1) / length
    t = np.linspace(0.1, 0.9, REFINE_SAMPLES, dtype=np.float32)
    # The picture across each side's points, half a pixel apart: its differences are the edge along the side.
    steps = np.arange(-REFINE_REACH - 0.25, REFINE_REACH + 0.5, 0.5, dtype=np.float32)
    offsets = (steps[1:] + steps[:-1]) / 2
    points = (a[:, :, None] + t[:, None] * d[:, :, None]).reshape(-1, 1, 2)  # (Q*4*S, 1, 2)
    across = np.repeat(normal.reshape(-1, 2), REFINE_SAMPLES, 0)[:, None]  # (Q*4*S, 1, 2)
    grid = points + steps[:, None] * across  # (Q*4*S, O+1, 2)
    seen = cv2.remap(smooth, grid[..., 0], grid[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # Brightness and two colour-opponent changes (linear in BGR: no colour conversion of the whole frame):
    # a pale work on a pale wall differs in hue, as in _edges.
    change = np.diff(seen, axis=1) @ _OPPONENT  # (Q*4*S, O, 3)
    response = channel_sum(np.abs(change)).reshape(*q.shape[:2], REFINE_SAMPLES, len(offsets))  # the three changes
    peak = np.clip(np.argmax(response, -1), 1, len(offsets) - 2)[..., None]  # (Q, 4, S, 1)
    before, at, after = (np.take_along_axis(response, peak + k, -1)[..., 0] for k in (-1, 0, 1))
    curve = before - 2 * at + after
    # Between samples: the vertex of the parabola through the peak and its neighbours.
    best = offsets[peak[..., 0]] + 0.5 * np.where(curve < 0, 0.5 * (before - after) / np.minimum(curve, -1e-6), 0.0)
    strong = response.max(-1) > REFINE_STRONG * np.median(response, -1)
    # The median offset of each side's strong points (the others sorted past them).
    ranked = np.sort(np.where(strong, best, np.inf), -1)
    middle = np.take_along_axis(ranked, (strong.sum(-1, keepdims=True) - 1) // 2, -1)
    agree = strong & (np.abs(best - middle) <= REFINE_AGREE)
    for _ in range(2):  # a line through the agreeing points; then those near that line agree (a tilted side)
        agree = strong & (np.abs(best - _fit_lines(t, best, agree).at(t)) <= REFINE_AGREE)
    line = _fit_lines(t, best, agree)
    moved = agree.sum(-1) >= REFINE_SAMPLES // 3
    a, d, q = a.astype(np.float64), d.astype(np.float64), q.astype(np.float64)
    start = np.where(moved, line.at(0.0), 0.0)[..., None] * normal + a  # the side's ends, moved
    end = np.where(moved, line.at(1.0), 0.0)[..., None] * normal + a + d
    corners = _meet(start[:, _PREVIOUS], end[:, _PREVIOUS], start, end)  # (Q, 4, 2): side k-1 meets side k
    far = ~np.isfinite(corners).all((1, 2)) | (np.abs(np.nan_to_num(corners) - q).max((1, 2)) > 3 * REFINE_REACH)
    return [quads[k] if far[k] else np.float32(corners[k]) for k in range(len(quads))]


@dataclass(frozen=True)
class _Lines:
    """offset = at_mean + slope * (t - t_mean), per side (...)."""
    t_mean: np.ndarray
    at_mean: np.ndarray
    slope: np.ndarray

    def at(self, t) -> np.ndarray:
        t = np.asarray(t, np.float64)
        if t.ndim:
            return self.at_mean[..., None] + self.slope[..., None] * (t - self.t_mean[..., None])
        return self.at_mean + self.slope * (t - self.t_mean)


def _fit_lines(t: np.ndarray, offsets: np.ndarray, use: np.ndarray) -> _Lines:
    """Least-squares lines offset(t) through the used points of each side ((..., S) each)."""
    w = use.astype(np.float64)
    count = np.maximum(w.sum(-1), 1)
    t_mean = (w * t).sum(-1) / count
    at_mean = (w * offsets).sum(-1) / count
    dt = t - t_mean[..., None]
    var = (w * dt * dt).sum(-1)
    slope = np.where(var > 1e-6, (w * dt * (offsets - at_mean[..., None])).sum(-1) / np.maximum(var, 1e-6), 0.0)
    return _Lines(t_mean, at_mean, slope)


NESTED_KEEP = 2  # inner quads kept per candidate (a mat's and the work's)
NESTED_SIDE = 160  # the rectified quad's longer side (pixels) where its inner edges are looked for
NESTED_DEEPEST = 0.35  # deepest inset looked at, a fraction of the quad's shorter side
NESTED_STRENGTH = 2.0  # an inset's edges, over the median of the quad's edge profile: its three strongest sides ...
NESTED_WEAKEST = 0.5  # ... and its weakest (a visitor may hide one)


def _middle_median(values: np.ndarray, axis: int) -> np.ndarray:
    """The (upper) median along an axis: a partition, not numpy's slower median."""
    k = values.shape[axis] // 2
    return np.take(np.partition(values, k, axis=axis), k, axis=axis)


def nested_quads(small_bgr: np.ndarray, quad: np.ndarray) -> list[np.ndarray]:
    """Quads nested in `quad` at one inset on all four sides: a frame's or a mat's inner edge, where
    the work begins. A frame is as wide on every side, so in the rectified quad its inner edge is four
    lines k pixels in; k is where the four sides' edge profiles (the median gradient across each side's
    middle part) are strongest together."""
    q = _order(np.float32(quad))
    wq = (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2
    hq = (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
    if min(wq, hq) < 24:
        return []
    s = min(1.0, NESTED_SIDE / max(wq, hq))
    w, h = max(24, int(wq * s)), max(24, int(hq * s))
    to_rect = cv2.getPerspectiveTransform(q, np.float32([[0, 0], [w, 0], [w, h], [0, h]]))
    lab = cv2.cvtColor(cv2.warpPerspective(small_bgr, to_rect, (w, h), flags=cv2.INTER_LINEAR,
                                           borderMode=cv2.BORDER_REPLICATE), cv2.COLOR_BGR2Lab)
    # The strongest channel's gradient, colour edges counting like luminance ones (per channel with
    # OpenCV: numpy reduces a last axis of 3 slowly).
    gx = gy = None
    for channel, weight in zip(cv2.split(lab), (1.0, 2.0, 2.0)):
        cx = np.abs(cv2.Sobel(channel, cv2.CV_32F, 1, 0, ksize=3, scale=weight))
        cy = np.abs(cv2.Sobel(channel, cv2.CV_32F, 0, 1, ksize=3, scale=weight))
        gx, gy = (cx, cy) if gx is None else (cv2.max(gx, cx), cv2.max(gy, cy))
    # The median across each side's middle: a visitor or a glare spot near a corner does not count.
    px, py = _middle_median(gx[int(0.15 * h):int(0.85 * h)], 0), _middle_median(gy[:, int(0.15 * w):int(0.85 * w)], 1)
    widen = np.ones((1, 3), np.uint8)  # a side a pixel off (perspective, rounding) still counts
    px = cv2.dilate(px.reshape(1, -1), widen).ravel()
    py = cv2.dilate(py.reshape(1, -1), widen).ravel()
    ks = np.arange(2, int(NESTED_DEEPEST * min(w, h)))
    if len(ks) < 3:
        return []
    sides = np.stack([px[ks], px[w - 1 - ks], py[ks], py[h - 1 - ks]], 1) / (np.median(np.r_[px, py]) + 1.0)
    strength = np.sort(sides, 1)[:, 1:].mean(1)
    chosen: list[int] = []
    for j in descending(strength):
        if strength[j] < NESTED_STRENGTH or len(chosen) >= NESTED_KEEP:
            break
        if sides[j].min() >= NESTED_WEAKEST and all(abs(ks[j] - ks[c]) > 2 for c in chosen):
            chosen.append(j)
    back = np.linalg.inv(to_rect)
    out = []
    for j in chosen:
        k = ks[j] + 0.5
        inner = np.float32([[k, k], [w - k, k], [w - k, h - k], [k, h - k]]).reshape(-1, 1, 2)
        out.append(_order(cv2.perspectiveTransform(inner, back).reshape(4, 2)))
    return out


WALL_RING = 0.04  # the frame's outer ring (a fraction of its height) taken as wall
WALL_SHARE = 0.002  # share of the ring's pixels a colour needs (blurred over its neighbours) to be the wall's
# Lab bins of the wall's histogram: 8 of lightness (light varies across a wall), 32 of a and of b. With 16, a
# pale mat or a work of the wall's hue fell in a wall bin; finer hue bins find it (renderer 2, seed 1: views
# with a found quad within IoU 0.9 of the work 90.3 -> 92.0 %; renderer 1 98.7 -> 98.3 %).
WALL_BINS = (8, 32, 32)


def _off_wall(small_bgr: np.ndarray, keep: int = 2) -> list[np.ndarray]:
    """The outlines of the largest regions whose colours the wall does not have: the colours of the
    frame's outer ring (wall, mostly: a work is seldom cut by the frame on every side) are learnt as a
    coarse Lab histogram, and what it does not explain, opened and closed, is a work (or a visitor).
    A picture on a wall of any texture stands out by its colours where its edges drown in the wall's."""
    h, w = small_bgr.shape[:2]
    lab = cv2.cvtColor(cv2.resize(small_bgr, (w // 2, h // 2), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2Lab)
    r = max(2, round(WALL_RING * lab.shape[0]))
    ring = np.zeros(lab.shape[:2], np.uint8)
    ring[:r], ring[-r:], ring[:, :r], ring[:, -r:] = 1, 1, 1, 1
    bins, ranges = list(WALL_BINS), [0, 256, 0, 256, 0, 256]
    hist = cv2.calcHist([lab], [0, 1, 2], ring, bins, ranges)
    hist = cv2.GaussianBlur(hist.reshape(bins[0], -1), (3, 3), 0).reshape(bins)  # noise, light across the wall
    wall = (hist >= WALL_SHARE * ring.sum()).astype(np.float32)
    # Also each neighbouring L bin: the wall is brighter or darker away from the ring (a spotlight).
    wall = np.maximum(wall, np.maximum(np.roll(wall, 1, 0), np.roll(wall, -1, 0)))
    bin_of = [lab[..., c].astype(np.int32) * n // 256 for c, n in enumerate(WALL_BINS)]
    off = (wall[bin_of[0], bin_of[1], bin_of[2]] == 0).astype(np.uint8)
    off = cv2.morphologyEx(off, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    off = cv2.morphologyEx(off, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    blobs = sorted(cv2.findContours(off, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0], key=cv2.contourArea,
                   reverse=True)[:keep]
    return [b * 2 for b in blobs]


def _outline_quads(contour: np.ndarray, area: float, min_side: float) -> list[np.ndarray]:
    """Quadrilaterals (corner order, of a picture's shape) from an outline of a fair size: its 4-corner
    approximation, its four longest sides extended, its minimum-area rectangle."""
    hull = cv2.convexHull(contour)
    if not SMALLEST_AREA * area <= cv2.contourArea(hull) <= 0.97 * area:
        return []
    found = []
    for eps in (0.02, 0.05):
        approx = cv2.approxPolyDP(hull, eps * cv2.arcLength(hull, True), True)
        if len(approx) == 4:
            found.append(approx)
            break
    sides = _longest_sides(cv2.approxPolyDP(hull, 0.01 * cv2.arcLength(hull, True), True).reshape(-1, 2))
    if sides is not None:
        found.append(sides)
    found.append(cv2.boxPoints(cv2.minAreaRect(hull)))
    ordered = [_order(np.float32(q).reshape(4, 2)) for q in found]
    return [q for q in ordered if _shapely(q, min_side)]


def segment_lines(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lines through segments from a to b ((N, 2) each) as _lines gives them: normal angle in [0, pi) and offset
    (the distance along that normal from the origin, taken at the segment's middle)."""
    d = b - a
    theta = np.mod(np.arctan2(d[:, 0], -d[:, 1]), np.pi)
    mid = (a + b) / 2
    return theta, mid[:, 0] * np.cos(theta) + mid[:, 1] * np.sin(theta)


def _lines(edges: EdgeMap) -> np.ndarray:
    """Straight lines in an edge map as (normal angle, offset, supporting length) rows, collinear
    Hough segments merged: a picture's side broken by a visitor or a glare spot is still one line.
    The frame's own borders are added (with no length): a work cut by the frame ends there."""
    h, w = edges.mask.shape
    # On the thin edges: a dilated edge is three pixels wide, triples Hough's work and adds nothing straight.
    segs = cv2.HoughLinesP(edges.thin, 1, np.pi / 180, threshold=30, minLineLength=SHORTEST_SIDE * min(h, w), maxLineGap=8)
    lines: list[list[float]] = []
    if segs is not None:
        s = segs.reshape(-1, 4).astype(np.float64)
        d = s[:, 2:] - s[:, :2]
        length = np.hypot(d[:, 0], d[:, 1])
        theta, rho = segment_lines(s[:, :2], s[:, 2:])
        # Hough joins a texture's edges into chance lines; a picture's side is an edge along the line.
        length = length * (_along(edges, s[:, :2], s[:, 2:], 16)[0] >= SEGMENT_ALONG)
        # The longest: a texture's many short pieces make no picture side.
        for k in descending(length)[:80]:
            if not length[k]:
                break
            for line in lines:
                dt, r = theta[k] - line[0], rho[k]
                if abs(dt) > np.pi / 2:  # the same line with its normal flipped
                    dt, r = np.pi - abs(dt), -r
                if abs(dt) < np.radians(3) and abs(r - line[1]) < SAME_LINE:
                    line[2] += length[k]
                    break
            else:
                lines.append([theta[k], rho[k], length[k]])
    borders = [[np.pi / 2, 0.0, 0.0], [np.pi / 2, h - 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, w - 1.0, 0.0]]
    return np.array(lines + borders, np.float64).reshape(-1, 3)


def _pick_lines(lines: np.ndarray, keep: int, across: np.ndarray, along: np.ndarray) -> np.ndarray:
    """The longest lines, and the outermost ones on either side (where they cross the frame's middle):
    a picture's side half hidden by a visitor is short, but nothing of the picture lies beyond it."""
    if len(lines) <= keep + 2:
        return lines
    normal = np.stack([np.cos(lines[:, 0]), np.sin(lines[:, 0])], 1)
    # Where each line meets the middle line through `across` running along `along`.
    t = (lines[:, 1] - normal @ across) / np.where(np.abs(normal @ along) < 1e-6, 1e-6, normal @ along)
    real = lines[:, 2] > 0  # the frame's borders have no length and are always kept
    order = descending(lines[:, 2])
    chosen = list(order[:keep])
    solid = np.flatnonzero(real & (lines[:, 2] >= 0.5 * np.median(lines[real, 2]) if real.any() else real))
    if len(solid):
        chosen += [solid[np.argmin(t[solid])], solid[np.argmax(t[solid])]]
    chosen += list(np.flatnonzero(~real))
    return lines[list(dict.fromkeys(int(c) for c in chosen))]


def pick_lines(lines: np.ndarray, hw: tuple[int, int],
               per_direction: int = LINES_PER_DIRECTION) -> tuple[np.ndarray, np.ndarray]:
    """Of _lines' rows in a frame of size `hw`, the roughly horizontal and the roughly vertical ones _line_quads
    combines: each direction's `per_direction` longest, its outermost, and the frame's borders (_pick_lines)."""
    h, w = hw
    horizontal = np.abs(lines[:, 0] - np.pi / 2) < np.radians(35)
    hor = _pick_lines(lines[horizontal], per_direction, across=np.array([w / 2, 0.0]), along=np.array([0.0, 1.0]))
    ver = _pick_lines(lines[~horizontal], per_direction, across=np.array([0.0, h / 2]), along=np.array([1.0, 0.0]))
    return hor, ver


def _line_quads(edges: EdgeMap, area: float, keep: int = 10, per_direction: int = LINES_PER_DIRECTION) -> list[tuple]:
    """Quadrilaterals bounded by two roughly horizontal and two roughly vertical lines whose sides lie
    on edges (or on the frame's border), the larger and better supported and those whose sides end at their
    corners (_quad_ends) first, at most PAIR_QUADS per pair of opposite lines, in corner order with
    their sides' support (see _side_support). A picture's sides stay straight lines where a visitor
    hides a corner, which a contour's outline does not."""
    h, w = edges.mask.shape
    hor, ver = pick_lines(_lines(edges), (h, w), per_direction)
    if len(hor) < 2 or len(ver) < 2:
        return []
    # Corner of every horizontal line with every vertical one: solve [cos sin] . p = rho.
    a = np.stack([np.cos(hor[:, 0]), np.sin(hor[:, 0])], 1)[:, None, :].repeat(len(ver), 1)
    b = np.stack([np.cos(ver[:, 0]), np.sin(ver[:, 0])], 1)[None, :, :].repeat(len(hor), 0)
    m = np.stack([a, b], 2)  # (H, V, 2, 2)
    det = np.linalg.det(m)
    rhs = np.stack([hor[:, 1][:, None].repeat(len(ver), 1), ver[:, 1][None, :].repeat(len(hor), 0)], 2)
    corner = np.linalg.solve(m + (np.abs(det) < 1e-6)[..., None, None] * np.eye(2), rhs[..., None])[..., 0]
    i, j = np.triu_indices(len(hor), 1)
    k, l = np.triu_indices(len(ver), 1)
    ii, kk = np.repeat(i, len(k)), np.tile(k, len(i))
    jj, ll = np.repeat(j, len(l)), np.tile(l, len(j))
    quads = np.stack([corner[ii, kk], corner[ii, ll], corner[jj, ll], corner[jj, kk]], 1)  # (Q, 4, 2)
    # A work cut by the frame has corners beyond it: a little way out is allowed.
    inside = ((quads >= -OUTSIDE * np.array([w, h])) & (quads <= (1 + OUTSIDE) * np.array([w, h]))).all((1, 2))
    x, y = quads[..., 0], quads[..., 1]
    areas = 0.5 * np.abs((x * np.roll(y, -1, 1) - np.roll(x, -1, 1) * y).sum(1))
    ok = inside & (areas >= SMALLEST_AREA * area) & (areas <= 0.99 * area)
    quads, areas = quads[ok], areas[ok]
    if not len(quads):
        return []
    # Each side lies on one line between two others, and many quads share it: each such segment is measured once
    # (each way round, as the quads run), not once per quad. -1 marks a side on the frame's border.
    on_rows = _between(edges, corner)  # (H, V, V): horizontal line h from vertical line a to b
    on_columns = _between(edges, corner.transpose(1, 0, 2))  # (V, H, H): vertical v from horizontal a to b
    top, bottom, left, right = ii[ok], jj[ok], kk[ok], ll[ok]  # each kept quad's lines
    support = np.stack([on_rows[top, left, right], on_columns[right, top, bottom], on_rows[bottom, right, left],
                        on_columns[left, bottom, top]], 1)  # (Q, 4): its sides in corner order
    full = np.where(support < 0, 1.0, support)
    good = (full.min(1) >= 0.3) & (full.mean(1) >= 0.6)
    # Three sides on the frame's border: a work cut by the frame that closely is large; a smaller such
    # quad is the wall beside a work (a lit wall's slope looks like a gradient work).
    good &= ((support < 0).sum(1) < 3) | (areas >= CUT_AREA * area)
    # Ranked with the frame's border as half evidence (else the frame's own edges, being long, win), and by how
    # much the sides end at the corners (each line's stretch beyond each corner measured once, as the segments; only
    # the good quads are ranked).
    rank = np.where(support < 0, 0.5, support).mean(1) ** 2 * np.sqrt(areas)
    rank[good] *= _quad_ends(edges, corner, hor, ver, (top[good], bottom[good], left[good], right[good]))
    found: list[tuple] = []
    uses: Counter = Counter()  # quads taken per pair of opposite lines (PAIR_QUADS)

    def take(q: int) -> None:
        quad = _order(quads[q].astype(np.float32))
        if _shapely(quad, SHORTEST_SIDE * min(h, w)) and all(np.abs(quad - f).max() > 6 for f, _ in found):
            found.append((quad, support[q]))  # the same sides in another order: the same support
            uses["h", top[q], bottom[q]] += 1
            uses["v", left[q], right[q]] += 1

    for q in descending(rank):
        if good[q] and max(uses["h", top[q], bottom[q]], uses["v", left[q], right[q]]) < PAIR_QUADS:
            take(q)
        if len(found) >= keep:
            break
    # Stripes and bands make many well-supported parts of a picture; its whole (faint on one side, say)
    # is among the largest well-supported quads off the frame's border.
    inner = good & (support >= 0).all(1)
    for q in descending(areas * inner)[:LARGEST]:
        if inner[q]:
            take(q)
    return found


@dataclass(frozen=True)
class _Beyond:
    """Stretches of lines beyond corners: the share of each on edges running along it, and whether it is known (it
    lies mostly within the frame)."""
    on: np.ndarray
    known: np.ndarray


def _beyond(edges: EdgeMap, corners: np.ndarray, away: np.ndarray) -> _Beyond:
    """The stretch from END_GAP to END_GAP + END_REACH px past each corner ((..., 2)) in the unit direction `away`."""
    on, off = _along(edges, corners + END_GAP * away, corners + (END_GAP + END_REACH) * away, 8)
    return _Beyond(on, off < 0.5)


def _end_score(on: np.ndarray, known: np.ndarray) -> np.ndarray:
    """(1 - the mean share on edges of the known stretches, over the last axis) ** END_POWER: 1 where none is known
    (a work cut by the frame)."""
    beyond = (on * known).sum(-1) / np.maximum(known.sum(-1), 1)
    return (1.0 - beyond) ** END_POWER


def _ends(edges: EdgeMap, quads: np.ndarray) -> np.ndarray:
    """How much each quad's (Q, 4, 2) sides end at its corners (_end_score of its sides' 8 stretches beyond them)."""
    a, b = quads, quads[:, _NEXT]
    d = b - a
    u = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-6)
    ahead, behind = _beyond(edges, b, u), _beyond(edges, a, -u)
    return _end_score(np.concatenate([ahead.on, behind.on], 1), np.concatenate([ahead.known, behind.known], 1))


def _direction(theta: np.ndarray) -> np.ndarray:
    """(..., 2): the unit direction of lines of normal angle `theta` (the normal turned a quarter)."""
    return np.stack([-np.sin(theta), np.cos(theta)], -1)


def _corner_ends(edges: EdgeMap, corner: np.ndarray, theta: np.ndarray) -> _Beyond:
    """(L, M, 2): each line's stretch beyond its corner with each other line ((L, M, 2) corners), along the line's
    own direction (_direction of its normal angle `theta`) and against it (last axis)."""
    t = _direction(theta)[:, None, :]  # (L, 1, 2)
    forth, back = _beyond(edges, corner, t), _beyond(edges, corner, -t)
    return _Beyond(np.stack([forth.on, back.on], -1), np.stack([forth.known, back.known], -1))


def _quad_ends(edges: EdgeMap, corner: np.ndarray, hor: np.ndarray, ver: np.ndarray, lines: tuple) -> np.ndarray:
    """_ends of line quads, from each line's stretches beyond each of its corners ((H, V, 2) corners of the horizontal
    lines `hor` with the vertical ones `ver`), measured once: a side's two stretches beyond its corners, away from the
    quad. `lines`: each quad's top, bottom, left and right line (indices)."""
    top, bottom, left, right = lines
    across = corner.transpose(1, 0, 2)
    rows, columns = _corner_ends(edges, corner, hor[:, 0]), _corner_ends(edges, across, ver[:, 0])
    on, known = [], []
    for beyond, grid, theta, line, a, b in ((rows, corner, hor[:, 0], top, left, right),
                                            (rows, corner, hor[:, 0], bottom, left, right),
                                            (columns, across, ver[:, 0], left, top, bottom),
                                            (columns, across, ver[:, 0], right, top, bottom)):
        # The corner with b ahead of that with a along the line's direction (the one _corner_ends measured forth
        # along): beyond a is back (index 1) and beyond b forth (0); else the other way round.
        ahead = ((grid[line, b] - grid[line, a]) * _direction(theta[line])).sum(-1) > 0
        for end, index in ((a, np.where(ahead, 1, 0)), (b, np.where(ahead, 0, 1))):
            on.append(beyond.on[line, end, index])
            known.append(beyond.known[line, end, index])
    return _end_score(np.stack(on, 1), np.stack(known, 1))


def _side_support(edges: EdgeMap, quads: np.ndarray, border: float = 1.0) -> np.ndarray:
    """For each quadrilateral (Q, 4, 2) the fraction of each side on an edge that runs along it (an
    edge across it, as inside a texture, does not count). A side along the frame's border counts as
    `border`: the work may go on beyond the frame, or the side may be no side at all."""
    return _segment_support(edges, quads, quads[:, _NEXT], border)


def _segment_support(edges: EdgeMap, a: np.ndarray, b: np.ndarray, border: float) -> np.ndarray:
    """_side_support of segments from a to b ((..., 2) each): a quad's sides, or each segment of a line between
    two others (_line_quads measures those once, not once per quad sharing one)."""
    on_edge, off = _along(edges, a, b, SIDE_SAMPLES)
    return np.where(off > 0.8, border, on_edge)


def _between(edges: EdgeMap, corner: np.ndarray) -> np.ndarray:
    """(L, M, M): the support (border -1) of the segment along each line from its corner with line a to its corner
    with line b ((L, M, 2) corners: where each line meets each of the others)."""
    start = np.broadcast_to(corner[:, :, None], (*corner.shape[:2], corner.shape[1], 2))
    return _segment_support(edges, start, start.transpose(0, 2, 1, 3), -1.0)


def _along(edges: EdgeMap, a: np.ndarray, b: np.ndarray, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """For segments from a to b ((..., 2) each): the fraction of each on edges that run along it,
    counted where it is inside the frame, and the fraction of it on the frame's border or beyond."""
    h, w = edges.mask.shape
    t = (np.arange(samples) + 0.5) / samples
    pts = a[..., None, :] + (b - a)[..., None, :] * t[:, None]  # (..., S, 2)
    d = b - a
    normal_bin = (np.mod(np.arctan2(d[..., 0], -d[..., 1]), np.pi) / np.pi * NORMAL_BINS).astype(int) % NORMAL_BINS
    px = np.clip(np.round(pts[..., 0]).astype(int), 0, w - 1)
    py = np.clip(np.round(pts[..., 1]).astype(int), 0, h - 1)
    # Where a side runs along the frame's border or beyond it, nothing is known of it.
    off = (pts[..., 0] <= 2) | (pts[..., 0] >= w - 3) | (pts[..., 1] <= 2) | (pts[..., 1] >= h - 3)
    hit = edges.along[np.broadcast_to(normal_bin[..., None], px.shape), py, px] & ~off
    return hit.sum(-1) / np.maximum((~off).sum(-1), 1), off.mean(-1)


def rectify(frame_bgr: np.ndarray, quad: np.ndarray, side: int = 96, margin: int = 0) -> np.ndarray:
    """The quad's view as a square of `side` pixels, with `margin` pixels of its surroundings around it."""
    dst = np.float32([[0, 0], [side, 0], [side, side], [0, side]]) + margin
    full = side + 2 * margin
    return cv2.warpPerspective(frame_bgr, cv2.getPerspectiveTransform(np.float32(quad), dst), (full, full),
                               flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
