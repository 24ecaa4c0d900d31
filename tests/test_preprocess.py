"""Image loading: every layout a curator might hand in, and the ones that are not images."""

import cv2
import numpy as np
import pytest

from engines.errors import Art2MusError
from engines.preprocess import CLIP_MEAN, CLIP_STD, preprocess, read_image


def _write(path, array):
    assert cv2.imwrite(str(path), array)
    return path


def test_layouts_are_accepted_as_rgb(tmp_path):
    bgr = np.zeros((40, 60, 3), np.uint8)
    bgr[:, :, 2] = 255  # red in OpenCV's BGR
    rgb = read_image(_write(tmp_path / "red.png", bgr))
    assert rgb.shape == (40, 60, 3) and rgb.dtype == np.float32
    np.testing.assert_allclose(rgb[0, 0], [1, 0, 0])

    gray = read_image(_write(tmp_path / "gray.png", np.full((30, 30), 128, np.uint8)))
    np.testing.assert_allclose(gray[0, 0], [128 / 255] * 3, rtol=1e-6)

    bgra = np.dstack([bgr, np.zeros((40, 60), np.uint8)])  # fully transparent: alpha is dropped
    np.testing.assert_allclose(read_image(_write(tmp_path / "rgba.png", bgra))[0, 0], [1, 0, 0])

    deep = np.full((20, 20, 3), 65535, np.uint16)
    deep[:, :, 0] = 0
    np.testing.assert_allclose(read_image(_write(tmp_path / "deep.png", deep))[0, 0], [1, 1, 0])

    _write(tmp_path / "photo.jpg", bgr)
    assert read_image(tmp_path / "photo.jpg").shape == (40, 60, 3)


def test_very_large_image_is_preprocessed_to_the_encoder_size(tmp_path):
    big = np.random.default_rng(0).integers(0, 255, (6000, 8000, 3), dtype=np.uint8)
    pixels = preprocess(read_image(_write(tmp_path / "big.png", big)), 224)
    assert pixels.shape == (1, 3, 224, 224) and np.all(np.isfinite(pixels))


def test_preprocess_resizes_short_side_crops_and_normalises():
    rgb = np.ones((100, 300, 3), np.float32)
    pixels = preprocess(rgb, 224)
    assert pixels.shape == (1, 3, 224, 224)
    expected = (1 - np.asarray(CLIP_MEAN)) / np.asarray(CLIP_STD)
    np.testing.assert_allclose(pixels[0, :, 100, 100], expected, rtol=1e-5)


@pytest.mark.parametrize("content", [b"", b"hello, not an image", b"\x89PNG\r\n\x1a\n truncated"])
def test_not_an_image_is_named(tmp_path, content):
    path = tmp_path / "art.png"
    path.write_bytes(content)
    with pytest.raises(Art2MusError, match="art.png' is not an image"):
        read_image(path)


def test_missing_image_is_named(tmp_path):
    with pytest.raises(Art2MusError, match="nowhere.jpg' does not exist"):
        read_image(tmp_path / "nowhere.jpg")
