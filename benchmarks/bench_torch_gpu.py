"""Full-size stage timings in PyTorch on a CUDA GPU (random weights, MODEL.md dims, as
bench_pipeline.py builds them): the baseline an exported engine (ONNX Runtime CUDA, TensorRT) must
beat. fp32 and bf16 autocast; a 10.24 s clip is 256 latent frames, the UNet runs the guided batch of 2.

    python3 benchmarks/bench_torch_gpu.py [--steps 25]
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from bench_pipeline import build_stages  # benchmarks/ is this script's folder


def _timed_ms(fn, repeat: int) -> float:
    fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeat * 1000


def measure(stages: dict, dtype: torch.dtype | None, steps: int) -> str:
    dev = "cuda"
    pixels = torch.randn(1, 3, 224, 224, device=dev)
    latents = torch.randn(2, 8, 256, 16, device=dev)
    loa, t5 = torch.randn(2, 8, 768, device=dev), torch.randn(2, 7, 1024, device=dev)
    mask, t = torch.ones(2, 7, dtype=torch.int64, device=dev), torch.tensor([501], device=dev)
    with torch.no_grad(), torch.autocast(dev, dtype=dtype or torch.float32, enabled=dtype is not None):
        emb = stages["encoder"](pixels).float()
        ms = {"encoder": _timed_ms(lambda: stages["encoder"](pixels), 5),
              "projector": _timed_ms(lambda: stages["projector"](emb), 5),
              "unet step": _timed_ms(lambda: stages["unet"](latents, t, loa, t5, mask), 10),
              "vocoder": _timed_ms(lambda: stages["vocoder"](latents[:1]), 5)}
    clip = (ms["encoder"] + ms["projector"] + steps * ms["unet step"] + ms["vocoder"]) / 1000
    parts = ", ".join(f"{k} {v:.1f} ms" for k, v in ms.items())
    return f"{parts} -> {steps}-step 10.24 s clip ~{clip:.2f} s (RTF {clip / 10.24:.3f})"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=25)
    args = p.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: this benchmark needs one (bench_pipeline.py measures the CPU)")
        return 2
    stages = build_stages()
    for s in stages.values():
        s.to("cuda")
    print(torch.cuda.get_device_name(0), "torch", torch.__version__)
    for name, dtype in (("fp32", None), ("bf16 autocast", torch.bfloat16)):
        print(f"{name}: {measure(stages, dtype, args.steps)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
