"""The same bundle on every ONNX Runtime execution provider this machine has: per-stage time, clip
time, and how far each provider's waveform is from the CPU provider's (relative L2, same seed).

    python3 benchmarks/bench_providers.py --bundle DIR [--seconds 2] [--steps 10] [--clips 3]

No torch: it runs the exported bundle only (engines/), so it also runs on a kiosk or a GPU box that
has onnxruntime(-gpu) and OpenCV but none of the export tools. Providers missing from this
onnxruntime build are listed and skipped.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import numpy as np
import onnxruntime as ort

from engines.onnxruntime_backend import PROVIDERS
from engines.options import GenerationOptions
from engines.pipeline import Art2MusPipeline

STAGES = ("encoder", "projector", "unet", "vocoder")


def run(bundle: str, provider: str, args) -> tuple[list[np.ndarray], dict, float]:
    pipe = Art2MusPipeline.load(bundle, backend="onnxruntime", provider=provider)
    picture = np.random.default_rng(0).random((300, 400, 3)).astype(np.float32)
    pixels = pipe.pixels(picture)
    pipe.generate(pixels, GenerationOptions(args.seconds, args.steps, 3.5, seed=0))  # warm-up: kernels chosen, memory arenas grown
    pipe.times = type(pipe.times)()
    start = time.perf_counter()
    waves = pipe.generate(pixels, GenerationOptions(args.seconds, args.steps, 3.5, seed=0), clips=args.clips)
    return waves, pipe.times, (time.perf_counter() - start) / args.clips


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--clips", type=int, default=3)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    available = ort.get_available_providers()
    print(f"onnxruntime {ort.__version__}; providers in this build: {', '.join(available)}")
    reference = None
    for name in ("cpu", "cuda", "tensorrt"):
        if PROVIDERS[name] not in available:
            print(f"{name:9s} skipped: {PROVIDERS[name]} is not in this onnxruntime build")
            continue
        waves, times, clip_s = run(args.bundle, name, args)
        reference = reference if reference is not None else waves
        err = max(float(np.linalg.norm(w - r) / (np.linalg.norm(r) + 1e-12)) for w, r in zip(waves, reference))
        per_stage = "  ".join(f"{s} {1000 * times.seconds[s] / max(times.calls[s], 1):.2f} ms" for s in STAGES)
        print(f"{name:9s} clip {clip_s:.3f} s ({args.seconds} s audio, {args.steps} steps)  {per_stage}  "
              f"wave rel L2 vs cpu {err:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
