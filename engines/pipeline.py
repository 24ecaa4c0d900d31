"""The Art2Mus pipeline on exported stages: preprocessed image -> embedding -> LOA tokens ->
guided denoising of audio latents -> waveform. Mirrors diffusers' AudioLDM2Pipeline with
the image path of Art2Mus in front of it."""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from engines.bundle import Bundle, load_bundle
from engines.backends import load_engines
from engines.engine import Engine
from engines.errors import Art2MusError
from engines.options import GenerationOptions
from engines.preprocess import preprocess
from engines.schedulers import make_scheduler

log = logging.getLogger(__name__)


@dataclass
class StageTimes:
    """Seconds spent per stage, for the CLI's report and the benchmark."""

    seconds: dict = field(default_factory=lambda: defaultdict(float))
    calls: dict = field(default_factory=lambda: defaultdict(int))

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] += seconds
        self.calls[stage] += 1


class Cancelled(Exception):
    """The caller's cancel check asked to abandon a clip between denoising steps (not an error)."""


@dataclass(frozen=True)
class ClipShape:
    latent_frames: int
    samples: int


class Art2MusPipeline:
    def __init__(self, bundle: Bundle, engines: dict[str, Engine]):
        self.bundle = bundle
        self.engines = engines
        self.times = StageTimes()

    @classmethod
    def load(cls, bundle_path, backend: str = "auto", provider: str = "auto", threads: int = 0, verify: bool = True,
             int8: tuple[str, ...] = (), cache_dir=None):
        """`int8`: stages to run in their int8 variant on a CPU provider (none: the exact fp32 graphs);
        `cache_dir`: where ONNX Runtime's TensorRT EP caches its engines (model.cache)."""
        bundle = load_bundle(bundle_path, verify=verify)
        return cls(bundle, load_engines(bundle, backend, provider, threads, int8, cache_dir))

    def _run(self, stage: str, feeds: dict) -> np.ndarray:
        start = time.perf_counter()
        (out,) = self.engines[stage].run(feeds).values()
        self.times.add(stage, time.perf_counter() - start)
        return out

    def clip_shape(self, seconds: float) -> ClipShape:
        """Latent frames and waveform samples for `seconds`, as AudioLDM2Pipeline computes them."""
        d, a = self.bundle.dims, self.bundle.audio
        min_s = a.seconds_per_frame * d.vae_scale_factor
        if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < min_s:
            raise Art2MusError(f"seconds={seconds!r} is too short; a clip must last at least {min_s:g} s")
        if seconds > self.bundle.max_seconds:
            raise Art2MusError(
                f"seconds={seconds!r} is too long for this bundle; at most {self.bundle.max_seconds:g} s per clip"
            )
        mel_frames = int(seconds / a.seconds_per_frame)
        mel_frames = math.ceil(mel_frames / d.vae_scale_factor) * d.vae_scale_factor
        return ClipShape(mel_frames // d.vae_scale_factor, int(seconds * a.sample_rate))

    def initial_latents(self, seed: int, shape: ClipShape) -> np.ndarray:
        d = self.bundle.dims
        rng = np.random.default_rng(seed)
        size = (1, d.latent_channels, shape.latent_frames, d.mel_bins // d.vae_scale_factor)
        return rng.standard_normal(size, dtype=np.float32)

    def pixels(self, rgb: np.ndarray) -> np.ndarray:
        """float RGB image (H, W, 3) in [0, 1] -> the encoder's input, as the bundle's encoder expects it."""
        pre = self.bundle.manifest["preprocess"]
        return preprocess(rgb, self.bundle.dims.image_size, pre["mean"], pre["std"])

    def embed(self, pixels: np.ndarray) -> np.ndarray:
        return self._run("encoder", {"pixels": pixels})

    def loa_tokens(self, embedding: np.ndarray) -> np.ndarray:
        return self._run("projector", {"embedding": embedding})

    def denoise(self, loa: np.ndarray, latents: np.ndarray, steps: int, guidance: float, scheduler: str,
                cancel: Callable[[], bool] | None = None) -> np.ndarray:
        """`cancel` is asked before every step; when it says yes the clip is abandoned (Cancelled)."""
        if not math.isfinite(guidance) or guidance < 1.0:
            raise Art2MusError(f"guidance={guidance!r} must be >= 1 (1 = no guidance; Art2Mus uses 3.5)")
        c = self.bundle.constants
        sched = make_scheduler(scheduler, self.bundle.scheduler_config, steps)
        loa2 = np.concatenate([c["negative_loa"], loa]).astype(np.float32)
        for i, t in enumerate(sched.timesteps):
            if cancel is not None and cancel():
                raise Cancelled(f"abandoned before step {i + 1} of {steps}")
            noise = self._run(
                "unet",
                {
                    "latents": np.concatenate([latents, latents]),
                    "timestep": np.array([t], dtype=np.int64),
                    "loa_tokens": loa2,
                    "t5_tokens": c["t5_tokens"],
                    "t5_mask": c["t5_mask"],
                },
            )
            uncond, cond = noise[:1], noise[1:]
            latents = sched.step(uncond + guidance * (cond - uncond), t, latents)
        return latents

    def decode(self, latents: np.ndarray, samples: int) -> np.ndarray:
        return self._run("vocoder", {"latents": latents})[0, :samples]

    def condition(self, pixels: np.ndarray) -> np.ndarray:
        """The LOA tokens of one preprocessed image: computed once per artwork, reused for every clip."""
        return self.loa_tokens(self.embed(pixels))

    def generate_from(self, loa: np.ndarray, options: GenerationOptions, clips: int = 1,
                      cancel: Callable[[], bool] | None = None) -> list[np.ndarray]:
        """`clips` waveforms (float32, mono, bundle sample rate) from LOA tokens; clip k uses seed+k."""
        if options.seed is None:
            raise Art2MusError("a clip needs a seed: pick one (GenerationOptions.with_seed) before generating")
        shape = self.clip_shape(options.seconds)
        waves = []
        for k in range(clips):
            seed = options.seed + k
            latents = self.denoise(loa, self.initial_latents(seed, shape), options.steps, options.guidance,
                                   options.scheduler, cancel)
            wave = self.decode(latents, shape.samples)
            if not np.all(np.isfinite(wave)):
                raise Art2MusError(
                    f"clip {k} (seed {seed}) came out with NaN/inf samples; the bundle or its backend is broken: "
                    "check it with `art2mus doctor` or re-export it"
                )
            waves.append(wave.astype(np.float32))
        return waves

    def generate(self, pixels: np.ndarray, options: GenerationOptions, clips: int = 1,
                 cancel: Callable[[], bool] | None = None) -> list[np.ndarray]:
        """`clips` waveforms for one preprocessed image (see generate_from)."""
        self.clip_shape(options.seconds)  # refuse a length the bundle cannot make before any stage runs
        return self.generate_from(self.condition(pixels), options, clips, cancel)
