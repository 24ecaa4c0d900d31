"""Which catalog artwork is in a camera frame, or none.

Two complementary cues, both needed in a real gallery:
- a global description of the framed picture: the work's quadrilateral is found (luminance and
  colour edges -> contours and straight lines -> quads that lie on edges), rectified to a square
  and described by its contrast-normalised luminance layout, gradient orientations (HOG) and a
  colour layout compared after fitting the light and a cast; it recognises low-texture works
  (colour fields, stripes, hard-edge) where keypoints find nothing, and gives a shortlist, which
  for a low-texture view is re-checked by aligning each work's thumbnail onto it (ECC);
- ORB keypoints matched to the shortlisted works and verified by a RANSAC homography; it
  recognises busy works through perspective and a visitor in front.
A textured picture must pass the keypoint check (so an unknown busy work is rejected); a
low-texture one must match the global description by a margin. A wrong artwork is worse than none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

FEATURE_VERSION = 5
SIDE = 32  # rectified size for the global description
ORB_FEATURES_CATALOG = 600
ORB_FEATURES_FRAME = 800
WORK_SIDE = 400  # catalog images are described at this longest side
THUMB = 48  # side of the square thumbnails aligned to a low-texture view


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

    def arrays(self) -> dict:
        return {"glob": self.glob, "keypoints": self.keypoints, "descriptors": self.descriptors, "wh": self.size,
                "thumb": self.thumb}

    @staticmethod
    def from_arrays(z) -> "ArtworkFeatures":
        return ArtworkFeatures(z["glob"], z["keypoints"], z["descriptors"], z["wh"], z["thumb"])


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
    return ArtworkFeatures(describe(work).stack(), pts, desc, np.array([work.shape[1], work.shape[0]], np.int32), thumb)


# --- finding the picture in a frame -------------------------------------------------------------

def _order(quad: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    s, d = quad.sum(1), np.diff(quad, axis=1).ravel()
    return np.float32([quad[np.argmin(s)], quad[np.argmin(d)], quad[np.argmax(s)], quad[np.argmax(d)]])


def _edges(small_bgr: np.ndarray) -> np.ndarray:
    """Edges of luminance and of colour: a pale work on a pale wall differs in hue, not brightness."""
    lab = cv2.cvtColor(cv2.GaussianBlur(small_bgr, (5, 5), 0), cv2.COLOR_BGR2Lab)
    edges = np.zeros(lab.shape[:2], np.uint8)
    for ch, (lo, hi) in zip(cv2.split(lab), ((20, 60), (8, 24), (8, 24))):
        edges |= cv2.Canny(ch, lo, hi)
    return cv2.dilate(edges, np.ones((3, 3), np.uint8))


MIN_EDGE_SUPPORT = 0.5


def _edge_support(edges: np.ndarray, quad: np.ndarray, samples: int = 120) -> float:
    """The fraction of points along the quadrilateral's sides that fall on an edge."""
    pts = []
    for a, b in zip(quad, np.roll(quad, -1, axis=0)):
        t = np.linspace(0, 1, samples // 4, endpoint=False)[:, None]
        pts.append(a + (b - a) * t)
    p = np.round(np.concatenate(pts)).astype(int)
    h, w = edges.shape
    inside = (p[:, 0] >= 0) & (p[:, 0] < w) & (p[:, 1] >= 0) & (p[:, 1] < h)
    hits = edges[p[inside, 1], p[inside, 0]] > 0
    return float(hits.sum()) / len(p)


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


def find_quads(frame_bgr: np.ndarray, max_quads: int = 6) -> list[np.ndarray]:
    """Candidate picture quadrilaterals (frame pixel coordinates), largest first: for each large
    contour its 4-corner approximation and its minimum-area rectangle (which survives a corner
    hidden by a visitor)."""
    h, w = frame_bgr.shape[:2]
    scale = 320 / w
    small = cv2.resize(frame_bgr, (320, round(h * scale)), interpolation=cv2.INTER_AREA)
    edges = _edges(small)
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    area = small.shape[0] * small.shape[1]
    quads: list[np.ndarray] = []

    def add(quad) -> None:
        quad = np.float32(quad).reshape(4, 2)
        if _edge_support(edges, quad) < MIN_EDGE_SUPPORT:
            return  # its sides do not lie on edges: a glare spot's or a shadow's box, not a picture
        quad = _order(quad / scale)
        if all(np.abs(quad - q).max() > 12 for q in quads):
            quads.append(quad)

    for c in sorted(contours, key=cv2.contourArea, reverse=True)[:8]:
        hull = cv2.convexHull(c)
        a = cv2.contourArea(hull)
        if not 0.12 * area <= a <= 0.97 * area:
            continue
        for eps in (0.02, 0.05):
            approx = cv2.approxPolyDP(hull, eps * cv2.arcLength(hull, True), True)
            if len(approx) == 4:
                add(approx)
                break
        sides = _longest_sides(cv2.approxPolyDP(hull, 0.01 * cv2.arcLength(hull, True), True).reshape(-1, 2))
        if sides is not None:
            add(sides)
        add(cv2.boxPoints(cv2.minAreaRect(hull)))
        if len(quads) >= max_quads:
            break
    for quad in _line_quads(edges, area):
        add(quad)
    return quads


def _line_quads(edges: np.ndarray, area: float, keep: int = 2) -> list[np.ndarray]:
    """Quadrilaterals from the longest straight edges: two roughly horizontal and two roughly
    vertical lines. A picture's sides stay straight lines where a visitor hides a corner, which a
    contour's hull does not."""
    h, w = edges.shape
    lines = cv2.HoughLinesP(edges, 1, np.pi / 180, threshold=40, minLineLength=0.2 * min(h, w), maxLineGap=8)
    if lines is None:
        return []
    segs = lines.reshape(-1, 4).astype(np.float64)
    angle = np.degrees(np.arctan2(segs[:, 3] - segs[:, 1], segs[:, 2] - segs[:, 0])) % 180
    length = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    horizontal = [segs[i] for i in np.argsort(-length) if min(angle[i], 180 - angle[i]) < 35][:4]
    vertical = [segs[i] for i in np.argsort(-length) if abs(angle[i] - 90) < 35][:4]
    found = []
    for i, top in enumerate(horizontal):
        for bottom in horizontal[i + 1 :]:
            for j, left in enumerate(vertical):
                for right in vertical[j + 1 :]:
                    quad = _quad_from_lines(top, bottom, left, right)
                    if quad is None:
                        continue
                    a = cv2.contourArea(quad)
                    if 0.12 * area <= a <= 0.97 * area:
                        found.append((_edge_support(edges, quad) * np.sqrt(a), quad))
    found.sort(key=lambda f: -f[0])
    return [q for _, q in found[:keep]]


def _quad_from_lines(a, b, c, d) -> np.ndarray | None:
    """The quadrilateral bounded by two roughly horizontal (a, b) and two roughly vertical (c, d) lines."""
    pts = [np.array(p[:2]) for p in (a, b, c, d)]
    ends = [np.array(p[2:]) for p in (a, b, c, d)]
    corners = []
    for hi, vi in ((0, 2), (0, 3), (1, 3), (1, 2)):
        p = _intersect(pts[hi], ends[hi], pts[vi], ends[vi])
        if p is None:
            return None
        corners.append(p)
    quad = _order(np.float32(corners))
    return quad if cv2.isContourConvex(quad.reshape(-1, 1, 2)) else None


def rectify(frame_bgr: np.ndarray, quad: np.ndarray, side: int = 96) -> np.ndarray:
    dst = np.float32([[0, 0], [side, 0], [side, side], [0, side]])
    return cv2.warpPerspective(frame_bgr, cv2.getPerspectiveTransform(quad, dst), (side, side),
                               flags=cv2.INTER_AREA)


def _grid(cells: int) -> np.ndarray:
    side = int(round(cells**0.5))
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / max(side - 1, 1) - 0.5
    return np.stack([x.ravel(), y.ravel()])


def colour_distance(works: np.ndarray, view_cells: np.ndarray, trim: float = 0.75) -> np.ndarray:
    """Relative colour distance of a view (3, P cells on a square grid) to each work (N, 3, P), after
    fitting what a gallery does to colours: light that varies across the picture (a level and a
    linear slope, shared by the channels) and a mild colour cast (per channel, 0.85-1.18). The worst
    quarter of the cells (a visitor, a glare spot) does not count."""
    c, q = works.astype(np.float32), view_cells.astype(np.float32)
    xy = _grid(q.shape[1])  # (2, P)
    basis = np.concatenate([c[:, None], c[:, None] * xy[None, :, None], ], axis=1)  # (N, 3, 3ch, P)
    basis = basis.reshape(len(c), 3, -1)  # terms: level, x-slope, y-slope over all channel values
    target = np.broadcast_to(q.reshape(-1), (len(c), q.size))
    gram = np.einsum("nip,njp->nij", basis, basis) + 1e-4 * np.eye(3)
    rhs = np.einsum("nip,np->ni", basis, target)
    light = np.linalg.solve(gram, rhs[..., None])[..., 0]  # (N, 3)
    light[:, 0] = np.clip(light[:, 0], 0.5, 1.6)
    light[:, 1:] = np.clip(light[:, 1:], -0.6, 0.6)
    lit = c * (light[:, 0, None, None] + light[:, 1, None, None] * xy[0] + light[:, 2, None, None] * xy[1])
    cast = np.clip((lit * q).sum(2) / ((lit**2).sum(2) + 1e-6), 0.85, 1.18)
    cells = np.abs(lit * cast[:, :, None] - q).sum(1)  # (N, P)
    kept = np.sort(cells, axis=1)[:, : int(trim * cells.shape[1])]
    return kept.mean(axis=1) / (3 * q.mean() + 0.05)


# --- deciding ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecognizerSettings:
    shortlist: int = 4
    min_inliers: int = 14  # RANSAC inliers for a keypoint verification
    textured_work: int = 150  # a catalog work with this many keypoints is recognised by keypoints only
    global_accept: float = 0.12  # global similarity a low-texture picture needs ...
    global_ratio: float = 2.0  # ... and this many times the best other artwork's (tuned: < 2 % false positives)
    accept_growth: float = 0.35  # global_accept grows by this fraction per doubling of the catalog past 100
    refine: int = 3  # shortlisted works aligned in detail for a low-texture view
    structure_weight: float = 0.4  # how much layout and edges count beside colour in the global similarity
    area_weight: float = 0.5  # how strongly a larger candidate quadrilateral is preferred
    colour_scale: float = 0.15  # relative colour distance (after cast gains) that halves the similarity


@dataclass(frozen=True)
class Recognition:
    artwork_id: str | None
    confidence: float
    method: str  # keypoints | global | none
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
        self.colour = g[:, 384:].reshape(len(self.ids), 3, 64)
        self.orb = _orb(ORB_FEATURES_FRAME)
        # A larger catalog holds more look-alikes of any unknown work: a stricter global threshold.
        self.accept = self.s.global_accept * (1 + self.s.accept_growth * np.log2(max(len(self.ids), 100) / 100))
        self.matcher = cv2.BFMatcher(cv2.NORM_HAMMING)

    def global_scores(self, g: Global) -> np.ndarray:
        """Similarity in [0, 1] of a description to every catalog work."""
        structure = 0.5 * (self.lum @ g.lum) + 0.5 * (self.hog @ g.hog)
        colour_dist = colour_distance(self.colour, g.colour.reshape(3, 64))
        w = self.s.structure_weight
        return (1 - w + w * np.clip(structure, 0, 1)) * np.exp(-np.log(2) * colour_dist / self.s.colour_scale)

    def _aligned(self, crop: np.ndarray, idx: int) -> float:
        """Similarity of the rectified view to a work after aligning the work's thumbnail onto it:
        correlation of luminance and the colour match (light level and cast fitted), both in [0, 1]."""
        thumb = self.features[self.ids[idx]].thumb
        # Aligned on the work's own main colour axis, not grey: bands of equal brightness but different
        # hue (common in colour-field and hard-edge painting) still give ECC something to hold on to.
        t_col = thumb.reshape(-1, 3).astype(np.float32)
        centred = t_col - t_col.mean(0)
        axis = np.linalg.svd(centred, full_matrices=False)[2][0] if centred.any() else np.ones(3, np.float32) / 3
        t_gray = (t_col @ axis).reshape(THUMB, THUMB).astype(np.float32)
        c_gray = (crop.reshape(-1, 3).astype(np.float32) @ axis).reshape(THUMB, THUMB).astype(np.float32)
        # A shift only: the quadrilateral already rectified the view, and more freedom (affine,
        # homography) lets one smooth gradient or band layout be bent onto another (measured: 77.5 %
        # top-1 and 0.3 % false positives with shifts, 74 % and 1.7 % with homographies).
        warp = np.eye(2, 3, dtype=np.float32)
        try:
            cc, warp = cv2.findTransformECC(t_gray, c_gray, warp, cv2.MOTION_TRANSLATION,
                                            (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 1e-4), None, 3)
        except cv2.error:  # a flat work gives ECC nothing to hold on to: compare it unaligned
            cc, warp = 0.0, np.eye(2, 3, dtype=np.float32)
        aligned = cv2.warpAffine(crop, warp, (THUMB, THUMB), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                 borderMode=cv2.BORDER_REPLICATE)
        c = thumb.reshape(-1, 3).T.astype(np.float32) / 255.0
        q = aligned.reshape(-1, 3).T.astype(np.float32) / 255.0
        dist = float(colour_distance(c[None], q)[0])
        colour = float(np.exp(-np.log(2) * dist / self.s.colour_scale))
        return colour * (0.5 + 0.5 * max(float(cc), 0.0))

    def _verify(self, idx: int, kps, desc) -> int:
        f = self.features[self.ids[idx]]
        if desc is None or len(f.descriptors) < 8 or len(desc) < 8:
            return 0
        pairs = self.matcher.knnMatch(f.descriptors, desc, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
        if len(good) < self.s.min_inliers:
            return 0
        src = f.keypoints[[m.queryIdx for m in good]]
        dst = np.float32([kps[m.trainIdx].pt for m in good])
        H, mask = cv2.findHomography(src, dst, cv2.RANSAC, 6.0)
        if H is None or not _plausible(H, f.size):
            return 0
        return int(mask.sum())

    def _best_quad(self, frame_bgr: np.ndarray, quads: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The candidate quadrilateral whose picture matches the catalog best, and its scores. The whole
        picture, not one of its bands: a part of a colour field looks like another, plainer work, so
        smaller quadrilaterals must match clearly better to win."""
        areas = [cv2.contourArea(q) for q in quads]
        best = (-1.0, None, None)
        for q, a in zip(quads, areas):
            scores = self.global_scores(describe(rectify(frame_bgr, q)))
            value = float(scores.max()) * (a / max(areas)) ** self.s.area_weight
            if value > best[0]:
                best = (value, scores, q)
        return best[1], best[2]

    def _decide_global(self, frame_bgr, quad, scores, order, inliers, found: bool, elapsed) -> Recognition:
        """Low texture: align each shortlisted work's thumbnail to the view (ECC), compare in detail, and
        accept the best only when it is good and clearly better than the next."""
        crop = rectify(frame_bgr, quad, THUMB)
        refined = sorted(((float(scores[i]) * self._aligned(crop, int(i)), int(i)) for i in order[: self.s.refine]),
                         reverse=True)
        candidates = [(self.ids[i], round(v, 4), inliers.get(i, 0)) for v, i in refined]
        (s1, first), second = refined[0], (refined[1][0] if len(refined) > 1 else 0.0)
        if not found or len(self.features[self.ids[first]].descriptors) >= self.s.textured_work:
            # No outline found, or a textured work that failed its keypoint check: not by colour alone.
            return Recognition(None, 0.0, "none", elapsed(), quad.tolist(), candidates)
        if s1 >= self.accept and s1 >= self.s.global_ratio * second:
            conf = min(1.0, s1 / max(second, 1e-6) / (2 * self.s.global_ratio)) * min(1.0, 2 * s1)
            return Recognition(self.ids[first], round(conf, 3), "global", elapsed(), quad.tolist(), candidates)
        return Recognition(None, round(s1 * 0.5, 3), "none", elapsed(), quad.tolist(), candidates)

    def recognize(self, frame_bgr: np.ndarray) -> Recognition:
        start = time.perf_counter()
        elapsed = lambda: time.perf_counter() - start  # noqa: E731
        if not self.ids:
            return Recognition(None, 0.0, "none", elapsed())
        found = find_quads(frame_bgr)
        scores, quad = self._best_quad(frame_bgr, found or [_central(frame_bgr)])
        kps, desc = self.orb.detectAndCompute(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY), None)
        order = np.argsort(-scores)[: self.s.shortlist]
        inliers = {int(i): self._verify(int(i), kps, desc) for i in order}
        top = max(inliers, key=inliers.get)
        if inliers[top] >= self.s.min_inliers:
            candidates = [(self.ids[int(i)], round(float(scores[i]), 4), inliers[int(i)]) for i in order]
            conf = min(1.0, inliers[top] / (3.0 * self.s.min_inliers))
            return Recognition(self.ids[top], round(conf, 3), "keypoints", elapsed(), quad.tolist(), candidates)
        return self._decide_global(frame_bgr, quad, scores, order, inliers, bool(found), elapsed)


def _central(frame_bgr: np.ndarray) -> np.ndarray:
    """With no quadrilateral found, the middle of the frame is the best guess of where a work hangs."""
    h, w = frame_bgr.shape[:2]
    return np.float32([[0.2 * w, 0.2 * h], [0.8 * w, 0.2 * h], [0.8 * w, 0.8 * h], [0.2 * w, 0.8 * h]])


def _plausible(H: np.ndarray, wh: np.ndarray) -> bool:
    """The work's corners map to a convex, not degenerate quadrilateral of sane size."""
    w, h = float(wh[0]), float(wh[1])
    corners = cv2.perspectiveTransform(np.float32([[[0, 0]], [[w, 0]], [[w, h]], [[0, h]]]), H).reshape(4, 2)
    if not cv2.isContourConvex(corners.reshape(-1, 1, 2)):
        return False
    area = cv2.contourArea(corners)
    return 0.05 * w * h < area < 200 * w * h
