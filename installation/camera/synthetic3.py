"""Third synthetic gallery renderer: procedural artworks, catalog photos of them, and kiosk-camera views.

This module exists to test the artwork recogniser on data made independently of the two renderers it
was tuned on. It was written from a written specification only, WITHOUT reading renderers 1 and 2
(``synthetic.py`` and ``synthetic2.py``) or the recogniser, so that its choices (artwork styles, wall
textures, lighting, optics, visitors) are not shaped by what those expect.

What it makes (everything deterministic from integer seeds, numpy + OpenCV only):

* :func:`artwork3` - a procedural artwork of one of :data:`KINDS3` (longest side 300-700 px).
* :func:`catalog_photo3` - the museum's catalog image of a work: another photograph/scan of it (other
  resolution, crop or border, colour and gamma shift, blur or sharpening, JPEG), never the hanging pixels.
* :func:`render_view3` - a 640x480 BGR kiosk-camera frame of the work hanging on a wall, and the four
  corners of the work's picture area in that frame.

Geometry of a view: the wall is the plane Z = 0 in centimetres (U right, V down, origin at the centre of
the picture area). A pinhole camera (focal length from a 45-75 degree field of view, yaw/pitch/roll) looks
at the work; its distance is solved so the picture's limiting side spans the wanted fraction of the frame,
and a shift of the principal point places the work anywhere in the frame. Wall, floor, frame, mat,
label, neighbour and shadow are drawn on the wall plane and warped into the frame; light, glare and glass
reflections are computed from wall coordinates; barrel distortion, visitors and the camera's own defects
(colour cast, exposure, tone curve, vignetting, blur, noise, cheap sensors, JPEG) come last.

Speed (about 40 ms a frame on one core): the wall texture is sampled at half size (wrap-around sampling
is slow), light, shadow and glare maps are computed at a half or quarter of the size and upsampled, and
the luma noise is a sum of uniform bytes (a near-Gaussian law) rather than normal draws.

Corner convention: OpenCV pixel-centre coordinates (the frame spans -0.5 .. 639.5 horizontally), order
top-left, top-right, bottom-right, bottom-left of the work as it hangs, after lens distortion and shake.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from types import MappingProxyType, SimpleNamespace

import cv2
import numpy as np

__all__ = ["KINDS3", "Scene3", "artwork3", "catalog_photo3", "kind3", "render_view3"]

FRAME_W, FRAME_H = 640, 480
KINDS3: tuple[str, ...] = ("abstract", "landscape", "colour-field", "stripes", "grid", "portrait", "dots", "ink")

# Stream tags: every independent random decision gets its own numpy stream, so that turning one knob
# (say the visitor chance) does not reshuffle the wall or the pose of the same seed.
_ART, _CATALOG, _SCENE, _MOMENT, _STILL = 301, 302, 303, 304, 305
_POSE, _MOUNT, _WALL, _LABEL, _NEIGHBOUR, _LIGHT, _GLARE, _CAMERA, _VISITORS, _TILE = range(1, 11)

_CX, _CY = (FRAME_W - 1) / 2.0, (FRAME_H - 1) / 2.0
_RN = math.hypot(FRAME_W, FRAME_H) / 2.0  # lens distortion radius unit: half the diagonal


def _rng(seed: int, *tags: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) % (1 << 63), *tags])


def kind3(seed: int) -> str:
    """The kind of artwork ``seed`` makes: the kinds cycle with the seed."""
    return KINDS3[int(seed) % len(KINDS3)]


# ----------------------------------------------------------------------------------------------------
# Small drawing helpers (float32 BGR images in 0..255)


def _hsv(h, s, v) -> np.ndarray:
    """HSV (hue in degrees, s and v in 0..1; scalars or arrays) -> BGR float32 rows (n, 3) in 0..255."""
    if np.ndim(h) == 0 and np.ndim(s) == 0 and np.ndim(v) == 0:  # the common case, without numpy overhead
        r, g, b = colorsys.hsv_to_rgb((float(h) % 360) / 360, min(max(float(s), 0), 1), min(max(float(v), 0), 1))
        return np.array([[b * 255, g * 255, r * 255]], np.float32)
    h, s, v = np.broadcast_arrays(np.asarray(h, np.float32) % 360, np.clip(s, 0, 1), np.clip(v, 0, 1))
    a = np.stack([h, s, v], -1).astype(np.float32).reshape(-1, 1, 3)
    return cv2.cvtColor(a, cv2.COLOR_HSV2BGR).reshape(-1, 3) * 255.0


_MODES = ("vivid", "pale", "dark", "muted", "mono", "analogous", "complementary", "earth")


def _palette(rng: np.random.Generator, n: int, mode: str | None = None) -> np.ndarray:
    """n BGR colours of one palette mode; modes cover pale, dark, low-saturation and near-monochrome."""
    mode = mode or str(rng.choice(_MODES))
    h0 = rng.uniform(0, 360)
    u = lambda lo, hi: rng.uniform(lo, hi, n)
    if mode == "vivid":
        h, s, v = u(0, 360), u(0.55, 1), u(0.55, 1)
    elif mode == "pale":
        h, s, v = u(0, 360), u(0.06, 0.35), u(0.8, 1)
    elif mode == "dark":
        h, s, v = u(0, 360), u(0.3, 0.9), u(0.07, 0.45)
    elif mode == "muted":
        h, s, v = h0 + u(-60, 60), u(0.04, 0.3), u(0.25, 0.85)
    elif mode == "mono":
        h, s, v = h0 + u(-8, 8), u(0, 0.2), u(0.06, 0.97)
    elif mode == "analogous":
        h, s, v = h0 + u(-30, 30), u(0.35, 0.9), u(0.35, 1)
    elif mode == "complementary":
        h, s, v = h0 + 180 * rng.integers(0, 2, n) + u(-12, 12), u(0.45, 0.95), u(0.4, 1)
    else:  # earth
        h, s, v = u(12, 45), u(0.25, 0.75), u(0.2, 0.8)
    return _hsv(h, s, v)


def _lin(h: int, w: int, angle: float) -> np.ndarray:
    """A 0..1 ramp across an h x w image along direction `angle` (radians)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = xx * math.cos(angle) + yy * math.sin(angle)
    t -= t.min()
    return t / max(float(t.max()), 1e-6)


def _ground(rng, h, w, c0, c1) -> np.ndarray:
    """A flat or linear-gradient ground."""
    img = np.empty((h, w, 3), np.float32)
    if rng.random() < 0.4:
        img[:] = c0
        return img
    t = _lin(h, w, rng.uniform(0, 2 * math.pi))[..., None]
    return np.asarray(c0, np.float32) * (1 - t) + np.asarray(c1, np.float32) * t


def _smooth_noise(rng, h: int, w: int, cells: float) -> np.ndarray:
    """Unit-ish smooth noise with about `cells` blobs along the longer side."""
    n = max(2, round(cells))
    gh, gw = (n, max(2, round(n * w / h))) if h >= w else (max(2, round(n * h / w)), n)
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)


def _pnoise(rng, h: int, w: int, cy: int, cx: int) -> np.ndarray:
    """Smooth noise that tiles seamlessly: a (cy, cx) random lattice, wrap-padded and interpolated to
    exactly one period of h x w pixels."""
    cy, cx = max(int(cy), 2), max(int(cx), 2)
    g = np.pad(rng.standard_normal((cy, cx)).astype(np.float32), 2, mode="wrap")
    fy, fx = h / cy, w / cx
    M = np.array([[1 / fx, 0, 0.5 / fx - 0.5 + 2], [0, 1 / fy, 0.5 / fy - 0.5 + 2]])
    interp = cv2.INTER_CUBIC if min(fx, fy) > 2.5 else cv2.INTER_LINEAR
    return cv2.warpAffine(g, M, (w, h), flags=interp | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)


def _shape(img, colour, alpha=1.0, soft=0.0, polys=None, lines=None, thick=1.0) -> None:
    """Blend filled polygons (`polys`) or open polylines (`lines`) into img, touching only their box."""
    h, w = img.shape[:2]
    parts = [np.asarray(p, np.int32).reshape(-1, 2) for p in (polys if polys is not None else lines)]
    pts = np.concatenate(parts)
    pad = int(thick) + int(3 * soft) + 2
    x0, y0 = np.maximum(pts.min(0) - pad, 0)
    x1, y1 = np.minimum(pts.max(0) + pad + 1, (w, h))
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    off = np.array([x0, y0], np.int32)
    if polys is not None:
        cv2.fillPoly(mask, [p - off for p in parts], 255, cv2.LINE_AA)
    else:
        cv2.polylines(mask, [p - off for p in parts], False, 255, max(1, round(thick)), cv2.LINE_AA)
    m = mask.astype(np.float32) * (alpha / 255.0)
    if soft > 0.3:
        m = cv2.GaussianBlur(m, (0, 0), soft)
    roi = img[y0:y1, x0:x1]
    roi += (np.asarray(colour, np.float32) - roi) * m[..., None]


def _ellipse(c, axes, angle=0.0, a0=0, a1=360) -> np.ndarray:
    return cv2.ellipse2Poly((int(c[0]), int(c[1])), (max(1, int(axes[0])), max(1, int(axes[1]))),
                            int(angle), int(a0), int(a1), 4)


def _box(c, size, angle=0.0) -> np.ndarray:
    return cv2.boxPoints(((float(c[0]), float(c[1])), (float(size[0]), float(size[1])), float(angle)))


def _bezier(ctrl: np.ndarray, n: int) -> np.ndarray:
    """Points along the Bezier curve of the control points (de Casteljau)."""
    t = np.linspace(0, 1, max(n, 2))[:, None, None]
    p = np.broadcast_to(ctrl[None], (len(t),) + ctrl.shape).astype(np.float64)
    while p.shape[1] > 1:
        p = p[:, :-1] * (1 - t) + p[:, 1:] * t
    return p[:, 0]


def _profile(rng, w: int, base: float, amp: float) -> np.ndarray:
    """A hill line: a few sines of decreasing amplitude."""
    x = np.arange(w, dtype=np.float32) / max(w, 1)
    y = np.full(w, base, np.float32)
    for k in range(int(rng.integers(2, 5))):
        f = rng.uniform(0.5, 2.5) * (k + 1)
        y -= amp / (k + 1) * np.sin(2 * math.pi * f * x + rng.uniform(0, 2 * math.pi))
    return y


def _fill_below(img, ys, colour, h) -> None:
    w = len(ys)
    xs = np.arange(0, w, 3)
    pts = np.concatenate([[[0, h + 2]], np.stack([xs, ys[xs]], 1), [[w - 1, ys[-1]], [w - 1, h + 2]]])
    _shape(img, colour, polys=[pts])


# ----------------------------------------------------------------------------------------------------
# Artwork painters: (rng, h, w) -> float32 BGR image


def _paint_abstract(rng, h, w):
    pal = _palette(rng, int(rng.integers(4, 9)))
    L = max(h, w)
    img = _ground(rng, h, w, pal[0], pal[1])
    style = str(rng.choice(("geometric", "gestural", "mixed")))
    kinds = {"geometric": ("disc", "rect", "poly", "line", "ring", "arc"),
             "gestural": ("stroke", "stroke", "stroke", "disc", "line", "poly"),
             "mixed": ("disc", "rect", "poly", "stroke", "line", "ring", "arc", "stroke")}[style]
    n = int(rng.integers(18, 60))
    for i in range(n):
        size = L * rng.uniform(0.05, 0.5) * (1.0 - 0.7 * i / n)  # big masses first, detail on top
        col = pal[rng.integers(len(pal))] + rng.normal(0, 10, 3)
        alpha = 1.0 if style == "geometric" and rng.random() < 0.7 else rng.uniform(0.35, 0.95)
        soft = 0.0 if style == "geometric" else rng.uniform(0, 0.03 * size)
        c = (rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 1.1) * h)
        ang = rng.uniform(0, 180)
        k = str(rng.choice(kinds))
        if k == "disc":
            _shape(img, col, alpha, soft, polys=[_ellipse(c, (size / 2, size / 2 * rng.uniform(0.5, 1.5)), ang)])
        elif k == "rect":
            _shape(img, col, alpha, soft, polys=[_box(c, (size, size * rng.uniform(0.1, 1.2)), ang)])
        elif k == "poly":
            m = int(rng.integers(3, 7))
            a = np.sort(rng.uniform(0, 2 * math.pi, m))
            r = size * rng.uniform(0.25, 0.6, m)
            _shape(img, col, alpha, soft, polys=[np.stack([c[0] + r * np.cos(a), c[1] + r * np.sin(a)], 1)])
        elif k == "stroke":
            path = _bezier(np.asarray(c) + rng.normal(0, size * 0.6, (4, 2)), 48)
            _shape(img, col, alpha, soft, lines=[path], thick=max(2.0, size * rng.uniform(0.03, 0.15)))
        elif k == "line":
            p = np.asarray(c) + rng.normal(0, size, (2, 2))
            _shape(img, col, alpha, 0, lines=[p], thick=rng.uniform(1, max(2.0, L * 0.012)))
        else:  # ring / arc
            a1 = 360 if k == "ring" else rng.uniform(60, 300)
            pts = _ellipse(c, (size / 2, size / 2 * rng.uniform(0.6, 1.4)), ang, 0, a1)
            _shape(img, col, alpha, soft, lines=[pts], thick=max(2.0, size * rng.uniform(0.02, 0.1)))
    if style != "geometric" and rng.random() < 0.5:  # splatter
        col = pal[rng.integers(len(pal))]
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        for _ in range(int(rng.integers(20, 120))):
            p = (cx + rng.normal(0, L * 0.15), cy + rng.normal(0, L * 0.15))
            r = L * rng.uniform(0.002, 0.012)
            _shape(img, col, rng.uniform(0.6, 1), polys=[_ellipse(p, (r, r))])
    return img


