"""Which catalog artwork is in a camera frame, or none.

1. Keypoints first: ORB descriptors of the frame vote over the whole catalog (an LSH index, so 500
   works stay real time) and the most voted works are verified by a homography (USAC); a sure match
   (many inliers) is the answer without looking for an outline.
2. Places: candidate quadrilaterals of the picture, from luminance and colour edges (contours of
   the edge map and of its closed blobs, and quads of merged straight lines - Hough segments whose
   edges run along them - the frame's own borders included, and corners a little beyond the frame
   for a work cut by it), kept when their sides lie on edges that run along them. Each is rectified
   and described globally (luminance layout, HOG, colour layout under a fitted light), and a catalog
   work is only considered for a place of about its own aspect ratio. The textured works most like
   the best places are verified by keypoints too; a match with few inliers must also explain its
   picture (4).
3. Grain: a noise-like texture too faint or blurred for keypoints (a plain colour explains it nearly as
   well as the work, so colour cannot tell it from a like-coloured texture) is found by its fine
   detail: band-passed cells of the work looked for, each within a few pixels, in a place's view.
4. Low texture (colour fields, stripes, hard-edge, gradients), where keypoints find nothing: each
   best place's best few works are aligned onto it (ECC, a shift) and the fraction of pixels the
   work explains under the gallery's light (level, slope, cast; a visitor or glare is simply not
   explained) is compared with what a plain colour explains. The best work must explain enough of
   its place, clearly more than any other work explains of any place (or somewhat less, with no
   other work near it).
A textured work must pass the keypoint check and a grainy one its grain check (so an unknown busy
work or texture is rejected). A keypoint homography must make a plausible picture. A wrong artwork
is worse than none: every threshold was set for few false positives (benchmarks/bench_recognition.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import cv2
import numpy as np

FEATURE_VERSION = 6  # cached catalog features: bump when compute_features changes
SIDE = 32  # rectified size for the global description
ORB_FEATURES_CATALOG = 600
ORB_FEATURES_FRAME = 800
WORK_SIDE = 400  # catalog images are described at this longest side
THUMB = 48  # side of the square thumbnails aligned to a low-texture view
GRAIN = 128  # side of the square a work's fine detail (its grain) is compared at
FRAME_WIDTH = 640  # frames are recognised at this width (the benchmark's, and the camera's default)


@dataclass(frozen=True)
class Global:
    lum: np.ndarray  # (256,) unit norm: contrast-normalised luminance layout 16x16
    hog: np.ndarray  # (128,) unit norm
    colour: np.ndarray  # (192,) RGB 8x8 in [0, 1]: matched up to per-channel gains (colour casts)

    def stack(self) -> np.ndarray:
        return np.concatenate([self.lum, self.hog, self.colour]).astype(np.float32)


@dataclass(frozen=True)
class ArtworkFeatures:
    glob: np.ndarray  # Global.stack()
    keypoints: np.ndarray  # (K, 2) float32, in WORK_SIDE pixel units
    descriptors: np.ndarray  # (K, 32) uint8 ORB
    size: np.ndarray  # (2,) width, height of the described image
    thumb: np.ndarray  # (THUMB, THUMB, 3) uint8: the work squashed to a square, for fine alignment
    square: np.ndarray  # (GRAIN, GRAIN, 3) uint8: the same, larger, for its grain

    def arrays(self) -> dict:
        return {"glob": self.glob, "keypoints": self.keypoints, "descriptors": self.descriptors, "wh": self.size,
                "thumb": self.thumb, "square": self.square}

    @staticmethod
    def from_arrays(z) -> ArtworkFeatures:
        return ArtworkFeatures(z["glob"], z["keypoints"], z["descriptors"], z["wh"], z["thumb"], z["square"])


HOG_NOISE = 8.0  # Sobel magnitude (Lab L units) below which a gradient is sensor noise or glare haze
HOG_FLOOR = 20.0  # norm under which a description keeps its small length: a flat work has no structure


def _hog(lum: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3)
    mag, ang = cv2.cartToPolar(gx, gy)
    mag[mag < HOG_NOISE] = 0.0
    mag[:2], mag[-2:], mag[:, :2], mag[:, -2:] = 0.0, 0.0, 0.0, 0.0  # a picture frame's border is not the work
    bins = (np.mod(ang, np.pi) / np.pi * 8).astype(np.int32) % 8
    cells = SIDE // 4
    hist = np.zeros((4, 4, 8), np.float32)
    for cy in range(4):
        for cx in range(4):
            sl = (slice(cy * cells, (cy + 1) * cells), slice(cx * cells, (cx + 1) * cells))
            hist[cy, cx] = np.bincount(bins[sl].ravel(), mag[sl].ravel(), minlength=8)
    v = np.sqrt(hist.ravel())  # Hellinger-style: tames strong edges
    return v / max(float(np.linalg.norm(v)), HOG_FLOOR)


def describe(bgr_square: np.ndarray) -> Global:
    """The global description of a rectified picture (any size; resized to SIDE x SIDE)."""
    small = cv2.resize(bgr_square, (SIDE, SIDE), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2Lab)
    L = lab[:, :, 0]
    lum = cv2.resize(L, (16, 16), interpolation=cv2.INTER_AREA).ravel()
    lum = (lum - lum.mean()) / max(float(lum.std()), 4.0)  # a flat field stays flat, not amplified noise
    lum = lum / (np.linalg.norm(lum) + 1e-6) * min(1.0, np.linalg.norm(lum) / 4.0 + 0.25)
    colour = cv2.resize(small, (8, 8), interpolation=cv2.INTER_AREA).reshape(-1, 3).T.ravel()  # channel-major
    return Global(lum.astype(np.float32), _hog(L), colour.astype(np.float32))


def _orb(n: int):
    return cv2.ORB_create(nfeatures=n, scaleFactor=1.2, nlevels=6, fastThreshold=7)


def compute_features(image_bgr: np.ndarray) -> ArtworkFeatures:
    h, w = image_bgr.shape[:2]
    scale = WORK_SIDE / max(h, w)
    work = cv2.resize(image_bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    kps, desc = _orb(ORB_FEATURES_CATALOG).detectAndCompute(cv2.cvtColor(work, cv2.COLOR_BGR2GRAY), None)
    pts = np.float32([k.pt for k in kps]).reshape(-1, 2)
    desc = desc if desc is not None else np.zeros((0, 32), np.uint8)
    thumb = cv2.resize(work, (THUMB, THUMB), interpolation=cv2.INTER_AREA)
    square = cv2.resize(work, (GRAIN, GRAIN), interpolation=cv2.INTER_AREA)
    return ArtworkFeatures(describe(work).stack(), pts, desc, np.array([work.shape[1], work.shape[0]], np.int32), thumb,
                           square)


# --- finding the picture in a frame -------------------------------------------------------------

_NEXT, _PREVIOUS = [1, 2, 3, 0], [3, 0, 1, 2]  # a quadrilateral's corners after and before each (np.roll is slow)


def _order(quad: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    s, d = quad.sum(1), quad[:, 1] - quad[:, 0]
    return quad[[np.argmin(s), np.argmin(d), np.argmax(s), np.argmax(d)]].astype(np.float32)


def _shapely(quad: np.ndarray, min_side: float) -> bool:
    """A picture seen at up to ~25 degrees: convex, every corner 50-130 degrees, no side too short.
    Lines meeting at a shallow angle make slivers and near-triangles, which are no picture."""
    if not cv2.isContourConvex(quad.reshape(-1, 1, 2).astype(np.float32)):
        return False
    sides = quad[_NEXT] - quad
    length = np.linalg.norm(sides, axis=1)
    if length.min() < min_side:
        return False
    cos = -(sides * sides[_PREVIOUS]).sum(1) / (length * length[_PREVIOUS])
    return bool(np.abs(cos).max() < np.cos(np.radians(50)))


NORMAL_BINS = 8  # edge directions told apart when checking that an edge runs along a side


@dataclass(frozen=True)
class EdgeMap:
    mask: np.ndarray  # uint8, 255 on (dilated) edges of luminance or colour
    along: np.ndarray  # (NORMAL_BINS, H, W) bool: an edge whose normal is within ~25 degrees of the bin's, +-2 px


def _edges(small_bgr: np.ndarray) -> EdgeMap:
    """Edges of luminance and of colour (a pale work on a pale wall differs in hue, not brightness),
    and which way each runs: a picture's side is an edge along it, not the tangle inside a texture."""
    lab = cv2.cvtColor(cv2.GaussianBlur(small_bgr, (5, 5), 0), cv2.COLOR_BGR2Lab)
    edges = np.zeros(lab.shape[:2], np.uint8)
    for ch, (lo, hi) in zip(cv2.split(lab), ((20, 60), (8, 24), (8, 24))):
        edges |= cv2.Canny(ch, lo, hi)
    # Directions from a coarse, half-size copy: a texture's own edges fade there, a picture's side stays.
    h, w = lab.shape[:2]
    half = cv2.GaussianBlur(cv2.resize(lab, (w // 2, h // 2), interpolation=cv2.INTER_AREA).astype(np.float32),
                            (0, 0), 1.5) * np.float32([1.0, 2.5, 2.5])  # colour edges count like luminance ones
    gx, gy = cv2.Sobel(half, cv2.CV_32F, 1, 0), cv2.Sobel(half, cv2.CV_32F, 0, 1)  # (h/2, w/2, 3)
    strongest = np.argmax(gx * gx + gy * gy, axis=2)[..., None]
    gx_best = np.take_along_axis(gx, strongest, 2)[..., 0]
    gy_best = np.take_along_axis(gy, strongest, 2)[..., 0]
    mask = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    normal_bin = (np.mod(np.arctan2(gy_best, gx_best), np.pi) * (NORMAL_BINS / np.pi)).astype(np.uint8) % NORMAL_BINS
    normal_bin = cv2.resize(normal_bin, (w, h), interpolation=cv2.INTER_NEAREST)
    per_bin = [np.where(normal_bin == k, mask, 0).astype(np.uint8) for k in range(NORMAL_BINS)]
    widen = np.ones((5, 5), np.uint8)  # a side a pixel or two off its edge (dilation, rounding) still lies on it
    # A side's edge may point up to one bin (22.5 degrees) away from the side's own normal.
    along = np.stack([cv2.dilate(per_bin[k - 1] | per_bin[k] | per_bin[(k + 1) % NORMAL_BINS], widen)
                      for k in range(NORMAL_BINS)]) > 0
    return EdgeMap(mask, along)


MIN_EDGE_SUPPORT = 0.5  # mean fraction of a candidate quad's sides on edges running along them
SEGMENT_ALONG = 0.6  # fraction of a Hough segment on edges running along it, for it to be a line
OUTSIDE = 0.1  # how far beyond the frame (a fraction of its size) a cut work's corner may lie
LARGEST = 2  # the largest well-supported line quads kept beside the best ranked


def _intersect(a0, a1, b0, b1):
    d = (a1[0] - a0[0]) * (b1[1] - b0[1]) - (a1[1] - a0[1]) * (b1[0] - b0[0])
    if abs(d) < 1e-6:
        return None
    t = ((b0[0] - a0[0]) * (b1[1] - b0[1]) - (b0[1] - a0[1]) * (b1[0] - b0[0])) / d
    return a0 + t * (a1 - a0)


def _longest_sides(poly: np.ndarray) -> np.ndarray | None:
    """A quadrilateral from a convex polygon's four longest sides, extended to meet: a visitor in
    front of one corner adds short sides and a chord, but leaves the picture's long sides."""
    n = len(poly)
    if n < 5:
        return None
    poly = poly.astype(np.float64)
    lengths = np.linalg.norm(np.roll(poly, -1, axis=0) - poly, axis=1)
    keep = np.sort(np.argsort(-lengths)[:4])
    lines = [(poly[i], poly[(i + 1) % n]) for i in keep]
    corners = [_intersect(*lines[k], *lines[(k + 1) % 4]) for k in range(4)]
    if any(c is None for c in corners):
        return None
    quad = np.float32(corners)
    return quad if cv2.isContourConvex(quad.reshape(-1, 1, 2)) else None


def find_quads(frame_bgr: np.ndarray, max_quads: int = 6, max_candidates: int = 12) -> list[tuple[np.ndarray, float]]:
    """Candidate picture quadrilaterals (frame pixel coordinates) with their quality (how much of
    their sides lie on edges running along them; a side on the frame's border counts half), the
    most picture-like first: from the largest contours of the edge map, of its closed blobs and of
    those blobs opened (a visitor's outline touching the picture dropped) - each contour's 4-corner
    approximation, its four longest sides extended, its minimum-area rectangle - and from
    pairs of roughly horizontal and vertical straight lines (which survive a corner hidden by a
    visitor). At most `max_candidates`: each is later compared with the whole catalog."""
    h, w = frame_bgr.shape[:2]
    scale = 320 / w
    small = cv2.resize(frame_bgr, (320, round(h * scale)), interpolation=cv2.INTER_AREA)
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
    outlines = [_outline_quads(c, area, 0.15 * min(edges.mask.shape)) for c in contours]
    flat = [q for outline in outlines for q in outline]
    measured = iter(_side_support(edges, np.float64(flat), border=-1.0) if flat else [])
    for outline in outlines:
        for quad in outline:
            add(quad, next(measured))
        if len(quads) >= max_quads:
            break
    for quad, support in _line_quads(edges, area):
        add(quad, support)
    # The most picture-like first, and not too many: each is compared with the whole catalog.
    rank = [quality**2 * np.sqrt(cv2.contourArea(q)) for q, quality in quads]
    return [quads[k] for k in np.argsort(rank)[::-1][:max_candidates]]


def _outline_quads(contour: np.ndarray, area: float, min_side: float) -> list[np.ndarray]:
    """Quadrilaterals (corner order, of a picture's shape) from an outline of a fair size: its 4-corner
    approximation, its four longest sides extended, its minimum-area rectangle."""
    hull = cv2.convexHull(contour)
    if not 0.12 * area <= cv2.contourArea(hull) <= 0.97 * area:
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


def _lines(edges: EdgeMap) -> np.ndarray:
    """Straight lines in an edge map as (normal angle, offset, supporting length) rows, collinear
    Hough segments merged: a picture's side broken by a visitor or a glare spot is still one line.
    The frame's own borders are added (with no length): a work cut by the frame ends there."""
    h, w = edges.mask.shape
    segs = cv2.HoughLinesP(edges.mask, 1, np.pi / 180, threshold=30, minLineLength=0.12 * min(h, w), maxLineGap=8)
    lines: list[list[float]] = []
    if segs is not None:
        s = segs.reshape(-1, 4).astype(np.float64)
        d = s[:, 2:] - s[:, :2]
        length = np.hypot(d[:, 0], d[:, 1])
        theta = np.mod(np.arctan2(d[:, 0], -d[:, 1]), np.pi)
        mid = (s[:, :2] + s[:, 2:]) / 2
        rho = mid[:, 0] * np.cos(theta) + mid[:, 1] * np.sin(theta)
        # Hough joins a texture's edges into chance lines; a picture's side is an edge along the line.
        length = length * (_along(edges, s[:, :2], s[:, 2:], 16)[0] >= SEGMENT_ALONG)
        for k in np.argsort(-length)[:80]:  # the longest: a texture's many short pieces make no picture side
            if not length[k]:
                break
            for line in lines:
                dt, r = theta[k] - line[0], rho[k]
                if abs(dt) > np.pi / 2:  # the same line with its normal flipped
                    dt, r = np.pi - abs(dt), -r
                if abs(dt) < np.radians(3) and abs(r - line[1]) < 5:
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
    order = np.argsort(-lines[:, 2])
    chosen = list(order[:keep])
    solid = np.flatnonzero(real & (lines[:, 2] >= 0.5 * np.median(lines[real, 2]) if real.any() else real))
    if len(solid):
        chosen += [solid[np.argmin(t[solid])], solid[np.argmax(t[solid])]]
    chosen += list(np.flatnonzero(~real))
    return lines[list(dict.fromkeys(int(c) for c in chosen))]


def _line_quads(edges: EdgeMap, area: float, keep: int = 10, per_direction: int = 8) -> list[tuple]:
    """Quadrilaterals bounded by two roughly horizontal and two roughly vertical lines whose sides lie
    on edges (or on the frame's border), the larger and better supported first, in corner order with
    their sides' support (see _side_support). A picture's sides stay straight lines where a visitor
    hides a corner, which a contour's outline does not."""
    h, w = edges.mask.shape
    lines = _lines(edges)
    theta = lines[:, 0]
    horizontal = np.abs(theta - np.pi / 2) < np.radians(35)
    hor = _pick_lines(lines[horizontal], per_direction, across=np.array([w / 2, 0.0]), along=np.array([0.0, 1.0]))
    ver = _pick_lines(lines[~horizontal], per_direction, across=np.array([0.0, h / 2]), along=np.array([1.0, 0.0]))
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
    ok = inside & (areas >= 0.12 * area) & (areas <= 0.99 * area)
    quads, areas = quads[ok], areas[ok]
    if not len(quads):
        return []
    support = _side_support(edges, quads, border=-1.0)  # (Q, 4); -1 marks a side on the frame's border
    full = np.where(support < 0, 1.0, support)
    good = (full.min(1) >= 0.3) & (full.mean(1) >= 0.6)
    # Ranked with the frame's border as half evidence: else the frame's own edges, being long, win.
    rank = np.where(support < 0, 0.5, support).mean(1) ** 2 * np.sqrt(areas)
    found: list[tuple] = []

    def take(q: int) -> None:
        quad = _order(quads[q].astype(np.float32))
        if _shapely(quad, 0.15 * min(h, w)) and all(np.abs(quad - f).max() > 6 for f, _ in found):
            found.append((quad, support[q]))  # the same sides in another order: the same support

    for q in np.argsort(-rank):
        if good[q]:
            take(q)
        if len(found) >= keep:
            break
    # Stripes and bands make many well-supported parts of a picture; its whole (faint on one side, say)
    # is among the largest well-supported quads off the frame's border.
    inner = good & (support >= 0).all(1)
    for q in np.argsort(-areas * inner)[:LARGEST]:
        if inner[q]:
            take(q)
    return found


def _side_support(edges: EdgeMap, quads: np.ndarray, border: float = 1.0, samples: int = 24) -> np.ndarray:
    """For each quadrilateral (Q, 4, 2) the fraction of each side on an edge that runs along it (an
    edge across it, as inside a texture, does not count). A side along the frame's border counts as
    `border`: the work may go on beyond the frame, or the side may be no side at all."""
    on_edge, off = _along(edges, quads, quads[:, _NEXT], samples)
    return np.where(off > 0.8, border, on_edge)


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


def rectify(frame_bgr: np.ndarray, quad: np.ndarray, side: int = 96) -> np.ndarray:
    dst = np.float32([[0, 0], [side, 0], [side, side], [0, side]])
    return cv2.warpPerspective(frame_bgr, cv2.getPerspectiveTransform(quad, dst), (side, side),
                               flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def _grid(cells: int) -> np.ndarray:
    side = round(cells**0.5)
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / max(side - 1, 1) - 0.5
    return np.stack([x.ravel(), y.ravel()])


class ColourLayouts:
    """Colour distance of a view to works' colour layouts (N, 3, P cells on a square grid), after
    fitting what a gallery does to colours: light that varies across the picture (a level and a
    linear slope, shared by the channels) and a mild colour cast (per channel, 0.85-1.18). The worst
    quarter of the cells (a visitor, a glare spot) does not count. The fit's normal equations depend
    only on the works, so they are solved once."""

    def __init__(self, works: np.ndarray, trim: float = 0.75):
        self.works = works.astype(np.float32)
        n, _, cells = self.works.shape
        self.xy = _grid(cells)  # (2, P)
        terms = np.concatenate([self.works[:, None], self.works[:, None] * self.xy[None, :, None]], axis=1)
        self.basis = np.ascontiguousarray(terms.reshape(n, 3, 3 * cells))  # level, x-slope, y-slope over all values
        gram = self.basis @ self.basis.transpose(0, 2, 1) + 1e-4 * np.eye(3, dtype=np.float32)
        self.inverse = np.linalg.inv(gram).astype(np.float32)
        self.kept = max(1, int(trim * cells))

    def distance(self, view_cells: np.ndarray, works: np.ndarray) -> np.ndarray:
        """Of the view (3, P) to the given works (indices)."""
        q = view_cells.astype(np.float32)  # (3, P)
        colours = self.works[works]
        rhs = self.basis[works] @ q.reshape(-1)  # (N, 3)
        light = (self.inverse[works] @ rhs[..., None])[..., 0]
        light[:, 0] = np.clip(light[:, 0], 0.5, 1.6)
        light[:, 1:] = np.clip(light[:, 1:], -0.6, 0.6)
        lit = colours * (light[:, 0, None, None] + light[:, 1, None, None] * self.xy[0]
                         + light[:, 2, None, None] * self.xy[1])
        cast = np.clip((lit * q).sum(2) / ((lit**2).sum(2) + 1e-6), 0.85, 1.18)
        diff = np.abs(lit * cast[:, :, None] - q)
        cells = diff[:, 0] + diff[:, 1] + diff[:, 2]  # (N, P)
        kept = np.partition(cells, self.kept - 1, axis=1)[:, : self.kept]
        return kept.mean(axis=1) / (3 * q.mean() + 0.05)


def _align(thumb: np.ndarray, axis: np.ndarray, crop: np.ndarray) -> np.ndarray:
    """The rectified view shifted onto a work's thumbnail (ECC). Aligned on the work's own main colour
    `axis`, not grey: bands of equal brightness but different hue still give ECC something to hold on to.
    A shift only: the quadrilateral already rectified the view, and more freedom (affine, homography)
    lets one smooth gradient or band layout be bent onto another."""
    t_gray, c_gray = _on_axis(thumb, axis), _on_axis(crop, axis)
    warp = np.eye(2, 3, dtype=np.float32)
    try:
        _, warp = cv2.findTransformECC(t_gray, c_gray, warp, cv2.MOTION_TRANSLATION,
                                       (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 20, 1e-3), None, 3)
    except cv2.error:  # a flat work gives ECC nothing to hold on to: compare it unaligned
        warp = np.eye(2, 3, dtype=np.float32)
    if np.abs(warp[:, 2]).max() > THUMB / 12:  # ran off: a shift this large is no alignment
        warp = np.eye(2, 3, dtype=np.float32)
    return cv2.warpAffine(crop, warp, (THUMB, THUMB), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def _main_axis(image_bgr: np.ndarray) -> np.ndarray:
    """The direction in BGR along which a work's colours vary most (grey for a flat work)."""
    colours = image_bgr.reshape(-1, 3).astype(np.float32)
    centred = colours - colours.mean(0)
    if not centred.any():
        return np.full(3, 1 / 3, np.float32)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0].astype(np.float32)
    return axis if axis.sum() >= 0 else -axis


def _on_axis(image_bgr: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """A BGR image seen along a colour axis: one float32 channel."""
    return (image_bgr.reshape(-1, 3).astype(np.float32) @ axis).reshape(image_bgr.shape[:2])


# --- grain: the fine detail of a textured work ----------------------------------------------------

GRAIN_RING = 8  # pixels of the GRAIN square left out at its edge (a picture frame, the wall)
GRAIN_CELLS = 4  # the rest is cut into GRAIN_CELLS x GRAIN_CELLS cells ...
GRAIN_SHIFT = 6  # ... each looked for up to this many pixels from where the place puts it
GRAIN_MATCH = 0.4  # correlation at which a cell is found (chance, over the shifts: < 0.4 in 99.9 %)
GRAIN_AGREE = 3  # pixels by which the shifts of one work's found cells may differ
GRAIN_FLAT = 0.3  # standard deviation of band-passed detail under which a cell has none
GRAIN_WORK = 14  # cells with two-dimensional detail that make a work grainy (a noise-like texture)


@dataclass(frozen=True)
class Grain:
    """A grainy work's band-passed detail, cell by cell, seen along its main colour axis."""
    axis: np.ndarray  # (3,) BGR weights
    cells: list  # (y, x, template) of each cell with detail in both directions


def _bandpass(grey: np.ndarray) -> np.ndarray:
    """Detail finer than the layout but coarser than sensor noise and a camera's blur."""
    return cv2.GaussianBlur(grey, (0, 0), 1.2) - cv2.GaussianBlur(grey, (0, 0), 4.0)


def _cell_size() -> int:
    return (GRAIN - 2 * GRAIN_RING) // GRAIN_CELLS


def grain_of(square_bgr: np.ndarray) -> Grain | None:
    """A work's grain, or None when it has too few cells with two-dimensional detail: a flat cell or
    one edge (a colour field's band, a stripe, a hard-edge shape) correlates with any other such cell
    somewhere within the shift, a noise-like texture only with itself."""
    axis = _main_axis(square_bgr)
    detail = _bandpass(_on_axis(square_bgr, axis))
    gx, gy = cv2.Sobel(detail, cv2.CV_32F, 1, 0), cv2.Sobel(detail, cv2.CV_32F, 0, 1)
    size, cells = _cell_size(), []
    for y in range(GRAIN_RING, GRAIN_RING + GRAIN_CELLS * size, size):
        for x in range(GRAIN_RING, GRAIN_RING + GRAIN_CELLS * size, size):
            cell = (slice(y, y + size), slice(x, x + size))
            xx, xy, yy = float((gx[cell] ** 2).sum()), float((gx[cell] * gy[cell]).sum()), float((gy[cell] ** 2).sum())
            spread = np.sqrt(max((xx - yy) ** 2 / 4 + xy * xy, 0.0))
            weak, strong = (xx + yy) / 2 - spread, (xx + yy) / 2 + spread  # structure tensor eigenvalues
            if detail[cell].std() >= GRAIN_FLAT and weak >= 0.3 * strong:
                cells.append((y, x, np.ascontiguousarray(detail[cell])))
    return Grain(axis, cells) if len(cells) >= GRAIN_WORK else None


def grain_found(grain: Grain, square_bgr: np.ndarray) -> int:
    """How many of a work's grain cells are found in a rectified view (GRAIN x GRAIN, BGR) near their
    place, shifted alike: the view's quadrilateral may be a few pixels off, which shifts every cell by
    about the same; a cell of another texture found by chance lies at a shift of its own (coarse
    grain makes such chance finds commoner)."""
    detail = _bandpass(_on_axis(square_bgr, grain.axis))
    size, r, shifts = _cell_size(), GRAIN_SHIFT, []
    for y, x, template in grain.cells:
        region = detail[y - r:y + size + r, x - r:x + size + r]
        # Nothing there (glare clipped flat): any correlation found would be rounding error.
        if cv2.meanStdDev(region)[1][0, 0] < GRAIN_FLAT:
            continue
        _, best, _, at = cv2.minMaxLoc(cv2.matchTemplate(region, template, cv2.TM_CCOEFF_NORMED))
        if best >= GRAIN_MATCH:
            shifts.append(at)
    if not shifts:
        return 0
    shifts = np.float32(shifts)
    return int(max((np.abs(shifts - s).max(1) <= GRAIN_AGREE).sum() for s in shifts))


_XY = np.mgrid[0:THUMB, 0:THUMB].astype(np.float32)[::-1] / (THUMB - 1) - 0.5  # (2: x, y, THUMB, THUMB)
_RING = 3  # thumbnail pixels at the edge left out: a picture frame, the wall where the quad is off


def explained_fractions(thumbs: np.ndarray, views: np.ndarray, tolerance: float) -> np.ndarray:
    """For K works and the view aligned to each ((K, THUMB, THUMB, 3) both), the fraction of pixels
    where the view equals the work under the gallery's light: view = work x cast (one gain per
    channel, within +-25 %) x light (a level and a linear slope across the picture), fitted robustly
    in log space; a pixel is explained when every channel is within `tolerance` of the prediction
    (plus a few grey levels for noise). A visitor or a glare spot is not explained."""
    r, k = _RING, len(thumbs)
    # Channels first (K, 3, P): numpy reduces a long last axis fast, a last axis of 3 slowly.
    work = np.ascontiguousarray(thumbs[:, r:-r, r:-r].reshape(k, -1, 3).transpose(0, 2, 1), np.float32)
    seen = np.ascontiguousarray(views[:, r:-r, r:-r].reshape(k, -1, 3).transpose(0, 2, 1), np.float32)
    xy = _XY[:, r:-r, r:-r].reshape(2, -1)  # (2, P)
    # Log ratios of dark values are noise: they do not steer the fit. Values the camera clipped do:
    # where most of a channel is clipped, what is left unclipped is mostly a visitor.
    reliable = (work > 24) & (seen > 24)
    ratio = np.log((seen + 1.0) / (work + 1.0))
    clipped = seen >= 250
    # Start from each channel's median ratio (a visitor or glare spot cannot pull it), then fit least
    # squares for 3 channel offsets + a shared x/y slope on what the previous fit explains.
    offsets = _masked_median(ratio, reliable)
    slope = np.zeros((k, 2), np.float32)
    keep = reliable
    for step in range(4):
        if step:
            offsets, slope = _fit_light(keep, ratio, xy, offsets, slope)
        level = np.clip(offsets.mean(1, keepdims=True), np.log(0.5), np.log(2.0))
        offsets = level + np.clip(offsets - offsets.mean(1, keepdims=True), -0.22, 0.22)
        predicted = work * np.exp(offsets[:, :, None] + (slope @ xy)[:, None, :])
        error = np.abs(seen - predicted) / (tolerance * predicted + 10.0)
        error[clipped & (predicted >= 235)] = 0.0  # clipped by the camera where the work is bright
        keep = reliable & (error < 2.0)
    fits = error < 1.0
    return (fits[:, 0] & fits[:, 1] & fits[:, 2]).mean(1)


def _masked_median(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The median over the last axis of the values where mask is set (0 where none is): numpy's
    nanmedian, without its per-row overhead."""
    ordered = np.sort(np.where(mask, values, np.inf), axis=-1)
    n = mask.sum(-1, keepdims=True)
    low = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0), -1)
    high = np.take_along_axis(ordered, np.maximum(n // 2, 0), -1)
    return np.where(n > 0, (low + high) / 2, 0.0)[..., 0].astype(np.float32)


def _fit_light(keep, ratio, xy, offsets, slope):
    """Least squares of log(view / work) = channel offset + shared x/y slope over the kept values
    ((K, 3, P) each); a fit with too few values keeps the previous one."""
    m = keep.astype(np.float32)
    mm = m[:, 0] + m[:, 1] + m[:, 2]  # (K, P)
    gram = np.zeros((len(m), 5, 5), np.float32)
    gram[:, [0, 1, 2], [0, 1, 2]] = m.sum(2)
    cross = m @ xy.T  # (K, 3, 2)
    gram[:, :3, 3:], gram[:, 3:, :3] = cross, cross.transpose(0, 2, 1)
    gram[:, 3:, 3:] = (mm[:, None, :] * xy[None]) @ xy.T
    rm = ratio * m
    rhs = np.concatenate([rm.sum(2), (rm[:, 0] + rm[:, 1] + rm[:, 2]) @ xy.T], axis=1)
    sol = np.linalg.solve(gram + 1e-3 * np.eye(5, dtype=np.float32), rhs[..., None])[..., 0]
    enough = (mm.sum(1) >= 30)[:, None]
    return np.where(enough, sol[:, :3], offsets), np.where(enough, np.clip(sol[:, 3:], -0.6, 0.6), slope)


# --- deciding ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecognizerSettings:
    voted: int = 2  # works checked by keypoints: the most voted over the whole catalog ...
    min_votes: int = 5  # ... with at least this many votes ...
    described: int = 2  # ... and the first two textured works among the four most like each of the two best places
    places: int = 3  # candidate quadrilaterals compared in detail
    place_weight: float = 1.0  # how much a place's picture-likeness counts beside what a work explains of it
    min_inliers: int = 10  # RANSAC inliers for a keypoint verification ...
    sure_inliers: int = 40  # ... below which the matched picture must also be explained (keypoint_explained)
    keypoint_explained: float = 0.5  # fraction of its picture a few-inlier keypoint match must explain
    textured_work: int = 300  # a catalog work with this many keypoints (of 600) is recognised by keypoints only
    refine: int = 3  # works aligned in detail onto each place for a low-texture view
    structure_weight: float = 0.4  # how much layout and edges count beside colour in the global similarity
    area_weight: float = 0.5  # how strongly a larger candidate quadrilateral is preferred
    quality_weight: float = 1.0  # how strongly one whose sides lie on edges is preferred
    aspect_tolerance: float = 0.12  # |log| of a place's side ratio over a work's (views up to 25 degrees: < 0.1)
    colour_scale: float = 0.15  # relative colour distance (after cast gains) that halves the similarity
    pixel_tolerance: float = 0.12  # log-intensity difference a pixel may keep after the light fit
    colour_weight: float = 0.5  # how much the global similarity counts beside what a work explains
    plain_discount: float = 0.75  # share of what a plain colour explains that does not count for a work
    explained_accept: float = 0.1  # value (see Recognizer.pairs) a low-texture view's best work needs ...
    explained_margin: float = 0.03  # ... by this much more than the next work ...
    explained_least: float = 0.5  # ... and explain at least this fraction of its place
    explained_alone: float = 0.06  # a lower value is enough for a work that no other comes near ...
    explained_alone_margin: float = 0.1  # ... by this much
    grain_cells: int = 6  # grain cells found alike that recognise a grainy work (chance: at most 4)
    grain_tried: int = 6  # the best (work, place) pairs whose work is grainy are checked for its grain


@dataclass(frozen=True)
class Place:
    """A candidate quadrilateral, how picture-like it is, and its global similarity to every work."""
    quad: np.ndarray
    weight: float
    scores: np.ndarray


@dataclass(frozen=True)
class Recognition:
    artwork_id: str | None
    confidence: float
    method: str  # keypoints | grain | global | none
    seconds: float
    quad: list | None = None
    candidates: list | None = None


class Recognizer:
    def __init__(self, features: dict[str, ArtworkFeatures], settings: RecognizerSettings = RecognizerSettings()):
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
        grains = {k: grain_of(features[i].square) for k, i in enumerate(self.ids)}
        self.grain = {k: g for k, g in grains.items() if g is not None}

    def global_scores(self, g: Global, works: np.ndarray) -> np.ndarray:
        """Similarity in [0, 1] of a description to the given catalog works (indices); the others score 0."""
        scores = np.zeros(len(self.ids), np.float32)
        structure = 0.5 * (self.lum[works] @ g.lum) + 0.5 * (self.hog[works] @ g.hog)
        colour_dist = self.colour.distance(g.colour.reshape(3, 64), works)
        w = self.s.structure_weight
        scores[works] = (1 - w + w * np.clip(structure, 0, 1)) * np.exp(-np.log(2) * colour_dist / self.s.colour_scale)
        return scores

    def _explained(self, crop: np.ndarray, idx: list[int], plain: np.ndarray | None = None) -> np.ndarray:
        """The fraction of the rectified view that each work (then a plain picture, if given) explains
        once its thumbnail is aligned onto it and the gallery's light (level and slope across the
        picture) and a mild colour cast are fitted."""
        return explained_fractions(*self._aligned(crop, idx, plain), self.s.pixel_tolerance)

    def _aligned(self, crop: np.ndarray, idx: list[int], plain: np.ndarray | None = None):
        """The works' thumbnails (then the plain picture) and the view aligned onto each, stacked."""
        extra = [] if plain is None else [plain]
        thumbs = np.stack([self.features[self.ids[i]].thumb for i in idx] + extra)
        views = np.stack([_align(t, self.thumb_axes[i], crop) for t, i in zip(thumbs, idx)] + [crop] * len(extra))
        return thumbs, views

    def _voted(self, desc) -> list[int]:
        """The works whose keypoints the frame's keypoints match most often over the whole catalog (an
        approximate nearest-neighbour index): a textured work is found even where no outline is."""
        if self.index is None or desc is None or len(desc) < 8:
            return []
        matches = self.index.knnMatch(desc, k=1)
        hits = np.int64([self.owner[m[0].trainIdx] for m in matches if m and m[0].distance < VOTE_DISTANCE])
        votes = np.bincount(hits, minlength=len(self.ids))
        return [int(i) for i in np.argsort(-votes)[: self.s.voted] if votes[i] >= self.s.min_votes]

    def _verify(self, idx: int, pts: np.ndarray, desc, frame_hw: tuple[int, int]) -> tuple[int, np.ndarray | None]:
        """RANSAC inliers of a work's keypoints matched in the frame (nearest two, ratio test; `pts` the
        frame's keypoint positions), and where the work's corners land in the frame, in corner order.
        A few inliers (a blurred texture) are grown by matching again near where the homography puts
        each keypoint, with a looser distance."""
        f = self.features[self.ids[idx]]
        pairs = self.matcher.knnMatch(f.descriptors, desc, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
        if len(good) < GUIDE_FROM:
            return 0, None
        H, inliers = _homography(f.keypoints[[m.queryIdx for m in good]], pts[[m.trainIdx for m in good]])
        if H is None:
            return 0, None
        corners = np.float32([[[0, 0]], [[f.size[0], 0]], [[f.size[0], f.size[1]]], [[0, f.size[1]]]])
        quad = cv2.perspectiveTransform(corners, H).reshape(4, 2)
        if not _plausible(quad, frame_hw):
            return 0, None
        # Too few inliers as they are (a blurred texture?): matched again near where H puts each keypoint -
        # only from a plausible H, as a degenerate one piles the work's keypoints onto a few frame points.
        if GUIDE_FROM <= inliers < self.s.min_inliers:
            src, dst = _guided(f, H, pts, desc)
            if len(src) > inliers:
                H2, inliers2 = _homography(src, dst)
                if H2 is not None and inliers2 > inliers:
                    quad2 = cv2.perspectiveTransform(corners, H2).reshape(4, 2)
                    if _plausible(quad2, frame_hw):
                        quad, inliers = quad2, inliers2
        return inliers, _order(quad)

    def _checked(self, pts: np.ndarray, desc, works: list[int], frame_hw: tuple[int, int]) -> list:
        """(inliers, quad, work) of each work verified by keypoints, most inliers first."""
        if desc is None or len(desc) < 8:
            return []
        return sorted(((*self._verify(i, pts, desc, frame_hw), i) for i in works), key=lambda c: -c[0])

    def _described(self, places: list[Place]) -> list[int]:
        """The textured works that look most like the best places: checked by keypoints too."""
        return [int(i) for p in places[:2] for i in
                [i for i in np.argsort(-p.scores)[:4] if p.scores[i] > 0 and self.textured[i]][: self.s.described]]

    def _keypoint_match(self, frame_bgr: np.ndarray, checked: list) -> tuple[int, int, np.ndarray | None]:
        """The catalog work best verified by keypoints: (work, inliers, quad), or inliers 0. A match
        with few inliers must also explain the picture where its homography puts it: an unknown busy
        work shares a dozen chance keypoints with some catalog work, but not its picture."""
        for inliers, quad, i in checked:
            if inliers < self.s.min_inliers:
                break
            if inliers >= self.s.sure_inliers:
                return i, inliers, quad
            crop = rectify(frame_bgr, quad, THUMB)
            if self._explained(crop, [i])[0] >= self.s.keypoint_explained:
                return i, inliers, quad
        return -1, 0, None

    def places(self, frame_bgr: np.ndarray, found: list[tuple[np.ndarray, float]]) -> list[Place]:
        """The candidate quadrilaterals that look most like a catalog work, best first. The whole
        picture, not one of its bands: a part of a colour field looks like another, plainer work, so
        smaller quadrilaterals, and those whose sides lie less on edges, weigh less; and a work is
        only considered for a quadrilateral of about its own shape."""
        if not found:
            found = [(_central(frame_bgr), 0.5)]
        biggest = max(cv2.contourArea(q) for q, _ in found)
        out = []
        for quad, quality in found:
            weight = (cv2.contourArea(quad) / biggest) ** self.s.area_weight * quality ** self.s.quality_weight
            # Only works of about the place's shape are compared (a quarter of the catalog, or so).
            shaped = np.flatnonzero(np.abs(self.log_aspect - _log_aspect(quad)) < self.s.aspect_tolerance)
            if len(shaped):
                scores = self.global_scores(describe(rectify(frame_bgr, quad)), shaped)
            else:
                scores = np.zeros(len(self.ids), np.float32)
            out.append(Place(quad, weight, scores))
        out.sort(key=lambda p: -float(p.scores.max()) * p.weight)
        return out[: self.s.places]

    def pairs(self, frame_bgr: np.ndarray, places: list[Place]) -> list[tuple[float, float, int, int]]:
        """(value, explained fraction, work, place index) for each place's best few works, best first.
        The value is what a work explains beyond what a plain colour under the same light explains (a
        plain work explains any plain patch), weighed by how picture-like the place is."""
        shortlists, thumbs, views = [], [], []
        for k, p in enumerate(places):
            short = [int(i) for i in np.argsort(-p.scores)[: self.s.refine] if p.scores[i] > 0]
            if not short:
                continue
            crop = rectify(frame_bgr, p.quad, THUMB)
            plain = np.broadcast_to(np.median(crop.reshape(-1, 3), 0).astype(np.uint8), crop.shape)
            t, v = self._aligned(crop, short, plain)
            shortlists.append((k, short))
            thumbs.append(t)
            views.append(v)
        if not shortlists:
            return []
        # One fit for every place's works at once: the same per-work fits, less per-call overhead.
        every = explained_fractions(np.concatenate(thumbs), np.concatenate(views), self.s.pixel_tolerance)
        out, start = [], 0
        for k, short in shortlists:
            fractions = every[start:start + len(short) + 1]
            start += len(short) + 1
            gain = fractions[:-1] - self.s.plain_discount * fractions[-1]
            # The global similarity weighs in too: it sees absolute colour, which the light fit forgives.
            weight = places[k].weight ** self.s.place_weight
            out += [(float(g) * weight * float(places[k].scores[i]) ** self.s.colour_weight, float(f), i, k)
                    for g, f, i in zip(gain, fractions, short)]
        return sorted(out, reverse=True)

    def _decide_global(self, frame_bgr, places: list[Place], found: bool, elapsed) -> Recognition:
        """Low texture: align each candidate's thumbnail to each candidate place, and accept the work
        that explains a place best, when that is enough and clearly more than any other work explains
        of any place."""
        pairs = self.pairs(frame_bgr, places)
        if not pairs:
            return Recognition(None, 0.0, "none", elapsed(), places[0].quad.tolist(), [])
        candidates = [(self.ids[i], round(v, 4), round(f, 4)) for v, f, i, _ in pairs[:4]]
        grained = self._by_grain(frame_bgr, places, pairs, candidates, elapsed)
        if grained is not None:
            return grained
        value, f1, first, k = pairs[0]
        second = max((v for v, _, i, _ in pairs if i != first), default=0.0)
        quad = places[k].quad.tolist()
        if not found or self.textured[first] or first in self.grain:
            # No outline found, or a textured or grainy work that failed its check: not by colour alone.
            return Recognition(None, 0.0, "none", elapsed(), quad, candidates)
        margin = value - second
        # Enough value and clearly above any other work, or a little less value with no rival at all.
        sure = (value >= self.s.explained_accept and margin >= self.s.explained_margin) or (
            value >= self.s.explained_alone and margin >= self.s.explained_alone_margin)
        if sure and f1 >= self.s.explained_least:
            conf = min(1.0, (value - second) / (2 * self.s.explained_margin)) * f1
            return Recognition(self.ids[first], round(conf, 3), "global", elapsed(), quad, candidates)
        return Recognition(None, round(f1 * 0.5, 3), "none", elapsed(), quad, candidates)

    def _by_grain(self, frame_bgr, places: list[Place], pairs, candidates, elapsed) -> Recognition | None:
        """A grainy work among the best pairs whose grain is found in one of the places: a noise-like
        texture that keypoints miss (too faint, too blurred) and that a plain colour explains nearly
        as well as the work itself (so colour alone cannot tell it from a like-coloured texture). Its
        own place first, then the others: a visitor may have pulled a side out of shape (off the work's
        aspect) while the grain still lies within a cell's shift of where that place puts it."""
        best = [(i, k) for _, _, i, k in pairs[: self.s.grain_tried] if i in self.grain]
        works = list(dict.fromkeys(i for i, _ in best))
        tried = list(dict.fromkeys(best + [(i, k) for i in works for k in range(len(places))]))
        views: dict[int, np.ndarray] = {}
        for i, k in tried:
            if k not in views:
                views[k] = rectify(frame_bgr, places[k].quad, GRAIN)
            found = grain_found(self.grain[i], views[k])
            if found >= self.s.grain_cells:
                conf = min(1.0, found / (2 * self.s.grain_cells))
                return Recognition(self.ids[i], round(conf, 3), "grain", elapsed(), places[k].quad.tolist(), candidates)
        return None

    def recognize(self, frame_bgr: np.ndarray) -> Recognition:
        """The artwork in a BGR frame of any size (recognised at FRAME_WIDTH; the quad is given in the
        frame's own pixels)."""
        start = time.perf_counter()
        h, w = frame_bgr.shape[:2]
        scale = FRAME_WIDTH / w
        if scale != 1.0:  # every size in pixels here (keypoints, quads, tolerances) is for this width
            shrink = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            frame_bgr = cv2.resize(frame_bgr, (FRAME_WIDTH, max(1, round(h * scale))), interpolation=shrink)
        r = self._recognize(frame_bgr, start)
        if scale == 1.0 or r.quad is None:
            return r
        return replace(r, quad=(np.float32(r.quad) / scale).tolist())

    def _recognize(self, frame_bgr: np.ndarray, start: float) -> Recognition:
        elapsed = lambda: time.perf_counter() - start
        if not self.ids:
            return Recognition(None, 0.0, "none", elapsed())
        kps, desc = self.orb.detectAndCompute(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY), None)
        pts = np.float32([k.pt for k in kps]).reshape(-1, 2)
        voted = self._voted(desc)
        hw = frame_bgr.shape[:2]
        checked = self._checked(pts, desc, voted, hw)
        if checked and checked[0][0] >= self.s.sure_inliers:  # a busy work, sure: no outline needed
            return self._by_keypoints(*checked[0], elapsed)
        found = find_quads(frame_bgr)
        places = self.places(frame_bgr, found)
        more = [i for i in dict.fromkeys(self._described(places)) if i not in voted]
        checked = sorted(checked + self._checked(pts, desc, more, hw), key=lambda c: -c[0])
        work, inliers, quad = self._keypoint_match(frame_bgr, checked)
        if inliers:
            return self._by_keypoints(inliers, quad, work, elapsed)
        return self._decide_global(frame_bgr, places, bool(found), elapsed)

    def _by_keypoints(self, inliers: int, quad: np.ndarray, work: int, elapsed) -> Recognition:
        conf = min(1.0, inliers / self.s.sure_inliers)
        return Recognition(self.ids[work], round(conf, 3), "keypoints", elapsed(), quad.tolist(),
                           [(self.ids[work], inliers)])


VOTE_DISTANCE = 45  # Hamming distance (of 256 bits) under which two ORB descriptors vote as the same point


GUIDE_FROM = 6  # RANSAC inliers from which a homography guides a second, local matching
GUIDE_RADIUS = 8.0  # frame pixels around a keypoint's predicted place where its match may lie
GUIDE_DISTANCE = 64  # Hamming distance for a guided match (unrelated ORB descriptors lie ~128 apart)
_POPCOUNT = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(1).astype(np.uint8)  # bits set


def _homography(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray | None, int]:
    """The homography from matched work points to frame points (USAC) and its inlier count."""
    H, mask = cv2.findHomography(src, dst, cv2.USAC_DEFAULT, 6.0, maxIters=500, confidence=0.99)
    return (None, 0) if H is None else (H, int(mask.sum()))


def _guided(f: ArtworkFeatures, H: np.ndarray, frame_pts: np.ndarray, frame_desc: np.ndarray):
    """Matches of a work's keypoints among the frame's keypoints near where H puts them (work points,
    frame points): blur spoils a descriptor's nearest neighbour, not its place."""
    if not len(f.keypoints) or not len(frame_pts):
        return np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)
    predicted = cv2.perspectiveTransform(f.keypoints.reshape(-1, 1, 2), H).reshape(-1, 2)
    # Squared distances as |a|^2 + |b|^2 - 2ab: one matrix product, no (K, N, 2) temporary.
    d2 = (predicted**2).sum(1)[:, None] + (frame_pts**2).sum(1)[None] - 2.0 * predicted @ frame_pts.T
    near = d2 < GUIDE_RADIUS**2
    wi, fi = np.nonzero(near)
    distance = _POPCOUNT[f.descriptors[wi] ^ frame_desc[fi]].sum(1, dtype=np.int32)
    ok = distance < GUIDE_DISTANCE
    wi, fi, distance = wi[ok], fi[ok], distance[ok]
    order = np.lexsort((distance, wi))  # each work keypoint's closest descriptor first
    first = np.ones(len(order), bool)
    first[1:] = wi[order][1:] != wi[order][:-1]
    keep = order[first]
    return f.keypoints[wi[keep]], frame_pts[fi[keep]]


def _keypoint_index(descriptors: list[np.ndarray]):
    """An LSH index (FLANN) over every catalog work's ORB descriptors, and which work owns each row."""
    rows = [d for d in descriptors if len(d)]
    if not rows:
        return None, np.zeros(0, np.int64)
    owner = np.concatenate([np.full(len(d), k, np.int64) for k, d in enumerate(descriptors)])
    lsh = {"algorithm": 6, "table_number": 6, "key_size": 14, "multi_probe_level": 0}  # 6: FLANN_INDEX_LSH
    index = cv2.FlannBasedMatcher(lsh, {"checks": 16})
    index.add([np.concatenate(rows)])
    index.train()
    return index, owner


def _log_aspect(quad: np.ndarray) -> float:
    """log(width / height) of the picture a quadrilateral shows, from its mean side lengths (within
    ~10 % of the truth for views up to 25 degrees)."""
    q = _order(quad)
    top, bottom, left, right = (float(np.linalg.norm(q[a] - q[b])) for a, b in ((0, 1), (3, 2), (0, 3), (1, 2)))
    return float(np.log((top + bottom) / max(left + right, 1e-6)))


def _central(frame_bgr: np.ndarray) -> np.ndarray:
    """With no quadrilateral found, the middle of the frame is the best guess of where a work hangs."""
    h, w = frame_bgr.shape[:2]
    return np.float32([[0.2 * w, 0.2 * h], [0.8 * w, 0.2 * h], [0.8 * w, 0.8 * h], [0.2 * w, 0.8 * h]])


def _plausible(corners: np.ndarray, frame_hw: tuple[int, int]) -> bool:
    """A work's corners, mapped by a homography, make a picture as a camera sees one: convex, every
    corner 30-150 degrees, between 2 % and 4 times the frame's area, no corner more than a frame's
    size beyond it. A degenerate homography (chance matches of repeated features, such as a stripe's
    ends) squashes the work into a sliver or blows it up."""
    q = np.float32(corners).reshape(4, 2)
    h, w = frame_hw
    if (q < -np.float32([w, h])).any() or (q > 2 * np.float32([w, h])).any():
        return False
    if not cv2.isContourConvex(q.reshape(-1, 1, 2)) or not 0.02 * w * h < cv2.contourArea(q) < 4 * w * h:
        return False
    sides = q[_NEXT] - q
    length = np.linalg.norm(sides, axis=1)
    if length.min() < 1e-3:
        return False
    cos = -(sides * sides[_PREVIOUS]).sum(1) / (length * length[_PREVIOUS])
    return bool(np.abs(cos).max() < np.cos(np.radians(30)))
