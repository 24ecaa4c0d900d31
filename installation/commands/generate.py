"""`art2mus generate`: one WAV per image (or several clips per image), with per-stage timings."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engines.errors import Art2MusError
from engines.options import GenerationOptions
from engines.preprocess import read_image
from installation.audio.clips import write_wav
from installation.config import Config, ModelConfig
from installation.generator.model import open_pipeline
from installation.outputs import check_output_file, check_output_folder

log = logging.getLogger(__name__)
# An --out with one of these suffixes is a file name, not a folder: refused rather than made a folder.
NOT_FOLDERS = {".mp3", ".flac", ".ogg", ".opus", ".aac", ".m4a", ".aif", ".aiff", ".png", ".jpg", ".jpeg", ".txt"}
HELP = "generate a clip (16 kHz mono WAV) for each image"


def add_arguments(p) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--out", required=True, help="OUT.wav for one image, else a folder")
    p.add_argument("--seconds", type=float, help="clip length (default: model.clip_seconds)")
    p.add_argument("--steps", type=int, help="denoising steps (default: model.steps)")
    p.add_argument("--guidance", type=float, help="guidance scale (default: model.guidance)")
    p.add_argument("--seed", type=int, help="seed (default: from model.seed_policy)")
    p.add_argument("--scheduler", choices=("dpm", "ddim"), help="default: model.scheduler")
    p.add_argument("--clips", type=int, default=1, help="clips per image (seeds seed, seed+1, ...)")
    p.add_argument("--bundle", help="model bundle folder (default: model.bundle, else the tiny demo bundle)")


def run(cfg: Config, args) -> int:
    m = cfg.model
    options = GenerationOptions(
        seconds=m.clip_seconds if args.seconds is None else args.seconds,
        steps=m.steps if args.steps is None else args.steps,
        guidance=m.guidance if args.guidance is None else args.guidance,
        scheduler=args.scheduler or m.scheduler, seed=args.seed, origin="art2mus generate",
    )
    result = generate(m, GenerateRequest(args.images, args.out, options, args.clips, args.bundle))
    for path in result.files:
        print(path)
    print(f"seed {result.seed}; {result.audio_seconds:.2f} s of audio in {result.wall_seconds:.2f} s "
          f"(real-time factor {result.wall_seconds / max(result.audio_seconds, 1e-9):.2f})")
    print(f"{'stage':<10} {'calls':>6} {'total s':>9} {'per call ms':>12}  provider")
    for stage, seconds in result.stage_seconds.items():
        calls = result.stage_calls[stage]
        print(f"{stage:<10} {calls:>6} {seconds:>9.3f} {1000 * seconds / calls:>12.1f}  {result.providers[stage]}")
    return 0


@dataclass(frozen=True)
class GenerateRequest:
    images: list[str]
    out: str
    options: GenerationOptions  # options.seed None: from the config's seed policy
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
        return [[check_output_file(out)]]
    if out.lower().endswith(".wav"):
        raise Art2MusError(f"--out {out!r} is one file but {len(images)} image(s) x {clips} clip(s) make several; "
                           "give a folder instead")
    if Path(out).suffix.lower() in NOT_FOLDERS and not Path(out).is_dir():
        raise Art2MusError(f"--out {out!r}: art2mus writes WAV files; give OUT.wav for one clip or a folder")
    folder, seen, paths = check_output_folder(out), set(), []
    for i, image in enumerate(images):
        stem = Path(image).stem if Path(image).stem not in seen else f"{Path(image).stem}-{i}"
        seen.add(stem)
        paths.append([check_output_file(folder / (f"{stem}.wav" if clips == 1 else f"{stem}-{k}.wav"))
                      for k in range(clips)])
    return paths


def pick_seed(cfg: ModelConfig) -> int:
    """The configured seed policy: `fixed` uses model.seed, `random` a fresh one each time."""
    return cfg.seed if cfg.seed_policy == "fixed" else secrets.randbelow(2**31)


def generate(cfg: ModelConfig, req: GenerateRequest) -> GenerateResult:
    """Checks everything, reads every image, then generates all clips in memory and only then writes
    them, so a bad input or a failed clip leaves no partial output."""
    if req.clips < 1:
        raise Art2MusError(f"--clips {req.clips!r} must be >= 1")
    paths = output_paths(req.images, req.out, req.clips)
    images = [read_image(p) for p in req.images]
    pipe = open_pipeline(cfg, req.bundle)
    shape = pipe.clip_shape(req.options.seconds)  # refuses seconds out of the bundle's range before any work
    seed = req.options.seed if req.options.seed is not None else pick_seed(cfg)
    options = req.options.with_seed(seed)
    start = time.perf_counter()
    waves: list[np.ndarray] = []
    for name, image in zip(req.images, images):
        log.info("generating %d clip(s) of %.2f s for %s (seed %d)", req.clips, options.seconds, name, seed)
        waves += pipe.generate(pipe.pixels(image), options, req.clips)
    files = [p for group in paths for p in group]
    for path, wave in zip(files, waves):
        write_wav(path, wave, pipe.bundle.audio.sample_rate)
    return GenerateResult(
        files=files, seed=seed, audio_seconds=len(waves) * shape.samples / pipe.bundle.audio.sample_rate,
        wall_seconds=time.perf_counter() - start, stage_seconds=dict(pipe.times.seconds),
        stage_calls=dict(pipe.times.calls), providers={s: e.provider for s, e in pipe.engines.items()},
    )
