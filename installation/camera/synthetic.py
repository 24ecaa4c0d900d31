"""Synthetic artworks and camera views of them, for the demo, the tests and the recognition
benchmark: procedural works of every kind a gallery hangs (busy abstracts, colour fields, hard-edge
geometry, stripes, gradients, textures) and a camera's view of a wall with one of them on it,
under the conditions of a real gallery (perspective, scale, uneven light, glare, colour cast,
blur, noise, JPEG, a visitor partly in front). Deterministic for a seed."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

KINDS = ("busy", "colour-field", "hard-edge", "stripes", "gradient", "texture")


def _colour(rng) -> tuple:
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def busy(rng, h, w):
    img = np.full((h, w, 3), _colour(rng), np.uint8)
    for _ in range(int(rng.integers(30, 80))):
        kind = rng.integers(0, 3)
        c = _colour(rng)
        if kind == 0:
            cv2.circle(img, (int(rng.integers(0, w)), int(rng.integers(0, h))), int(rng.integers(5, w // 5)), c, -1)
        elif kind == 1:
            p = rng.integers(0, [w, h], size=(2, 2))
            cv2.line(img, tuple(map(int, p[0])), tuple(map(int, p[1])), c, int(rng.integers(1, 8)))
        else:
            pts = rng.integers(0, [w, h], size=(int(rng.integers(3, 6)), 2)).astype(np.int32)
            cv2.fillPoly(img, [pts], c)
    return img


def colour_field(rng, h, w):
    img = np.empty((h, w, 3), np.uint8)
    bands = int(rng.integers(2, 4))
    cuts = np.sort(rng.uniform(0.15, 0.85, bands - 1))
    edges = [0] + [int(c * h) for c in cuts] + [h]
    for i in range(bands):
        img[edges[i] : edges[i + 1]] = _colour(rng)
    if rng.random() < 0.5:
        img = np.ascontiguousarray(np.rot90(cv2.resize(img, (h, w)))) if h != w else np.rot90(img).copy()
        img = cv2.resize(img, (w, h))
    return cv2.GaussianBlur(img, (0, 0), w / 60)


def hard_edge(rng, h, w):
    img = np.full((h, w, 3), _colour(rng), np.uint8)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0 = int(rng.integers(0, w * 0.7)), int(rng.integers(0, h * 0.7))
        x1, y1 = x0 + int(rng.integers(w // 8, w // 2)), y0 + int(rng.integers(h // 8, h // 2))
        if rng.random() < 0.3:
            cv2.circle(img, ((x0 + x1) // 2, (y0 + y1) // 2), (x1 - x0) // 2, _colour(rng), -1)
        else:
            cv2.rectangle(img, (x0, y0), (x1, y1), _colour(rng), -1)
    return img


def stripes(rng, h, w):
    n = int(rng.integers(3, 12))
    colours = [_colour(rng) for _ in range(int(rng.integers(2, 4)))]
    img = np.empty((h, w, 3), np.uint8)
    vertical = rng.random() < 0.5
    size = w if vertical else h
    edges = np.linspace(0, size, n + 1).astype(int)
    for i in range(n):
        sl = (slice(None), slice(edges[i], edges[i + 1])) if vertical else (slice(edges[i], edges[i + 1]), slice(None))
        img[sl] = colours[i % len(colours)]
    if rng.random() < 0.3:
        centre = (w / 2, h / 2)
        img = cv2.warpAffine(img, cv2.getRotationMatrix2D(centre, 45, 1.5), (w, h), borderMode=cv2.BORDER_REFLECT)
    return img


def gradient(rng, h, w):
    a, b = np.array(_colour(rng), np.float32), np.array(_colour(rng), np.float32)
    angle = rng.uniform(0, np.pi)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (x / w) * np.cos(angle) + (y / h) * np.sin(angle)
    t = (t - t.min()) / (t.max() - t.min())
    return (a * (1 - t[..., None]) + b * t[..., None]).astype(np.uint8)


def texture(rng, h, w):
    noise = rng.random((h // 8 + 1, w // 8 + 1, 3)).astype(np.float32)
    img = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    img = cv2.GaussianBlur(img, (0, 0), 2)
    lo, hi = np.array(_colour(rng), np.float32), np.array(_colour(rng), np.float32)
    img = (img - img.min()) / (np.ptp(img) + 1e-6)
    return np.clip(lo + (hi - lo) * img, 0, 255).astype(np.uint8)


RENDER = {"busy": busy, "colour-field": colour_field, "hard-edge": hard_edge, "stripes": stripes,
          "gradient": gradient, "texture": texture}


def artwork(seed: int, kind: str | None = None) -> np.ndarray:
    """One BGR artwork; its kind cycles through KINDS with the seed unless given."""
    rng = np.random.default_rng(seed)
    kind = kind or KINDS[seed % len(KINDS)]
    aspect = rng.uniform(0.6, 1.6)
    h = 480
    w = int(round(h * aspect))
    return RENDER[kind](rng, h, w)


@dataclass(frozen=True)
class ViewSettings:
    size: tuple = (480, 640)  # frame height, width
    fill: tuple = (0.30, 0.85)  # fraction of the frame the work covers
    max_angle: float = 25.0  # degrees out of plane
    occlusion: float = 0.5  # chance of a visitor partly in front
    max_blur: float = 2.0
    max_noise: float = 8.0
    jpeg: tuple = (40, 90)


def wall(rng, h, w) -> np.ndarray:
    base = np.array([rng.uniform(150, 245)] * 3) * rng.uniform(0.92, 1.08, 3)
    img = np.ones((h, w, 3), np.float32) * base
    img += rng.normal(0, 2.0, (h, w, 1))
    return img


def _homography(rng, art_hw, frame_hw, s: ViewSettings) -> np.ndarray:
    ah, aw = art_hw
    fh, fw = frame_hw
    fill = rng.uniform(*s.fill)
    scale = np.sqrt(fill * fh * fw / (ah * aw))
    scale = min(scale, 0.98 * fw / aw, 0.98 * fh / ah)
    w, h = aw * scale, ah * scale
    yaw, pitch = np.radians(rng.uniform(-s.max_angle, s.max_angle, 2))
    roll = np.radians(rng.uniform(-4, 4))
    corners = np.array([[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0], [-w / 2, h / 2, 0]])
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    rx = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    rz = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    f = 1.2 * fw
    pts = corners @ (rz @ ry @ rx).T + np.array([0, 0, f])
    proj = pts[:, :2] * f / pts[:, 2:3]
    span = proj.max(0) - proj.min(0)
    room = np.array([fw, fh]) - span
    centre = np.array([fw / 2, fh / 2]) + rng.uniform(-0.4, 0.4, 2) * np.maximum(room, 0)
    dst = proj - (proj.max(0) + proj.min(0)) / 2 + centre
    src = np.float32([[0, 0], [aw, 0], [aw, ah], [0, ah]])
    return cv2.getPerspectiveTransform(src, dst.astype(np.float32))


def view(art: np.ndarray | None, seed: int, s: ViewSettings = ViewSettings()) -> np.ndarray:
    """A camera frame (BGR uint8) of `art` hung on a wall; `None` gives an empty wall."""
    return view_with_truth(art, seed, s)[0]


def view_with_truth(art: np.ndarray | None, seed: int, s: ViewSettings = ViewSettings(), moment: int | None = None):
    """The frame of `view` and where the work's corners landed in it ((4, 2) float32, or None).
    `moment`: another instant of the same scene (same camera pose, wall and light): the visitor,
    blur, sensor noise and JPEG are drawn anew."""
    rng = np.random.default_rng(seed)
    fh, fw = s.size
    frame = wall(rng, fh, fw)
    corners = None
    if art is not None:
        H = _homography(rng, art.shape[:2], (fh, fw), s)
        warped = cv2.warpPerspective(art.astype(np.float32), H, (fw, fh), flags=cv2.INTER_AREA)
        mask = cv2.warpPerspective(np.ones(art.shape[:2], np.float32), H, (fw, fh), flags=cv2.INTER_AREA)[..., None]
        frame = frame * (1 - mask) + warped * mask
        corners = cv2.perspectiveTransform(np.float32([[[0, 0]], [[art.shape[1], 0]], [[art.shape[1], art.shape[0]]],
                                                       [[0, art.shape[0]]]]), H).reshape(4, 2)
        if rng.random() < 0.5:  # a thin dark frame around the work
            cv2.polylines(frame, [corners.astype(np.int32)], True, (30, 30, 30), int(rng.integers(2, 6)))
    y, x = np.mgrid[0:fh, 0:fw].astype(np.float32)
    light = 1 + rng.uniform(-0.3, 0.3) * (x / fw - 0.5) + rng.uniform(-0.3, 0.3) * (y / fh - 0.5)
    frame = frame * light[..., None] * rng.uniform(0.85, 1.15, 3)  # uneven light, colour cast
    for _ in range(int(rng.integers(0, 3))):  # glare spots
        cx, cy, r = rng.uniform(0, fw), rng.uniform(0, fh), rng.uniform(10, 40)
        frame += 120 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None]
    if moment is not None:
        rng = np.random.default_rng([seed, moment])
    if rng.random() < s.occlusion:  # a visitor's head and shoulder from one side
        side = rng.choice([-1, 1])
        cx = fw / 2 + side * rng.uniform(0.2, 0.45) * fw
        colour = rng.uniform(20, 120, 3)
        cv2.ellipse(frame, (int(cx), int(fh * rng.uniform(0.75, 1.0))), (int(fw * 0.16), int(fh * 0.3)), 0, 0, 360,
                    colour.tolist(), -1)
        cv2.circle(frame, (int(cx), int(fh * rng.uniform(0.45, 0.6))), int(fh * 0.1), colour.tolist(), -1)
    sigma = rng.uniform(0, s.max_blur)
    if sigma > 0.3:
        frame = cv2.GaussianBlur(frame, (0, 0), sigma)
    frame += rng.normal(0, rng.uniform(0, s.max_noise), frame.shape)
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    _, jpg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(*s.jpeg))])
    return cv2.imdecode(jpg, cv2.IMREAD_COLOR), corners