_SKIES = MappingProxyType({  # (top hsv ranges, horizon hsv ranges); read-only
    "day": (((195, 225), (0.45, 0.8), (0.55, 0.9)), ((190, 215), (0.12, 0.35), (0.85, 1.0))),
    "dusk": (((245, 285), (0.35, 0.7), (0.2, 0.5)), ((10, 40), (0.55, 0.9), (0.85, 1.0))),
    "night": (((215, 245), (0.5, 0.85), (0.03, 0.14)), ((215, 250), (0.3, 0.6), (0.15, 0.35))),
    "overcast": (((195, 225), (0.02, 0.12), (0.5, 0.75)), ((195, 225), (0.01, 0.08), (0.72, 0.92))),
    "dawn": (((200, 225), (0.25, 0.5), (0.55, 0.8)), ((330, 380), (0.2, 0.5), (0.85, 1.0))),
})


def _paint_landscape(rng, h, w):
    tod = str(rng.choice(list(_SKIES), p=[0.35, 0.2, 0.12, 0.18, 0.15]))
    (th, ts, tv), (hh_, hs, hv) = _SKIES[tod]
    top = _hsv(rng.uniform(*th), rng.uniform(*ts), rng.uniform(*tv))[0]
    hor = _hsv(rng.uniform(*hh_), rng.uniform(*hs), rng.uniform(*hv))[0]
    L = max(h, w)
    horizon = h * rng.uniform(0.35, 0.65)
    t = np.clip(np.arange(h, dtype=np.float32) / horizon, 0, 1)[:, None, None]
    img = np.ascontiguousarray(np.broadcast_to(top * (1 - t) + hor * t, (h, w, 3)), dtype=np.float32)
    if tod == "night":
        for _ in range(int(rng.integers(40, 200))):
            x, y = int(rng.uniform(0, w)), int(rng.uniform(0, horizon))
            cv2.circle(img, (x, y), int(rng.integers(0, 2)), (230, 230, 230), -1)
    sun = (rng.uniform(0.1, 0.9) * w, rng.uniform(0.15, 0.85) * horizon)
    if tod != "overcast" or rng.random() < 0.2:
        r = L * rng.uniform(0.025, 0.07)
        col = {"day": (215, 250, 255), "dusk": (60, 120, 250), "night": (210, 225, 235)}.get(tod, (170, 210, 255))
        _shape(img, col, 0.35, r * 0.8, polys=[_ellipse(sun, (r * 2, r * 2))])  # glow
        _shape(img, col, 1.0, 0.5, polys=[_ellipse(sun, (r, r))])
    if tod != "night" and rng.random() < 0.75:
        ccol = {"dusk": (150, 130, 230), "dawn": (215, 200, 245)}.get(tod, (245, 245, 245))
        for _ in range(int(rng.integers(2, 10))):
            cx, cy, cw = rng.uniform(0, w), rng.uniform(0.05, 0.8) * horizon, L * rng.uniform(0.05, 0.18)
            for _ in range(int(rng.integers(3, 7))):
                p = (cx + rng.normal(0, cw * 0.6), cy + rng.normal(0, cw * 0.12))
                _shape(img, ccol, rng.uniform(0.35, 0.8), cw * 0.15,
                       polys=[_ellipse(p, (cw * rng.uniform(0.4, 0.8), cw * rng.uniform(0.15, 0.3)))])
    land_h = rng.choice([rng.uniform(70, 150), rng.uniform(20, 50), rng.uniform(180, 260)], p=[0.6, 0.3, 0.1])
    land_s, land_v = rng.uniform(0.15, 0.8), rng.uniform(0.25, 0.75)
    water = rng.random() < 0.45
    layers = int(rng.integers(2, 5))
    far = range(layers - 1) if water else range(layers)
    ys = None
    for j in far:
        depth = j / max(layers - 1, 1)
        col = _hsv(land_h + rng.uniform(-15, 15), land_s, land_v * (1.15 - 0.45 * depth))[0]
        col = col * (0.35 + 0.65 * depth) + hor * (0.65 - 0.65 * depth)  # aerial perspective
        base = horizon + (h - horizon) * 0.55 * depth if not water else horizon
        ys = _profile(rng, w, base, h * rng.uniform(0.03, 0.14) * (1.1 - 0.6 * depth))
        _fill_below(img, ys, col, h)
    if water:
        t = np.clip((np.arange(h, dtype=np.float32) - horizon) / max(h - horizon, 1), 0, 1)[:, None]
        wcol = (hor * (1 - t) + top * t) * rng.uniform(0.6, 0.9)
        img[int(horizon):] = np.broadcast_to(wcol[int(horizon):, None, :], (h - int(horizon), w, 3))
        for _ in range(int(rng.integers(40, 200))):  # ripples
            y = rng.uniform(horizon, h)
            x = rng.uniform(0, w)
            ln = L * rng.uniform(0.01, 0.06) * (0.3 + (y - horizon) / max(h - horizon, 1))
            _shape(img, hor * rng.uniform(0.8, 1.15), rng.uniform(0.2, 0.6), lines=[[(x, y), (x + ln, y)]])
        if rng.random() < 0.6:  # near shore
            col = _hsv(land_h, land_s, land_v * 0.55)[0]
            ys = _profile(rng, w, h * rng.uniform(0.82, 0.95), h * rng.uniform(0.02, 0.06))
            _fill_below(img, ys, col, h)
        else:
            ys = None
    if ys is not None and rng.random() < 0.75:
        tree = _hsv(land_h + rng.uniform(-30, 30), rng.uniform(0.3, 0.8), rng.uniform(0.1, 0.4))[0]
        conifer = rng.random() < 0.4
        for _ in range(int(rng.integers(2, 14))):
            x = rng.uniform(0, w - 1)
            yb = float(ys[int(x)]) + h * 0.01
            th_ = h * rng.uniform(0.05, 0.22)
            col = tree * rng.uniform(0.8, 1.2)
            _shape(img, (30, 40, 55), lines=[[(x, yb), (x, yb - th_ * 0.5)]], thick=max(1.0, th_ * 0.05))
            if conifer:
                tri = [(x - th_ * 0.22, yb - th_ * 0.15), (x + th_ * 0.22, yb - th_ * 0.15), (x, yb - th_)]
                _shape(img, col, polys=[tri])
            else:
                for _ in range(3):
                    p = (x + rng.normal(0, th_ * 0.12), yb - th_ * rng.uniform(0.55, 0.8))
                    _shape(img, col * rng.uniform(0.85, 1.15), 1.0, 0.8,
                           polys=[_ellipse(p, (th_ * rng.uniform(0.2, 0.32), th_ * rng.uniform(0.2, 0.3)))])
    return img


def _paint_colour_field(rng, h, w):
    pal = _palette(rng, 4, str(rng.choice(("vivid", "dark", "earth", "muted", "analogous", "mono", "pale"))))
    L = max(h, w)
    img = np.empty((h, w, 3), np.float32)
    img[:] = pal[0]
    img *= (1 + 0.04 * _smooth_noise(rng, h, w, 6))[..., None]
    n = int(rng.integers(2, 4))
    vertical = rng.random() < 0.75  # blocks stacked top to bottom, as in Rothko's canvases
    m = rng.uniform(0.04, 0.1)
    gap = rng.uniform(0.015, 0.05)
    share = rng.dirichlet(np.full(n, 3.0)) * (1 - 2 * m - gap * (n - 1))
    sh, sw = max(h // 4, 8), max(w // 4, 8)  # masks are blurred at quarter size, cheaply
    pos = m
    for i in range(n):
        mask = np.zeros((sh, sw), np.float32)
        a, b = pos, pos + share[i]
        pos = b + gap
        if vertical:
            cv2.rectangle(mask, (int(m * sw), int(a * sh)), (int((1 - m) * sw), int(b * sh)), 1.0, -1)
        else:
            cv2.rectangle(mask, (int(a * sw), int(m * sh)), (int(b * sw), int((1 - m) * sh)), 1.0, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.6, rng.uniform(0.005, 0.03) * L / 4))
        mask = np.clip(mask + 1.2 * mask * (1 - mask) * _smooth_noise(rng, sh, sw, 12), 0, 1)  # ragged edges
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
        col = pal[1 + i] * (1 + 0.05 * _smooth_noise(rng, h, w, 5))[..., None]
        img = img * (1 - mask) + col * mask
    return img


def _paint_stripes(rng, h, w):
    pal = _palette(rng, int(rng.integers(2, 7)))
    L = max(h, w)
    ang = math.radians(float(rng.choice([0, 90, 45, -45, rng.uniform(0, 180)], p=[0.3, 0.3, 0.1, 0.1, 0.2])))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = xx * math.cos(ang) + yy * math.sin(ang)
    if rng.random() < 0.2:  # wavy bands
        s = -xx * math.sin(ang) + yy * math.cos(ang)
        t += L * rng.uniform(0.01, 0.05) * np.sin(2 * math.pi * s / (L * rng.uniform(0.15, 0.6)))
    t -= t.min()
    span = float(t.max()) + 1
    if rng.random() < 0.5:
        widths = np.full(int(rng.integers(3, 32)), 1.0)
    else:
        widths = rng.uniform(0.2, 1.0, int(rng.integers(3, 24))) ** 2
    edges = np.cumsum(widths / widths.sum() * span)
    idx = np.minimum(np.searchsorted(edges, t), len(widths) - 1)
    order = np.arange(len(widths)) % len(pal) if rng.random() < 0.5 else rng.integers(0, len(pal), len(widths))
    img = pal[order][idx].astype(np.float32)
    if rng.random() < 0.4:  # soft-edged bands
        img = cv2.GaussianBlur(img, (0, 0), max(0.8, rng.uniform(0.1, 0.4) * span / len(widths)))
    if rng.random() < 0.3:  # pinstripes on the band edges
        line = pal[rng.integers(len(pal))] * rng.uniform(0.3, 1.2)
        near = np.min(np.abs(t[..., None] - edges[None, None, :-1]), axis=-1) if len(edges) > 1 else t * 0 + 99
        img[near < max(1.0, L * 0.002)] = line
    return img


def _paint_grid(rng, h, w):
    L = max(h, w)
    ground = _hsv(rng.uniform(0, 360), rng.uniform(0, 0.08), rng.uniform(0.86, 0.97))[0]
    img = np.empty((h, w, 3), np.float32)
    img[:] = ground
    if rng.random() < 0.6:  # the classic primaries
        colours = np.array([(40, 40, 200), (150, 60, 25), (40, 205, 240), (25, 25, 25)], np.float32)
    else:
        colours = _palette(rng, 4)
    ink = _hsv(rng.uniform(200, 260), rng.uniform(0, 0.4), rng.uniform(0.03, 0.2))[0]
    leaves, lines = [], []

    def split(x0, y0, x1, y1, depth, level=0):
        if depth == 0 or min(x1 - x0, y1 - y0) < L * 0.08 or (level >= 2 and rng.random() < 0.3):
            leaves.append((x0, y0, x1, y1))
            return
        t = max(1.0, L * rng.uniform(0.004, 0.028))
        if (x1 - x0) * rng.uniform(0.6, 1.4) > (y1 - y0):
            x = x0 + (x1 - x0) * rng.uniform(0.2, 0.8)
            lines.append(((x - t / 2, y0), (x + t / 2, y1)))
            split(x0, y0, x, y1, depth - 1, level + 1)
            split(x, y0, x1, y1, depth - 1, level + 1)
        else:
            y = y0 + (y1 - y0) * rng.uniform(0.2, 0.8)
            lines.append(((x0, y - t / 2), (x1, y + t / 2)))
            split(x0, y0, x1, y, depth - 1, level + 1)
            split(x0, y, x1, y1, depth - 1, level + 1)

    split(0, 0, w, h, int(rng.integers(3, 6)))
    for i in rng.permutation(len(leaves))[: int(rng.integers(2, 7))]:
        x0, y0, x1, y1 = leaves[i]
        cv2.rectangle(img, (int(x0), int(y0)), (int(x1), int(y1)), colours[rng.integers(len(colours))].tolist(), -1)
    for (x0, y0), (x1, y1) in lines:
        cv2.rectangle(img, (int(x0), int(y0)), (math.ceil(x1), math.ceil(y1)), ink.tolist(), -1)
    return img


