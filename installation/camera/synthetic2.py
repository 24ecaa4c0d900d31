"""A second, independent renderer of artworks and camera views (renderer 2 of the recognition
benchmark), written apart from synthetic.py so that recognition is not tuned to one renderer's
habits. Wider ranges on every axis:

- works of five kinds: busy abstracts (brush strokes, blobs), landscapes (sky, hills, water, sun),
  colour fields (two or three soft-edged rectangles on a ground), stripes (any widths, any angle)
  and Mondrian-like grids (white ground, black lines, a few colour bars);
- the work's limiting side spans 25-85 % of the frame's; seen up to 30 degrees off axis;
- frames of any width and colour (or none, or a mat inside one); walls of any colour and texture
  (plain, plaster, wallpaper stripes, wood panels, bricks);
- light: a spotlight or a slope, a strong whole-scene colour cast (light colour, white balance),
  exposure and gamma; glare spots up to half the work's size;
- camera: defocus or motion blur, shot and read noise, chroma noise, low resolution, JPEG;
- catalog images that are not the view's exact source (`catalog_scan`: another scan - resized,
  re-encoded, a little cropped, colour-shifted).

Deterministic for a seed. Everything is drawn with numpy's Generator from seeds given by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

KINDS2 = ("abstract", "landscape", "colour-field", "stripes", "grid")


# ----------------------------------------------------------------------------------------------- works
def _hue(rng, sat=(0.3, 1.0), val=(0.2, 1.0)) -> np.ndarray:
    """A colour drawn in HSV (hue uniform), returned as BGR float in 0-255."""
    hsv = np.uint8([[[rng.integers(0, 180), int(255 * rng.uniform(*sat)), int(255 * rng.uniform(*val))]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)


def _abstract(rng, h, w):
    canvas = np.ones((h, w, 3), np.float32) * _hue(rng, val=(0.5, 1.0))
    for _ in range(int(rng.integers(25, 60))):
        c = _hue(rng)
        layer = np.zeros((h, w), np.uint8)
        shape = rng.integers(0, 4)
        if shape == 0:  # an ellipse at any angle
            cv2.ellipse(layer, (int(rng.uniform(0, w)), int(rng.uniform(0, h))),
                        (int(rng.uniform(0.02, 0.2) * w), int(rng.uniform(0.02, 0.2) * h)),
                        float(rng.uniform(0, 180)), 0, 360, 255, -1)
        elif shape == 1:  # a brush stroke: a thick polyline
            pts = np.cumsum(rng.normal(0, 0.08, (int(rng.integers(3, 7)), 2)), 0) + rng.uniform(0, 1, 2)
            cv2.polylines(layer, [(pts * [w, h]).astype(np.int32)], False, 255, int(rng.uniform(0.005, 0.04) * w))
        elif shape == 2:  # a triangle or quadrilateral
            cv2.fillPoly(layer, [(rng.uniform(0, 1, (int(rng.integers(3, 5)), 2)) * [w, h]).astype(np.int32)], 255)
        else:  # a ring
            cv2.circle(layer, (int(rng.uniform(0, w)), int(rng.uniform(0, h))), int(rng.uniform(0.03, 0.15) * w), 255,
                       int(rng.integers(2, 12)))
        alpha = layer.astype(np.float32)[..., None] / 255 * rng.uniform(0.6, 1.0)
        canvas = canvas * (1 - alpha) + c * alpha
    return canvas


def _landscape(rng, h, w):
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    top, horizon_c = _hue(rng, sat=(0.2, 0.8), val=(0.5, 1.0)), _hue(rng, sat=(0.1, 0.6), val=(0.7, 1.0))
    img = np.broadcast_to(top * (1 - y) + horizon_c * y, (h, w, 3)).copy()
    if rng.random() < 0.6:  # the sun or moon
        cv2.circle(img, (int(rng.uniform(0.1, 0.9) * w), int(rng.uniform(0.1, 0.4) * h)), int(rng.uniform(0.03, 0.08) * w),
                   _hue(rng, sat=(0.2, 0.9), val=(0.9, 1.0)).tolist(), -1, cv2.LINE_AA)
    x = np.arange(w, dtype=np.float32)
    base = rng.uniform(0.35, 0.55)
    for layer in range(int(rng.integers(2, 5))):  # hills, nearer ones lower and darker
        ridge = base + 0.1 * layer
        for octave in range(4):
            amp, freq = 0.12 / (octave + 1) ** 1.3, (octave + 1) * rng.uniform(1, 3)
            ridge = ridge + amp * np.sin(2 * np.pi * freq * x / w + rng.uniform(0, 2 * np.pi))
        rows = (np.clip(ridge, 0.1, 0.98) * h).astype(np.int32)
        below = np.arange(h)[:, None] >= rows[None, :]
        c = _hue(rng, sat=(0.3, 0.9), val=(0.15, 0.8))
        shade = 1 - 0.3 * (np.arange(h, dtype=np.float32)[:, None] - rows[None]) / h
        img = np.where(below[..., None], c * shade[..., None], img)
    if rng.random() < 0.5:  # water across the bottom, reflecting the sky
        level = int(rng.uniform(0.75, 0.9) * h)
        img[level:] = 0.6 * img[level:] + 0.4 * np.flipud(img[2 * level - h:level])
    img += rng.normal(0, 6, (h, w, 1)).astype(np.float32)  # painted grain
    return cv2.GaussianBlur(img, (0, 0), 1.0)


def _colour_field(rng, h, w):
    img = np.ones((h, w, 3), np.float32) * _hue(rng)
    n = int(rng.integers(1, 4))
    if n == 1 or rng.random() < 0.3:  # two colours: a split field
        split = rng.uniform(0.3, 0.7)
        if rng.random() < 0.5:
            img[int(split * h):] = _hue(rng)
        else:
            img[:, int(split * w):] = _hue(rng)
    else:  # soft rectangles on a ground, stacked
        cuts = np.sort(rng.uniform(0.05, 0.95, 2 * n))
        for k in range(n):
            mask = np.zeros((h, w), np.float32)
            x0, x1 = int(rng.uniform(0.04, 0.12) * w), int(rng.uniform(0.88, 0.96) * w)
            mask[int(cuts[2 * k] * h):int(cuts[2 * k + 1] * h), x0:x1] = 1.0
            mask = cv2.GaussianBlur(mask, (0, 0), rng.uniform(0.005, 0.02) * w)[..., None]
            img = img * (1 - mask) + _hue(rng) * mask
    return img + rng.normal(0, 3, (h, w, 1)).astype(np.float32)


def _stripes(rng, h, w):
    palette = [_hue(rng) for _ in range(int(rng.integers(2, 5)))]
    widths = rng.uniform(0.5, 2.0, int(rng.integers(4, 16)))
    edges = np.concatenate([[0], np.cumsum(widths) / widths.sum()])
    angle = rng.choice([0.0, 90.0, rng.uniform(0, 180)])
    d = max(h, w) * 2
    flat = np.zeros((d, d, 3), np.float32)
    for k in range(len(widths)):
        flat[:, int(edges[k] * d):int(edges[k + 1] * d) + 1] = palette[k % len(palette)]
    turned = cv2.warpAffine(flat, cv2.getRotationMatrix2D((d / 2, d / 2), float(angle), 1.0), (d, d),
                            flags=cv2.INTER_NEAREST)
    y0, x0 = (d - h) // 2, (d - w) // 2
    return turned[y0:y0 + h, x0:x0 + w].copy()


def _grid(rng, h, w):
    img = np.ones((h, w, 3), np.float32) * rng.uniform(225, 250) * rng.uniform(0.97, 1.03, 3).astype(np.float32)
    xs = np.sort(rng.uniform(0.05, 0.95, int(rng.integers(2, 5))))
    ys = np.sort(rng.uniform(0.05, 0.95, int(rng.integers(2, 5))))
    bx, by = np.concatenate([[0], xs, [1]]), np.concatenate([[0], ys, [1]])
    primaries = [np.float32([40, 40, 200]), np.float32([160, 60, 20]), np.float32([30, 200, 230]), np.float32([20] * 3)]
    for _ in range(int(rng.integers(1, 5))):  # a few cells filled with a primary
        i, j = rng.integers(0, len(bx) - 1), rng.integers(0, len(by) - 1)
        img[int(by[j] * h):int(by[j + 1] * h), int(bx[i] * w):int(bx[i + 1] * w)] = primaries[rng.integers(0, 4)]
    t = max(2, int(rng.uniform(0.01, 0.025) * min(h, w)))
    for x in xs:
        img[:, int(x * w) - t // 2:int(x * w) + t - t // 2] = 15
    for y in ys:
        img[int(y * h) - t // 2:int(y * h) + t - t // 2] = 15
    return img


_KIND_FN = {"abstract": _abstract, "landscape": _landscape, "colour-field": _colour_field, "stripes": _stripes,
            "grid": _grid}


def kind_of(seed: int) -> str:
    return KINDS2[seed % len(KINDS2)]


def artwork2(seed: int, kind: str | None = None) -> np.ndarray:
    """One BGR uint8 artwork of renderer 2; its kind cycles through KINDS2 with the seed unless given."""
    rng = np.random.default_rng([2, seed])
    kind = kind or kind_of(seed)
    aspect = float(np.exp(rng.uniform(np.log(0.55), np.log(1.8))))
    h = int(rng.integers(360, 560))
    w = int(round(h * aspect))
    return np.clip(_KIND_FN[kind](rng, h, w), 0, 255).astype(np.uint8)


def catalog_scan(art: np.ndarray, seed: int) -> np.ndarray:
    """The catalog's photo of a work: not the pixels on the wall but another scan of it - resized,
    cropped by up to 2 % a side, colour-shifted (gains and gamma), softened or sharpened, re-encoded."""
    rng = np.random.default_rng([3, seed])
    h, w = art.shape[:2]
    c = rng.uniform(0, 0.02, 4)
    img = art[int(c[0] * h):h - int(c[1] * h), int(c[2] * w):w - int(c[3] * w)].astype(np.float32)
    scale = rng.uniform(0.6, 1.6)
    img = cv2.resize(img, (max(32, round(img.shape[1] * scale)), max(32, round(img.shape[0] * scale))),
                     interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    img = 255 * (np.clip(img, 0, 255) / 255) ** rng.uniform(0.9, 1.1) * rng.uniform(0.93, 1.07, 3)
    if rng.random() < 0.5:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.2))
    else:
        img = cv2.addWeighted(img, 1.5, cv2.GaussianBlur(img, (0, 0), 1.5), -0.5, 0)
    ok, jpg = cv2.imencode(".jpg", np.clip(img, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY,
                                                                            int(rng.integers(70, 96))])
    return cv2.imdecode(jpg, cv2.IMREAD_COLOR)


# ----------------------------------------------------------------------------------------------- views
@dataclass(frozen=True)
class Scene2:
    size: tuple = (480, 640)  # frame height, width
    span: tuple = (0.25, 0.85)  # the work's limiting side over the frame's
    max_tilt: float = 30.0  # degrees off axis
    visitor: float = 0.4  # chance of a visitor partly in front
    glare: float = 0.6  # chance of glare spots
    max_glare: float = 0.5  # a glare spot's radius, up to this fraction of the work's shorter side
    cast: float = 0.35  # per-channel gain of the light's colour within exp(+-cast)
    gamma: tuple = (0.7, 1.45)
    jpeg: tuple = (25, 92)
    textured_wall: float = 0.8  # chance of a wall with a texture (plaster, wallpaper, panels, bricks)
    frames: float = 0.75  # chance of a frame (a moulding, maybe with a mat) around the work


def _wall(rng, h, w, textured: float) -> np.ndarray:
    base = _hue(rng, sat=(0.0, 0.6), val=(0.35, 0.95))
    wall = np.ones((h, w, 3), np.float32) * base
    style = rng.integers(1, 5) if rng.random() < textured else 0
    if style == 1:  # plaster: low-frequency mottling
        blot = cv2.resize(rng.normal(0, 1, (h // 40 + 2, w // 40 + 2)).astype(np.float32), (w, h), cv2.INTER_CUBIC)
        wall *= (1 + 0.06 * blot)[..., None]
    elif style == 2:  # wallpaper stripes
        period = rng.uniform(8, 40)
        wall *= (1 + rng.uniform(0.03, 0.12) * np.sign(np.sin(np.arange(w) * 2 * np.pi / period)))[None, :, None]
    elif style == 3:  # wood panels: vertical grain
        grain = cv2.GaussianBlur(rng.normal(0, 1, (1, w)).astype(np.float32), (0, 0), 3)
        wall *= (1 + 0.15 * grain)[:, :, None]
        for x in np.arange(rng.uniform(0, 80), w, rng.uniform(60, 160)):
            wall[:, int(x):int(x) + 2] *= 0.6
    elif style == 4:  # bricks
        bh, bw = int(rng.uniform(12, 24)), int(rng.uniform(30, 60))
        for r0 in range(0, h, bh):
            wall[r0:r0 + 2] *= 0.7
            off = (r0 // bh % 2) * bw // 2
            for c0 in range(off, w, bw):
                wall[r0:r0 + bh, c0:c0 + 2] *= 0.7
    return wall + rng.normal(0, 2, (h, w, 1)).astype(np.float32)


def _framed(art: np.ndarray, rng, chance: float) -> tuple[np.ndarray, np.ndarray]:
    """The work inside its frame (none, a moulding of any width and colour, maybe a mat) and where the
    work's corners lie in that image."""
    h, w = art.shape[:2]
    img = art.astype(np.float32)
    inner = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    style = rng.random()
    if style >= chance:
        return img, inner
    if style < 0.2 * chance:  # a mat (passe-partout) inside a thin frame
        m = int(rng.uniform(0.04, 0.15) * max(h, w))
        img = cv2.copyMakeBorder(img, m, m, m, m, cv2.BORDER_CONSTANT, value=(rng.uniform(200, 250),) * 3)
        inner += m
    t = int(rng.uniform(0.01, 0.12) * max(h, w)) + 1
    colour = _hue(rng, sat=(0.0, 0.8), val=(0.05, 0.95))
    framed = cv2.copyMakeBorder(img, t, t, t, t, cv2.BORDER_CONSTANT, value=colour.tolist())
    fh, fw = framed.shape[:2]
    if rng.random() < 0.6:  # a moulding: lit from above, shaded below
        yy, xx = np.mgrid[0:fh, 0:fw]
        ring = (yy < t) | (yy >= fh - t) | (xx < t) | (xx >= fw - t)
        shade = np.where(yy < t, 1.25, np.where(yy >= fh - t, 0.7, np.where(xx < t, 1.1, 0.85)))
        framed[ring] *= shade[ring][:, None]
    return framed, inner + t


