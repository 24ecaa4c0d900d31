"""Colour under a gallery's light: works' colour layouts compared after a fitted light and cast,
a view aligned onto a work's thumbnail along a colour axis, and the fraction of a view a work
explains under a robustly fitted light.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from installation.recognition.channels import channel_sum
from installation.recognition.features import THUMB


LAYOUT_CAST = (0.85, 1.18)  # per-channel gain of a view's colour layout over a work's (the room's tint)


def _grid(cells: int) -> np.ndarray:
    side = round(cells**0.5)
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / max(side - 1, 1) - 0.5
    return np.stack([x.ravel(), y.ravel()])


class ColourLayouts:
    """Colour distance of a view to works' colour layouts (N, 3, P cells on a square grid), after
    fitting what a gallery does to colours: light that varies across the picture (a level and a
    linear slope, shared by the channels) and a colour cast (per channel, LAYOUT_CAST). The worst
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

    def distances(self, views: np.ndarray, works: np.ndarray, which: np.ndarray) -> np.ndarray:
        """Of views (V, 3, P) to works, pair by pair: work `works[k]` with view `which[k]` (one call for
        every place of a frame: the same fits, less per-call overhead)."""
        q = views.astype(np.float32)[which]  # (K, 3, P)
        colours = self.works[works]
        rhs = (self.basis[works] @ q.reshape(len(q), 3 * q.shape[2])[..., None])[..., 0]  # (K, 3)
        light = (self.inverse[works] @ rhs[..., None])[..., 0]
        light[:, 0] = np.clip(light[:, 0], 0.5, 1.6)
        light[:, 1:] = np.clip(light[:, 1:], -0.6, 0.6)
        lit = colours * (light[:, 0, None, None] + light[:, 1, None, None] * self.xy[0]
                         + light[:, 2, None, None] * self.xy[1])
        cast = np.clip((lit * q).sum(2) / ((lit**2).sum(2) + 1e-6), *LAYOUT_CAST)
        diff = np.abs(lit * cast[:, :, None] - q)
        cells = diff[:, 0] + diff[:, 1] + diff[:, 2]  # (K, P)
        kept = np.sort(cells, axis=1)[:, : self.kept]  # sorted, not partitioned: summed in one order on any CPU
        return kept.mean(axis=1) / (3 * q.mean((1, 2)) + 0.05)


