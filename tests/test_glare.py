"""Glare spots found in a frame without knowing the work, and taken off (installation/recognition/glare.py),
and the recogniser's second look at a frame without them."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import numpy as np
import pytest

from helpers import REPO, benchmark_module
from installation.camera import synthetic2
from installation.recognition import Recognizer, RecognizerSettings
from installation.recognition.glare import FILL_MOST, clipped_under, core_map, find_spots, taken_off


def _two_colour_field() -> np.ndarray:
    """A large two-colour field on a grey wall, as a camera sees it (a little noise)."""
    rng = np.random.default_rng(3)
    frame = np.full((480, 640, 3), 120, np.float32)
    frame[100:380, 120:330] = (40, 90, 150)
    frame[100:380, 330:520] = (150, 60, 40)
    return frame + rng.normal(0, 2, frame.shape).astype(np.float32)


def _with_spot(clean: np.ndarray, x: float, y: float, radius: float, squash: float, peak: float) -> np.ndarray:
    yy, xx = np.mgrid[0:clean.shape[0], 0:clean.shape[1]].astype(np.float32)
    bump = np.exp(-2 * (((xx - x) / radius) ** 2 + ((yy - y) / (radius * squash)) ** 2))
    return np.clip(clean + peak * bump[..., None], 0, 255).astype(np.uint8), bump


def test_a_spot_on_a_two_colour_field_is_found_and_its_skirt_taken_off():
    """Light added as an elliptical bump, clipped at its core: found within a few pixels and a quarter of its
    radius, and taken off, the skirt is much nearer the field without it; the work's own edge stays."""
    clean = _two_colour_field()
    frame, bump = _with_spot(clean, 300, 230, 70, 0.7, 300)
    spots = find_spots(frame)
    assert len(spots) == 1, spots
    spot = spots[0]
    assert abs(spot.x - 300) < 8 and abs(spot.y - 230) < 8 and 0.75 < spot.radius / 70 < 1.35, spot
    off = taken_off(frame, spots).astype(np.float32)
    skirt = (bump > 0.05) & (bump < 0.5)
    before = np.abs(frame.astype(np.float32) - clean)[skirt].mean()
    after = np.abs(off - clean)[skirt].mean()
    assert after < 0.35 * before, (before, after)
    # The edge between the two colours (at x = 330, through the skirt below the clipped core) keeps its step in every channel.
    step = lambda img: img[275:300, 310:325].mean((0, 1)) - img[275:300, 335:350].mean((0, 1))
    assert np.abs(step(off) - step(clean)).max() < 25, (step(off), step(clean))


def test_a_spot_over_a_wall_the_camera_clipped_is_no_spot_to_look_again_without():
    """The clipped pixels a spot's light reaches are what taken_off fills in (clipped_under: their share of the
    frame). Far more than a spot's core could be (glare.FILL_MOST) is a bright wall or work the camera clipped,
    which cannot be told from glare: the recogniser takes no second look there (and inpainting half a frame took
    0.3-0.6 s); a spot over an unclipped wall reaches its own core and little more."""
    share = {}
    for wall in ((120, 120, 120), (120, 200, 252)):  # grey; red clipped by the camera
        clean = _two_colour_field()
        around = np.ones(clean.shape[:2], bool)
        around[100:380, 120:520] = False
        clean[around] = wall
        frame, _ = _with_spot(clean, 180, 150, 130, 0.7, 300)
        spots = find_spots(frame)
        assert len(spots) == 1, (wall, spots)
        share[wall] = clipped_under(frame, spots)
    assert share[(120, 120, 120)] < 0.7 * FILL_MOST and share[(120, 200, 252)] > 1.4 * FILL_MOST, share


def test_the_diagnosis_measures_a_fit_against_the_spot_drawn():
    """diagnose_recognition.py's measure of glare.py (_spot_fit): a spot of known shape is found, centred, and
    taken off nearer the field without it; the same frame measured against a spot drawn elsewhere is not
    centred; a frame the spot did not change has no skirt to measure."""
    diagnose = benchmark_module("diagnose_recognition")
    clean = _two_colour_field()
    frame, _ = _with_spot(clean, 300, 230, 70, 0.7, 300)
    clear = np.clip(clean, 0, 255).astype(np.uint8)
    fit = diagnose._spot_fit(frame, clear, [(300.0, 230.0, 70.0, 0.7)])
    assert fit.found and fit.fates == ("found",) and fit.after < 0.5 * fit.before, fit
    # Of the shape drawn, its light fitted as glare.py fits it: nearer still; with the light fitted to the field
    # without the spot (this spot is added light exactly, as the model says): the camera's noise and rounding.
    assert fit.shaped < 0.5 * fit.before and fit.lit < 3.0 and fit.lit <= fit.shaped, fit
    assert diagnose._spot_fit(clear, clear, [(300.0, 230.0, 70.0, 0.7)]) is None
    # Why a drawn spot was not found: nothing clipped where it was drawn; its centre in a clipped part too
    # large for a spot (a white ground); a white shape's hard edge fitted as a bump, but not smooth.
    fates = lambda view, x, y: (diagnose._fate(core_map(view), x, y, 70.0, find_spots(view, min_met=0.0)),)
    assert fates(frame, 480.0, 330.0) == ("no clipped core (the spot does not clip)",)
    white = clean.copy()
    white[60:420, 60:580] = 255
    ground = np.clip(white, 0, 255).astype(np.uint8)
    assert fates(ground, 300.0, 230.0) == ("core too large (a white ground or wall)",)
    shape = clean.copy()
    shape[200:260, 200:300] = 255
    shape = np.clip(shape, 0, 255).astype(np.uint8)
    assert fates(shape, 250.0, 230.0) == ("fitted but not smooth enough (met < MIN_MET)",)


