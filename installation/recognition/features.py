"""What is kept of a catalog work: its global description (luminance layout, HOG, colour layout),
its ORB keypoints, and the squares its fine alignment and grain are compared at. Computed once
and cached beside the catalog (FEATURE_VERSION).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

FEATURE_VERSION = 7  # cached catalog features: bump when compute_features changes
SIDE = 32  # rectified size for the global description
ORB_FEATURES_CATALOG = 600
ORB_FEATURES_FRAME = 800
WORK_SIDE = 400  # catalog images are described at this longest side
THUMB = 64  # side of the square thumbnails aligned to a low-texture view (at 48 a grid's thin lines fade to grey)
GRAIN = 128  # side of the square a work's fine detail (its grain) is compared at
FRAME_WIDTH = 640  # frames are recognised at this width (the benchmark's, and the camera's default)


def read_npz(path: Path) -> dict[str, np.ndarray] | None:
    """A cached file's arrays, every one read (a damaged entry fails its check here, not later), or None where
    the path is not a regular file (a FIFO would block), not an .npz, or damaged in any way: a cache is rebuilt,
    a shipped file named by its caller."""
    if not Path(path).is_file():
        return None
    try:
        with open(path, "rb") as f:
            z = np.load(f, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):  # a lone .npy under the name
                return None
            with z:
                return {k: z[k] for k in z.files}
    except Exception:  # noqa: BLE001 - damaged in any way (a bad CRC, a zip flag, a header claiming 119 GB...): None
        return None


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
        """Read back (a cache file's arrays); ValueError for arrays compute_features never makes."""
        f = ArtworkFeatures(z["glob"], z["keypoints"], z["descriptors"], z["wh"], z["thumb"], z["square"])
        k = len(f.keypoints)
        # Dtype kinds, or the one dtype: images are 8-bit (rank agreement counts a thumbnail's levels 0-255).
        made = ((f.glob, (576,), "f"), (f.keypoints, (k, 2), "f"), (f.descriptors, (k, 32), np.uint8),
                (f.size, (2,), "iuf"), (f.thumb, (THUMB, THUMB, 3), np.uint8), (f.square, (GRAIN, GRAIN, 3), np.uint8))
        typed = lambda a, want: a.dtype == want if isinstance(want, type) else a.dtype.kind in want
        if not all(a.shape == shape and typed(a, want) for a, shape, want in made) or \
                not (np.isfinite(f.glob).all() and np.isfinite(f.keypoints).all() and (f.size > 0).all()):
            raise ValueError("not the arrays compute_features makes")
        return f


HOG_NOISE = 8.0  # Sobel magnitude (Lab L units) below which a gradient is sensor noise or glare haze
HOG_FLOOR = 20.0  # norm under which a description keeps its small length: a flat work has no structure


# Each pixel's HOG cell (4 x 4 cells of SIDE / 4 pixels) times the 8 orientation bins: one bincount for all cells.
_HOG_CELL = ((np.arange(SIDE)[:, None] // (SIDE // 4)) * 4 + np.arange(SIDE)[None, :] // (SIDE // 4)) * 8


def _hog(lum: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3)
    mag, ang = cv2.cartToPolar(gx, gy)
    mag[mag < HOG_NOISE] = 0.0
    mag[:2], mag[-2:], mag[:, :2], mag[:, -2:] = 0.0, 0.0, 0.0, 0.0  # a picture frame's border is not the work
    bins = (np.mod(ang, np.pi) / np.pi * 8).astype(np.int32) % 8
    hist = np.bincount((_HOG_CELL + bins).ravel(), mag.ravel(), minlength=128)
    v = np.sqrt(hist.astype(np.float32))  # Hellinger-style: tames strong edges
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