def _paint_portrait(rng, h, w):
    bg = _palette(rng, 2, str(rng.choice(("dark", "muted", "earth", "pale", "vivid", "mono"))))
    img = _ground(rng, h, w, bg[0], bg[1])
    skin = _hsv(rng.uniform(12, 32), rng.uniform(0.2, 0.6), rng.uniform(0.3, 0.92))[0]
    hair = _hsv(rng.uniform(10, 40), rng.uniform(0.1, 0.8), float(rng.choice([0.08, 0.25, 0.45, 0.75, 0.85])))[0]
    cloth = _palette(rng, 1)[0]
    cx = w * rng.uniform(0.4, 0.6)
    hw = min(w, h * 0.8) * rng.uniform(0.14, 0.24)  # half width of the head
    hh = hw * rng.uniform(1.2, 1.45)
    cy = h * rng.uniform(0.3, 0.45)
    turn = hw * rng.uniform(-0.25, 0.25)  # a three-quarter view moves the features sideways
    _shape(img, cloth, polys=[_ellipse((cx, cy + hh + hw * 3.2), (hw * rng.uniform(2.4, 3.6), hw * 2.6))])
    if rng.random() < 0.4:  # long hair behind the shoulders
        _shape(img, hair, 1, 1, polys=[[(cx - hw * 1.2, cy), (cx + hw * 1.2, cy),
                                        (cx + hw * 1.5, cy + hh * 2.0), (cx - hw * 1.5, cy + hh * 2.0)]])
    _shape(img, skin * 0.85, polys=[_box((cx, cy + hh * 1.1), (hw * 0.8, hh * 1.0))])
    _shape(img, hair, 1, 1, polys=[_ellipse((cx, cy - hh * 0.12), (hw * 1.12, hh * 1.02))])
    _shape(img, skin, 1, 1, polys=[_ellipse((cx + turn * 0.3, cy), (hw, hh))])
    _shape(img, hair, 1, 1, polys=[_ellipse((cx + turn * 0.2, cy - hh * 0.78), (hw * 1.02, hh * 0.34))])
    ey = cy - hh * 0.08
    for sx in (-1, 1):
        ex = cx + turn + sx * hw * 0.4
        _shape(img, (235, 240, 240), polys=[_ellipse((ex, ey), (hw * 0.17, hw * 0.08))])
        _shape(img, _hsv(rng.uniform(0, 230), 0.5, rng.uniform(0.1, 0.5))[0],
               polys=[_ellipse((ex + turn * 0.1, ey), (hw * 0.07, hw * 0.07))])
        _shape(img, hair * 0.8, lines=[[(ex - hw * 0.18, ey - hw * 0.2), (ex + hw * 0.18, ey - hw * 0.23)]],
               thick=max(1.0, hw * 0.06))
    _shape(img, skin * 0.7, lines=[[(cx + turn * 1.1, ey + hw * 0.1), (cx + turn * 1.25, cy + hh * 0.32),
                                    (cx + turn * 1.0, cy + hh * 0.36)]], thick=max(1.0, hw * 0.04))
    lip = _hsv(rng.uniform(345, 375), rng.uniform(0.3, 0.7), rng.uniform(0.35, 0.75))[0]
    _shape(img, lip, polys=[_ellipse((cx + turn, cy + hh * 0.55), (hw * 0.3, hw * 0.08))])
    side = cx + hw * (0.6 if rng.random() < 0.5 else -0.6)  # side light: shade half the face
    _shape(img, (10, 10, 20), rng.uniform(0.15, 0.4), hw * 0.35, polys=[_ellipse((side, cy), (hw * 0.6, hh * 1.1))])
    if rng.random() < 0.15:  # a hat
        hat = _palette(rng, 1, "dark")[0]
        _shape(img, hat, polys=[_ellipse((cx, cy - hh * 0.7), (hw * 1.7, hw * 0.3))])
        _shape(img, hat, polys=[_box((cx, cy - hh * 1.05), (hw * 1.5, hh * 0.7))])
    if rng.random() < 0.5:  # painterly softness
        img = cv2.GaussianBlur(img, (0, 0), max(h, w) * 0.003)
    return img


def _paint_dots(rng, h, w):
    L = max(h, w)
    out = np.empty((h, w, 3), np.uint8)
    if rng.random() < 0.35:  # spot painting: a regular grid of flat dots
        out[:] = _hsv(rng.uniform(0, 360), rng.uniform(0, 0.1), rng.uniform(0.85, 0.98))[0]
        pal = _palette(rng, int(rng.integers(5, 14)), str(rng.choice(("vivid", "pale", "dark", "analogous"))))
        step = L / rng.uniform(6, 16)
        r = step * rng.uniform(0.2, 0.42)
        for y in np.arange(step / 2, h, step):
            for x in np.arange(step / 2, w, step):
                cv2.circle(out, (int(x), int(y)), int(r), pal[rng.integers(len(pal))].tolist(), -1, cv2.LINE_AA)
        return out.astype(np.float32)
    # pointillism: dabs of colour sampled from a hidden simple picture
    small = _paint_landscape(rng, max(h // 4, 16), max(w // 4, 16)) if rng.random() < 0.6 else \
        _paint_colour_field(rng, max(h // 4, 16), max(w // 4, 16))
    under = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    out[:] = np.clip(under * 0.6 + 240 * 0.4, 0, 255)
    step = max(4.0, L / rng.uniform(45, 90), math.sqrt(h * w / 6000.0))  # dabs big enough to read
    gy, gx = np.mgrid[0:h:step, 0:w:step]
    pts = np.stack([gx.ravel(), gy.ravel()], 1) + rng.uniform(-0.5, 0.5, (gx.size, 2)) * step
    pts = np.clip(pts, 0, [w - 1, h - 1]).astype(np.int32)
    cols = under[pts[:, 1], pts[:, 0]] * rng.uniform(0.85, 1.15, (len(pts), 1)) + rng.normal(0, rng.uniform(6, 20), (len(pts), 3))
    cols = np.clip(cols, 0, 255)
    rads = np.maximum(1, (step * rng.uniform(0.45, 0.75, len(pts)))).astype(np.int32)
    for i in rng.permutation(len(pts)):
        cv2.circle(out, (int(pts[i, 0]), int(pts[i, 1])), int(rads[i]), cols[i].tolist(), -1)
    return out.astype(np.float32)


def _paint_ink(rng, h, w):
    L = max(h, w)
    paper = _hsv(rng.uniform(25, 55), rng.uniform(0.02, 0.2), rng.uniform(0.82, 0.97))[0]
    img = np.empty((h, w, 3), np.float32)
    img[:] = paper
    img *= (1 + 0.03 * _smooth_noise(rng, h, w, 12) + 0.015 * rng.standard_normal((h, w)).astype(np.float32))[..., None]
    ink = _hsv(rng.uniform(0, 360), rng.uniform(0, 0.3), rng.uniform(0.03, 0.2))[0]
    if rng.random() < 0.15:
        ink = _palette(rng, 1, "dark")[0]
    for _ in range(int(rng.integers(0, 4))):  # washes
        c = (rng.uniform(0, w), rng.uniform(0, h))
        s = L * rng.uniform(0.1, 0.35)
        _shape(img, ink, rng.uniform(0.05, 0.3), s * 0.3, polys=[_ellipse(c, (s, s * rng.uniform(0.3, 1)), rng.uniform(0, 180))])
    mask = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(2, 10))):
        k = int(rng.integers(3, 6))
        along = np.sort(rng.uniform(0.05, 0.95, k))
        across = rng.uniform(0.1, 0.9) + rng.normal(0, 0.15, k)
        if rng.random() < 0.5:  # a mostly horizontal stroke, else a mostly vertical one
            ctrl = np.stack([along * w, np.clip(across, 0, 1) * h], 1)
        else:
            ctrl = np.stack([np.clip(across, 0, 1) * w, along * h], 1)
        path = _bezier(ctrl, int(L * 0.6))
        t = np.linspace(0, 1, len(path))
        rmax = L * rng.uniform(0.005, 0.035)
        prof = rmax * np.sin(np.pi * np.clip(t * 1.1, 0, 1)) ** rng.uniform(0.3, 1.0) * (1 + 0.3 * np.sin(t * rng.uniform(5, 20)))
        for (x, y), r in zip(path, prof):
            cv2.circle(mask, (int(x), int(y)), max(1, int(r)), 255, -1, cv2.LINE_AA)
    m = mask.astype(np.float32) / 255.0
    if rng.random() < 0.4:  # dry brush: streaky gaps
        streak = cv2.resize(rng.random((max(h // 2, 4), 8)).astype(np.float32), (w, h))
        m *= (streak > rng.uniform(0.15, 0.35)).astype(np.float32) * 0.7 + 0.3
    img += (ink - img) * (m * rng.uniform(0.85, 1.0))[..., None]
    if rng.random() < 0.6:  # a red seal
        s = L * rng.uniform(0.035, 0.07)
        x = rng.choice([0.08, 0.85]) * w
        y = rng.uniform(0.7, 0.88) * h
        red = _hsv(rng.uniform(350, 368), rng.uniform(0.6, 0.9), rng.uniform(0.55, 0.8))[0]
        cv2.rectangle(img, (int(x), int(y)), (int(x + s), int(y + s)), red.tolist(), -1)
        for _ in range(6):
            a = (x + rng.uniform(0.15, 0.7) * s, y + rng.uniform(0.15, 0.7) * s)
            cv2.rectangle(img, (int(a[0]), int(a[1])), (int(a[0] + s * 0.15), int(a[1] + s * 0.06)), paper.tolist(), -1)
    return img


_PAINTERS = MappingProxyType({
    "abstract": _paint_abstract, "landscape": _paint_landscape, "colour-field": _paint_colour_field,
    "stripes": _paint_stripes, "grid": _paint_grid, "portrait": _paint_portrait, "dots": _paint_dots,
    "ink": _paint_ink,
})
_PORTRAIT_KINDS, _LANDSCAPE_KINDS = ("portrait", "colour-field", "ink"), ("landscape",)


def _finish(rng, img: np.ndarray) -> np.ndarray:
    """Canvas grain and faint uneven varnish, then 8 bits."""
    h, w = img.shape[:2]
    amp = rng.uniform(0, 5)
    grain = rng.standard_normal((h, w)).astype(np.float32) * amp
    img = img * (1 + rng.uniform(0, 0.04) * _smooth_noise(rng, h, w, 5))[..., None] + grain[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def _paint(kind: str, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    return _finish(rng, _PAINTERS[kind](rng, h, w))


def artwork3(seed: int) -> np.ndarray:
    """A procedural artwork of kind ``kind3(seed)``: BGR uint8, longest side 300-700, aspect 0.5-2.0."""
    rng = _rng(seed, _ART)
    kind = kind3(seed)
    lo, hi = math.log(0.5), math.log(2.0)
    if kind in _PORTRAIT_KINDS and rng.random() < 0.6:
        hi = 0.0  # mostly upright
    elif kind in _LANDSCAPE_KINDS and rng.random() < 0.7:
        lo = 0.0  # mostly wide
    aspect = math.exp(rng.uniform(lo, hi))  # width / height
    longest = int(rng.integers(300, 701))
    if aspect >= 1:
        w, h = longest, max(round(longest / aspect), 150)
    else:
        w, h = max(round(longest * aspect), 150), longest
    return _paint(kind, rng, h, w)


# ----------------------------------------------------------------------------------------------------
# Catalog photo


def catalog_photo3(art: np.ndarray, seed: int) -> np.ndarray:
    """The catalog's own image of a work: cropped or bordered, colour/gamma-shifted, resized, blurred or
    sharpened, and JPEG re-encoded (longest side 250-900)."""
    rng = _rng(seed, _CATALOG)
    img = _as_bgr(art)
    h, w = img.shape[:2]
    if rng.random() < 0.5:  # crop 0-4 % per side
        c = rng.uniform(0, 0.04, 4)
        img = img[int(c[0] * h): h - int(c[1] * h), int(c[2] * w): w - int(c[3] * w)]
    else:  # a thin border of the scanner bed / photo background
        b = rng.uniform(0, 0.03, 4)
        bg = _hsv(rng.uniform(0, 360), rng.uniform(0, 0.1), float(rng.choice([0.05, 0.5, 0.93, 1.0])))[0]
        img = cv2.copyMakeBorder(img, int(b[0] * h), int(b[1] * h), int(b[2] * w), int(b[3] * w),
                                 cv2.BORDER_CONSTANT, value=bg.tolist())
    gain = rng.uniform(0.9, 1.1, 3)
    gamma = rng.uniform(0.9, 1.1)
    lut = np.stack([np.clip(255 * (np.arange(256) / 255.0) ** gamma * g, 0, 255) for g in gain], 1)
    img = np.stack([cv2.LUT(img[..., c], lut[:, c].astype(np.uint8)) for c in range(3)], -1)
    h, w = img.shape[:2]
    longest = int(rng.integers(250, 901))
    if abs(longest - max(h, w)) < 20:  # always another resolution than the hanging pixels
        longest = longest + 40 if longest < 860 else longest - 40
    size = (max(1, round(w * longest / max(h, w))), max(1, round(h * longest / max(h, w))))
    img = cv2.resize(img, size, interpolation=cv2.INTER_AREA if longest < max(h, w) else cv2.INTER_CUBIC)
    if rng.random() < 0.5:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.2))
    else:  # unsharp mask
        soft = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.8, 2.0))
        amount = rng.uniform(0.2, 0.8)
        img = cv2.addWeighted(img, 1 + amount, soft, -amount, 0)
    _ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 96))])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _as_bgr(art: np.ndarray) -> np.ndarray:
    art = np.asarray(art)
    if art.ndim == 2:
        return cv2.cvtColor(art.astype(np.uint8), cv2.COLOR_GRAY2BGR)
    if art.shape[2] == 4:
        return np.ascontiguousarray(art[..., :3]).astype(np.uint8)
    return np.ascontiguousarray(art).astype(np.uint8)