def _align(thumb: np.ndarray, axis: np.ndarray, crop: np.ndarray, motion: int = cv2.MOTION_TRANSLATION,
           margin: int = 0) -> np.ndarray:
    """The rectified view aligned onto a work's thumbnail (ECC), as a THUMB square. Aligned on the work's
    own main colour `axis`, not grey: bands of equal brightness but different hue still give ECC
    something to hold on to. `crop` holds `margin` pixels of the place's surroundings on every side, so
    that a place whose found corners miss the work's by a few pixels (a keystone, a side on a frame's
    inner edge) is warped onto it (`motion`: cv2.MOTION_TRANSLATION, _AFFINE or _HOMOGRAPHY); no corner
    may move further than the margin (or WARP_SHIFT): more freedom lets one smooth gradient or band
    layout be bent onto another."""
    t_gray, c_gray = _on_axis(thumb, axis), _on_axis(crop, axis)
    homography = motion == cv2.MOTION_HOMOGRAPHY
    start = np.eye(3, dtype=np.float32) if homography else np.eye(2, 3, dtype=np.float32)
    start[0, 2] = start[1, 2] = margin
    try:
        _, warp = cv2.findTransformECC(t_gray, c_gray, start.copy(), motion,
                                       (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 20, 1e-3), None, 3)
    except cv2.error:  # a flat work gives ECC nothing to hold on to: compare it unaligned
        warp = start
    if not _mild(warp, start, max(WARP_SHIFT, margin)):  # ran off: a warp this large is no alignment
        warp = start
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    if homography:
        return cv2.warpPerspective(crop, warp, (THUMB, THUMB), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    return cv2.warpAffine(crop, warp, (THUMB, THUMB), flags=flags, borderMode=cv2.BORDER_REPLICATE)


WARP_SHIFT = THUMB / 12  # thumbnail pixels a corner may move in the fine alignment


def _mild(warp: np.ndarray, start: np.ndarray, reach: float) -> bool:
    """Whether a fine alignment moves no thumbnail corner further than `reach` from where it began."""
    corners = np.float32([[0, 0], [THUMB, 0], [THUMB, THUMB], [0, THUMB]]).reshape(-1, 1, 2)
    if warp.shape[0] == 3:
        a, b = cv2.perspectiveTransform(corners, warp), cv2.perspectiveTransform(corners, start)
    else:
        a, b = cv2.transform(corners, warp), cv2.transform(corners, start)
    return bool(np.isfinite(a).all() and np.abs(a - b).max() <= reach)


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


_XY = np.mgrid[0:THUMB, 0:THUMB].astype(np.float32)[::-1] / (THUMB - 1) - 0.5  # (2: x, y, THUMB, THUMB)
_RING = 3  # thumbnail pixels at the edge left out: a picture frame, the wall where the quad is off


# |log| of a channel's gain beside the others': up to 2.5x, a strong cast of the whole scene (magenta seen
# red, white seen cyan). It was 0.22 while the value alone decided, and wider bounds cost wrong answers;
# since edges, ranks, the network and texture weigh beside it (verify.py), a clear work under such a
# cast is taken (renderer 2, seed 2: 4 views its light fit explained nothing of).
CAST = 0.9
LEVEL = (0.4, 2.5)  # the view's brightness over the work's: exposure and the light's strength
_LOG_LEVEL = np.log(np.float32(LEVEL))  # float32: float64 bounds would make every array of the fit float64 (slower)
TONE = (-0.35, 0.5)  # the view's contrast over the work's in log space: a camera's gamma or tone curve, 0.65-1.5
GLARE_EXCESS = 20.0  # grey levels above the prediction (in one channel; brighter in all) that make a pixel glare
GLARE_MOST = 0.5  # at most this share of a view is set aside as glare
GLARE_RIM = 2  # thumbnail pixels around glare left out of edge and rank agreement: its rim adds edges of its own


@dataclass(frozen=True)
class Explained:
    """What `explained` measured: the fraction of each view its work explains, and the pixels it set
    aside as glare ((K, P) bool, P the pixels within the ring, as WorkStructure's)."""
    fractions: np.ndarray
    glare: np.ndarray


def explained_fractions(thumbs: np.ndarray, views: np.ndarray, tolerance: float) -> np.ndarray:
    """The fractions alone (see `explained`)."""
    return explained(thumbs, views, tolerance).fractions


def explained(thumbs: np.ndarray, views: np.ndarray, tolerance: float) -> Explained:
    """For K works and the view aligned to each ((K, THUMB, THUMB, 3) both), the fraction of pixels
    where the view equals the work under the gallery's light and camera: view = work^(1+tone) x cast
    (one gain per channel, within CAST of the others) x light (a level and a linear slope across the
    picture), fitted robustly in log space; a pixel is explained when every channel is within
    `tolerance` of the prediction (plus a few grey levels for noise). The fit normalises the view by
    its own statistics against each work's (channel levels, contrast), so a strong cast of the whole
    scene or another camera gamma is explained, not bounded. Glare (brighter than the prediction in
    every channel: added light) is set aside, not counted against the work (up to half the view); a
    visitor is simply not explained."""
    r, k = _RING, len(thumbs)
    # Channels first (K, 3, P): numpy reduces a long last axis fast, a last axis of 3 slowly.
    work = np.ascontiguousarray(thumbs[:, r:-r, r:-r].reshape(k, -1, 3).transpose(0, 2, 1), np.float32)
    seen = np.ascontiguousarray(views[:, r:-r, r:-r].reshape(k, -1, 3).transpose(0, 2, 1), np.float32)
    xy = _XY[:, r:-r, r:-r].reshape(2, -1)  # (2, P)
    # Log ratios of dark values are noise: they do not steer the fit. Values the camera clipped do:
    # where most of a channel is clipped, what is left unclipped is mostly a visitor.
    reliable = (work > 24) & (seen > 24)
    log_work = np.log(work + 1.0)
    ratio = np.log(seen + 1.0) - log_work
    # The work's own contrast, centred per channel: a tone curve steepens or flattens it about its middle.
    m = reliable.astype(np.float32)
    centred = log_work - (log_work * m).sum(2, keepdims=True) / np.maximum(m.sum(2, keepdims=True), 1.0)
    clipped = seen >= 250
    # Start from each channel's median ratio (a visitor or glare spot cannot pull it), then fit least
    # squares for 3 channel offsets + a shared x/y slope + a shared tone on what the previous fit explains.
    offsets = _masked_median(ratio, reliable)
    slope = np.zeros((k, 2), np.float32)
    tone = np.zeros((k, 1), np.float32)
    keep = reliable
    for step in range(4):
        if step:
            offsets, slope, tone = _fit_light(keep, ratio, xy, centred, offsets, slope, tone)
        level = np.clip(offsets.mean(1, keepdims=True), *_LOG_LEVEL)
        offsets = level + np.clip(offsets - offsets.mean(1, keepdims=True), -CAST, CAST)
        predicted = work * np.exp(offsets[:, :, None] + (slope @ xy)[:, None, :] + tone[:, :, None] * centred)
        error = np.abs(seen - predicted) / (tolerance * predicted + 10.0)
        error[clipped & (predicted >= 235)] = 0.0  # clipped by the camera where the work is bright
        keep = reliable & (error < 2.0)
    fits = error < 1.0
    explained = fits[:, 0] & fits[:, 1] & fits[:, 2]
    # Glare: added light, brighter than the prediction in every channel (or clipped), clearly in one.
    excess = seen - predicted
    brighter = (excess > 0.5 * (tolerance * predicted + 10.0)) | clipped
    glare = brighter.all(1) & (excess.max(1) > GLARE_EXCESS) & ~explained
    counted = np.maximum(explained.shape[1] - glare.sum(1), (1 - GLARE_MOST) * explained.shape[1])
    return Explained(explained.sum(1) / counted, glare)


def _masked_median(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The median over the last axis of the values where mask is set (0 where none is): numpy's
    nanmedian, without its per-row overhead."""
    ordered = np.sort(np.where(mask, values, np.inf), axis=-1)
    n = mask.sum(-1, keepdims=True)
    low = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0), -1)
    high = np.take_along_axis(ordered, np.maximum(n // 2, 0), -1)
    return np.where(n > 0, (low + high) / 2, 0.0)[..., 0].astype(np.float32)


def _fit_light(keep, ratio, xy, centred, offsets, slope, tone):
    """Least squares of log(view / work) = channel offset + shared x/y slope + shared tone x the work's
    centred log value, over the kept values ((K, 3, P) each); a fit with too few values keeps the
    previous one. The tone is held near 0 (a plain work has no contrast to scale)."""
    m = keep.astype(np.float32)
    k = len(m)
    # Regressors per value: 3 channel indicators, x, y, tone. Gram (K, 6, 6) and right side (K, 6).
    mc = m * centred
    gram = np.zeros((k, 6, 6), np.float32)
    gram[:, [0, 1, 2], [0, 1, 2]] = m.sum(2)
    cross = m @ xy.T  # (K, 3, 2)
    gram[:, :3, 3:5], gram[:, 3:5, :3] = cross, cross.transpose(0, 2, 1)
    mm = m[:, 0] + m[:, 1] + m[:, 2]  # (K, P)
    gram[:, 3:5, 3:5] = (mm[:, None, :] * xy[None]) @ xy.T
    ct = mc.sum(2)  # (K, 3)
    gram[:, :3, 5], gram[:, 5, :3] = ct, ct
    cxy = (mc[:, 0] + mc[:, 1] + mc[:, 2]) @ xy.T  # (K, 2)
    gram[:, 3:5, 5], gram[:, 5, 3:5] = cxy, cxy
    gram[:, 5, 5] = (mc * centred).sum((1, 2))
    rm = ratio * m
    rhs = np.concatenate([rm.sum(2), (rm[:, 0] + rm[:, 1] + rm[:, 2]) @ xy.T,
                          (rm * centred).sum((1, 2))[:, None]], axis=1)
    ridge = np.diag(np.float32([1e-3] * 5 + [1.0]))  # a little pull of the tone towards none
    sol = np.linalg.solve(gram + ridge, rhs[..., None])[..., 0]
    enough = (mm.sum(1) >= 30)[:, None]
    return (np.where(enough, sol[:, :3], offsets), np.where(enough, np.clip(sol[:, 3:5], -0.6, 0.6), slope),
            np.where(enough, np.clip(sol[:, 5:], *TONE), tone))


# A work has edges to agree on when its strongest log-gradients stand far above its typical one (hard
# edges, bands, lines: 4-8000x); a smooth gradient, a noise texture or a busy work (1.2-3x) has none.
EDGE_PEAKED = 3.0


def _log_edges(images: np.ndarray) -> np.ndarray:
    """(K, THUMB, THUMB, 3) uint8 -> (K, P) edge strength: the gradient of each channel's log value,
    summed over channels, a little blurred (a pixel's misalignment). A gain per channel (a cast)
    cancels in a log gradient, and a camera's gamma only scales it."""
    out = []
    for img in images:
        logs = np.log(img.astype(np.float32) + 8.0)
        gx, gy = cv2.Sobel(logs, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(logs, cv2.CV_32F, 0, 1, ksize=3)
        mag = channel_sum(np.sqrt(gx * gx + gy * gy))
        out.append(cv2.GaussianBlur(mag, (0, 0), 1.0)[_RING:-_RING, _RING:-_RING].ravel())
    return np.stack(out) if out else np.zeros((0, (images.shape[1] - 2 * _RING) * (images.shape[2] - 2 * _RING)), np.float32)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Each value's rank along the last axis (float32), equal values sharing the mean of their ranks (Spearman's
    ranks): a work's flat field is one rank, not an order that the sort happens to leave its pixels in (which a
    view's light slope or a visitor's outline then agrees with by chance). The values are pixel levels, integers
    0-255 (_channels of uint8 images): counted, not sorted."""
    levels = values.reshape(-1, values.shape[-1]).astype(np.intp)
    rows = len(levels)
    counts = np.bincount((levels + 256 * np.arange(rows)[:, None]).ravel(), minlength=256 * rows).reshape(rows, 256)
    shared = (np.cumsum(counts, 1) - counts + (counts - 1) / 2).astype(np.float32)  # the ranks a level's values share
    return np.take_along_axis(shared, levels, 1).reshape(values.shape)


FLAT_STD = 4.0  # grey levels of spread under which a work's channel is flat: it orders only noise (rank agreement)


@dataclass(frozen=True)
class WorkStructure:
    """What edge and rank agreement need of works' thumbnails ((K, THUMB, THUMB, 3)): computed once per
    catalog work (it depends on the work alone), then taken for the works compared with a frame."""
    edges: np.ndarray  # (K, P) log-edge map, centred
    flat: np.ndarray  # (K,) no edges to agree on (see EDGE_PEAKED)
    ranks: np.ndarray  # (K, 3, P) each channel's ranks, centred
    varies: np.ndarray  # (K, 3) the channels that vary in the work

    @staticmethod
    def of(thumbs: np.ndarray) -> WorkStructure:
        edges = _log_edges(thumbs)
        flat = np.percentile(edges, 95, axis=1) < EDGE_PEAKED * (np.median(edges, axis=1) + 1e-3)
        work = _channels(thumbs)
        ranks = _ranks(work)
        return WorkStructure(edges - edges.mean(1, keepdims=True), flat, ranks - ranks.mean(2, keepdims=True),
                             work.std(2) > FLAT_STD)  # a channel flat in the work orders only noise

    def take(self, idx) -> WorkStructure:
        return WorkStructure(self.edges[idx], self.flat[idx], self.ranks[idx], self.varies[idx])


def _channels(images: np.ndarray) -> np.ndarray:
    """(K, THUMB, THUMB, 3) uint8 -> (K, 3, P) float32 without the ring."""
    r = _RING
    inner = images[:, r:-r, r:-r]
    return inner.reshape(len(images), inner.shape[1] * inner.shape[2], 3).transpose(0, 2, 1).astype(np.float32)


def edge_agreement(work: WorkStructure, views: np.ndarray, glare: np.ndarray | None = None) -> np.ndarray:
    """For K works and the view aligned to each, how well the view's edges lie where the work's do: the
    correlation of their log-gradient maps, in [-1, 1] (NaN for a work with no edges, where it says
    nothing: see EDGE_PEAKED). Independent of the fitted light and cast: an unknown work of like colours explains
    many pixels under a fitted light and cast, but its edges lie elsewhere. A visitor adds edges and
    lowers it only in part; `glare` ((K, P), as Explained.glare), with its rim, is left out."""
    return np.where(work.flat, np.nan, _weighted_corr(work.edges, _log_edges(views), _beside(glare, len(views))))


def rank_agreement(work: WorkStructure, views: np.ndarray, glare: np.ndarray | None = None) -> np.ndarray:
    """For K works and the view aligned to each, the rank correlation of the view's values with the
    work's, per channel, averaged over the channels that vary in the work and are not constant in the view (NaN
    where none is: a channel the camera clipped or a plain patch orders nothing - its correlation is 0 / 0 -
    which is no agreement and no reversal either):
    colour constancy by each picture's own statistics. Any cast, exposure or tone curve that keeps
    each channel's order (a light, a white balance, a gamma) leaves it at 1; a work of other colours
    in the same layout orders its channels otherwise. Added light reorders what it covers: `glare`
    ((K, P), as Explained.glare), with its rim, is left out."""
    rs = _ranks(_channels(views))
    keep = _beside(glare, len(views))[:, None, :]
    corr = _weighted_corr(work.ranks, rs, np.broadcast_to(keep, rs.shape))  # (K, 3)
    varies = work.varies & _not_constant(rs, keep)
    return np.where(varies.any(1), (corr * varies).sum(1) / np.maximum(varies.sum(1), 1), np.nan)


def _not_constant(ranks: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(K, 3): whether each view's channel takes more than one value where `keep` ((K, 1, P)) is set - outside
    glare: a plain patch with a spot on it orders nothing. Read off the channel's ranks ((K, 3, P), _ranks: equal
    values, equal ranks; contiguous, so reduced fast), masked only in the views where some pixels are set aside
    (a masked reduction over every view cost more than the ranks themselves)."""
    out = ranks.max(2) > ranks.min(2)
    part = ~keep[:, 0].all(1)
    if part.any():
        r, k = ranks[part], keep[part]
        out[part] = np.where(k, r, -np.inf).max(2) > np.where(k, r, np.inf).min(2)
    return out


def _beside(glare: np.ndarray | None, views: int) -> np.ndarray:
    """(K, P) bool: the pixels neither glare nor within GLARE_RIM of it (P the pixels within the ring);
    every pixel where `glare` is None, or where less than 1 - GLARE_MOST of the view would be left (as
    `explained` sets at most GLARE_MOST aside: a correlation over a few pixels is chance, and a wrong
    work's fit may call most of a view glare)."""
    side = THUMB - 2 * _RING
    if glare is None or not len(glare):
        return np.ones((views, side * side), bool)
    kernel = np.ones((2 * GLARE_RIM + 1,) * 2, np.uint8)
    grown = np.stack([cv2.dilate(g.reshape(side, side).astype(np.uint8), kernel) for g in glare])
    kept = grown.reshape(len(glare), -1) == 0
    kept[kept.sum(1) < (1 - GLARE_MOST) * kept.shape[1]] = True
    return kept


def _weighted_corr(a: np.ndarray, b: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The correlation of a and b over the last axis, counting only where `keep` is set."""
    w = keep.astype(np.float32)
    n = np.maximum(w.sum(-1, keepdims=True), 1.0)
    a = (a - (a * w).sum(-1, keepdims=True) / n) * w
    b = (b - (b * w).sum(-1, keepdims=True) / n) * w
    return (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1) + 1e-9)
