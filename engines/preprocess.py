"""Image loading and the encoder's preprocessing, in numpy + OpenCV (no PIL, no torch).

Any image OpenCV decodes is accepted: grayscale becomes RGB, alpha is dropped (as PIL's
convert("RGB") does in the reference code), 16-bit and float images are scaled to [0, 1].
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from engines.errors import Art2MusError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def read_image(path: str | Path) -> np.ndarray:
    """Reads an image file into float32 RGB (H, W, 3) in [0, 1]."""
    p = Path(path)
    if not p.is_file():
        raise Art2MusError(f"image {str(path)!r} does not exist or is not a file; give the path of a JPEG/PNG/TIFF image")
    data = np.fromfile(p, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise Art2MusError(
            f"image {str(path)!r} is not an image OpenCV can read (empty, corrupt or another kind of file); "
            "give a JPEG, PNG, TIFF, BMP or WebP file"
        )
    return to_rgb_float(image, str(path))


def to_rgb_float(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Converts a decoded OpenCV array (BGR order, any depth, 1-4 channels) to float32 RGB in [0, 1]."""
    if image.dtype == np.uint8:
        scaled = image.astype(np.float32) / 255.0
    elif image.dtype == np.uint16:
        scaled = image.astype(np.float32) / 65535.0
    elif image.dtype in (np.float32, np.float64):
        scaled = np.clip(np.nan_to_num(image.astype(np.float32)), 0.0, 1.0)
    else:
        raise Art2MusError(f"{name}: pixel type {image.dtype} is not supported; save it as 8- or 16-bit")
    if scaled.ndim == 2:
        scaled = scaled[:, :, None]
    channels = scaled.shape[2]
    if channels == 1:
        return np.repeat(scaled, 3, axis=2)
    if channels == 2:  # gray + alpha
        return np.repeat(scaled[:, :, :1], 3, axis=2)
    if channels in (3, 4):
        return np.ascontiguousarray(scaled[:, :, 2::-1])  # BGR(A) -> RGB, alpha dropped
    raise Art2MusError(f"{name}: {channels} colour channels is not an image layout art2mus knows; save it as RGB")


def preprocess(rgb: np.ndarray, size: int, mean=CLIP_MEAN, std=CLIP_STD) -> np.ndarray:
    """Short side to `size` (bicubic; area-averaged when shrinking, to avoid aliasing like PIL's
    antialiased resize), centre crop, normalise. Returns float32 (1, 3, size, size)."""
    h, w = rgb.shape[:2]
    scale = size / min(h, w)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=interp)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    crop = np.clip(resized[top : top + size, left : left + size], 0.0, 1.0)
    norm = (crop - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(norm.transpose(2, 0, 1)[None].astype(np.float32))