# ----------------------------------------------------------------------------------------------------
# Scene knobs


@dataclass(frozen=True)
class Scene3:
    """Knobs of :func:`render_view3`. Chances are per scene (seed) unless marked per frame.

    visitor_chance        share of frames (stills, or moments of a visit) with a visitor walking in front
    second_visitor_chance chance that a scene has a second walker (present with the same share of frames)
    max_occlusion         most of the picture area the visitors may hide (fraction)
    neighbour_chance      chance of part of another framed work at the left or right border (it is in view
                          in about 3/4 of those scenes: when the main work leaves room)
    label_chance          chance of a wall label beside the work
    frame_chance          chance the work is framed (otherwise a bare canvas/panel)
    mat_chance            chance of a passe-partout inside the frame
    shadow_chance         chance the frame casts a visible shadow on the wall
    textured_wall_chance  chance of plaster, brick, wood, wallpaper/fabric or concrete instead of paint
    glare_chance          chance of one or two specular spots/streaks on the work
    reflection_chance     chance of a faint room reflection on the glass (glazed works only)
    distortion_chance     chance of barrel lens distortion (k1 up to max_k1)
    cheap_sensor_chance   chance the camera is a 320x240 sensor upscaled to 640x480
    motion_blur_chance    per frame: chance of a short motion blur
    min_span, max_span    the picture's limiting side spans this fraction of the frame's side
    max_yaw_deg, max_pitch_deg, max_roll_deg   camera angles off the wall's normal, and in-plane rotation
    max_cast              strength of the scene's colour cast (per-channel gains within 1 -/+ this, 0.6-1.4)
    exposure_range        camera exposure error (multiplies the auto exposure; highlights clip)
    gamma_range           tone-curve exponent of the camera
    jpeg_quality          range of the JPEG quality of frames
    """

    visitor_chance: float = 0.5
    second_visitor_chance: float = 0.25
    max_occlusion: float = 0.4
    neighbour_chance: float = 0.4
    label_chance: float = 0.5
    frame_chance: float = 0.8
    mat_chance: float = 0.35
    shadow_chance: float = 0.5
    textured_wall_chance: float = 0.5
    glare_chance: float = 0.4
    reflection_chance: float = 0.3
    distortion_chance: float = 0.4
    max_k1: float = 0.08
    cheap_sensor_chance: float = 0.25
    motion_blur_chance: float = 0.25
    min_span: float = 0.25
    max_span: float = 0.85
    max_yaw_deg: float = 35.0
    max_pitch_deg: float = 20.0
    max_roll_deg: float = 8.0
    max_cast: float = 0.4
    exposure_range: tuple[float, float] = (0.5, 1.6)
    gamma_range: tuple[float, float] = (0.6, 1.6)
    jpeg_quality: tuple[int, int] = (35, 90)


# ----------------------------------------------------------------------------------------------------
# Camera geometry


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cy, sy, cp, sp, cr, sr = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch), math.cos(roll), math.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ rx @ ry


def _pinhole(f: float, R: np.ndarray, dist: float) -> np.ndarray:
    """Homography wall (U, V, 0) cm -> undistorted frame pixels of a camera `dist` cm from the work's
    centre along its optical axis (the axis passes through the centre)."""
    K = np.array([[f, 0, _CX], [0, f, _CY], [0, 0, 1.0]])
    C = -dist * R[2]  # camera centre: the optical axis (R^T e3 = R[2]) hits the origin
    H = K @ np.column_stack([R[:, 0], R[:, 1], -R @ C])
    return H / H[2, 2]


def _shift(dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1.0]])


def _project(H: np.ndarray, pts) -> np.ndarray:
    p = np.asarray(pts, np.float64)
    q = np.c_[p, np.ones(len(p))] @ H.T
    return q[:, :2] / q[:, 2:3]


def _distort(pts: np.ndarray, k: float) -> np.ndarray:
    """Undistorted -> distorted points for the barrel model x_u = c + (x_d - c)(1 + k r_d^2)."""
    if k == 0:
        return pts
    c = np.array([_CX, _CY])
    du = (pts - c) / _RN
    dd = du.copy()
    for _ in range(20):
        dd = du / (1 + k * (dd ** 2).sum(1, keepdims=True))
    return c + dd * _RN


def _span(c: np.ndarray) -> float:
    """How much of the frame the picture's limiting side spans."""
    size = c.max(0) - c.min(0)
    return float(max(size[0] / FRAME_W, size[1] / FRAME_H))


def _inside(c: np.ndarray) -> float:
    """Share of the quad's area inside the frame."""
    quad = c.astype(np.float32)
    area = abs(cv2.contourArea(quad))
    if area <= 0:
        return 0.0
    rect = np.float32([[-0.5, -0.5], [FRAME_W - 0.5, -0.5], [FRAME_W - 0.5, FRAME_H - 0.5], [-0.5, FRAME_H - 0.5]])
    inter, _ = cv2.intersectConvexConvex(quad, rect)
    return float(inter) / area


def _rect(wcm: float, hcm: float) -> np.ndarray:
    return np.array([[-wcm / 2, -hcm / 2], [wcm / 2, -hcm / 2], [wcm / 2, hcm / 2], [-wcm / 2, hcm / 2]])


def _solve_pose(rng, scene: Scene3, wcm: float, hcm: float, k: float):
    """Homography (wall cm -> undistorted frame px) of a camera that sees the picture at a random span,
    angle and place, checked after lens distortion; a frontal view if no draw satisfies the bounds."""
    rect = _rect(wcm, hcm)
    lo_s, hi_s = scene.min_span + 0.02, scene.max_span - 0.02
    H = None
    for _ in range(60):
        R = _rotation(math.radians(rng.uniform(-1, 1) * scene.max_yaw_deg),
                      math.radians(rng.uniform(-1, 1) * scene.max_pitch_deg),
                      math.radians(rng.uniform(-1, 1) * scene.max_roll_deg))
        f = (FRAME_W / 2) / math.tan(math.radians(rng.uniform(45, 75)) / 2)
        target = rng.uniform(lo_s, hi_s)
        dist = f * max(wcm, hcm) / (target * FRAME_W)
        for _ in range(8):  # the span is close to inversely proportional to the distance
            dist *= _span(_project(_pinhole(f, R, dist), rect)) / target
        Hm = _pinhole(f, R, dist)
        p = _project(Hm, rect)
        lo, hi = p.min(0), p.max(0)
        cut = rng.random() < 0.15  # occasionally cut a little by the frame's border
        slack = (hi - lo) * (0.12 if cut else 0.0)
        t = []
        for a in range(2):
            size = (FRAME_W, FRAME_H)[a]
            a0, a1 = 2 - lo[a] - slack[a], size - 3 - hi[a] + slack[a]
            t.append(rng.uniform(a0, a1) if a1 > a0 else (a0 + a1) / 2)
        Hc = _shift(*t) @ Hm
        c = _distort(_project(Hc, rect), k)
        if not (scene.min_span + 0.008 <= _span(c) <= scene.max_span - 0.008):
            continue
        if _inside(c) < (0.9 if cut else 0.995):
            continue
        if not _sane_preimage(Hc, max(wcm, hcm)):
            continue
        H = Hc
        break
    if H is None:  # fall back to a frontal, centred view
        R = np.eye(3)
        f = 500.0
        H = _pinhole(f, R, f * max(wcm, hcm) / (0.5 * FRAME_W))
    return H


def _sane_preimage(H: np.ndarray, size: float) -> bool:
    """Every frame corner (with distortion margin) must see the wall in front, not too far off."""
    Hi = np.linalg.inv(H)
    corners = np.array([[-40, -40], [FRAME_W + 40, -40], [FRAME_W + 40, FRAME_H + 40], [-40, FRAME_H + 40]], float)
    q = np.c_[corners, np.ones(4)] @ Hi.T
    centre = Hi @ np.array([_CX, _CY, 1.0])
    if np.any(q[:, 2] * centre[2] <= 0):
        return False
    w = q[:, :2] / q[:, 2:3]
    return bool(np.all(np.abs(w) < 25 * size))


# ----------------------------------------------------------------------------------------------------
# Scene plan (everything fixed by the seed)


def _wall_colour(rng) -> np.ndarray:
    r = rng.random()
    h = rng.uniform(0, 360)
    if r < 0.45:
        s, v = rng.uniform(0, 0.15), rng.uniform(0.75, 0.97)  # white / cream / pale grey
    elif r < 0.65:
        s, v = rng.uniform(0, 0.3), rng.uniform(0.45, 0.75)
    elif r < 0.82:
        s, v = rng.uniform(0, 0.6), rng.uniform(0.08, 0.35)  # dark
    else:
        s, v = rng.uniform(0.45, 0.85), rng.uniform(0.35, 0.8)  # saturated
    return _hsv(h, s, v)[0]


_FRAME_STYLES = ("gilded", "black", "white", "wood", "silver", "colour")


def _frame_look(rng, style: str):
    """Base colour and a band profile (relative brightness across the moulding, outside to inside)."""
    if style == "gilded":
        base = _hsv(rng.uniform(35, 50), rng.uniform(0.5, 0.8), rng.uniform(0.6, 0.85))[0]
        prof = rng.uniform(0.55, 1.3, int(rng.integers(3, 7)))
    elif style == "black":
        base, prof = _hsv(0, 0, rng.uniform(0.05, 0.14))[0], rng.uniform(0.8, 1.6, int(rng.integers(1, 4)))
    elif style == "white":
        base, prof = _hsv(rng.uniform(30, 60), rng.uniform(0, 0.08), rng.uniform(0.85, 0.95))[0], rng.uniform(0.9, 1.05, int(rng.integers(1, 4)))
    elif style == "wood":
        base = _hsv(rng.uniform(15, 38), rng.uniform(0.35, 0.75), rng.uniform(0.2, 0.7))[0]
        prof = rng.uniform(0.75, 1.15, int(rng.integers(1, 4)))
    elif style == "silver":
        base, prof = _hsv(rng.uniform(200, 230), rng.uniform(0, 0.06), rng.uniform(0.6, 0.8))[0], rng.uniform(0.7, 1.3, int(rng.integers(1, 3)))
    else:
        base, prof = _palette(rng, 1)[0], rng.uniform(0.8, 1.2, int(rng.integers(1, 3)))
    return base, prof


def _plan_mount(rng, scene: Scene3, framed_ok: bool, L: float):
    m = SimpleNamespace(frame=0.0, mat=0.0, style=None, base=None, prof=None, glazed=False)
    if framed_ok and rng.random() < scene.frame_chance:
        m.style = str(rng.choice(_FRAME_STYLES, p=[0.25, 0.25, 0.12, 0.2, 0.1, 0.08]))
        thin = m.style in ("silver", "black") and rng.random() < 0.5
        m.frame = L * (rng.uniform(0.005, 0.03) if thin else rng.uniform(0.02, 0.15))
        m.base, m.prof = _frame_look(rng, m.style)
        if rng.random() < scene.mat_chance:
            m.mat = L * rng.uniform(0.03, 0.12)
            m.mat_colour = _hsv(rng.uniform(30, 60), rng.uniform(0, 0.12), rng.uniform(0.82, 0.98))[0]
        m.glazed = rng.random() < 0.6
    m.shadow = rng.random() < scene.shadow_chance or m.frame == 0
    m.shadow_dx, m.shadow_dy = rng.uniform(-2, 2), rng.uniform(0.5, 4.0) + m.frame * 0.1
    m.shadow_blur = rng.uniform(0.6, 4.0)
    m.shadow_dark = rng.uniform(0.15, 0.5)
    return m


def _plan_wall(rng, scene: Scene3):
    w = SimpleNamespace(colour=_wall_colour(rng), kind="paint")
    if rng.random() < scene.textured_wall_chance:
        w.kind = str(rng.choice(("plaster", "brick", "wood", "paper", "concrete"), p=[0.3, 0.2, 0.15, 0.2, 0.15]))
    w.floor_gap = rng.uniform(25, 160)  # cm from the bottom of the framed work down to the floor
    w.skirting = rng.uniform(6, 16) if rng.random() < 0.7 else 0.0
    w.skirting_colour = [_hsv(0, 0, 0.93)[0], w.colour * 0.8, _hsv(25, 0.5, 0.35)[0], _hsv(0, 0, 0.1)[0]][int(rng.integers(4))]
    w.floor_colour = [_hsv(rng.uniform(18, 35), rng.uniform(0.3, 0.7), rng.uniform(0.2, 0.6))[0],
                      _hsv(rng.uniform(0, 360), rng.uniform(0, 0.08), rng.uniform(0.15, 0.7))[0],
                      _hsv(rng.uniform(8, 20), rng.uniform(0.4, 0.7), rng.uniform(0.35, 0.6))[0]][int(rng.integers(3))]
    return w


