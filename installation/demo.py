"""`art2mus demo`: the embedded default run. Until the camera and kiosk processes land it renders a
small synthetic gallery (colour field, stripes, a composition), generates one clip per artwork
with the configured bundle (by default the tiny random-weight demo bundle), then plays a visitor's
walk past the works through the kiosk's own mixer (crossfades, loudness, limiter) into walk.wav,
and writes the artworks, clips and a JSON summary to the demo folder."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import soundfile as sf

from installation.audio_files import write_wav
from installation.config import Config
from installation.model_cache import open_pipeline

log = logging.getLogger(__name__)
SIZE = (480, 640)  # height, width


def colour_field(rng) -> np.ndarray:
    img = np.empty((*SIZE, 3), np.uint8)
    split = int(SIZE[0] * rng.uniform(0.3, 0.7))
    img[:split], img[split:] = rng.integers(0, 255, 3), rng.integers(0, 255, 3)
    return cv2.GaussianBlur(img, (31, 31), 0)


def stripes(rng) -> np.ndarray:
    img = np.empty((*SIZE, 3), np.uint8)
    width = int(rng.integers(20, 80))
    colours = rng.integers(0, 255, (2, 3))
    for x in range(0, SIZE[1], width):
        img[:, x : x + width] = colours[(x // width) % 2]
    return img


def composition(rng) -> np.ndarray:
    img = np.full((*SIZE, 3), rng.integers(180, 255, 3), np.uint8)
    for _ in range(12):
        centre = (int(rng.integers(0, SIZE[1])), int(rng.integers(0, SIZE[0])))
        cv2.circle(img, centre, int(rng.integers(10, 90)), tuple(int(c) for c in rng.integers(0, 255, 3)), -1)
    return img


STYLES = (("colour-field", colour_field), ("stripes", stripes), ("composition", composition))


def render_artworks(folder: Path, count: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        name, style = STYLES[i % len(STYLES)]
        path = folder / f"{i + 1:02d}-{name}.png"
        cv2.imwrite(str(path), style(rng))
        paths.append(path)
    return paths


def render_walk(cfg: Config, clips: dict[str, np.ndarray], rate: int, out: Path) -> float:
    """A visitor stands before each work in turn (its fresh clip arrives half a second later), then
    leaves; the kiosk's mixer renders the walk to `out` as fast as it can. Returns its seconds."""
    from installation.audio import mixer_settings, prepare_clip
    from installation.mixer import Mixer

    a = cfg.audio
    mixer = Mixer(mixer_settings(a))
    dwell = 1.5 * cfg.demo.clip_seconds
    timeline = []
    for i, (artwork_id, wave) in enumerate(clips.items()):
        timeline.append((i * dwell, "artwork", artwork_id))
        timeline.append((i * dwell + 0.5, "clip", prepare_clip(wave, rate, a, artwork_id, "fresh", artwork_id)))
    timeline.append((len(clips) * dwell, "artwork", None))
    total = int((len(clips) * dwell + a.leave_fade_seconds + 1.0) * a.sample_rate)
    out.parent.mkdir(parents=True, exist_ok=True)
    with sf.SoundFile(str(out), "w", a.sample_rate, a.channels, subtype="FLOAT", format="WAV") as f:
        for start in range(0, total, a.block):
            while timeline and timeline[0][0] * a.sample_rate <= start:
                _, kind, value = timeline.pop(0)
                mixer.set_artwork(value) if kind == "artwork" else mixer.add_clip(value)
            f.write(np.repeat(mixer.render(a.block)[:, None], a.channels, axis=1))
    return total / a.sample_rate


@dataclass(frozen=True)
class DemoSummary:
    out: Path
    bundle: str
    clips: list
    stage_seconds: dict
    wall_seconds: float
    walk: Path
    walk_seconds: float


def run_demo(cfg: Config) -> DemoSummary:
    out = Path(cfg.demo.out)
    start = time.perf_counter()
    artworks = render_artworks(out / "artworks", cfg.demo.artworks)
    m = cfg.model
    pipe = open_pipeline(m)
    clips, waves = [], {}
    for i, artwork in enumerate(artworks):
        rgb = cv2.cvtColor(cv2.imread(str(artwork)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        (wave,) = pipe.generate(pipe.pixels(rgb), cfg.demo.clip_seconds, cfg.demo.steps, m.guidance, m.seed + i,
                                m.scheduler)
        path = out / "clips" / f"{artwork.stem}.wav"
        write_wav(path, wave, pipe.bundle.audio.sample_rate)
        waves[artwork.stem] = wave
        clips.append({"artwork": str(artwork), "clip": str(path), "seconds": len(wave) / pipe.bundle.audio.sample_rate,
                      "peak": float(np.abs(wave).max())})
        log.info("demo: %s -> %s", artwork.name, path)
    walk_seconds = render_walk(cfg, waves, pipe.bundle.audio.sample_rate, out / "walk.wav")
    summary = DemoSummary(out, pipe.bundle.describe(), clips, dict(pipe.times.seconds), time.perf_counter() - start,
                          out / "walk.wav", walk_seconds)
    (out / "summary.json").write_text(json.dumps({
        "bundle": summary.bundle, "clips": clips, "walk": str(summary.walk), "walk_seconds": walk_seconds,
        "stage_seconds": summary.stage_seconds, "wall_seconds": summary.wall_seconds,
    }, indent=2))
    return summary
