"""`art2mus generate`: one WAV per image (or several clips per image), with per-stage timings."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engines.errors import Art2MusError
from engines.preprocess import read_image
from engines.schedulers import SCHEDULERS
from installation.audio_files import write_wav
from installation.config import ModelConfig
from installation.model_cache import open_pipeline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerateRequest:
    images: list[str]
    out: str
    seconds: float
    steps: int
    guidance: float
    scheduler: str
    seed: int | None = None  # None: from the config's seed policy
    clips: int = 1
    bundle: str | None = None


@dataclass
class GenerateResult:
    files: list[Path]
    seed: int
    audio_seconds: float
    wall_seconds: float
    stage_seconds: dict = field(default_factory=dict)
    stage_calls: dict = field(default_factory=dict)
    providers: dict = field(default_factory=dict)


def output_paths(images: list[str], out: str, clips: int) -> list[list[Path]]:
    """One image and one clip may go to OUT.wav; otherwise OUT is a folder of STEM[-k].wav."""
    if len(images) == 1 and clips == 1 and out.lower().endswith(".wav"):
        return [[Path(out)]]
    if out.lower().endswith(".wav"):
        raise Art2MusError(f"--out {out!r} is one file but {len(images)} image(s) x {clips} clip(s) make several; "
                           "give a folder instead")
    folder, seen, paths = Path(out), set(), []
    for i, image in enumerate(images):
        stem = Path(image).stem if Path(image).stem not in seen else f"{Path(image).stem}-{i}"
        seen.add(stem)
        paths.append([folder / (f"{stem}.wav" if clips == 1 else f"{stem}-{k}.wav") for k in range(clips)])
    return paths


def _check(req: GenerateRequest) -> None:
    if not isinstance(req.steps, int) or req.steps < 1:
        raise Art2MusError(f"--steps {req.steps!r} must be a whole number >= 1, e.g. --steps 25")
    if not (req.seconds > 0):
        raise Art2MusError(f"--seconds {req.seconds!r} must be above 0, e.g. --seconds 10.24")
    if req.clips < 1:
        raise Art2MusError(f"--clips {req.clips!r} must be >= 1")
    if req.scheduler not in SCHEDULERS:
        raise Art2MusError(f"--scheduler {req.scheduler!r} is unknown; choose one of: {', '.join(SCHEDULERS)}")
    if req.seed is not None and req.seed < 0:
        raise Art2MusError(f"--seed {req.seed!r} must be >= 0")


def generate(cfg: ModelConfig, req: GenerateRequest) -> GenerateResult:
    """Checks everything, reads every image, then generates all clips in memory and only then writes
    them, so a bad input or a failed clip leaves no partial output."""
    _check(req)
    paths = output_paths(req.images, req.out, req.clips)
    images = [read_image(p) for p in req.images]
    pipe = open_pipeline(cfg, req.bundle)
    shape = pipe.clip_shape(req.seconds)  # refuses seconds out of the bundle's range before any work
    seed = req.seed if req.seed is not None else (cfg.seed if cfg.seed_policy == "fixed" else secrets.randbelow(2**31))
    start = time.perf_counter()
    waves: list[np.ndarray] = []
    for name, image in zip(req.images, images):
        log.info("generating %d clip(s) of %.2f s for %s (seed %d)", req.clips, req.seconds, name, seed)
        waves += pipe.generate(pipe.pixels(image), req.seconds, req.steps, req.guidance, seed, req.scheduler, req.clips)
    files = [p for group in paths for p in group]
    for path, wave in zip(files, waves):
        write_wav(path, wave, pipe.bundle.audio.sample_rate)
    return GenerateResult(
        files=files, seed=seed, audio_seconds=len(waves) * shape.samples / pipe.bundle.audio.sample_rate,
        wall_seconds=time.perf_counter() - start, stage_seconds=dict(pipe.times.seconds),
        stage_calls=dict(pipe.times.calls), providers={s: e.provider for s, e in pipe.engines.items()},
    )
