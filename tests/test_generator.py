"""The generator's parts: options checked once, the pipeline's cancel check, the clip cache,
per-artwork settings, opening hours."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import soundfile as sf

from engines.errors import Art2MusError
from engines.options import GenerationOptions
from engines.pipeline import Cancelled
from installation.catalog import GenerationOverrides
from installation.config import ScheduleConfig, parse_config
from installation.generator.cache import ClipCache, artwork_folder_name
from installation.schedule import OpeningHours


@pytest.mark.parametrize("field,value", [("seconds", 0), ("seconds", float("inf")), ("seconds", 61),
                                         ("steps", 0), ("steps", 2.5), ("steps", True), ("guidance", float("nan")),
                                         ("guidance", 0.5), ("scheduler", "euler"), ("seed", -1)])
def test_generation_options_name_the_bad_field(field, value):
    good = dict(seconds=1.0, steps=4, guidance=3.5, scheduler="dpm", seed=0)
    with pytest.raises(Art2MusError, match=f"{field}="):
        GenerationOptions(**{**good, field: value}, origin="test")


def test_catalog_overrides_apply_and_are_checked_again():
    base = GenerationOptions(10.24, 25, 3.5)
    got = GenerationOverrides(steps=8, clip_seconds=2.0).apply(base, "w1")
    assert (got.steps, got.seconds, got.guidance) == (8, 2.0, 3.5) and "w1" in got.origin
    assert GenerationOverrides().apply(base, "w1") is base


def test_pipeline_abandons_a_clip_between_steps(pipeline):
    pixels = pipeline.pixels(np.full((64, 64, 3), 0.5, np.float32))
    loa = pipeline.condition(pixels)
    asked = []

    def cancel():
        asked.append(1)
        return len(asked) > 3  # the visitor leaves during the fourth step

    calls = pipeline.times.calls["unet"]
    with pytest.raises(Cancelled, match="before step 4 of 10"):
        pipeline.generate_from(loa, GenerationOptions(0.5, 10, 3.5, seed=1), cancel=cancel)
    assert pipeline.times.calls["unet"] - calls == 3  # three steps ran, then nothing more
    (wave,) = pipeline.generate_from(loa, GenerationOptions(0.5, 3, 3.5, seed=1), cancel=lambda: False)
    assert wave.shape == (8000,)


def _wave(seconds=0.5, rate=16000):
    return (0.1 * np.sin(np.arange(int(seconds * rate)) / 5)).astype(np.float32)


def test_clip_cache_keeps_the_newest_per_artwork_and_a_size_cap(tmp_path):
    clip_bytes = 8000 * 4 + 100
    cache = ClipCache(tmp_path / "cache", cap_bytes=5 * clip_bytes, per_artwork=2)
    for i in range(3):
        cache.put("a", _wave(), 16000, {"seed": i})
    assert cache.usage()["clips"] == 2 and cache.latest("a").provenance["seed"] == 2
    for i in range(4):
        cache.put(f"b{i}", _wave(), 16000, {"seed": 10 + i})
    assert cache.usage()["clips"] <= 5 and cache.usage()["mb"] * 1e6 <= 5 * clip_bytes
    assert cache.latest("b3") is not None  # the newest survive; the oldest ("a") went first
    assert cache.latest("a") is None or cache.latest("a").provenance["seed"] == 2
    stranger = tmp_path / "cache" / "a" / "notes.txt"
    stranger.write_text("mine")
    for i in range(5):
        cache.put("a", _wave(), 16000, {"seed": 20 + i})
    assert stranger.read_text() == "mine"  # only files of the cache's own naming are ever deleted
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_clip_cache_skips_a_damaged_clip_and_names_odd_ids_safely(tmp_path):
    cache = ClipCache(tmp_path / "cache", cap_bytes=10**7, per_artwork=4)
    cache.put("w", _wave(), 16000, {"seed": 1})
    newer = cache.put("w", _wave(), 16000, {"seed": 2})
    newer.write_bytes(b"RIFF broken")
    assert cache.latest("w").provenance["seed"] == 1
    names = {artwork_folder_name(x) for x in ("../up", "a/b", "a_b", ".hidden")}
    assert len(names) == 4 and all("/" not in n and not n.startswith(".") for n in names)
    wave, rate = sf.read(cache.latest("w").path)
    assert rate == 16000 and len(wave) == 8000


def test_opening_hours_and_quiet():
    hours = OpeningHours.from_config(ScheduleConfig(open="09:30", close="18:00", days=("mon", "tue")))
    monday = dt.datetime(2026, 11, 30)
    assert hours.open_at(monday.replace(hour=10)) and not hours.open_at(monday.replace(hour=18, minute=1))
    assert not hours.open_at(monday.replace(hour=9)) and not hours.open_at(monday + dt.timedelta(days=2, hours=12))
    night = OpeningHours.from_config(ScheduleConfig(open="20:00", close="02:00", days=("fri",)))
    friday = dt.datetime(2026, 12, 4)
    assert night.open_at(friday.replace(hour=23)) and night.open_at(friday.replace(hour=1) + dt.timedelta(days=1))
    assert not night.open_at(friday.replace(hour=1))  # Thursday night is not a Friday opening
    assert not OpeningHours.from_config(ScheduleConfig(quiet=True)).open_at(monday.replace(hour=12))
    with pytest.raises(Art2MusError, match="HH:MM"):
        parse_config({"schedule": {"open": "9am", "close": "18:00"}})
    with pytest.raises(Art2MusError, match="both open and close"):
        parse_config({"schedule": {"open": "09:00"}})


def test_quiet_mixer_starts_nothing_and_fades_what_plays():
    from installation.audio.mixer import Clip, Library, Mixer, MixerSettings

    clip = Clip(np.full(48000 * 4, 0.1, np.float32), None, "ambient", "room")
    mixer = Mixer(MixerSettings(rate=48000, leave_fade=0.1), Library(ambient=[clip]))
    assert np.abs(mixer.render(4800)).max() > 0
    mixer.set_quiet(True)
    for _ in range(5):
        mixer.render(4800)
    assert np.abs(mixer.render(4800)).max() == 0 and mixer.silent
