"""Precompute throughput (clips/s) in this process and on a local Ray cluster with 1 and 2 model actors.

Each mode precomputes the same jobs (WORKS synthetic artworks x CLIPS clips) into a fresh folder
through the real code path (precompute -> ClipMaker -> PlaylistWriter: FLAC + manifest). clips/s
counts from the model loaded (actors started) to the last clip written; start-up is printed apart.
Ray actors get one CPU and one ONNX Runtime thread each; the local runs use 1 thread and all cores.

    python3 benchmarks/bench_precompute.py [--bundle B] [--works 4] [--clips 2] [--seconds 10.24] [--steps 25]
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def make_catalog(folder: Path, works: int) -> None:
    from installation.demo import composition

    folder.mkdir(parents=True)
    for i in range(works):
        cv2.imwrite(str(folder / f"work{i}.png"), composition(np.random.default_rng(i)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", help="model bundle (default: the tiny demo bundle)")
    p.add_argument("--works", type=int, default=4)
    p.add_argument("--clips", type=int, default=2)
    p.add_argument("--seconds", type=float, default=10.24)
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--modes", default="local-1,local-all,ray-1,ray-2")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from engines.options import GenerationOptions
    from installation.catalog import load_catalog
    from installation.config import ModelConfig
    from installation.curator import precompute as pc
    from installation.generator.model import open_pipeline, resolve_bundle

    bundle = resolve_bundle(ModelConfig(), args.bundle).resolve()
    base = GenerationOptions(args.seconds, args.steps, 3.5, "dpm", origin="bench")
    work = Path(tempfile.mkdtemp(prefix="bench-precompute-"))
    make_catalog(work / "catalog", args.works)
    catalog = load_catalog(work / "catalog", index=False)
    cores = os.cpu_count()
    print(f"bundle {bundle}; {args.works} works x {args.clips} clips of {args.seconds} s, {args.steps} steps; "
          f"{cores} cores (os.cpu_count), load average {os.getloadavg()[0]:.2f}")
    rows = []
    ray = None
    for mode in args.modes.split(","):
        out = work / mode
        t0 = time.perf_counter()
        if mode.startswith("local"):
            threads = 1 if mode == "local-1" else 0
            model = ModelConfig(bundle=str(bundle), threads=threads)

            def start(model=model):
                pipe = open_pipeline(model)
                return pc.ClipMaker(pipe).info(), functools.partial(pc.run_local, pipe)
        else:
            import ray as ray_module

            from installation.curator.cluster import RayPool

            ray = ray_module
            workers = int(mode.split("-")[1])
            if not ray.is_initialized():
                ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")

            def start(workers=workers):
                pool = RayPool.start("auto", ModelConfig(threads=1), bundle, workers, 1)
                return pool.info, pool.run
        summary = pc.precompute(catalog, out, args.clips, 0, base, start)
        total = time.perf_counter() - t0
        rows.append((mode, summary.made, total - summary.generate_seconds, summary.generate_seconds,
                     summary.clips_per_second))
    if ray is not None:
        ray.shutdown()
    print(f"{'mode':<10} {'clips':>5} {'start s':>8} {'make s':>8} {'clips/s':>8}")
    for mode, made, start_s, make_s, rate in rows:
        print(f"{mode:<10} {made:>5} {start_s:>8.1f} {make_s:>8.1f} {rate:>8.3f}")


if __name__ == "__main__":
    main()
