"""`art2mus demo`: the embedded default run, in one process until the kiosk's supervisor lands. It
renders a small synthetic gallery (colour field, stripes, a composition) as the catalog, generates
one clip per artwork with the configured bundle (by default the tiny random-weight demo bundle),
then walks a visitor past the works: the camera's view is recognised and debounced, the artworks
it enters get their clips, and the kiosk's own mixer (crossfades, loudness, limiter) renders the
walk into walk.wav. Artworks, clips, the walk and a JSON summary go to the demo folder."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import soundfile as sf

from engines.options import GenerationOptions
from installation.audio.clips import write_wav
from installation.config import Config
from installation.generator.model import open_pipeline

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


def render_walk(cfg: Config, clips: dict[str, np.ndarray], rate: int, artworks: Path, out: Path) -> dict:
    """A visitor walks past the works: the camera's synthetic view is recognised and debounced as
    the camera process does, each artwork the camera enters gets its clip half a second later (the
    generator's latency), and the kiosk's mixer renders the sound, as fast as it can, to `out`."""
    from installation.audio.clips import prepare_clip
    from installation.audio.mixer import Mixer, MixerSettings
    from installation.camera.debounce import Debouncer
    from installation.camera.sources import SyntheticWalk, WalkSegment
    from installation.catalog import load_catalog
    from installation.recognition import Recognizer

    a, cam = cfg.audio, cfg.camera
    catalog = load_catalog(artworks)
    dwell = max(4.0, 1.5 * cfg.demo.clip_seconds)
    plan = [seg for art in clips for seg in (WalkSegment(art, dwell), WalkSegment(None, 1.5))]
    walk = SyntheticWalk(catalog, cam.fps, cam.synthetic_seed, plan)
    recognizer, mixer = Recognizer(catalog.features), Mixer(MixerSettings.from_config(a))
    debouncer = Debouncer(cam.enter_k, cam.enter_n, cam.leave_seconds, cam.min_dwell_seconds)
    events, pending, next_look = [], [], 0.0
    walked = sum(s.seconds for s in plan)
    total = int((walked + cam.leave_seconds + a.leave_fade_seconds) * a.sample_rate)
    out.parent.mkdir(parents=True, exist_ok=True)
    with sf.SoundFile(str(out), "w", a.sample_rate, a.channels, subtype="FLOAT", format="WAV") as f:
        for start in range(0, total, a.block):
            t = start / a.sample_rate
            if t >= next_look:
                next_look = t + 1.0 / cam.recognition_hz
                seen = recognizer.recognize(walk.frame_at(t)).artwork_id if t < walked else None  # then gone
                if debouncer.update(seen, t):
                    events.append({"t": round(t, 2), "artwork": debouncer.current})
                    mixer.set_artwork(debouncer.current)
                    if debouncer.current:
                        pending.append((t + 0.5, debouncer.current))
            while pending and pending[0][0] <= t:
                art = pending.pop(0)[1]
                mixer.add_clip(prepare_clip(clips[art], rate, a, art, "fresh", art))
            f.write(np.repeat(mixer.render(a.block)[:, None], a.channels, axis=1))
    return {"seconds": total / a.sample_rate, "camera_events": events,
            "visited": [s.artwork_id for s in plan if s.artwork_id]}


@dataclass(frozen=True)
class DemoSummary:
    out: Path
    bundle: str
    clips: list
    stage_seconds: dict
    wall_seconds: float
    walk: Path
    walk_seconds: float
    visited: list
    camera_events: list


def run_demo(cfg: Config) -> DemoSummary:
    out = Path(cfg.demo.out)
    start = time.perf_counter()
    artworks = render_artworks(out / "artworks", cfg.demo.artworks)
    m = cfg.model
    pipe = open_pipeline(m)
    clips, waves = [], {}
    for i, artwork in enumerate(artworks):
        rgb = cv2.cvtColor(cv2.imread(str(artwork)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        (wave,) = pipe.generate(pipe.pixels(rgb), GenerationOptions(cfg.demo.clip_seconds, cfg.demo.steps, m.guidance,
                                                                    m.scheduler, m.seed + i))
        path = out / "clips" / f"{artwork.stem}.wav"
        write_wav(path, wave, pipe.bundle.audio.sample_rate)
        waves[artwork.stem] = wave
        clips.append({"artwork": str(artwork), "clip": str(path), "seconds": len(wave) / pipe.bundle.audio.sample_rate,
                      "peak": float(np.abs(wave).max())})
        log.info("demo: %s -> %s", artwork.name, path)
    walk = render_walk(cfg, waves, pipe.bundle.audio.sample_rate, out / "artworks", out / "walk.wav")
    summary = DemoSummary(out, pipe.bundle.describe(), clips, dict(pipe.times.seconds), time.perf_counter() - start,
                          out / "walk.wav", walk["seconds"], walk["visited"], walk["camera_events"])
    (out / "summary.json").write_text(json.dumps({
        "bundle": summary.bundle, "clips": clips, "walk": str(summary.walk), "walk_seconds": walk["seconds"],
        "visited": walk["visited"], "camera_events": walk["camera_events"],
        "stage_seconds": summary.stage_seconds, "wall_seconds": summary.wall_seconds,
    }, indent=2))
    return summary