def _pose(rng, obj_hw, frame_hw, s: Scene2) -> np.ndarray:
    """A pinhole camera's homography from the framed work's pixels to the frame: random focal length,
    yaw/pitch/roll, and a size such that the limiting side of the work spans `span` of the frame's."""
    oh, ow = obj_hw
    fh, fw = frame_hw
    f = fw * rng.uniform(0.8, 1.6)
    a, b = np.radians(rng.uniform(-s.max_tilt, s.max_tilt)), np.radians(rng.uniform(-s.max_tilt * 0.6, s.max_tilt * 0.6))
    c = np.radians(rng.uniform(-6, 6))
    R = cv2.Rodrigues(np.float64([b, a, c]))[0]
    obj = np.float64([[-ow / 2, -oh / 2, 0], [ow / 2, -oh / 2, 0], [ow / 2, oh / 2, 0], [-ow / 2, oh / 2, 0]])
    span = rng.uniform(*s.span)
    pts = obj @ R.T
    depth = 3.0 * max(ow, oh)  # far enough that every corner is in front of the camera
    for _ in range(8):  # fixed point: the span of the projection at this depth
        proj = pts[:, :2] / (pts[:, 2:3] + depth) * f
        ext = proj.max(0) - proj.min(0)
        depth *= max(ext[0] / fw, ext[1] / fh) / span
    proj = pts[:, :2] / (pts[:, 2:3] + depth) * f
    lo, hi = proj.min(0), proj.max(0)
    room = np.float64([fw, fh]) - (hi - lo)
    offset = np.float64([fw, fh]) / 2 - (lo + hi) / 2 + rng.uniform(-0.45, 0.45, 2) * np.maximum(room, 0)
    src = np.float32([[0, 0], [ow, 0], [ow, oh], [0, oh]])
    return cv2.getPerspectiveTransform(src, (proj + offset).astype(np.float32))