def _plan_label(rng, scene: Scene3, outer, pic_h: float):
    if rng.random() >= scene.label_chance:
        return None
    cw, ch = rng.uniform(8, 16), rng.uniform(5, 10)
    gap = rng.uniform(5, 25)
    where = rng.choice(("right", "left", "below"), p=[0.6, 0.25, 0.15])
    if where == "below":
        u0 = rng.uniform(outer[0], max(outer[0], outer[2] - cw))
        v0 = outer[3] + gap * 0.6
    else:
        u0 = outer[2] + gap if where == "right" else outer[0] - gap - cw
        v0 = outer[3] - ch - rng.uniform(0, 0.4) * pic_h
    lines = [(rng.uniform(0.5, 0.9), 0.13)] + [(rng.uniform(0.3, 0.95), 0.06) for _ in range(int(rng.integers(2, 6)))]
    colour = _hsv(rng.uniform(30, 60), rng.uniform(0, 0.08), rng.uniform(0.88, 1.0))[0]
    return SimpleNamespace(rect=(u0, v0, u0 + cw, v0 + ch), lines=lines, colour=colour)


def _plan_neighbour(rng, scene: Scene3, H: np.ndarray, outer, pic_h: float):
    """Part of another framed work at the left or right border, at most a third of the frame wide."""
    if rng.random() >= scene.neighbour_chance:
        return None
    Hi = np.linalg.inv(H)
    ends = _project(H, [[outer[0], 0], [outer[2], 0]])
    room = (ends[0, 0], FRAME_W - ends[1, 0])  # free frame width left and right of the main work
    side = 1 if (room[1] > room[0]) == (rng.random() < 0.8) else -1
    q = rng.uniform(0.06, 0.3)
    y = float(_project(H, [[0, 0]])[0, 1])
    x_in = FRAME_W * (1 - q) if side > 0 else FRAME_W * q
    x_out = FRAME_W + 60 if side > 0 else -60
    u_in, u_out = _project(Hi, [[x_in, y], [x_out, y]])[:, 0]
    gap = rng.uniform(8, 40)
    if side > 0:
        u_in = max(u_in, outer[2] + gap)
        u1 = max(u_in + rng.uniform(30, 150), u_out)
        r = (u_in, 0.0, u1, 0.0)
    else:
        u_in = min(u_in, outer[0] - gap)
        u0 = min(u_in - rng.uniform(30, 150), u_out)
        r = (u0, 0.0, u_in, 0.0)
    nh = max(20.0, pic_h * rng.uniform(0.5, 1.6))
    vc = rng.uniform(-0.25, 0.25) * pic_h
    n = SimpleNamespace(rect=(r[0], vc - nh / 2, r[2], vc + nh / 2), seed=int(rng.integers(1 << 31)))
    n.kind = str(rng.choice(KINDS3))
    n.frame = min(nh, r[2] - r[0]) * rng.uniform(0.0, 0.12)
    n.style = str(rng.choice(_FRAME_STYLES))
    n.base, n.prof = _frame_look(rng, n.style)
    return n


def _plan_light(rng, wcm: float, hcm: float):
    L = max(wcm, hcm)
    li = SimpleNamespace(ambient=rng.uniform(0.3, 0.9), tint=rng.uniform(0.9, 1.1, 3),
                         grad=rng.uniform(-0.5, 0.5, 2), spots=[])
    for _ in range(int(rng.choice([0, 1, 2], p=[0.2, 0.5, 0.3]))):
        li.spots.append(SimpleNamespace(
            u=rng.uniform(-0.35, 0.35) * wcm, v=rng.uniform(-0.35, 0.15) * hcm,
            a=L * rng.uniform(0.45, 1.3), b=L * rng.uniform(0.55, 1.8), p=float(rng.choice([2, 3, 4, 6, 8])),
            power=rng.uniform(0.3, 1.3), tint=np.array([rng.uniform(0.75, 1.0), rng.uniform(0.92, 1.0), 1.0])))
    return li


def _plan_glare(rng, scene: Scene3, wcm: float, hcm: float, glazed: bool):
    g = SimpleNamespace(spots=[], reflection=None)
    if rng.random() < scene.glare_chance:
        n = int(rng.integers(1, 3))
        for _ in range(n):
            area = wcm * hcm / 3 / n * rng.uniform(0.05, 1.0)  # at most a third of the work together
            elong = 1.0 if rng.random() < 0.5 else rng.uniform(3, 10)  # spot or streak
            a = math.sqrt(area * elong / math.pi)
            g.spots.append(SimpleNamespace(u=rng.uniform(-0.4, 0.4) * wcm, v=rng.uniform(-0.4, 0.4) * hcm,
                                           a=a, b=a / elong, ang=rng.uniform(0, math.pi),
                                           power=rng.uniform(0.4, 1.0), p=float(rng.choice([2, 3, 4]))))
    if glazed and rng.random() < scene.reflection_chance:
        g.reflection = SimpleNamespace(seed=int(rng.integers(1 << 31)), strength=rng.uniform(0.05, 0.15))
    return g


def _plan_camera(rng, scene: Scene3):
    c = SimpleNamespace()
    cast = str(rng.choice(("none", "warm", "cool", "green", "magenta")))
    direction = {"none": (0, 0, 0), "warm": (-1, 0, 1), "cool": (1, 0, -1), "green": (-0.5, 1, -0.5),
                 "magenta": (0.7, -1, 0.7)}[cast]
    wb = rng.uniform(-0.08, 0.08, 3) * min(1.0, scene.max_cast / 0.4)  # white balance error
    c.gains = np.clip(1 + rng.uniform(0, 1) * scene.max_cast * np.array(direction) + wb, 0.6, 1.4)
    c.exposure = math.exp(rng.uniform(*np.log(scene.exposure_range)))
    c.gamma = math.exp(rng.uniform(*np.log(scene.gamma_range)))
    c.scurve = rng.uniform(0, 0.5) if rng.random() < 0.3 else 0.0
    c.vignette, c.vpow = rng.uniform(0, 0.5), rng.uniform(0, 1)  # strength; 0 = quadratic, 1 = steeper
    c.defocus = rng.uniform(0, 1.3)
    c.noise, c.chroma = rng.uniform(1, 6), rng.uniform(0.5, 3)
    c.jpeg = rng.uniform(*scene.jpeg_quality)
    c.cheap = rng.random() < scene.cheap_sensor_chance
    return c


def _plan_visitors(rng, scene: Scene3):
    walkers = []
    for i in range(2):
        if i == 1 and rng.random() >= scene.second_visitor_chance:
            break
        r = rng.uniform(22, 75)
        walkers.append(SimpleNamespace(
            offset=rng.random(), speed=rng.uniform(0.004, 0.02), direction=float(rng.choice([-1, 1])),
            r=r, head_at=rng.uniform(0.1, 1.05), shoulders=r * rng.uniform(1.7, 2.6),
            clothes=_hsv(rng.uniform(0, 360), rng.uniform(0.05, 0.8), rng.uniform(0.08, 0.7))[0],
            hair=_hsv(rng.uniform(10, 40), rng.uniform(0.1, 0.8), float(rng.choice([0.06, 0.2, 0.4, 0.7, 0.8])))[0],
            skin=_hsv(rng.uniform(12, 32), rng.uniform(0.2, 0.6), rng.uniform(0.3, 0.9))[0],
            bald=rng.random() < 0.12, long_hair=rng.random() < 0.3,
            backpack=_palette(rng, 1)[0] if rng.random() < 0.25 else None,
            arm=float(rng.choice([-1, 1])) if rng.random() < 0.2 else 0.0,
            arm_to=(rng.uniform(0.3, 1.5), rng.uniform(0.5, 2.5)),
            light=rng.uniform(0.35, 0.95), blur=rng.uniform(0.6, 2.0)))
    return walkers


def _plan_scene(seed: int, scene: Scene3, art_hw):
    g = _rng(seed, _SCENE, _POSE)
    if art_hw is None:  # an empty wall still needs a camera: aim it at an imaginary work
        aspect = math.exp(g.uniform(math.log(0.5), math.log(2.0)))
    else:
        aspect = art_hw[1] / art_hw[0]
    L = math.exp(g.uniform(math.log(30), math.log(200)))  # physical size of the longest side, cm
    wcm, hcm = (L, L / aspect) if aspect >= 1 else (L * aspect, L)
    k = g.uniform(0, scene.max_k1) if g.random() < scene.distortion_chance else 0.0
    H = _solve_pose(g, scene, wcm, hcm, k)
    p = SimpleNamespace(empty=art_hw is None, wcm=wcm, hcm=hcm, L=L, k=k, H=H)
    p.mount = _plan_mount(_rng(seed, _SCENE, _MOUNT), scene, art_hw is not None, L)
    e = p.mount.frame + p.mount.mat
    p.outer = (-wcm / 2 - e, -hcm / 2 - e, wcm / 2 + e, hcm / 2 + e)
    p.wall = _plan_wall(_rng(seed, _SCENE, _WALL), scene)
    p.label = _plan_label(_rng(seed, _SCENE, _LABEL), scene, p.outer, hcm)
    p.neighbour = _plan_neighbour(_rng(seed, _SCENE, _NEIGHBOUR), scene, H, p.outer, hcm)
    p.light = _plan_light(_rng(seed, _SCENE, _LIGHT), wcm, hcm)
    p.glare = _plan_glare(_rng(seed, _SCENE, _GLARE), scene, wcm, hcm, p.mount.glazed) if art_hw else \
        SimpleNamespace(spots=[], reflection=None)
    p.camera = _plan_camera(_rng(seed, _SCENE, _CAMERA), scene)
    p.visitors = _plan_visitors(_rng(seed, _SCENE, _VISITORS), scene)
    # the undistorted render is padded so the barrel distortion has content to pull in from
    p.pad = (math.ceil(k * (_CX + 1) * (_CX ** 2 + _CY ** 2) / _RN ** 2 / 4) * 4 + 4 if k else 0,
             math.ceil(k * (_CY + 1) * (_CX ** 2 + _CY ** 2) / _RN ** 2 / 4) * 4 + 4 if k else 0)
    return p


def _plan_moment(seed: int, scene: Scene3, plan, moment: int | None):
    """What changes between frames of one visit: visitors, shake, blur, noise, JPEG quality."""
    r = _rng(seed, _MOMENT, int(moment) % (1 << 62)) if moment is not None else _rng(seed, _STILL)
    m = SimpleNamespace(rng=r)
    if moment is None:
        m.shake = (0.0, 0.0)
    else:
        rad, ang = 2.0 * math.sqrt(r.random()), r.uniform(0, 2 * math.pi)
        m.shake = (rad * math.cos(ang), rad * math.sin(ang))
    m.phases = [(w.offset + moment * w.speed) % 1.0 if moment is not None else r.random() for w in plan.visitors]
    m.defocus = plan.camera.defocus + r.uniform(0, 0.4)
    m.motion = (r.uniform(2, 6), r.uniform(0, 180)) if r.random() < scene.motion_blur_chance else None
    m.noise = plan.camera.noise * r.uniform(0.85, 1.15)
    lo, hi = scene.jpeg_quality
    m.jpeg = int(np.clip(round(plan.camera.jpeg + r.uniform(-8, 8)), lo, hi))
    return m


# ----------------------------------------------------------------------------------------------------
# Wall textures: tiles that repeat seamlessly, sampled with wrap-around


