"""The third, independently written synthetic renderer (installation/camera/synthetic3.py): artworks,
catalog photos and kiosk views are deterministic, well-formed, and their corners sit on the picture."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from installation.camera.synthetic3 import (
    KINDS3,
    Scene3,
    artwork3,
    catalog_photo3,
    kind3,
    render_view3,
)

# A calm scene for geometry checks: nothing in front of or on top of the work.
CALM = Scene3(visitor_chance=0.0, glare_chance=0.0, reflection_chance=0.0)


@pytest.fixture(scope="module")
def arts() -> dict[int, np.ndarray]:
    return {seed: artwork3(seed) for seed in range(len(KINDS3))}


def _small(img: np.ndarray, size=(48, 48)) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), size, interpolation=cv2.INTER_AREA).astype(np.float64)


def _poly_mask(corners: np.ndarray) -> np.ndarray:
    mask = np.zeros((480, 640), np.uint8)
    cv2.fillPoly(mask, [np.round(corners * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    return mask > 0


def test_every_kind_is_made_with_the_promised_size(arts):
    assert {kind3(s) for s in range(len(KINDS3))} == set(KINDS3)
    assert kind3(3) == kind3(3 + len(KINDS3))
    for seed, art in arts.items():
        h, w = art.shape[:2]
        assert art.dtype == np.uint8 and art.shape[2] == 3, kind3(seed)
        assert 300 <= max(h, w) <= 700, (kind3(seed), art.shape)
        assert 0.5 - 1e-3 <= w / h <= 2.0 + 1e-3, (kind3(seed), art.shape)
        assert art.std() > 8, f"{kind3(seed)} is nearly flat"


def test_artworks_are_deterministic_and_seeds_differ(arts):
    assert np.array_equal(artwork3(2), arts[2])
    n = len(KINDS3)
    for seed in (0, 5):  # the same kind from another seed is another work
        a, b = _small(arts[seed]), _small(artwork3(seed + n))
        assert np.abs(a - b).mean() > 8, kind3(seed)


def test_catalog_photo_is_another_photograph_of_the_work(arts):
    for seed, art in arts.items():
        cat = catalog_photo3(art, seed)
        assert cat.dtype == np.uint8 and cat.ndim == 3
        assert 250 <= max(cat.shape[:2]) <= 900
        assert cat.shape[:2] != art.shape[:2]
        assert np.array_equal(cat, catalog_photo3(art, seed))
        a, c = _small(art), _small(cat)
        assert np.abs(a - c).max() > 2, "the catalog image must not be the hanging pixels"
        # a crop of a few % shifts thin details: compare the blurred layouts
        a, c = cv2.GaussianBlur(a, (0, 0), 1.5), cv2.GaussianBlur(c, (0, 0), 1.5)
        corr = np.corrcoef(a.ravel(), c.ravel())[0, 1]
        assert corr > 0.6, (kind3(seed), corr)
    assert not np.array_equal(catalog_photo3(arts[1], 1), catalog_photo3(arts[1], 2))


def test_views_are_deterministic_well_formed_and_seed_dependent(arts):
    frame, corners = render_view3(arts[1], 11)
    again, corners2 = render_view3(arts[1], 11)
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    assert corners.shape == (4, 2) and corners.dtype == np.float32
    assert np.array_equal(frame, again) and np.array_equal(corners, corners2)
    other, _ = render_view3(arts[1], 12)
    assert np.abs(frame.astype(int) - other).mean() > 10
    f3, _c3 = render_view3(arts[1], 11, moment=4)
    assert np.array_equal(f3, render_view3(arts[1], 11, moment=4)[0])


def test_corners_form_a_plausible_quad_in_the_frame(arts):
    frame_rect = np.float32([[-0.5, -0.5], [639.5, -0.5], [639.5, 479.5], [-0.5, 479.5]])
    for seed in range(16):
        _, c = render_view3(arts[seed % len(arts)], 100 + seed)
        assert cv2.isContourConvex(np.round(c * 64).astype(np.int32)), seed
        # order: top-left, top-right, bottom-right, bottom-left (clockwise in image coordinates)
        assert c[1, 0] > c[0, 0] and c[2, 0] > c[3, 0] and c[3, 1] > c[0, 1] and c[2, 1] > c[1, 1], (seed, c)
        size = c.max(0) - c.min(0)
        span = max(size[0] / 640, size[1] / 480)
        assert 0.25 - 0.01 <= span <= 0.85 + 0.01, (seed, span)
        area = cv2.contourArea(c)
        inside = cv2.intersectConvexConvex(c, frame_rect)[0] / area
        assert inside >= 0.88, (seed, inside)
        assert area > 0.25 * 0.25 * 640 * 480 * 0.2, (seed, area)


def test_corners_sit_on_the_picture_area():
    """Swap the work for another of the same size and mean: exactly the picture area changes."""
    red = np.zeros((320, 440, 3), np.uint8)
    red[:] = (60, 60, 200)
    blue = red[..., ::-1].copy()
    ious = []
    for seed in range(8):
        a, c = render_view3(red, 300 + seed, CALM)
        b, c2 = render_view3(blue, 300 + seed, CALM)
        assert np.array_equal(c, c2)
        changed = np.abs(a.astype(int) - b).max(axis=2) > 25
        quad = _poly_mask(c)
        ious.append((changed & quad).sum() / max((changed | quad).sum(), 1))
    assert min(ious) > 0.85 and np.median(ious) > 0.93, np.round(ious, 3)


def test_frames_of_one_visit_differ_only_a_little(arts):
    art = arts[3]
    still, c0 = render_view3(art, 21, CALM)
    frames = [render_view3(art, 21, CALM, moment=m) for m in range(4)]
    for f, c in frames:
        assert np.abs(c - c0).max() <= 2.01  # camera shake only
        assert np.median(np.abs(f.astype(int) - still)) <= 6
    assert not np.array_equal(frames[0][0], frames[1][0])  # noise, blur, JPEG change per frame


def test_visitors_hide_at_most_part_of_the_work(arts):
    always = Scene3(visitor_chance=1.0, glare_chance=0.0, reflection_chance=0.0)
    hidden_any = 0
    for seed in range(6):
        with_people, c = render_view3(arts[seed], 400 + seed, always, moment=seed * 7)
        without, _ = render_view3(arts[seed], 400 + seed, CALM, moment=seed * 7)
        quad = _poly_mask(c)
        hidden = ((np.abs(with_people.astype(int) - without).max(axis=2) > 40) & quad).sum() / quad.sum()
        assert hidden <= 0.45, (seed, hidden)
        hidden_any += hidden > 0.01
    assert hidden_any >= 2  # people do walk in front of the work


def test_empty_wall_has_no_corners_and_varies():
    f1, c1 = render_view3(None, 5)
    f2, c2 = render_view3(None, 6)
    assert c1 is None and c2 is None
    assert f1.shape == (480, 640, 3) and f1.dtype == np.uint8
    assert np.abs(f1.astype(int) - f2).mean() > 5
    assert np.array_equal(f1, render_view3(None, 5)[0])


def test_scene_knobs_are_frozen_and_documented():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Scene3().visitor_chance = 0.9  # type: ignore[misc]
    for field in dataclasses.fields(Scene3):
        assert field.name.split("_")[0] in (Scene3.__doc__ or ""), field.name