def _light(rng, h, w, s: Scene2):
    """The scene's light: a spotlight or a slope (per pixel), a colour (per channel) and a gamma."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if rng.random() < 0.5:
        cx, cy, r = rng.uniform(0, w), rng.uniform(-0.5 * h, 0.5 * h), rng.uniform(0.6, 1.5) * w
        level = 0.55 + 0.6 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    else:
        level = 1 + rng.uniform(-0.35, 0.35) * (xx / w - 0.5) + rng.uniform(-0.35, 0.35) * (yy / h - 0.5)
    colour = np.exp(rng.uniform(-s.cast, s.cast, 3)).astype(np.float32)
    exposure = rng.uniform(0.7, 1.3)
    return level.astype(np.float32) * exposure, colour, float(rng.uniform(*s.gamma))


@dataclass(frozen=True)
class ViewTruth:
    corners: np.ndarray | None  # where the work's own corners (inside any frame) lie in the view
    kind: str | None


def render_view(art: np.ndarray | None, seed: int, s: Scene2 = Scene2(), moment: int | None = None,
                info: dict | None = None):
    """A camera frame (BGR uint8) of `art` on a wall (None: an empty wall) and where its corners lie.
    `moment`: another instant of the same visit - pose, wall, frame and light stay, the visitor, glare
    flicker, blur, noise and JPEG are drawn anew. `info`, if given, is filled with what was drawn
    (for a benchmark's breakdown of its misses)."""
    info = {} if info is None else info
    rng = np.random.default_rng([5, seed])
    fh, fw = s.size
    scene = _wall(rng, fh, fw, s.textured_wall)
    corners = None
    if art is not None:
        framed, inner = _framed(art, rng, s.frames)
        H = _pose(rng, framed.shape[:2], (fh, fw), s)
        ink = cv2.warpPerspective(framed, H, (fw, fh), flags=cv2.INTER_LINEAR)
        cover = cv2.warpPerspective(np.ones(framed.shape[:2], np.float32), H, (fw, fh), flags=cv2.INTER_LINEAR)
        if rng.random() < 0.5:  # a soft shadow cast on the wall below and right
            shadow = cv2.GaussianBlur(np.roll(cover, (int(rng.uniform(2, 10)), int(rng.uniform(-6, 10))), (0, 1)),
                                      (0, 0), 4)
            scene *= (1 - 0.35 * shadow * (1 - cover))[..., None]
        scene = scene * (1 - cover[..., None]) + ink * cover[..., None]
        corners = cv2.perspectiveTransform(inner.reshape(-1, 1, 2), H).reshape(4, 2)
        info["span"] = float(max(np.ptp(corners[:, 0]) / fw, np.ptp(corners[:, 1]) / fh))
        info["framed"] = framed.shape[:2] != art.shape[:2]
    level, colour, gamma = _light(rng, fh, fw, s)
    info["cast"], info["gamma"] = float(np.log(colour.max() / colour.min())), gamma
    glare_spots = []
    if corners is not None and rng.random() < s.glare:
        side = min(np.linalg.norm(corners[1] - corners[0]), np.linalg.norm(corners[3] - corners[0]))
        for _ in range(int(rng.integers(1, 3))):
            t = rng.uniform(0.1, 0.9, 2)
            centre = corners[0] + t[0] * (corners[1] - corners[0]) + t[1] * (corners[3] - corners[0])
            glare_spots.append((centre, rng.uniform(0.08, s.max_glare) * side, rng.uniform(0.5, 1.6), rng.uniform(0.4, 1)))
    info["glare"] = max((r / side for _, r, _, _ in glare_spots), default=0.0)
    mrng = np.random.default_rng([7, seed, 0 if moment is None else moment + 1])
    scene = scene * level[..., None]
    yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
    info["glare_spots"] = []  # (x, y, radius, squash) as drawn (benchmarks/diagnose_recognition.py measures by them)
    for centre, r, strength, squash in glare_spots:
        r *= mrng.uniform(0.9, 1.1) if moment is not None else 1.0
        info["glare_spots"].append((float(centre[0]), float(centre[1]), float(r), float(squash)))
        d2 = ((xx - centre[0]) / r) ** 2 + ((yy - centre[1]) / (r * squash)) ** 2
        scene += 255 * strength * np.exp(-d2 * 2)[..., None]
    info["visitor"] = bool(mrng.random() < s.visitor)
    if info["visitor"]:  # a visitor: a dark silhouette rising from the bottom edge
        cx = mrng.uniform(0, fw)
        width = mrng.uniform(0.15, 0.35) * fw
        top = mrng.uniform(0.45, 0.9) * fh
        body = np.zeros((fh, fw), np.uint8)
        cv2.ellipse(body, (int(cx), int(fh + 0.1 * fh)), (int(width / 2), int(fh + 0.1 * fh - top)), 0, 180, 360, 255, -1)
        cv2.circle(body, (int(cx + mrng.uniform(-10, 10)), int(top - 0.08 * fh)), int(0.09 * fh), 255, -1)
        body = cv2.GaussianBlur(body.astype(np.float32) / 255, (0, 0), 1.5)[..., None]
        scene = scene * (1 - body) + _hue(mrng, val=(0.05, 0.5)) * body
    # The camera: light colour (white balance), gamma, blur, noise, low resolution, JPEG.
    scene = np.clip(scene * colour, 0, 255)
    scene = 255 * (scene / 255) ** gamma
    if mrng.random() < 0.3:
        k = int(mrng.integers(3, 9))
        kernel = np.zeros((k, k), np.float32)
        cv2.line(kernel, (0, int(mrng.integers(0, k))), (k - 1, int(mrng.integers(0, k))), 1.0, 1)
        scene = cv2.filter2D(scene, -1, kernel / kernel.sum())
    else:
        sigma = mrng.uniform(0, 2.0)
        if sigma > 0.3:
            scene = cv2.GaussianBlur(scene, (0, 0), sigma)
    if mrng.random() < 0.3:  # a cheap sensor: fewer pixels, scaled up
        f = mrng.uniform(0.5, 0.8)
        small = cv2.resize(scene, (int(fw * f), int(fh * f)), interpolation=cv2.INTER_AREA)
        scene = cv2.resize(small, (fw, fh), interpolation=cv2.INTER_LINEAR)
    shot = np.sqrt(np.maximum(scene, 0)) * mrng.normal(0, mrng.uniform(0, 0.8), scene.shape).astype(np.float32)
    read = mrng.normal(0, mrng.uniform(0, 5), (fh, fw, 1)).astype(np.float32)
    chroma = mrng.normal(0, mrng.uniform(0, 3), scene.shape).astype(np.float32)
    scene = np.clip(scene + shot + read + chroma, 0, 255).astype(np.uint8)
    _, jpg = cv2.imencode(".jpg", scene, [cv2.IMWRITE_JPEG_QUALITY, int(mrng.integers(*s.jpeg))])
    return cv2.imdecode(jpg, cv2.IMREAD_COLOR), corners