def _tile(rng, wall, s: float):
    """(tile uint8, tile pixels per cm) for the wall kind at about `s` px/cm."""
    c = wall.colour.astype(np.float32)
    kind = wall.kind
    if kind in ("paint", "plaster"):
        per = 120.0
        st = min(s, 320 / per)
        n = max(8, int(per * st))
        amp = (0.012, 0.006, 0.0) if kind == "paint" else (0.05, 0.035, 0.03)
        t = 1 + amp[0] * _pnoise(rng, n, n, 3, 3) + amp[1] * _pnoise(rng, n, n, 12, 12)
        if amp[2]:
            t += amp[2] * _pnoise(rng, n, n, n // 2, n // 2)
        return _u8(c * t[..., None]), st
    if kind == "brick":
        return _brick_tile(rng, c, s)
    if kind == "wood":
        return _wood_tile(rng, s)
    if kind == "paper":
        return _paper_tile(rng, c, s)
    return _concrete_tile(rng, s)


def _u8(a: np.ndarray) -> np.ndarray:
    return np.clip(a, 0, 255).astype(np.uint8)


def _brick_tile(rng, paint, s):
    bw, bh = 22.5, 7.5  # brick + mortar, cm
    nb, nc = 3, 4
    st = min(s, 384 / (nb * bw))
    tw, th = round(nb * bw * st), round(2 * nc * bh * st)
    sx, sy = tw / (nb * bw), th / (2 * nc * bh)
    painted = rng.random() < 0.3
    brick = paint if painted else _hsv(rng.uniform(5, 35), rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7))[0]
    mortar = brick * 0.85 if painted else _hsv(rng.uniform(20, 50), rng.uniform(0, 0.15), rng.uniform(0.5, 0.8))[0]
    img = np.empty((th, tw, 3), np.float32)
    img[:] = mortar
    m = 0.5
    jit = 0.04 if painted else 0.15
    for row in range(2 * nc):
        off = (row % 2) * bw / 2
        for j in range(-1, nb + 1):
            col = (brick * rng.uniform(1 - jit, 1 + jit) * rng.uniform(0.95, 1.05, 3)).tolist()
            x0, x1 = (j * bw + off + m) * sx, ((j + 1) * bw + off - m) * sx
            y0, y1 = (row * bh + m) * sy, ((row + 1) * bh - m) * sy
            for shift in (0, -tw):
                cv2.rectangle(img, (int(x0 + shift), int(y0)), (int(x1 + shift) - 1, int(y1) - 1), col, -1)
    img *= (1 + 0.06 * _pnoise(rng, th, tw, th // 2 + 2, tw // 2 + 2) + 0.05 * _pnoise(rng, th, tw, 8, 8))[..., None]
    return _u8(img), st


def _wood_tile(rng, s):
    pw = rng.uniform(8, 25)
    n = 4
    length = 150.0
    st = min(s, 384 / length)
    tw, th = max(8, round(n * pw * st)), max(8, round(length * st))
    base = _hsv(rng.uniform(15, 38), rng.uniform(0.3, 0.75), rng.uniform(0.2, 0.75))[0]
    img = np.empty((th, tw, 3), np.float32)
    grain = 0.5 + 0.5 * np.sin(_pnoise(rng, th, tw, 3, n * 10) * rng.uniform(5, 12))
    img[:] = base
    img *= (0.85 + 0.25 * grain + 0.04 * _pnoise(rng, th, tw, 4, n * 40))[..., None]
    edges = np.linspace(0, tw, n + 1).astype(int)
    for i in range(n):
        img[:, edges[i]:edges[i + 1]] *= rng.uniform(0.85, 1.15)
        img[:, edges[i]:edges[i] + max(1, int(st * 0.3))] *= 0.55  # gap between planks
        y = int(rng.uniform(0, th))
        img[y:y + max(1, int(st * 0.2)), edges[i]:edges[i + 1]] *= 0.6  # butt joint
    if rng.random() < 0.4:
        img = np.ascontiguousarray(img.transpose(1, 0, 2))  # horizontal planks
    return _u8(img), st


def _paper_tile(rng, ground, s):
    rep = rng.uniform(6, 30)
    st = min(s, 256 / rep)
    n = max(8, round(rep * st))
    img = np.empty((n, n, 3), np.float32)
    img[:] = ground
    k = rng.uniform(0.1, 0.35) * float(rng.choice([-1, 1]))
    motif_col = np.clip(ground * (1 + k), 0, 255) if rng.random() < 0.6 else _palette(rng, 1, "muted")[0]
    kind = str(rng.choice(("dot", "diamond", "flower", "damask", "stripe", "fabric")))
    r = n * rng.uniform(0.12, 0.3)
    centres = [(n / 2, n / 2), (0, 0), (n, 0), (0, n), (n, n)]  # half-offset lattice: seamless
    if kind == "stripe":
        bw = max(1, int(n * rng.uniform(0.1, 0.4)))
        img[:, :bw] = motif_col
        img[:, n // 2: n // 2 + max(1, bw // 4)] = motif_col * 0.9
    elif kind == "fabric":
        p = max(3, round(n / max(1, round(n / max(3.0, 0.25 * st)))))
        yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
        weave = np.sin(2 * math.pi * xx / p) * np.sin(2 * math.pi * yy / p)
        img *= (1 + 0.08 * weave + 0.04 * _pnoise(rng, n, n, 4, 8))[..., None]
    else:
        for c in centres:
            if kind == "dot":
                _shape(img, motif_col, polys=[_ellipse(c, (r * 0.5, r * 0.5))])
            elif kind == "diamond":
                _shape(img, motif_col, polys=[[(c[0], c[1] - r), (c[0] + r * 0.6, c[1]), (c[0], c[1] + r), (c[0] - r * 0.6, c[1])]])
            elif kind == "flower":
                for a in np.linspace(0, 360, int(rng.integers(5, 9)), endpoint=False):
                    d = (c[0] + r * 0.5 * math.cos(math.radians(a)), c[1] + r * 0.5 * math.sin(math.radians(a)))
                    _shape(img, motif_col, polys=[_ellipse(d, (r * 0.45, r * 0.2), a)])
            else:  # damask-like: a mirrored ogee leaf
                t = np.linspace(0, 1, 16)
                half = np.stack([r * 0.7 * np.sin(np.pi * t) ** 1.5 * (1 + 0.3 * np.sin(3 * np.pi * t)), (t - 0.5) * 2.2 * r], 1)
                pts = np.concatenate([half, half[::-1] * [-1, 1]]) + c
                _shape(img, motif_col, polys=[pts])
    img *= (1 + 0.02 * _pnoise(rng, n, n, n // 2 + 2, n // 2 + 2))[..., None]
    return _u8(img), st


def _concrete_tile(rng, s):
    pu, pv = rng.uniform(60, 120), rng.uniform(90, 150)
    st = min(s, 384 / max(pu, pv))
    tw, th = max(8, round(pu * st)), max(8, round(pv * st))
    grey = _hsv(rng.uniform(0, 360), rng.uniform(0, 0.08), rng.uniform(0.45, 0.8))[0]
    t = 1 + 0.07 * _pnoise(rng, th, tw, 3, 3) + 0.045 * _pnoise(rng, th, tw, 10, 10) + 0.035 * _pnoise(rng, th, tw, th // 2 + 2, tw // 2 + 2)
    img = grey * t[..., None].astype(np.float32)
    pores = rng.uniform(0, 1, (int(rng.integers(30, 200)), 2)) * (tw, th)
    for x, y in pores.astype(int):
        cv2.circle(img, (int(x), int(y)), 1, (grey * 0.6).tolist(), -1)
    seam = max(1, int(st * 0.4))
    img[:seam] *= 0.82
    img[:, :seam] *= 0.82
    for fu in (0.25, 0.75):
        for fv in (0.25, 0.75):
            cv2.circle(img, (int(fu * tw), int(fv * th)), max(1, int(st * 1.3)), (grey * 0.45).tolist(), -1, cv2.LINE_AA)
    return _u8(img), st


# ----------------------------------------------------------------------------------------------------
# Objects on the wall (frames, mat, picture, label, neighbour, shadows) drawn on a wall-plane canvas


def _paste(dst: np.ndarray, src: np.ndarray, x: int, y: int) -> None:
    """Copy src into dst at (x, y), clipped to dst."""
    h, w = src.shape[:2]
    H, W = dst.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 > x0 and y1 > y0:
        dst[y0:y1, x0:x1] = src[y0 - y:y1 - y, x0 - x:x1 - x]


def _paste_scaled(dst: np.ndarray, src: np.ndarray, rect) -> None:
    """Draw src stretched over the canvas rect (x0, y0, x1, y1), rendering only the part inside dst."""
    H, W = dst.shape[:2]
    x0, y0, x1, y1 = rect
    ix0, iy0 = max(math.floor(x0), 0), max(math.floor(y0), 0)
    ix1, iy1 = min(math.ceil(x1), W), min(math.ceil(y1), H)
    if ix1 <= ix0 or iy1 <= iy0:
        return
    sx, sy = (x1 - x0) / src.shape[1], (y1 - y0) / src.shape[0]
    M = np.array([[sx, 0, x0 - ix0 + 0.5 * sx - 0.5], [0, sy, y0 - iy0 + 0.5 * sy - 0.5]])
    part = cv2.warpAffine(src, M, (ix1 - ix0, iy1 - iy0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    dst[iy0:iy1, ix0:ix1, :3] = part
    dst[iy0:iy1, ix0:ix1, 3] = 255


def _draw_frame(obj, outer, inner, base, prof, style, rng) -> None:
    """A mitred moulding between the outer and inner rects (canvas px), lit from above. Whatever it
    leaves inside the inner rect is painted over by the mat or the picture."""
    o, i = np.array(outer, float), np.array(inner, float)
    n = len(prof)
    for b in range(n):
        ro, ri = o + (i - o) * (b / n), o + (i - o) * ((b + 1) / n)
        sides = (  # light: top lit, bottom in shade
            (1.12, [(ro[0], ro[1]), (ro[2], ro[1]), (ri[2], ri[1]), (ri[0], ri[1])]),
            (0.72, [(ro[0], ro[3]), (ro[2], ro[3]), (ri[2], ri[3]), (ri[0], ri[3])]),
            (1.0, [(ro[0], ro[1]), (ri[0], ri[1]), (ri[0], ri[3]), (ro[0], ro[3])]),
            (0.86, [(ro[2], ro[1]), (ri[2], ri[1]), (ri[2], ri[3]), (ro[2], ro[3])]),
        )
        for light, q in sides:
            colour = [float(v) for v in np.clip(base * prof[b] * light, 0, 255)] + [255.0]
            cv2.fillConvexPoly(obj, np.round(np.array(q) * 16).astype(np.int32), colour, cv2.LINE_8, 4)
    if style not in ("wood", "gilded"):
        return
    # grain runs along each side (which side: nearer to a horizontal or a vertical edge); gold gets patina
    H, W = obj.shape[:2]
    x0, y0 = max(int(o[0]), 0), max(int(o[1]), 0)
    x1, y1 = min(math.ceil(o[2]), W), min(math.ceil(o[3]), H)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    sh, sw = max((y1 - y0) // 4, 2), max((x1 - x0) // 4, 2)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    yy, xx = (yy + 0.5) * (y1 - y0) / sh + y0, (xx + 0.5) * (x1 - x0) / sw + x0
    horizontal = np.minimum(yy - o[1], o[3] - yy) < np.minimum(xx - o[0], o[2] - xx)
    along_x = cv2.resize(rng.standard_normal((sh, max(sw // 10, 2))).astype(np.float32), (sw, sh))
    along_y = cv2.resize(rng.standard_normal((max(sh // 10, 2), sw)).astype(np.float32), (sw, sh))
    amp = 0.12 if style == "wood" else 0.07
    tex = cv2.resize(1 + amp * np.where(horizontal, along_x, along_y), (x1 - x0, y1 - y0))
    tex4 = cv2.merge([tex, tex, tex, np.ones_like(tex)])
    obj[y0:y1, x0:x1] = cv2.multiply(obj[y0:y1, x0:x1], tex4, dtype=cv2.CV_8U)


def _fill_rect(obj, r, colour) -> None:
    cv2.rectangle(obj, (round(r[0]), round(r[1])), (round(r[2]) - 1, round(r[3]) - 1),
                  (*[float(c) for c in colour], 255.0), -1)


def _build_objects(seed: int, plan, art, H: np.ndarray):
    """Wall-plane canvases: obj (uint8 BGRA) and, at half its size, aux (uint8 [shade, glass, -, -]); their
    wall->canvas transforms; and the picture's size in cm (snapped to whole canvas pixels)."""
    # canvas density: a little finer than the frame's pixels at the work's centre
    o, eu, ev = _project(H, [[0, 0], [1, 0], [0, 1]])
    (ax, ay), (bx, by) = eu - o, ev - o
    s = 1.15 * math.sqrt(abs(ax * by - ay * bx))  # px per cm: sqrt of the Jacobian's determinant
    rects = [plan.outer]
    if plan.label:
        rects.append(plan.label.rect)
    if plan.neighbour:
        rects.append(plan.neighbour.rect)
    box = np.array(rects, float)
    margin = 8.0 + plan.mount.shadow_blur * 3
    u_lo, v_lo = box[:, 0].min() - margin, box[:, 1].min() - margin
    u_hi, v_hi = box[:, 2].max() + margin, box[:, 3].max() + margin
    view = _project(np.linalg.inv(H), [[-60, -60], [FRAME_W + 60, -60], [FRAME_W + 60, FRAME_H + 60], [-60, FRAME_H + 60]])
    u_lo, v_lo = max(u_lo, view[:, 0].min()), max(v_lo, view[:, 1].min())
    u_hi, v_hi = min(u_hi, view[:, 0].max()), min(v_hi, view[:, 1].max())
    area = max(u_hi - u_lo, 1.0) * max(v_hi - v_lo, 1.0)
    s = min(s, math.sqrt(1.0e6 / area))  # bound the canvas size (and the time it takes)
    if art is not None:
        wpx, hpx = max(2, round(plan.wcm * s)), max(2, round(plan.hcm * s))
        wcm, hcm = wpx / s, hpx / s
    else:
        wcm, hcm = plan.wcm, plan.hcm
    # snap the canvas origin so the picture's edges fall on pixel boundaries
    c0 = math.ceil((-wcm / 2 - u_lo) * s)
    r0 = math.ceil((-hcm / 2 - v_lo) * s)
    u0, v0 = -wcm / 2 - c0 / s, -hcm / 2 - r0 / s
    nc = max(2, math.ceil((u_hi - u0) * s) + 1)
    nr = max(2, math.ceil((v_hi - v0) * s) + 1)
    px = lambda r: ((r[0] - u0) * s, (r[1] - v0) * s, (r[2] - u0) * s, (r[3] - v0) * s)
    obj = np.zeros((nr, nc, 4), np.uint8)
    aux = np.zeros((nr // 2 + 1, nc // 2 + 1, 4), np.uint8)  # shade, glass, -, - (4 channels warp fastest)
    m = plan.mount
    e = m.frame + m.mat
    outer = (-wcm / 2 - e, -hcm / 2 - e, wcm / 2 + e, hcm / 2 + e)
    _shadows(aux, plan, outer, px, s)
    rng = _rng(seed, _SCENE, _MOUNT, 1)
    if plan.neighbour is not None:
        _draw_neighbour(obj, plan.neighbour, px, s, rng)
    if art is not None:
        if m.frame > 0:
            inner = (outer[0] + m.frame, outer[1] + m.frame, outer[2] - m.frame, outer[3] - m.frame)
            _draw_frame(obj, px(outer), px(inner), m.base, m.prof, m.style, rng)
            if m.mat > 0:
                _fill_rect(obj, px(inner), m.mat_colour)
                bev = max(1.0, 0.25 * s)  # the bevelled cut of the mat shows its white core
                pr = px((-wcm / 2, -hcm / 2, wcm / 2, hcm / 2))
                _fill_rect(obj, (pr[0] - bev, pr[1] - bev, pr[2] + bev, pr[3] + bev), np.minimum(m.mat_colour * 1.08, 255))
        pic = cv2.resize(art, (wpx, hpx), interpolation=cv2.INTER_AREA if wpx < art.shape[1] else cv2.INTER_LINEAR)
        _paste(obj, cv2.cvtColor(pic, cv2.COLOR_BGR2BGRA), c0, r0)
        glass = (-wcm / 2, -hcm / 2, wcm / 2, hcm / 2)  # varnish: glare on the picture only
        if m.frame > 0 and m.glazed:  # glass over mat and picture
            glass = (outer[0] + m.frame, outer[1] + m.frame, outer[2] - m.frame, outer[3] - m.frame)
        g = np.round(np.array(px(glass)) / 2).astype(int)
        aux[max(g[1], 0):max(g[3], 0), max(g[0], 0):max(g[2], 0), 1] = 255
    if plan.label is not None:
        _draw_label(obj, plan.label, px)
    A = np.array([[s, 0, -u0 * s - 0.5], [0, s, -v0 * s - 0.5], [0, 0, 1.0]])
    A_aux = np.array([[0.5, 0, -0.25], [0, 0.5, -0.25], [0, 0, 1.0]]) @ A
    return obj, aux, A, A_aux, (wcm, hcm)


def _shadows(aux, plan, outer, px, s) -> None:
    """Soft drop shadows of the framed work, the neighbour and the label (aux channel 0: 255 = lit)."""
    m = plan.mount
    nr, nc = aux.shape[:2]
    q = 4  # draw at a quarter of the canvas size: shadows are soft anyway
    low = np.zeros((nr // 2 + 1, nc // 2 + 1), np.float32)
    rects = []
    if not plan.empty and m.shadow:
        rects.append(outer)
    if plan.label is not None:
        rects.append(plan.label.rect)
    if plan.neighbour is not None:
        rects.append(plan.neighbour.rect)
    for r in rects:
        p = px((r[0] + m.shadow_dx, r[1] + m.shadow_dy, r[2] + m.shadow_dx, r[3] + m.shadow_dy))
        cv2.rectangle(low, (int(p[0] / q), int(p[1] / q)), (int(p[2] / q), int(p[3] / q)), 1.0, -1)
    if rects:
        low = cv2.GaussianBlur(low, (0, 0), max(0.5, m.shadow_blur * s / q))
    shade = cv2.resize(low, (nc, nr), interpolation=cv2.INTER_LINEAR)  # aux is at half the canvas size
    aux[..., 0] = cv2.convertScaleAbs(shade, alpha=-255.0 * m.shadow_dark, beta=255.0)


def _draw_neighbour(obj, n, px, s, rng) -> None:
    r = px(n.rect)
    f = n.frame * s
    if f >= 1:
        inner = (r[0] + f, r[1] + f, r[2] - f, r[3] - f)
        _draw_frame(obj, r, inner, n.base, n.prof, n.style, rng)
    else:
        inner = r
    iw, ih = inner[2] - inner[0], inner[3] - inner[1]
    if iw < 2 or ih < 2:
        return
    scale = min(1.0, 140.0 / max(iw, ih))  # paint small and stretch: only a sliver is seen
    art = _paint(n.kind, _rng(n.seed, _ART), max(8, int(ih * scale)), max(8, int(iw * scale)))
    _paste_scaled(obj, art, inner)


def _draw_label(obj, lab, px) -> None:
    r = px(lab.rect)
    _fill_rect(obj, r, lab.colour)
    w, h = r[2] - r[0], r[3] - r[1]
    y = r[1] + 0.15 * h
    ink = (40.0, 40.0, 45.0)
    for frac, th in lab.lines:
        t = max(1.0, th * h)
        _fill_rect(obj, (r[0] + 0.1 * w, y, r[0] + 0.1 * w + frac * 0.8 * w, y + t), ink)
        y += t + max(1.0, 0.08 * h)
        if y > r[3] - 0.1 * h:
            break


# ----------------------------------------------------------------------------------------------------
# Rendering


def _cells(step: int):
    """Frame-pixel centres of the step x step cells of the final frame."""
    xs = np.arange(FRAME_W // step, dtype=np.float32) * step + (step - 1) / 2
    ys = np.arange(FRAME_H // step, dtype=np.float32) * step + (step - 1) / 2
    return np.meshgrid(xs, ys)


def _undistort_xy(x, y, k: float):
    """Final (distorted) frame pixels -> undistorted pixels: x_u = c + (x_d - c)(1 + k r_d^2)."""
    if not k:
        return x, y
    dx, dy = x - _CX, y - _CY
    f = 1 + k * (dx * dx + dy * dy) / (_RN * _RN)
    return _CX + dx * f, _CY + dy * f


def _wall_uv(Hi: np.ndarray, k: float, step: int):
    """Wall coordinates (U, V) in cm seen at the cell centres of the final frame."""
    x, y = _undistort_xy(*_cells(step), k)
    den = Hi[2, 0] * x + Hi[2, 1] * y + Hi[2, 2]
    return (Hi[0, 0] * x + Hi[0, 1] * y + Hi[0, 2]) / den, (Hi[1, 0] * x + Hi[1, 1] * y + Hi[1, 2]) / den


def _lens_maps(plan):
    """remap() maps from the final frame into the padded undistorted render, at full and half size."""
    px_, py_ = plan.pad
    x, y = _undistort_xy(*_cells(2), plan.k)
    x, y = (x + px_).astype(np.float32), (y + py_).astype(np.float32)
    full = [cv2.resize(m, (FRAME_W, FRAME_H), interpolation=cv2.INTER_LINEAR) for m in (x, y)]  # smooth
    return full, [(x - 0.5) / 2, (y - 0.5) / 2]


def _halfplane_poly(l: np.ndarray, w: int, h: int):
    """The part of the image (as a 1/16-px polygon) where l . (x, y, 1) > 0, or None."""
    poly = [(-2, -2), (w + 1, -2), (w + 1, h + 1), (-2, h + 1)]
    out = []
    for i in range(4):  # clip the image rectangle by the half-plane (Sutherland-Hodgman, one edge)
        a, b = np.array(poly[i], float), np.array(poly[(i + 1) % 4], float)
        fa, fb = l[0] * a[0] + l[1] * a[1] + l[2], l[0] * b[0] + l[1] * b[1] + l[2]
        if fa > 0:
            out.append(a)
        if (fa > 0) != (fb > 0):
            out.append(a + (b - a) * fa / (fa - fb))
    return np.round(np.array(out) * 16).astype(np.int32) if len(out) >= 3 else None


def _floor(img: np.ndarray, plan, M: np.ndarray) -> None:
    """Skirting board and floor below the wall: straight lines on the wall plane, so straight here."""
    w = plan.wall
    hh, ww = img.shape[:2]
    y_floor = plan.outer[3] + w.floor_gap
    sign = 1.0 if (M @ np.array([ww / 2, hh / 2, 1.0]))[2] > 0 else -1.0
    bands = [(y_floor - w.skirting, w.skirting_colour)] if w.skirting else []
    for y, colour in bands + [(y_floor, w.floor_colour)]:
        poly = _halfplane_poly(sign * (M[1] - y * M[2]), ww, hh)  # V > y  <=>  l . p > 0
        if poly is not None:
            cv2.fillPoly(img, [poly], [float(v) for v in colour], cv2.LINE_AA, 4)


def _falloff(d2: np.ndarray, p: float) -> np.ndarray:
    """exp(-d^p) from d^2 for p in {2, 3, 4, 6, 8}, without pow()."""
    if p == 3:
        e = d2 * np.sqrt(d2)
    else:
        e = d2
        for _ in range(int(p) // 2 - 1):
            e = e * d2
    return np.exp(-e)


def _lighting(plan, U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Light (3 channels): ambient with a gradient across the wall, plus elliptical spot pools."""
    li = plan.light
    L = plan.L
    base = li.ambient * np.clip(1 + li.grad[0] * U / L + li.grad[1] * V / L, 0.3, 2.0)
    g = base[..., None] * li.tint
    for sp in li.spots:
        d2 = ((U - sp.u) / sp.a) ** 2 + ((V - sp.v) / sp.b) ** 2
        g = g + (sp.power * _falloff(d2, sp.p))[..., None] * sp.tint
    return g.astype(np.float32)


def _glare(plan, U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Specular spots and streaks (0..1) on the work's surface."""
    g = np.zeros_like(U)
    for sp in plan.glare.spots:
        du, dv = U - sp.u, V - sp.v
        ca, sa = math.cos(sp.ang), math.sin(sp.ang)
        d2 = ((du * ca + dv * sa) / sp.a) ** 2 + ((-du * sa + dv * ca) / sp.b) ** 2
        g += sp.power * _falloff(d2, sp.p)
    return np.clip(g, 0, 1).astype(np.float32)


def _reflection(plan, w: int, h: int) -> np.ndarray:
    """A faint, blurred room on the glass: windows and lamps, dark door frames, a gradient."""
    rng = _rng(plan.glare.reflection.seed, 9)
    small = np.full((30, 40), rng.uniform(0.1, 0.4), np.float32)
    small += _lin(30, 40, rng.uniform(0, 2 * math.pi)) * rng.uniform(0, 0.4)
    for _ in range(int(rng.integers(2, 7))):
        x, y = rng.uniform(0, 40), rng.uniform(0, 30)
        cv2.rectangle(small, (int(x), int(y)), (int(x + rng.uniform(2, 12)), int(y + rng.uniform(2, 10))),
                      float(rng.choice([rng.uniform(0.7, 1.0), rng.uniform(0, 0.1)])), -1)
    small = cv2.GaussianBlur(small, (0, 0), rng.uniform(0.8, 2.5))
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _vignette(c, step: int) -> np.ndarray:
    x, y = _cells(step)
    r2 = ((x - _CX) ** 2 + (y - _CY) ** 2) / _RN ** 2
    return (1 - c.vignette * r2 * (1 + c.vpow * (r2 - 1) * 0.5)).astype(np.float32)


def _render_wall(seed: int, plan, art, H: np.ndarray):
    """The wall plane as the camera sees it, before light: (BGR uint8 frame, object coverage at half
    size, aux [shade, glass] at half size, picture size in cm), all in final (distorted) frame pixels."""
    px_, py_ = plan.pad
    wp, hp = FRAME_W + 2 * px_, FRAME_H + 2 * py_
    M = np.linalg.inv(H) @ _shift(-px_, -py_)  # padded undistorted pixel -> wall cm
    M /= M[2, 2]
    obj, aux, A, A_aux, size = _build_objects(seed, plan, art, H)
    S2 = np.array([[2, 0, 0.5], [0, 2, 0.5], [0, 0, 1.0]])  # half-size pixel -> full-size pixel
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    # the wall texture is sampled at half size: wrap-around sampling is slow, and it is background
    tile, st = _tile(_rng(seed, _SCENE, _TILE), plan.wall, A[0, 0] / 2)
    T = np.array([[st, 0, 0.37 * tile.shape[1]], [0, st, 0.61 * tile.shape[0]], [0, 0, 1.0]])
    wall = cv2.warpPerspective(tile, T @ M @ S2, (wp // 2, hp // 2), flags=flags, borderMode=cv2.BORDER_WRAP)
    wall = cv2.resize(wall, (wp, hp), interpolation=cv2.INTER_LINEAR)
    _floor(wall, plan, M)
    o = cv2.warpPerspective(obj, A @ M, (wp, hp), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # the canvas is black where empty, so the warped colour is premultiplied by the warped alpha
    clear = cv2.cvtColor(cv2.bitwise_not(o[..., 3]), cv2.COLOR_GRAY2BGR)
    comp = cv2.add(cv2.cvtColor(o, cv2.COLOR_BGRA2BGR), cv2.multiply(wall, clear, scale=1 / 255.0))
    ax = cv2.warpPerspective(aux, A_aux @ M @ S2, (wp // 2, hp // 2), flags=flags, borderMode=cv2.BORDER_CONSTANT,
                             borderValue=(255, 0, 0, 0))
    if plan.k:
        comp4 = cv2.cvtColor(comp, cv2.COLOR_BGR2BGRA)
        comp4[..., 3] = o[..., 3]
        full, half = _lens_maps(plan)
        comp4 = cv2.remap(comp4, *full, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        comp, cover = cv2.cvtColor(comp4, cv2.COLOR_BGRA2BGR), comp4[..., 3]
        ax = cv2.remap(ax, *half, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    else:
        cover = o[..., 3]
    cover = cv2.resize(cover, (FRAME_W // 2, FRAME_H // 2), interpolation=cv2.INTER_AREA)
    return comp, cover, ax, size


def _visitor(w, cx: float, q: int):
    """A person seen from behind, drawn at 1/q size as part labels; returns (labels, part colours)."""
    lab = np.zeros((FRAME_H // q, FRAME_W // q), np.uint8)
    s = 1.0 / q
    r, hy = w.r, w.head_y
    pt = lambda x, y: (round(x * s), round(y * s))
    sy = hy + 1.9 * r
    cv2.rectangle(lab, pt(cx - w.shoulders * 0.95, sy + 0.4 * r), pt(cx + w.shoulders * 0.95, FRAME_H + 10), 1, -1)
    cv2.ellipse(lab, pt(cx, sy + 0.4 * r), (int(w.shoulders * s), int(0.8 * r * s)), 0, 180, 360, 1, -1)
    if w.arm:  # a raised arm: pointing, or holding up a phone
        sx = cx + w.arm * w.shoulders * 0.8
        hand = (sx + w.arm * w.arm_to[0] * r, hy - w.arm_to[1] * r)
        cv2.line(lab, pt(sx, sy + 0.3 * r), pt(*hand), 1, max(1, int(0.55 * r * s)))
        cv2.circle(lab, pt(*hand), max(1, int(0.3 * r * s)), 3, -1)
    if w.backpack is not None:
        cv2.rectangle(lab, pt(cx - 0.8 * r, sy + 0.2 * r), pt(cx + 0.8 * r, sy + 2.8 * r), 4, -1)
    if w.long_hair:
        cv2.rectangle(lab, pt(cx - 0.9 * r, hy), pt(cx + 0.9 * r, sy + 1.2 * r), 2, -1)
    cv2.rectangle(lab, pt(cx - 0.45 * r, hy + 0.6 * r), pt(cx + 0.45 * r, sy + 0.3 * r), 3, -1)
    cv2.ellipse(lab, pt(cx, hy), (int(0.9 * r * s), int(1.15 * r * s)), 0, 0, 360, 3 if w.bald else 2, -1)
    colours = np.array([(0, 0, 0), w.clothes, w.hair, w.skin,
                        w.backpack if w.backpack is not None else w.clothes], np.float32)
    return lab, colours


def _add_visitors(img: np.ndarray, plan, mo, scene: Scene3, corners, gain_q: np.ndarray) -> np.ndarray:
    """Visitors walking between camera and wall: out of focus, less lit than the spotlit wall."""
    q = 4
    if not plan.visitors or scene.visitor_chance <= 0:
        return img
    hq, wq = FRAME_H // q, FRAME_W // q
    work = np.zeros((hq, wq), np.uint8)
    if corners is not None:
        cv2.fillConvexPoly(work, np.round(corners * 16 / q).astype(np.int32), 1, cv2.LINE_8, 4)
    work_area = max(int(work.sum()), 1)
    acc_c = np.zeros((hq, wq, 3), np.float32)  # premultiplied colour
    acc_a = np.zeros((hq, wq), np.float32)
    shade = (0.55 + 0.45 * (1 - np.arange(hq, dtype=np.float32) / hq))[:, None, None] * gain_q
    # visitors walk past the work: (x0, x1) the work's extent across the frame, (y0, y1) down it
    if corners is not None:
        (x0, y0), (x1, y1) = corners.min(0), corners.max(0)
    else:
        x0, y0, x1, y1 = FRAME_W * 0.3, FRAME_H * 0.25, FRAME_W * 0.7, FRAME_H * 0.75
    share = scene.max_occlusion / len(plan.visitors)  # each walker's part of the occlusion budget

    def person(w, cx, head_y):
        lab, cols = _visitor(SimpleNamespace(**{**vars(w), "head_y": head_y}), cx, q)
        return lab, cols, (lab > 0).astype(np.float32)

    def hides(a) -> float:  # the sharp silhouette, against a budget that leaves room for the blur
        return 0.0 if corners is None else float(((a > 0.5) & (work > 0)).sum()) / work_area / 0.85

    for w, phase in zip(plan.visitors, mo.phases):
        if phase >= scene.visitor_chance:
            continue
        t = phase / scene.visitor_chance  # passing in front of the work while present
        margin = w.shoulders * 0.8
        cx = x0 - margin + t * (x1 - x0 + 2 * margin)
        if w.direction < 0:
            cx = x0 + x1 - cx
        # a walker stands so that, right in front of the work's centre, they hide at most their share;
        # deciding it there (not where they are now) keeps them at one height along the visit
        head_y = min(max(y0 + w.head_at * (y1 - y0), 0.2 * FRAME_H), 1.05 * FRAME_H)
        for _ in range(14):
            if hides(person(w, (x0 + x1) / 2, head_y)[2]) <= share:
                break
            head_y += 0.05 * FRAME_H
        lab, cols, a = person(w, cx, head_y)
        while hides(np.maximum(acc_a, a)) > scene.max_occlusion and head_y < 1.6 * FRAME_H:  # safety net
            head_y += 0.05 * FRAME_H
            lab, cols, a = person(w, cx, head_y)
        a = cv2.GaussianBlur(a, (0, 0), w.blur)  # out of focus: near the camera
        col = cols[lab] * shade * w.light
        col = cv2.GaussianBlur(col * (lab > 0)[..., None], (0, 0), w.blur)
        acc_c = acc_c * (1 - a[..., None]) + col
        acc_a = acc_a + a * (1 - acc_a)
    if not acc_a.any():
        return img
    col = _u8(acc_c / np.maximum(acc_a, 1e-3)[..., None])
    a = cv2.resize(acc_a, (FRAME_W, FRAME_H), interpolation=cv2.INTER_LINEAR)
    col = cv2.resize(col, (FRAME_W, FRAME_H), interpolation=cv2.INTER_LINEAR)
    return cv2.blendLinear(col, img, a, 1 - a)


def _camera(u8: np.ndarray, plan, mo, auto: float) -> np.ndarray:
    """Tone curve, blur, cheap sensor, sensor noise and JPEG (light and colour gains are applied)."""
    c = plan.camera
    t = np.arange(256, dtype=np.float64) / 255.0
    tone = t ** c.gamma
    if c.scurve:
        tone = tone + c.scurve * (tone * tone * (3 - 2 * tone) - tone)
    u8 = cv2.LUT(u8, np.clip(tone * 255 + 0.5, 0, 255).astype(np.uint8))
    if mo.defocus > 0.3:
        u8 = cv2.GaussianBlur(u8, (0, 0), mo.defocus)
    if mo.motion is not None:
        length, ang = mo.motion
        k = np.zeros((9, 9), np.float32)
        d = np.array([math.cos(math.radians(ang)), math.sin(math.radians(ang))]) * length / 2
        cv2.line(k, (round(4 - d[0]), round(4 - d[1])), (round(4 + d[0]), round(4 + d[1])), 1.0, 1)
        u8 = cv2.filter2D(u8, -1, k / k.sum())
    if c.cheap:
        u8 = cv2.resize(cv2.resize(u8, (320, 240), interpolation=cv2.INTER_AREA), (FRAME_W, FRAME_H),
                        interpolation=cv2.INTER_LINEAR)
    # noise, kept in 8 bits around 128: per-pixel luma noise as the sum of two uniform bytes (a
    # triangular law: much cheaper than normal draws), plus Gaussian chroma noise at quarter size
    sigma = mo.noise * math.sqrt(max(auto * c.exposure, 0.3))
    b = np.frombuffer(mo.rng.bytes(2 * FRAME_W * FRAME_H), np.uint8).reshape(2, FRAME_H, FRAME_W)
    k = sigma / 104.2  # the sum of two uniform bytes has a standard deviation of 104.2
    luma = cv2.addWeighted(b[0], k, b[1], k, 128.0 - 255.0 * k)
    chroma = mo.rng.standard_normal((FRAME_H // 4, FRAME_W // 4, 3), dtype=np.float32) * c.chroma
    chroma = cv2.resize(_u8(chroma + 128), (FRAME_W, FRAME_H), interpolation=cv2.INTER_LINEAR)
    noise = cv2.addWeighted(cv2.cvtColor(luma, cv2.COLOR_GRAY2BGR), 1.0, chroma, 1.0, -128.0)
    u8 = cv2.addWeighted(u8, 1.0, noise, 1.0, -128.0)
    _ok, buf = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, mo.jpeg])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def render_view3(art: np.ndarray | None, seed: int, scene: Scene3 = Scene3(), moment: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """A 640x480 BGR kiosk-camera frame of `art` hanging on a wall, and the picture area's corners.

    `seed` fixes the scene (wall, pose, light, frame, camera settings, neighbours); `moment` (None = a
    single still) changes only the visitors, camera shake (<= 2 px), blur, sensor noise and JPEG quality.
    Corners: (4, 2) float32, top-left, top-right, bottom-right, bottom-left of the work's picture area
    (inside frame and mat) in pixel-centre coordinates after lens distortion; None when `art` is None.
    """
    art = None if art is None else _as_bgr(art)
    plan = _plan_scene(seed, scene, None if art is None else art.shape[:2])
    mo = _plan_moment(seed, scene, plan, moment)
    H = _shift(*mo.shake) @ plan.H  # shake: a tiny shift of the whole view
    Hi = np.linalg.inv(H)
    comp, cover, ax, (wcm, hcm) = _render_wall(seed, plan, art, H)
    corners = None
    if art is not None:  # the picture's size is the one the canvas held exactly (whole pixels)
        corners = _distort(_project(H, _rect(wcm, hcm)), plan.k).astype(np.float32)
    half = (FRAME_W // 2, FRAME_H // 2)
    cam = plan.camera
    vig = _vignette(cam, 4)[..., None]
    light = cv2.resize(_lighting(plan, *_wall_uv(Hi, plan.k, 4)) * vig, half, interpolation=cv2.INTER_LINEAR)
    cov = cover.astype(np.float32) * (1 / 255.0)
    light *= (cov + (1 - cov) * ax[..., 0].astype(np.float32) * (1 / 255.0))[..., None]  # wall shadows
    small = cv2.resize(comp, half, interpolation=cv2.INTER_AREA).astype(np.float32)
    auto = float(np.clip(0.45 * 255 / max(float((small * light).mean()), 1.0), 0.6, 1.8))  # auto exposure
    colour = (cam.gains * cam.exposure * auto).astype(np.float32)  # colour cast, exposure error, AE
    # from here on 8 bits: the sensor clips highlights here anyway, before the tone curve
    img = cv2.multiply(comp, cv2.resize(light * colour, (FRAME_W, FRAME_H)), dtype=cv2.CV_8U)
    gain = cv2.resize(vig * colour, half, interpolation=cv2.INTER_LINEAR)
    glass = ax[..., 1].astype(np.float32) * (1 / 255.0)
    if plan.glare.spots:  # specular highlights saturate toward white
        g = np.zeros_like(glass)
        x, y, w, h = cv2.boundingRect(ax[..., 1])
        if w and h:
            U, V = _wall_uv(Hi, plan.k, 2)
            g[y:y + h, x:x + w] = _glare(plan, U[y:y + h, x:x + w], V[y:y + h, x:x + w]) * glass[y:y + h, x:x + w]
        g = cv2.resize(g, (FRAME_W, FRAME_H))
        white = np.empty_like(img)
        white[:] = np.clip(330.0 * cam.gains * cam.exposure * auto, 0, 255).astype(np.uint8)
        img = cv2.blendLinear(white, img, g, 1 - g)
    if plan.glare.reflection is not None:
        r = _reflection(plan, *half) * glass * (255 * plan.glare.reflection.strength)
        img = cv2.add(img, cv2.resize(r[..., None] * gain, (FRAME_W, FRAME_H)), dtype=cv2.CV_8U)
    img = _add_visitors(img, plan, mo, scene, corners, vig * colour)
    return _camera(img, plan, mo, auto), corners