def test_white_paint_and_a_frame_without_clipping_have_no_spot():
    """A hard-edged white shape is clipped like a spot's core but has no smooth skirt: no spot; a frame
    with nothing clipped has no candidate at all and is given back as it was."""
    frame = _two_colour_field()
    frame[200:260, 200:300] = 255
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    assert find_spots(frame) == []
    plain = np.clip(_two_colour_field(), 0, 255).astype(np.uint8)
    assert find_spots(plain) == [] and taken_off(plain, []) is plain


def test_the_second_look_finds_a_work_under_glare_that_the_first_rejects():
    """Renderer 2's view 179 of seed 1's benchmark (a striped work under a spot, 12 works in the catalog): the
    search alone rejects it; the second look, its spot taken off, finds it, and says so. (View 143, a striped
    work under a big spot, was this test's until the verifier weighed the share set aside as glare, and view 185,
    an abstract work, until find_quads ranked line quads by their ends: the first look takes each now.)"""
    bench = benchmark_module("bench_recognition")
    ren = bench.Renderer(2, 0.5)
    ids = [83] + list(range(11))
    works = [(f"work-{i:04d}", ren.art(i)) for i in ids]
    frame = synthetic2.render_view(ren.art(83), 100_179, ren.settings2)[0]
    assert find_spots(frame), "the view's spot is not found"
    recognizer = bench.catalog_recognizer(ren, works).recognizer  # the catalog loaded once, both settings on it
    first = Recognizer(recognizer.features, RecognizerSettings(second_look=False)).recognize(frame)
    assert first.artwork_id is None and not first.glare_off, first
    both = recognizer.recognize(frame)
    assert both.artwork_id == "work-0083" and both.glare_off, both
    # The same view without its spot needs no second look.
    clear = dataclasses.replace(ren.settings2, glare=0.0)
    again = recognizer.recognize(synthetic2.render_view(ren.art(83), 100_179, clear)[0])
    assert again.artwork_id == "work-0083" and not again.glare_off, again


def test_a_second_look_looser_than_the_first_and_a_bool_that_is_no_bool_are_refused():
    """second_look_threshold below the verifier's: refused, naming the setting; bench_recognition.py's --set
    takes true/false for a bool and refuses anything else in one line, exit 2."""
    with pytest.raises(ValueError, match="second_look_threshold 0.5"):
        RecognizerSettings(second_look_threshold=0.5)
    bench = benchmark_module("bench_recognition")
    assert bench.settings_from(["second_look=false"]).second_look is False
    assert bench.settings_from(["second_look=True"]).second_look is True
    bad = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_recognition.py"), "--set", "second_look=maybe"],
                         capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "second_look=maybe" in bad.stderr, bad.stderr


def test_renderer_2s_views_are_counted_by_what_was_drawn_in_them():
    """bench_recognition.py's breakdown of renderer 2's catalog views: each view lands once in each group (glare,
    the work's span, the cast, a visitor), from what the renderer drew (its spots listed where it drew any);
    renderer 1 draws nothing to break down by, and its run prints no such line."""
    bench = benchmark_module("bench_recognition")
    ren = bench.Renderer(2, 0.5)
    groups = [bench.CONDITIONS[0:2], bench.CONDITIONS[2:5], bench.CONDITIONS[5:7], bench.CONDITIONS[7:9]]
    seen = set()
    for seed in range(100_000, 100_012):
        info: dict = {}
        ren.view_and_corners(ren.art(seed % 7), seed, info=info)
        conditions = bench._conditions(info)
        assert [sum(c in g for c in conditions) for g in groups] == [1, 1, 1, 1], (conditions, info)
        assert ("under glare" in conditions) == bool(info["glare_spots"]), info
        seen.update(conditions)
    assert {"under glare", "no glare"} <= seen, seen  # both drawn within 12 views (chance 0.6 each)
    info1: dict = {}
    bench.Renderer(1, 0.5).view_and_corners(ren.art(0), 7, info=info1)
    assert info1 == {} and bench._conditions(info1) == []
    run = lambda renderer: subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_recognition.py"), "--renderer", renderer, "--views", "6",
         "--negatives", "1", "--no-photos", "--works", "12"], capture_output=True, text=True, cwd=REPO)
    done = run("2")
    assert done.returncode == 0, done.stderr
    line = [row for row in done.stdout.splitlines() if row.startswith("by what was drawn: ")]
    assert len(line) == 1, done.stdout
    cells = dict(re.fullmatch(r"(.+) [\d.]+ % \((\d+/\d+)\)", cell).groups()
                 for cell in line[0].removeprefix("by what was drawn: ").split("; "))
    for group in groups:
        assert sum(int(cells[c].split("/")[1]) for c in group if c in cells) == 6, line
    assert "by what was drawn" not in run("1").stdout

