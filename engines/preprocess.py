"""Image loading and the encoder's preprocessing, in numpy + OpenCV (no torch).

Any image OpenCV decodes is accepted: grayscale becomes RGB, alpha is dropped (as PIL's
convert("RGB") does in the reference code), 16-bit and float images are scaled to [0, 1].
Before anything is decoded, the image's size is read from its header (Pillow reads headers
only) and checked against pixel and aspect limits: a 1 MB PNG can claim 20000x20000 pixels,
and a 1x8000 strip would be resized to 224x1.8 M. Large images are shrunk in 8 bits before
they become float32.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from engines.errors import Art2MusError

MAX_PIXELS = 100_000_000  # a 10000x10000 scan; decoding it takes 300 MB as 8-bit RGB
MAX_ASPECT = 12.0  # a long scroll; a strip of pixels is not a picture
MIN_SIDE = 16
WORKING_SIDE = 4096  # longest side kept after decoding: every consumer works far below it
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def check_size(width: int, height: int, name: str) -> None:
    """The one image-size guard: pixel count, aspect ratio and smallest side."""
    if min(width, height) < MIN_SIDE:
        raise Art2MusError(f"{name}: {width}x{height} pixels is too small to be a picture (at least {MIN_SIDE} px a "
                           "side); give the artwork's photograph")
    if width * height > MAX_PIXELS:
        raise Art2MusError(f"{name}: {width}x{height} pixels is over the {MAX_PIXELS // 1_000_000} MP limit; "
                           "save a smaller copy (4000 px on the long side is plenty)")
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise Art2MusError(f"{name}: {width}x{height} pixels has an aspect ratio over {MAX_ASPECT:g}:1; "
                           "crop it to the artwork")


def header_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the file's header without decoding it; None when Pillow does not know the format
    (OpenCV may still: its decoded size is checked then)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.size
    except Image.DecompressionBombError as exc:  # Pillow's own limit (~180 MP), above ours: refuse it too
        raise Art2MusError(f"{path}: {exc}; save a smaller copy (4000 px on the long side is plenty)") from None
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def read_bgr(path: str | Path, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """Decodes an image file after the size guard, shrunk to WORKING_SIDE; raises Art2MusError."""
    p = Path(path)
    if p.is_dir():
        raise Art2MusError(f"image {str(path)!r} is a folder, not an image file; give the path of a JPEG/PNG/TIFF image")
    if not p.is_file():
        raise Art2MusError(f"image {str(path)!r} does not exist; give the path of a JPEG/PNG/TIFF image")
    size = header_size(p)
    if size is not None:
        check_size(*size, str(path))
    try:
        data = np.fromfile(p, dtype=np.uint8)
    except OSError as exc:
        raise Art2MusError(f"image {str(path)!r} cannot be read ({exc.strerror}); check its permissions") from None
    image = cv2.imdecode(data, flags) if data.size else None
    if image is None or image.size == 0:
        raise Art2MusError(
            f"image {str(path)!r} is not an image OpenCV can read (empty, corrupt or another kind of file); "
            "give a JPEG, PNG, TIFF, BMP or WebP file"
        )
    check_size(image.shape[1], image.shape[0], str(path))
    scale = WORKING_SIDE / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
    return image


def read_image(path: str | Path) -> np.ndarray:
    """Reads an image file into float32 RGB (H, W, 3) in [0, 1]."""
    return to_rgb_float(read_bgr(path), str(path))


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
